"""The Telegram bot end to end: the real PTB `Application` against the Bot API emulator.

A real small index (hashed embeddings) and the real answerers; the emulator records what
the bot sent. Each test starts the bot with long polling and stops it cleanly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from bot.telegram.admin import ADMINS_ONLY
from bot.telegram.app import APOLOGY_LLM, REFUSAL_ACCESS, BotApplication, build_application
from bot.telegram.reply import slow_down
from bot.telegram.services import Services
from ingest.chunk import Chunker
from retrieval.pipeline import make_answerer
from retrieval.store.conversations import ConversationStore
from retrieval.store.index import ArticleIndex
from retrieval.types import Article
from tests.fakes import http_server as fake_http
from tests.fakes import openai_server as fake_openai
from tests.fakes import telegram_server as fake_telegram
from tests.fakes.embedder import HashEmbedder
from tests.fakes.harness import running
from tests.fakes.http_server import ArticleServer
from tests.fakes.openai_server import FakeOpenAIServer, ScriptedResponse
from tests.fakes.telegram_server import TOKEN, FakeTelegramServer
from tests.test_render_telegram import check_message

# the fixtures, used by name below
telegram_server = fake_telegram.telegram_server
openai_server = fake_openai.openai_server
article_server = fake_http.article_server

BRIDGE = Article(
    id="https://harbour.example/bridge",
    title="Sallow Street Bridge to reopen in May",
    text=(
        "The Sallow Street Bridge will reopen to traffic on 4 May, the city engineer said on"
        " Tuesday. Repairs to the steel deck cost 12 million crowns, twice the first estimate."
        "\n\nThe bridge closed in January after inspectors found corroded bolts under the deck."
    ),
    url="https://harbour.example/bridge",
    site="harbour.example",
    published=date(2026, 3, 2),
)
HOSTILE = Article(
    id="https://evil.example/zoo",
    title="<script>alert(1)</script> Zoo & <b>Aquarium",
    text=(
        "The Kestrel zoo aquarium <i>reopened</b> on Friday & welcomed 900 visitors <script>."
        " The zoo aquarium keeps forty sharks in one tank."
    ),
    url="https://evil.example/zoo?a=1&b=2",
    site="Evil <Site> & Co",
    published=date(2026, 3, 3),
)
FILLER = [
    Article(
        id=f"https://filler.example/{n}",
        title=f"Filler story number {n}",
        text=f"Filler story {n} is about the weekly market in town number {n}.",
        url=f"https://filler.example/{n}",
        site="filler.example",
        published=date(2026, 1, n + 1),
    )
    for n in range(5)
]
BRIDGE_Q = "When does the Sallow Street Bridge reopen?"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArticleIndex]:
    """One small index for the module, built with hashed embeddings (fast)."""
    settings = Settings(_env_file=None, data_dir=tmp_path_factory.mktemp("index"))  # type: ignore[call-arg]
    index = ArticleIndex(settings, HashEmbedder())
    chunker = Chunker(size=300, overlap=40)
    index.upsert([(a, chunker.split(a)) for a in [BRIDGE, HOSTILE, *FILLER]])
    index.finish_run()
    yield index
    index.close()


def bot_settings(tmp_path: Path, server: FakeTelegramServer, **values: Any) -> Settings:
    """Settings pointing the bot at the emulator, with its own data directory."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path / "bot",
        telegram_bot_token=TOKEN,
        telegram_base_url=server.base_url,
        telegram_base_file_url=server.file_url,
        **{"answerer": "offline", **values},
    )


def make_app(settings: Settings, index: ArticleIndex, **extra: Any) -> BotApplication:
    answerer = make_answerer(settings, index)
    return build_application(settings, Services.create(settings, index, answerer, **extra))


def memory_of(app: BotApplication) -> ConversationStore:
    """The bot's conversation memory (in the catalog, shared by all its processes)."""
    services = app.bot_data["services"]
    assert isinstance(services, Services)
    return services.conversations


def questions(app: BotApplication, chat_id: int) -> list[str]:
    """The questions the bot remembers of a chat, oldest first."""
    return [question for question, _, _ in memory_of(app).turns(chat_id)]


def nothing_stored(app: BotApplication, *chat_ids: int) -> bool:
    """Nothing kept for these chats: no memory, no per-process chat data."""
    chats = memory_of(app).chats()
    return not any(c in chats or c in app.chat_data for c in chat_ids)


