"""Access, secrets and SSRF, proved on the fake servers' request logs and captured output.

* Strangers (users and chats not on the allow-lists) get one refusal and reach neither the
  index nor the LLM: the fake OpenAI server, which serves both the embeddings the index is
  searched with and the chat model, sees no request from them.
* The bot token and the API key never appear in logs, replies or `--json` output, even when
  a server echoes the key back in an error.
* URLs that lead to the machine itself or the private network are refused, whether given
  directly, reached by a redirect, a feed entry's link or a DNS name, or written with
  another scheme.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bot.cli.main import main
from bot.settings import Settings
from bot.telegram.admin import ADMINS_ONLY, USAGE_ADD
from bot.telegram.app import APOLOGY_LLM, REFUSAL_ACCESS, build_application
from bot.telegram.services import Services
from ingest.chunk import Chunker
from ingest.feeds import parse_feed
from ingest.fetch import Fetcher, IPAddress
from ingest.formats import Origin
from retrieval.errors import SourceError
from retrieval.pipeline import make_answerer
from retrieval.store.index import ArticleIndex
from retrieval.types import Article
from tests.fakes import http_server as fake_http
from tests.fakes import openai_server as fake_openai
from tests.fakes import telegram_server as fake_telegram
from tests.fakes.harness import (
    API_KEY,
    articlebot_command,
    openai_settings,
    running,
    settings_env,
    town_articles,
    town_fact,
    town_question,
)
from tests.fakes.http_server import ArticleServer
from tests.fakes.loopback import loopback_fetcher
from tests.fakes.openai_server import FakeOpenAIServer, ScriptedResponse
from tests.fakes.telegram_server import TOKEN, FakeTelegramServer
from tests.test_telegram import nothing_stored

telegram_server = fake_telegram.telegram_server
openai_server = fake_openai.openai_server
article_server = fake_http.article_server

SECRETS = (TOKEN, TOKEN.split(":")[1], API_KEY, API_KEY[3:], "hunter2-SECRET")
STRANGER, MEMBER, ADMIN = 77, 42, 7
OPEN_GROUP, CLOSED_GROUP = -100, -5


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"secret {secret[:6]}… leaked: {text[:300]!r}"


def build_index(settings: Settings, articles: list[Article]) -> ArticleIndex:
    index = ArticleIndex(settings)
    chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
    index.upsert([(a, chunker.split(a)) for a in articles])
    index.finish_run()
    return index


def bot_values(server: FakeTelegramServer) -> dict[str, Any]:
    return {
        "telegram_bot_token": TOKEN,
        "telegram_base_url": server.base_url,
        "telegram_base_file_url": server.file_url,
        "telegram_edit_interval": 0.1,
    }


# -- access ----------------------------------------------------------------------------------


async def test_strangers_reach_neither_the_index_nor_the_llm(
    tmp_path: Path, telegram_server: FakeTelegramServer, openai_server: FakeOpenAIServer
) -> None:
    settings = openai_settings(
        tmp_path / "data",
        openai_server,
        llm=True,
        allowed_user_ids=str(MEMBER),
        allowed_chat_ids=str(OPEN_GROUP),
        admin_user_ids=str(ADMIN),
        **bot_values(telegram_server),
    )
    index = build_index(settings, town_articles(4))
    before = len(openai_server.requests)
    app = build_application(
        settings, Services.create(settings, index, make_answerer(settings, index))
    )
    async with running(app):
        question = town_question(1)
        for text in (question, f"/ask {question}", "/sources", "/stats", "/add https://a.example/"):
            telegram_server.private_message(text, user_id=STRANGER)
        telegram_server.document("story.md", b"# Story\n\nThe ferry is back.\n", user_id=STRANGER)
        telegram_server.mention(question, chat_id=CLOSED_GROUP, user_id=STRANGER)
        telegram_server.group_message(f"/ask {question}", chat_id=CLOSED_GROUP, user_id=STRANGER)
        telegram_server.group_message("just chatting", chat_id=CLOSED_GROUP, user_id=STRANGER)
        telegram_server.callback_query(
            "sources:1", message_id=10_001, chat_id=STRANGER, user_id=STRANGER
        )
        await telegram_server.wait_for(
            lambda: (
                len(telegram_server.texts(STRANGER)) >= 6
                and len(telegram_server.texts(CLOSED_GROUP)) >= 2
                and telegram_server.calls_to("answerCallbackQuery")
            )
        )
        await _settle(telegram_server)
        assert openai_server.requests[before:] == []  # no embedding, no chat completion
        assert set(telegram_server.texts(STRANGER)) == {REFUSAL_ACCESS}
        assert telegram_server.texts(CLOSED_GROUP) == [REFUSAL_ACCESS] * 2
        [alert] = telegram_server.calls_to("answerCallbackQuery")
        assert alert.params["text"] == REFUSAL_ACCESS
        assert not telegram_server.calls_to("sendChatAction")
        assert nothing_stored(app, STRANGER, CLOSED_GROUP)

        # The same question from a member, from a stranger in an allowed group, and an
        # admin who is on no list: answered, and now the servers see the questions.
        openai_server.enqueue_chat(*[f"The library holds {town_fact(1)} [1]."] * 3)
        telegram_server.private_message(question, user_id=MEMBER)
        telegram_server.mention(question, chat_id=OPEN_GROUP, user_id=STRANGER)
        telegram_server.private_message("/add not-a-url", user_id=ADMIN)
        for chat in (MEMBER, OPEN_GROUP):
            await telegram_server.wait_for(lambda c=chat: _answered(telegram_server, c), 15)
        await telegram_server.wait_for(lambda: telegram_server.texts(ADMIN))
    assert len(openai_server.chat_requests) == 2
    assert openai_server.requests_to("/v1/embeddings")[before:]
    assert (
        telegram_server.texts(ADMIN) == [USAGE_ADD] and ADMINS_ONLY not in telegram_server.texts()
    )
    index.close()


def _answered(server: FakeTelegramServer, chat_id: int) -> bool:
    """The chat's final (HTML) answer has arrived."""
    calls = server.calls_to("sendMessage") + server.calls_to("editMessageText")
    return any(
        c.ok and c.params.get("chat_id") == chat_id and c.params.get("parse_mode") == "HTML"
        for c in calls
    )


