"""When things fail, users get a short apology and the bot goes on; the log has the details
(with a traceback for the unexpected), never a secret.

LLM timeouts and 429s come from the fake OpenAI server, an unreachable index from a Chroma
server address nobody listens on, an unexpected error from a Bot API error the bot has no
handling for.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.telegram.app import APOLOGY, APOLOGY_LLM, APOLOGY_STORE
from retrieval.store.index import ArticleIndex
from tests.fakes.embedder import HashEmbedder
from tests.fakes.openai_server import FakeOpenAIServer, ScriptedResponse
from tests.fakes.telegram_server import TOKEN, FakeTelegramServer
from tests.test_telegram import (
    BRIDGE_Q,
    bot_settings,
    index,
    llm_settings,
    make_app,
    openai_server,
    questions,
    reply_to,
    running,
    telegram_server,
)

__all__ = ["index", "openai_server", "telegram_server"]  # fixtures
CHAT = "/v1/chat/completions"


@pytest.mark.parametrize(
    "failure",
    [ScriptedResponse.error(429, path=CHAT), ScriptedResponse.slow(5, path=CHAT)],
    ids=["429", "timeout"],
)
async def test_llm_busy_or_timing_out_gets_an_apology(
    tmp_path: Path,
    telegram_server: FakeTelegramServer,
    openai_server: FakeOpenAIServer,
    index: ArticleIndex,
    failure: ScriptedResponse,
    caplog: pytest.LogCaptureFixture,
) -> None:
    openai_server.enqueue(failure, failure)  # the first try and the one retry
    settings = llm_settings(tmp_path, telegram_server, openai_server, openai_timeout=0.5)
    async with running(make_app(settings, index)):
        telegram_server.private_message(BRIDGE_Q)
        assert await reply_to(telegram_server, 42) == [APOLOGY_LLM]
        telegram_server.private_message("/start")  # still running
        assert "numbered sources" in (await reply_to(telegram_server, 42, 2))[1]
    assert "could not answer: LLMError" in caplog.text
    assert "sk-test" not in caplog.text and TOKEN not in caplog.text


@pytest.fixture
def unreachable_index(tmp_path: Path) -> Iterator[ArticleIndex]:
    """An index whose Chroma server is down (nothing listens on its port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path / "index", chroma_host="127.0.0.1", chroma_port=port
    )
    index = ArticleIndex(settings, HashEmbedder())
    yield index
    index.close()


async def test_index_unavailable_gets_an_apology(
    tmp_path: Path,
    telegram_server: FakeTelegramServer,
    unreachable_index: ArticleIndex,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = bot_settings(tmp_path, telegram_server)
    async with running(make_app(settings, unreachable_index)):
        telegram_server.private_message(BRIDGE_Q)
        assert await reply_to(telegram_server, 42) == [APOLOGY_STORE]
        telegram_server.private_message("/help")
        assert "numbered sources" in (await reply_to(telegram_server, 42, 2))[1]
    assert "could not answer: StoreError: cannot reach the Chroma server" in caplog.text


async def test_unexpected_error_is_logged_with_its_traceback_and_the_turn_not_kept(
    tmp_path: Path,
    telegram_server: FakeTelegramServer,
    index: ArticleIndex,
    caplog: pytest.LogCaptureFixture,
) -> None:
    telegram_server.fail_next("sendMessage", 400, "Bad Request: message is too long")
    settings = bot_settings(tmp_path, telegram_server)
    async with running(make_app(settings, index)) as app:
        telegram_server.private_message(BRIDGE_Q)
        assert await reply_to(telegram_server, 42) == [APOLOGY]
        assert questions(app, 42) == []  # the user never saw that answer
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage() == "unexpected error while handling an update"
    assert record.exc_info is not None and str(record.exc_info[1]) == "Message is too long"
    assert "Traceback (most recent call last)" in caplog.text