@pytest.fixture
async def bot(
    tmp_path: Path, telegram_server: FakeTelegramServer, index: ArticleIndex
) -> AsyncIterator[BotApplication]:
    """The bot with default settings (offline answerer), running."""
    async with running(make_app(bot_settings(tmp_path, telegram_server), index)) as app:
        yield app


async def reply_to(server: FakeTelegramServer, chat_id: int, count: int = 1) -> list[str]:
    """Wait for `count` messages to `chat_id` and return all texts sent to it."""
    return await server.wait_for(
        lambda: len(server.texts(chat_id)) >= count and server.texts(chat_id)
    )  # type: ignore[no-any-return]


# -- questions ---------------------------------------------------------------------------------


async def test_private_question_gets_cited_html_answer(
    bot: BotApplication,
    telegram_server: FakeTelegramServer,
) -> None:
    telegram_server.private_message(BRIDGE_Q)
    [text] = await reply_to(telegram_server, 42)
    [call] = telegram_server.sent(42)
    assert call.params["parse_mode"] == "HTML"
    assert call.params["link_preview_options"] == {"is_disabled": True}
    assert "4 May" in text and "[1]" in text
    assert '[1] <a href="https://harbour.example/bridge">Sallow Street Bridge to reopen' in text
    assert "harbour.example, 2026-03-02" in text
    assert "<blockquote" not in text  # the answer quotes the passage: shown once
    assert telegram_server.calls_to("sendChatAction")[0].params["action"] == "typing"
    commands = telegram_server.calls_to("setMyCommands")[0].params["commands"]
    assert {c["command"] for c in commands} == {
        "start", "help", "ask", "sources", "reset", "stats", "timeline", "follow", "following",
        "unfollow",
    }  # fmt: skip


async def test_a_greeting_gets_a_greeting_and_the_help_command(
    bot: BotApplication,
    telegram_server: FakeTelegramServer,
) -> None:
    telegram_server.private_message("hi")
    [text] = await reply_to(telegram_server, 42)
    assert text.startswith("Hello!") and "/help" in text
    assert "don't say" not in text  # not a refusal


async def test_hostile_article_text_is_escaped(
    bot: BotApplication,
    telegram_server: FakeTelegramServer,
) -> None:
    telegram_server.private_message("How many sharks does the Kestrel zoo aquarium keep?")
    [text] = await reply_to(telegram_server, 42)
    shown = check_message(text)  # only our own tags, all balanced
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "Evil &lt;Site&gt; &amp; Co" in text  # & and <...>
    assert "Zoo &amp; &lt;b&gt;Aquarium</a>" in text  # an unbalanced <b> in the title
    assert 'href="https://evil.example/zoo?a=1&amp;b=2"' in text
    assert "<script>alert(1)</script> Zoo & <b>Aquarium" in shown  # what the user reads


async def test_group_answers_only_when_addressed(
    bot: BotApplication,
    telegram_server: FakeTelegramServer,
) -> None:
    telegram_server.group_message(BRIDGE_Q)  # not addressed: ignored
    telegram_server.mention(BRIDGE_Q)
    texts = await reply_to(telegram_server, -1001)
    assert "4 May" in texts[0]
    telegram_server.reply_to_bot(BRIDGE_Q, bot_message_id=10_001)
    telegram_server.group_message(f"/ask {BRIDGE_Q}")
    texts = await reply_to(telegram_server, -1001, 3)
    assert len(texts) == 3
    assert len(telegram_server.calls_to("sendChatAction")) == 3


async def test_follow_up_reset_and_memory(
    bot: BotApplication,
    telegram_server: FakeTelegramServer,
) -> None:
    telegram_server.private_message(BRIDGE_Q)
    await reply_to(telegram_server, 42)
    telegram_server.private_message("How much did the repairs cost?")
    texts = await reply_to(telegram_server, 42, 2)
    assert "12 million crowns" in texts[1]
    assert questions(bot, 42) == [BRIDGE_Q, "How much did the repairs cost?"]
    telegram_server.private_message("/reset")
    texts = await reply_to(telegram_server, 42, 3)
    assert texts[2] == "Conversation forgotten." and questions(bot, 42) == []
    assert not bot.chat_data  # nothing is kept per process