async def _settle(server: FakeTelegramServer, quiet: float = 0.3) -> None:
    """Wait until the bot has made no call for `quiet` seconds (so late calls are seen)."""
    count = -1
    while count != len(server.calls):
        count = len(server.calls)
        await asyncio.sleep(quiet)


# -- secrets -----------------------------------------------------------------------------------


@pytest.fixture
def llm_index(tmp_path: Path, openai_server: FakeOpenAIServer) -> Iterator[Settings]:
    """An index of town articles embedded by the fake server; the LLM is the fake server."""
    settings = openai_settings(tmp_path / "data", openai_server, llm=True)
    build_index(settings, town_articles(4)).close()
    yield settings


def run_cli(settings: Settings, *args: str, **env: str) -> Result:
    environment = settings_env(settings) | {"ARTICLEBOT_ANSWERER": "llm", **env}
    return CliRunner().invoke(main, list(args), env=environment)


def echo_key(status: int, path: str) -> ScriptedResponse:
    """An error whose message quotes the whole key, as a careless proxy might."""
    return ScriptedResponse.error(status, f"Incorrect API key provided: {API_KEY}", path=path)


def test_cli_errors_and_json_never_show_the_key(
    llm_index: Settings, openai_server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    chat, embeddings = "/v1/chat/completions", "/v1/embeddings"
    outputs: list[str] = []

    openai_server.enqueue_chat(f"It holds {town_fact(2)} [1].")
    ok = run_cli(llm_index, "-v", "ask", town_question(2), "--json")
    assert ok.exit_code == 0, ok.output
    assert town_fact(2) in json.loads(ok.stdout)["answer"]
    outputs += [ok.stdout, ok.stderr]

    # (401 and malformed replies are not retried; a 500 is, once: max_retries=1)
    for scripted, command in [
        ([echo_key(401, chat)], ["ask", town_question(2), "--json"]),
        ([echo_key(500, chat)] * 2, ["ask", town_question(2)]),
        ([echo_key(401, embeddings)], ["ask", town_question(2), "--json"]),
        ([ScriptedResponse.malformed(chat)], ["ask", town_question(2), "--json"]),
    ]:
        openai_server.enqueue(*scripted)
        failed = run_cli(llm_index, "-v", *command)
        assert failed.exit_code == 1, failed.output
        [line] = failed.stderr.strip().splitlines()
        assert line.startswith("Error: ") and "127.0.0.1" in line
        outputs += [failed.stdout, failed.stderr]

    story = llm_index.data_dir.parent / "story.jsonl"
    story.write_text(json.dumps({"id": "s", "title": "Ferry", "text": "The ferry is back."}))
    openai_server.enqueue(echo_key(401, embeddings))
    ingest = run_cli(llm_index, "-v", "ingest", str(story), "--json")
    assert ingest.exit_code == 1
    outputs += [ingest.stdout, ingest.stderr]

    for command in (["stats", "--json"], ["list", "--json"]):
        shown = run_cli(llm_index, *command)
        assert shown.exit_code == 0
        outputs.append(shown.stdout)

    # credentials in the base URL are a secret too
    with_password = openai_server.base_url.replace("http://", "http://user:hunter2-SECRET@")
    openai_server.enqueue(*[ScriptedResponse.error(500, path=chat)] * 2)
    failed = run_cli(llm_index, "ask", town_question(2), OPENAI_BASE_URL=with_password)
    assert failed.exit_code == 1
    outputs += [failed.stdout, failed.stderr]
    assert openai_server.pending == 0  # every scripted failure was met
    assert_no_secret(*outputs, caplog.text)


@pytest.mark.slow
def test_bot_process_never_logs_or_sends_secrets(
    llm_index: Settings, telegram_server: FakeTelegramServer, openai_server: FakeOpenAIServer
) -> None:
    chat, embeddings = "/v1/chat/completions", "/v1/embeddings"
    env = settings_env(llm_index) | {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "ARTICLEBOT_TELEGRAM_BASE_URL": telegram_server.base_url,
        "ARTICLEBOT_ANSWERER": "llm",
        "ARTICLEBOT_TELEGRAM_EDIT_INTERVAL": "0.1",
    }
    process = subprocess.Popen(
        articlebot_command("-v", "telegram"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        steps: list[tuple[list[ScriptedResponse], int]] = [
            ([], 0),  # a normal answer
            ([echo_key(500, chat)] * 2, 0),  # the LLM fails: an apology
            ([echo_key(401, embeddings)], 0),  # the index's embedder fails: an apology
            ([ScriptedResponse.malformed(chat)], 0),
            ([], 1),  # Telegram refuses the HTML: resent as plain text
        ]
        # 90 s a step: the first waits for the process to start, and a loaded 2-core
        # machine (the suite beside other jobs) once took longer than 40 s.
        for n, (scripted, reject_html) in enumerate(steps, start=1):
            openai_server.enqueue(*scripted)
            if not scripted:
                openai_server.enqueue_chat(f"It holds {town_fact(n)} [1].")
            telegram_server.reject_html = reject_html
            telegram_server.private_message(town_question(n), user_id=100 + n)
            _wait(process, lambda n=n: _final_reply(telegram_server, 100 + n), 90)
        assert APOLOGY_LLM in telegram_server.texts(102)
        revoked_at = len(telegram_server.calls)
        telegram_server.reject_token = True  # the token is revoked while the bot runs
        time.sleep(1.5)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    sent = [json.dumps(c.params) for c in telegram_server.calls]
    assert_no_secret(out, err, *sent)
    # The revoked token was met (Telegram refused a call after it), and the only error
    # logged is PTB's own about it, its token redacted.
    refused = telegram_server.calls[revoked_at:]
    assert refused and all(not c.ok for c in refused)
    errors = [line for line in err.splitlines() if " ERROR " in line]
    assert errors, err
    assert all("telegram.ext.Updater" in line for line in errors), err
    assert "InvalidToken" in err or "Unauthorized" in err, err[-3000:]
    assert any(town_fact(1) in text for text in sent)


def _final_reply(server: FakeTelegramServer, chat_id: int) -> bool:
    """An HTML answer, an apology or a plain-text answer with its sources has been shown."""
    calls = server.calls_to("sendMessage") + server.calls_to("editMessageText")
    texts = [str(c.params["text"]) for c in calls if c.ok and c.params["chat_id"] == chat_id]
    return _answered(server, chat_id) or any(
        t.startswith("Sorry") or "Sources:" in t for t in texts
    )


def _wait(process: subprocess.Popen[str], check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if process.poll() is not None:
            raise AssertionError(f"the bot died: {process.communicate()}")
        assert time.monotonic() < deadline, "no reply from the bot process"
        time.sleep(0.05)


# -- SSRF ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def outside_server() -> Iterator[ArticleServer]:
    """A "public" site: a server on 127.0.0.2, the one address the guard is told to allow."""
    try:
        server = ArticleServer(host="127.0.0.2")
    except OSError:  # pragma: no cover - loopback aliases are Linux's default, not macOS's
        pytest.skip("cannot bind 127.0.0.2")
    server.start()
    yield server
    server.stop()


OUTSIDE = (ipaddress.ip_network("127.0.0.2/32"),)


def guarded(settings: Settings, resolver: Any = None) -> AbstractContextManager[Fetcher]:
    """A guarded fetcher whose client could not leave loopback even if the guard failed."""
    extra = {"resolver": resolver} if resolver else {}
    return loopback_fetcher(
        settings, allow_private_addresses=False, allowed_networks=OUTSIDE, **extra
    )


def canary(server: ArticleServer) -> str:
    """A unique path on the internal server; if it is ever requested, the guard failed."""
    return f"/internal/{uuid.uuid4().hex}"


def assert_not_reached(server: ArticleServer, path: str) -> None:
    assert not [r for r in server.requests if r.path == path], f"{path} was fetched"


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}{path}",
        "http://localhost:{port}{path}",
        "http://[::1]:{port}{path}",
        "http://[::ffff:127.0.0.1]:{port}{path}",
        "http://0x7f000001:{port}{path}",
        "http://127.1:{port}{path}",
        "http://0.0.0.0:{port}{path}",
        "http://169.254.169.254{path}",
        "http://10.0.0.1{path}",
        "http://[fd00::1]{path}",
    ],
)
def test_redirects_into_the_private_network_are_refused(
    settings: Settings, outside_server: ArticleServer, article_server: ArticleServer, target: str
) -> None:
    path = canary(article_server)
    hop = target.format(port=article_server.port, path=path)
    url = outside_server.url(f"/redirect-to?url={hop}")
    with guarded(settings) as fetcher, pytest.raises(SourceError) as refused:
        fetcher.fetch(url)
    assert refused.value.reason.startswith(f"redirect to {hop}: ")
    assert "private or reserved" in refused.value.reason or "resolve" in refused.value.reason
    assert_not_reached(article_server, path)


@pytest.mark.parametrize(
    "target",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "gopher://127.0.0.1:70/_SSRF",
        "ftp://127.0.0.1/",
        "data:text/html,<p>x</p>",
        "javascript:alert(1)",
        "dict://127.0.0.1:11211/",
    ],
)
def test_other_schemes_are_refused_directly_and_after_a_redirect(
    settings: Settings, outside_server: ArticleServer, target: str
) -> None:
    with guarded(settings) as fetcher:
        with pytest.raises(SourceError, match="unsupported scheme"):
            fetcher.fetch(target)
        url = outside_server.url(f"/redirect-to?url={target}")
        with pytest.raises(SourceError, match="unsupported scheme|invalid or unsupported URL"):
            fetcher.fetch(url)


