"""News in the Telegram bot: /timeline, dated sources, merged copies, /stats coverage.

The real PTB application against the Bot API emulator, on the news test corpus (hashed
embeddings), with the offline answerer and, for one test, the LLM one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.telegram.app import BotApplication
from bot.telegram.news import USAGE_TIMELINE
from retrieval.store.index import ArticleIndex
from tests.fakes import openai_server as fake_openai
from tests.fakes import telegram_server as fake_telegram
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.telegram_server import FakeTelegramServer
from tests.news_corpus import hashed_index
from tests.test_telegram import bot_settings, llm_settings, make_app, questions, reply_to, running

telegram_server = fake_telegram.telegram_server
openai_server = fake_openai.openai_server

WIRE_COPY = "https://greywellobserver.example/local/2026/04/10/dam-repair-under-way"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArticleIndex]:
    index = hashed_index(tmp_path_factory.mktemp("news-index"))
    yield index
    index.close()


@pytest.fixture
async def bot(
    tmp_path: Path, telegram_server: FakeTelegramServer, index: ArticleIndex
) -> AsyncIterator[BotApplication]:
    async with running(make_app(bot_settings(tmp_path, telegram_server), index)) as app:
        yield app


async def test_timeline_command_lists_dated_events_in_order(
    bot: BotApplication, telegram_server: FakeTelegramServer
) -> None:
    telegram_server.private_message("/timeline Hollin Dam")
    [text] = await reply_to(telegram_server, 42)
    assert telegram_server.sent(42)[0].params["parse_mode"] == "HTML"
    lines = text.split("\n\n")[0].splitlines()
    assert lines[0] == "Timeline of Hollin Dam (5 reports, 2026-04-03 to 2026-04-16, 1 undated):"
    assert [line.split(" · ")[0] for line in lines[1:]] == [
        "2026-04-03", "2026-04-05", "2026-04-09", "2026-04-16", "no date"
    ]  # fmt: skip
    assert lines[2].startswith("2026-04-05 · Riverside Post: Some 2,500 troops")
    assert [line[-3:] for line in lines[1:]] == ["[1]", "[2]", "[3]", "[4]", "[5]"]
    assert "— Coastline Wire, 2026-04-09\n<i>also ran: Greywell Observer, 2026-04-10" in text
    assert f"({WIRE_COPY})</i>" in text
    assert "— Lowmere Water Authority, no date" in text


async def test_what_happened_question_and_usage(
    bot: BotApplication, telegram_server: FakeTelegramServer
) -> None:
    telegram_server.private_message("/timeline")
    assert await reply_to(telegram_server, 42) == [USAGE_TIMELINE]
    telegram_server.private_message("What happened with the Hollin Dam?")
    texts = await reply_to(telegram_server, 42, 2)
    assert texts[1].startswith("Timeline of the Hollin Dam (5 reports,")
    assert questions(bot, 42) == ["What happened with the Hollin Dam?"]


async def test_conflict_and_dates_in_a_chat_answer(
    bot: BotApplication, telegram_server: FakeTelegramServer
) -> None:
    telegram_server.private_message("How many troops has the Defence Ministry sent to Greywell?")
    [text] = await reply_to(telegram_server, 42)
    assert text.startswith("2,500. According to Riverside Post (2026-04-05): ")
    assert "Sources differ on the number of troops: 2,500 according to Riverside Post" in text
    assert "— Riverside Post, 2026-04-05" in text and "— Lowmere Herald, 2026-04-03" in text


async def test_stats_shows_date_coverage(
    bot: BotApplication, telegram_server: FakeTelegramServer
) -> None:
    telegram_server.private_message("/stats")
    [text] = await reply_to(telegram_server, 42)
    assert "Published: 2026-04-03 to 2026-04-16 (1 with no date)." in text


async def test_llm_timeline_is_dated_from_the_articles(
    tmp_path: Path,
    telegram_server: FakeTelegramServer,
    openai_server: FakeOpenAIServer,
    index: ArticleIndex,
) -> None:
    # the model lists events out of order and misdates one: order and dates are the articles'
    openai_server.enqueue_chat(
        "2026-04-16 — Residents went home as the repair finished early [4]\n"
        "2026-04-01 — A crack was found and lower Greywell evacuated [1]\n"
        "2026-04-05 — Soldiers built a flood barrier [2]"
    )
    settings = llm_settings(tmp_path, telegram_server, openai_server)
    async with running(make_app(settings, index)):
        telegram_server.private_message("/timeline Hollin Dam")
        final = await telegram_server.wait_for(
            lambda: [
                c
                for c in telegram_server.calls_to("editMessageText")
                if "Sources" in str(c.params["text"])
            ]
        )
    text = str(final[-1].params["text"])
    lines = text.split("\n\n")[0].splitlines()
    assert lines[1:] == [
        "2026-04-03 · Lowmere Herald: A crack was found and lower Greywell evacuated [1]",
        "2026-04-05 · Riverside Post: Soldiers built a flood barrier [2]",
        "2026-04-16 · Eastbank Daily: Residents went home as the repair finished early [3]",
    ]
    [request] = openai_server.chat_requests
    system = request.json["messages"][0]["content"]
    assert "timeline" in system and "oldest first" in system