async def test_sources_are_paginated(
    bot: BotApplication,
    telegram_server: FakeTelegramServer,
) -> None:
    telegram_server.private_message("/sources")
    [text] = await reply_to(telegram_server, 42)
    assert text.startswith("<b>Articles 1/2</b> (7 in all)") and text.count("\n") == 5
    assert "&lt;script&gt;" in text
    assert '<a href="https://harbour.example/bridge">Sallow Street Bridge to reopen' in text
    assert "</a> — harbour.example, 2026-03-02" in text  # linked title, site, date
    [call] = telegram_server.sent(42)
    [[button]] = call.params["reply_markup"]["inline_keyboard"]
    assert button["callback_data"] == "sources:1"
    telegram_server.callback_query("sources:1", message_id=10_001, chat_id=42)
    edit = await telegram_server.wait_for(lambda: telegram_server.calls_to("editMessageText"))
    assert edit[0].params["text"].startswith("<b>Articles 2/2</b>")
    assert telegram_server.calls_to("answerCallbackQuery")


async def test_start_help_stats_and_usage(
    bot: BotApplication,
    telegram_server: FakeTelegramServer,
) -> None:
    for command in ("/start", "/help", "/stats", "/ask"):
        telegram_server.private_message(command)
    texts = await reply_to(telegram_server, 42, 4)  # answered concurrently: any order
    assert len([t for t in texts if "numbered sources" in t]) == 2
    assert any("7 articles" in t for t in texts)
    assert any(t.startswith("Usage: /ask <question>") for t in texts)


async def test_html_refused_is_resent_as_plain_text(
    bot: BotApplication,
    telegram_server: FakeTelegramServer,
) -> None:
    telegram_server.reject_html = 1
    telegram_server.private_message(BRIDGE_Q)
    [text] = await reply_to(telegram_server, 42)
    [call] = telegram_server.sent(42)
    assert "parse_mode" not in call.params
    assert "4 May" in text and "Sources:" in text and "<blockquote" not in text


# -- access and limits ---------------------------------------------------------------------------


async def test_unauthorised_users_get_one_refusal_and_nothing_is_stored(
    tmp_path: Path, telegram_server: FakeTelegramServer, index: ArticleIndex
) -> None:
    settings = bot_settings(tmp_path, telegram_server, allowed_user_ids="42")
    async with running(make_app(settings, index)) as app:
        telegram_server.private_message(BRIDGE_Q, user_id=77)
        telegram_server.group_message("chatting", chat_id=-5, user_id=77)  # not addressed
        telegram_server.private_message(BRIDGE_Q, user_id=42)
        await reply_to(telegram_server, 42)
        await reply_to(telegram_server, 77)
        telegram_server.private_message("/start", user_id=42)  # after the group message
        await reply_to(telegram_server, 42, 2)
        assert telegram_server.texts(77) == [REFUSAL_ACCESS]
        assert telegram_server.texts(-5) == []
        assert nothing_stored(app, 77, -5)
    assert not telegram_server.calls_to("sendChatAction")[1:]  # only the allowed question


async def test_allowed_chats_let_their_members_in(
    tmp_path: Path, telegram_server: FakeTelegramServer, index: ArticleIndex
) -> None:
    settings = bot_settings(tmp_path, telegram_server, allowed_chat_ids="-1001")
    async with running(make_app(settings, index)) as app:
        telegram_server.mention(BRIDGE_Q, chat_id=-1001, user_id=77)  # an allowed group
        telegram_server.mention(BRIDGE_Q, chat_id=-2002, user_id=77)  # another group
        telegram_server.private_message(BRIDGE_Q, user_id=77)  # not in a private chat
        assert "4 May" in (await reply_to(telegram_server, -1001))[0]
        assert await reply_to(telegram_server, -2002) == [REFUSAL_ACCESS]
        assert await reply_to(telegram_server, 77) == [REFUSAL_ACCESS]
        assert nothing_stored(app, -2002, 77)