@pytest.mark.parametrize(
    ("answers", "refused"),
    [
        (["10.0.0.7"], "10.0.0.7"),
        (["169.254.169.254"], "169.254.169.254"),
        (["93.184.216.34", "127.0.0.1"], "127.0.0.1"),  # one private answer is enough
        (["::1"], "::1"),
        (["::ffff:192.168.0.1"], "::ffff:192.168.0.1"),
        (["100.64.0.1"], "100.64.0.1"),  # carrier-grade NAT
    ],
)
def test_names_that_resolve_to_private_addresses_are_refused(
    settings: Settings, answers: list[str], refused: str
) -> None:
    def dns(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(a) for a in answers]

    with guarded(settings, dns) as fetcher, pytest.raises(SourceError) as caught:
        fetcher.fetch("https://intranet.example/admin")
    shown = ipaddress.ip_address(refused)
    assert caught.value.reason.endswith(f"is a private or reserved address ({shown})")


def test_feed_entry_links_into_the_private_network_are_not_fetched(
    settings: Settings, article_server: ArticleServer
) -> None:
    paths = [canary(article_server) for _ in range(3)]
    links = [
        f"http://127.0.0.1:{article_server.port}{paths[0]}",
        f"http://localhost:{article_server.port}{paths[1]}",
        f"http://[::1]:{article_server.port}{paths[2]}",
    ]
    items = "".join(
        f"<item><title>Entry {n}</title><link>{link}</link>"
        f"<description>Teaser number {n} about the harbour.</description></item>"
        for n, link in enumerate(links)
    )
    feed = f"<?xml version='1.0'?><rss><channel><title>F</title>{items}</channel></rss>"
    with guarded(settings) as fetcher:
        results = list(parse_feed(feed.encode(), Origin(source="feed"), fetcher))
    assert [isinstance(r, Article) for r in results] == [True] * 3  # their own teasers
    for path in paths:
        assert_not_reached(article_server, path)


