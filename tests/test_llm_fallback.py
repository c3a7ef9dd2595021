"""Auto mode with an LLM configured but unreachable: answers from the articles, with a notice.

The LLM's server is a closed port on 127.0.0.1 (connection refused); then, to see the pause
end, the fake OpenAI server is started on that very port.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli.main import main
from bot.settings import Settings
from ingest.chunk import Chunker
from retrieval.answer.fallback import UNREACHABLE
from retrieval.pipeline import make_answerer
from retrieval.store.index import ArticleIndex
from tests.conftest import SAMPLES_DIR
from tests.fakes import telegram_server as fake_telegram
from tests.fakes.embedder import HashEmbedder
from tests.fakes.harness import running
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.telegram_server import FakeTelegramServer
from tests.test_telegram import BRIDGE, BRIDGE_Q, bot_settings, make_app, reply_to

telegram_server = fake_telegram.telegram_server  # the fixture, used by name below


@pytest.fixture
def closed_port(monkeypatch: pytest.MonkeyPatch) -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then closed)."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def sample_dir(
    tmp_path_factory: pytest.TempPathFactory, ingested_copy: Callable[[Path, Path], Path]
) -> Path:
    return ingested_copy(SAMPLES_DIR / "articles", tmp_path_factory.mktemp("fallback") / "data")


def ask(data_dir: Path, port: int, *args: str, answerer: str | None = None) -> Result:
    env = {"OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1", "ARTICLEBOT_LLM_CONNECT_TIMEOUT": "2"}
    if answerer:
        env["ARTICLEBOT_ANSWERER"] = answerer
    question = "When is the Sallow Street Bridge now expected to reopen?"
    return CliRunner(env=env).invoke(main, ["--data-dir", str(data_dir), "ask", question, *args])


def test_cli_ask_answers_offline_with_one_line_notice(sample_dir: Path, closed_port: int) -> None:
    result = ask(sample_dir, closed_port)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [UNREACHABLE]
    assert "May 18" in result.stdout and "\n\nSources:\n[1] " in result.stdout
    payload = json.loads(ask(sample_dir, closed_port, "--json").stdout)
    assert payload["notice"] == UNREACHABLE and payload["found"] is True


def test_llm_mode_does_not_fall_back(sample_dir: Path, closed_port: int) -> None:
    result = ask(sample_dir, closed_port, answerer="llm")
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: chat request to 127.0.0.1:") and "cannot connect" in line


@pytest.fixture
def small_index(tmp_path: Path) -> Iterator[ArticleIndex]:
    settings = Settings(_env_file=None, data_dir=tmp_path / "index")  # type: ignore[call-arg]
    index = ArticleIndex(settings, HashEmbedder())
    index.upsert([(BRIDGE, Chunker(size=300, overlap=40).split(BRIDGE))])
    index.finish_run()
    yield index
    index.close()


async def test_bot_answers_offline_with_the_notice(
    tmp_path: Path,
    telegram_server: FakeTelegramServer,
    small_index: ArticleIndex,
    closed_port: int,
) -> None:
    settings = bot_settings(
        tmp_path,
        telegram_server,
        answerer="auto",
        openai_base_url=f"http://127.0.0.1:{closed_port}/v1",
        llm_connect_timeout=2,
    )
    assert settings.use_llm
    async with running(make_app(settings, small_index)):
        telegram_server.private_message(BRIDGE_Q)
        await reply_to(telegram_server, 42)  # the streamed draft, then its final edit:
        [edit] = await telegram_server.wait_for(
            lambda: [
                c
                for c in telegram_server.calls_to("editMessageText")
                if "Sources:" in c.params.get("text", "")
            ]
        )
    final = edit.params["text"]
    assert edit.params["parse_mode"] == "HTML"
    assert final.startswith(f"<i>{UNREACHABLE}</i>\n\n")
    assert "4 May" in final and "Sources:" in final


def test_the_llm_is_tried_again_after_the_pause(
    tmp_path: Path, small_index: ArticleIndex, closed_port: int
) -> None:
    now = [100.0]
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path / "unused",
        openai_base_url=f"http://127.0.0.1:{closed_port}/v1",
        llm_connect_timeout=2,
        llm_retry_seconds=60,
    )
    answerer = make_answerer(settings, small_index, clock=lambda: now[0])
    first = answerer.answer(BRIDGE_Q)
    assert first.notice == UNREACHABLE and "4 May" in first.text
    with FakeOpenAIServer().start(closed_port) as server:  # the server is back
        server.enqueue_chat("The bridge reopens to traffic on 4 May [1].")
        now[0] += 59
        paused = answerer.answer(BRIDGE_Q)
        assert paused.notice == UNREACHABLE and server.chat_requests == []
        now[0] += 2
        again = answerer.answer(BRIDGE_Q)
        assert again.notice is None and len(server.chat_requests) == 1
        assert "4 May [1]" in again.text