async def test_rate_limit_says_slow_down_quoting_the_dropped_question(
    tmp_path: Path, telegram_server: FakeTelegramServer, index: ArticleIndex
) -> None:
    settings = bot_settings(tmp_path, telegram_server, telegram_questions_per_minute=2)
    async with running(make_app(settings, index)):
        questions = [f"{BRIDGE_Q} ({n})" for n in range(3)]
        updates = [telegram_server.private_update(q) for q in questions]
        for update in updates:
            telegram_server.push(update)
        texts = await reply_to(telegram_server, 42, 3)
        [dropped] = [t for t in texts if t.startswith("You're asking faster")]
        skipped = next(q for q in questions if q in dropped)
        assert dropped == slow_down(skipped)
        assert "skipped this question: “When does the Sallow Street Bridge reopen? (" in dropped
        [call] = [c for c in telegram_server.sent(42) if c.params["text"] == dropped]
        asked = next(u["message"] for u in updates if u["message"]["text"] == skipped)
        assert call.params["reply_parameters"]["message_id"] == asked["message_id"]


async def test_private_answers_are_threaded_to_their_questions(
    bot: BotApplication, telegram_server: FakeTelegramServer
) -> None:
    questions = [BRIDGE_Q, "How many visitors did the zoo aquarium welcome?"]
    updates = [telegram_server.private_update(q) for q in questions]
    for update in updates:
        telegram_server.push(update)
    await reply_to(telegram_server, 42, 2)
    answered = {c.params["reply_parameters"]["message_id"]: c for c in telegram_server.sent(42)}
    assert set(answered) == {u["message"]["message_id"] for u in updates}
    assert "4 May" in answered[updates[0]["message"]["message_id"]].params["text"]
    assert "900" in answered[updates[1]["message"]["message_id"]].params["text"]
    for call in answered.values():
        assert call.params["reply_parameters"]["allow_sending_without_reply"] is True


# -- admin ingest ---------------------------------------------------------------------------------


@pytest.fixture
def empty_index(tmp_path: Path) -> Iterator[ArticleIndex]:
    settings = Settings(_env_file=None, data_dir=tmp_path / "index")  # type: ignore[call-arg]
    index = ArticleIndex(settings, HashEmbedder())
    yield index
    index.close()


async def test_admin_add_url_and_ssrf_guard(
    tmp_path: Path,
    telegram_server: FakeTelegramServer,
    article_server: ArticleServer,
    empty_index: ArticleIndex,
) -> None:
    settings = bot_settings(tmp_path, telegram_server, admin_user_ids="42")
    url = article_server.url("/article/harbor-ferry")
    async with running(make_app(settings, empty_index, allow_private_addresses=True)):
        telegram_server.private_message(f"/add {url}")
        telegram_server.private_message(f"/add {url}", user_id=77)
        telegram_server.private_message("/add file:///etc/passwd")
        texts = sorted(await reply_to(telegram_server, 42, 2))  # answered concurrently
        assert texts[0].startswith("Added: ") and "ferry" in texts[0].lower()
        assert texts[1].startswith("Usage: /add <url>")
        assert (await reply_to(telegram_server, 77)) == [ADMINS_ONLY]
    assert len(empty_index.articles()) == 1
    async with running(app := make_app(settings, empty_index)):  # the guard is on by default
        telegram_server.private_message(f"/add {article_server.url('/article/mountain-rail')}")
        texts = await reply_to(telegram_server, 42, 3)
    assert texts[2].startswith("Failed: ") and "address" in texts[2], texts[2]
    assert len(empty_index.articles()) == 1
    registry = app.bot_data["services"].metrics.registry  # the refused URL is a failure
    assert registry.get_sample_value("articlebot_ingest_failures_total", {"job": "add"}) == 1