async def test_add_refuses_private_addresses_and_other_schemes(
    tmp_path: Path,
    telegram_server: FakeTelegramServer,
    openai_server: FakeOpenAIServer,
    article_server: ArticleServer,
) -> None:
    settings = openai_settings(
        tmp_path / "data", openai_server, admin_user_ids=str(ADMIN), **bot_values(telegram_server)
    )
    index = build_index(settings, town_articles(1))
    port = article_server.port
    paths = [canary(article_server) for _ in range(5)]
    private = [
        f"http://127.0.0.1:{port}{paths[0]}",
        f"http://localhost:{port}{paths[1]}",
        f"http://[::1]:{port}{paths[2]}",
        f"http://0x7f000001:{port}{paths[3]}",
        f"http://127.1:{port}{paths[4]}",
    ]
    schemes = ["file:///etc/passwd", "gopher://127.0.0.1:70/", "data:text/plain,hi", "ftp://x/"]
    app = build_application(
        settings, Services.create(settings, index, make_answerer(settings, index))
    )
    async with running(app):
        for url in private + schemes:
            telegram_server.private_message(f"/add {url}", user_id=ADMIN)
        texts = await telegram_server.wait_for(
            lambda: len(telegram_server.texts(ADMIN)) >= 9 and telegram_server.texts(ADMIN), 20
        )
    refusals = [t for t in texts if t.startswith("Failed: refused: ")]
    assert len(refusals) == 5 and texts.count(USAGE_ADD) == 4, texts
    for path in paths:
        assert_not_reached(article_server, path)
    assert [s.article.id for s in index.articles()] == ["town-0"]
    index.close()