async def test_admin_document_upload(
    tmp_path: Path, telegram_server: FakeTelegramServer, empty_index: ArticleIndex
) -> None:
    settings = bot_settings(tmp_path, telegram_server, admin_user_ids="42", max_article_bytes=1000)
    body = b"# Lighthouse repainted\n\nThe old lighthouse at Merrow Point was repainted red.\n"
    async with running(app := make_app(settings, empty_index)):
        telegram_server.document("lighthouse.md", body)
        telegram_server.document("virus.exe", b"MZ")
        telegram_server.document("huge.txt", b"word " * 300)
        telegram_server.document("notes.txt", body, user_id=77)  # not an admin
        texts = sorted(await reply_to(telegram_server, 42, 3))  # answered concurrently
        telegram_server.document("lighthouse.md", body)
        texts += (await reply_to(telegram_server, 42, 4))[3:]
        telegram_server.document("lighthouse.md", body.replace(b"red", b"blue"))
        texts += (await reply_to(telegram_server, 42, 5))[4:]
        assert await reply_to(telegram_server, 77) == [ADMINS_ONLY]
    assert texts[0] == "Added: Lighthouse repainted"
    assert texts[1] == "Failed: huge.txt: larger than 1000 bytes."
    assert texts[2].startswith("Failed: virus.exe")
    assert texts[3] == "Unchanged: Lighthouse repainted"
    assert texts[4] == "Updated: Lighthouse repainted"
    [stored] = empty_index.articles()
    assert stored.article.id == "telegram-upload:lighthouse.md"
    assert "repainted blue" in stored.article.text
    registry = app.bot_data["services"].metrics.registry  # /metrics counts what was stored
    for status in ("added", "unchanged", "updated"):
        labels = {"job": "add", "status": status}
        assert registry.get_sample_value("articlebot_ingest_articles_total", labels) == 1


# -- the LLM path, failures, persistence -----------------------------------------------------------


def llm_settings(
    tmp_path: Path, server: FakeTelegramServer, llm: FakeOpenAIServer, **values: Any
) -> Settings:
    """Settings for LLM answers from the fake OpenAI server (`values` override)."""
    defaults: dict[str, Any] = {"openai_timeout": 3.0, "openai_max_retries": 1}
    return bot_settings(
        tmp_path,
        server,
        answerer="llm",
        openai_api_key="sk-test",
        openai_base_url=llm.base_url,
        **{"telegram_edit_interval": 0.1, **defaults, **values},
    )


async def test_llm_answer_streams_and_long_answers_split(
    tmp_path: Path,
    telegram_server: FakeTelegramServer,
    openai_server: FakeOpenAIServer,
    index: ArticleIndex,
) -> None:
    long_reply = "\n\n".join(
        f"Paragraph {n}: the bridge reopens on 4 May [1]. " * 8 for n in range(12)
    )
    openai_server.enqueue_chat(long_reply)
    settings = llm_settings(tmp_path, telegram_server, openai_server)
    async with running(make_app(settings, index)):
        telegram_server.private_message(BRIDGE_Q)
        await telegram_server.wait_for(
            lambda: any("blockquote" in t for t in telegram_server.texts(42))
        )
    edits = telegram_server.calls_to("editMessageText")
    assert edits and edits[-1].params["parse_mode"] == "HTML"  # the draft became the answer
    messages = [edits[-1].params["text"], *telegram_server.texts(42)[1:]]
    assert len(messages) >= 2 and all(len(m) <= 4096 for m in messages)
    assert messages[0].startswith("Paragraph 0:") and "<blockquote expandable>" in messages[-1]


async def test_llm_failure_gets_an_apology_and_the_bot_goes_on(
    tmp_path: Path,
    telegram_server: FakeTelegramServer,
    openai_server: FakeOpenAIServer,
    index: ArticleIndex,
    caplog: pytest.LogCaptureFixture,
) -> None:
    openai_server.enqueue(*[ScriptedResponse.error(500)] * 2)
    openai_server.enqueue_chat("The bridge reopens on 4 May [1].")
    settings = llm_settings(tmp_path, telegram_server, openai_server)
    async with running(make_app(settings, index)):
        telegram_server.private_message(BRIDGE_Q)
        assert await reply_to(telegram_server, 42) == [APOLOGY_LLM]
        telegram_server.private_message(BRIDGE_Q)
        final = await telegram_server.wait_for(lambda: telegram_server.calls_to("editMessageText"))
    assert final[-1].params["text"].startswith("The bridge reopens on 4 May [1].")
    assert "sk-test" not in caplog.text and TOKEN not in caplog.text


async def test_conversation_survives_a_restart(
    tmp_path: Path, telegram_server: FakeTelegramServer, index: ArticleIndex
) -> None:
    settings = bot_settings(tmp_path, telegram_server)
    async with running(make_app(settings, index)):
        telegram_server.private_message(BRIDGE_Q)
        await reply_to(telegram_server, 42)
    async with running(make_app(settings, index)) as app:
        assert questions(app, 42) == [BRIDGE_Q]
        telegram_server.private_message("/reset")
        texts = await reply_to(telegram_server, 42, 2)
    assert texts[1] == "Conversation forgotten."
