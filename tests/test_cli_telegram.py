"""`articlebot telegram` as a real process against the Bot API emulator: start, answer, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import main as cli
from bot.cli.telegram import NO_TOKEN
from bot.settings import Settings, env_name
from ingest.chunk import Chunker
from retrieval.store.catalog import Catalog
from retrieval.store.index import ArticleIndex
from tests.fakes import openai_server as fake_openai
from tests.fakes import telegram_server as fake_telegram
from tests.fakes.embedder import HashEmbedder
from tests.fakes.openai_server import FakeOpenAIServer, ScriptedResponse
from tests.fakes.telegram_server import TOKEN, FakeTelegramServer
from tests.fakes.telegram_updates import BOT_USERNAME
from tests.test_telegram import BRIDGE, BRIDGE_Q

telegram_server = fake_telegram.telegram_server  # the fixtures, used by name below
openai_server = fake_openai.openai_server
SECRET = "webhook-Secret_42"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    index = ArticleIndex(settings, HashEmbedder())
    index.upsert([(BRIDGE, Chunker(size=300, overlap=40).split(BRIDGE))])
    index.finish_run()
    index.close()
    return settings.data_dir


def env_for(
    server: FakeTelegramServer, data_dir: Path, token: str | None = TOKEN
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLEBOT_", "TELEGRAM_"))}
    env |= {
        "ARTICLEBOT_DATA_DIR": str(data_dir),
        "ARTICLEBOT_TELEGRAM_BASE_URL": server.base_url,
        "ARTICLEBOT_ANSWERER": "offline",
        "NO_PROXY": "127.0.0.1",
        "PYTHONWARNINGS": "default",
    }
    if token:
        env["TELEGRAM_BOT_TOKEN"] = token
    return env


def articlebot(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "-v", "telegram", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:  # never leave one running, even when a test fails
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def test_missing_token_is_one_line(
    telegram_server: FakeTelegramServer, data_dir: Path, processes: list[subprocess.Popen[str]]
) -> None:
    processes.append(process := articlebot(env_for(telegram_server, data_dir, token=None)))
    out, err = process.communicate(timeout=30)
    assert process.returncode == 1
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "articlebot" / ".env"
    looked = f"settings read from the environment, ./.env, {config}"
    assert err.strip().splitlines() == [f"Error: {NO_TOKEN} ({looked})"]
    assert "TELEGRAM_BOT_TOKEN (from @BotFather)" in NO_TOKEN


def test_rejected_token_is_one_line_and_never_echoed(
    telegram_server: FakeTelegramServer, data_dir: Path, processes: list[subprocess.Popen[str]]
) -> None:
    telegram_server.reject_token = True
    processes.append(process := articlebot(env_for(telegram_server, data_dir)))
    out, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert err.strip().splitlines()[-1].startswith("Error: Telegram rejected the bot token")
    assert "Traceback" not in err and TOKEN not in err + out
    assert TOKEN.split(":")[1] not in err + out


def test_a_second_poller_is_one_line_and_a_stop(
    telegram_server: FakeTelegramServer, data_dir: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """Telegram answers 409 to the poller another one displaced: it says why and exits,
    instead of taking turns with the other poller for ever."""
    telegram_server.fail_next(
        "getUpdates",
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot"
        " instance is running",
    )
    processes.append(process := articlebot(env_for(telegram_server, data_dir)))
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, err
    assert err.strip().splitlines()[-1] == (
        "Error: Telegram refused to poll (Conflict: terminated by other getUpdates request;"
        " make sure that only one bot instance is running): another process is polling this"
        " bot token, and only one may; stop the other `articlebot telegram` (or program)"
        " using it, or run several replicas with --webhook-url"
    )
    assert "Traceback" not in err and TOKEN not in err + out


@pytest.fixture
def llm_data_dir(tmp_path: Path, openai_server: FakeOpenAIServer) -> Path:
    """An index embedded by the fake OpenAI server, so the bot process can answer with it."""
    settings = Settings(_env_file=None, data_dir=tmp_path / "llm-data", **llm_env(openai_server))  # type: ignore[arg-type]
    index = ArticleIndex(settings)
    index.upsert([(BRIDGE, Chunker(size=300, overlap=40).split(BRIDGE))])
    index.finish_run()
    index.close()
    return settings.data_dir


def llm_env(server: FakeOpenAIServer) -> dict[str, str]:
    """Embeddings and answers from the fake OpenAI server."""
    return {
        "openai_base_url": server.base_url,
        "openai_api_key": "sk-test",
        "embedder": "openai",
        "openai_embedding_model": "fake-embedding",
        "answerer": "llm",
    }


@pytest.mark.slow
def test_sigterm_finishes_the_pending_answer_then_exits_cleanly(
    telegram_server: FakeTelegramServer,
    openai_server: FakeOpenAIServer,
    llm_data_dir: Path,
    processes: list[subprocess.Popen[str]],
) -> None:
    release = threading.Event()
    openai_server.enqueue(ScriptedResponse.held(release, path="/v1/chat/completions"))
    openai_server.enqueue_chat("The bridge reopens on 4 May [1].")
    env = env_for(telegram_server, llm_data_dir)
    env |= {env_name(k): v for k, v in llm_env(openai_server).items()}
    processes.append(process := articlebot(env))
    telegram_server.private_message(BRIDGE_Q)
    wait_until(lambda: openai_server.chat_requests, process)  # the model is writing
    process.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    time.sleep(0.5)
    assert process.poll() is None  # still finishing the answer
    release.set()
    out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert time.monotonic() - stopped < 10  # "within a few seconds" (a loaded machine too)
    assert "Traceback" not in err and TOKEN not in err + out and "sk-test" not in err + out
    [answer] = [c for c in telegram_server.calls if "<blockquote" in str(c.params.get("text"))]
    assert answer.params["chat_id"] == 42 and "4 May [1]" in answer.params["text"]
    catalog = Catalog(llm_data_dir / "catalog.sqlite3")  # the turn is in the catalog
    try:
        assert catalog.query("SELECT chat_id, question FROM conversation_turns") == [(42, BRIDGE_Q)]
    finally:
        catalog.close()
    assert not (llm_data_dir / "telegram-conversations.pickle").exists()  # no pickle any more


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    check: Callable[[], Any], process: subprocess.Popen[str], timeout: float = 40
) -> Any:
    """Poll `check()` while the bot process runs; fail with its output if it exits."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the bot process did not get there in time"
        time.sleep(0.05)
    return result


@pytest.mark.slow
@pytest.mark.parametrize("configured", [True, False], ids=["secret-from-env", "random-secret"])
def test_webhook_mode_checks_the_secret_on_every_request(
    telegram_server: FakeTelegramServer,
    data_dir: Path,
    processes: list[subprocess.Popen[str]],
    configured: bool,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    env = env_for(telegram_server, data_dir)
    if configured:
        env["ARTICLEBOT_TELEGRAM_WEBHOOK_SECRET"] = SECRET
    args = ["--webhook-url", url, "--listen", "127.0.0.1", "--port", str(port)]
    processes.append(process := articlebot(env, *args))
    webhook = wait_until(lambda: telegram_server.webhook, process)
    secret = webhook["secret_token"]
    assert webhook["url"] == url and (secret == SECRET if configured else len(secret) == 64)
    telegram_server.private_message("/start")  # Telegram POSTs it, with the secret
    wait_until(lambda: telegram_server.texts(42), process)
    assert "numbered sources" in telegram_server.texts(42)[0]
    assert [d.status for d in telegram_server.deliveries] == [200]
    forge = telegram_server.private_update
    assert telegram_server.post_to_webhook(forge("/start", user_id=77), None) == 403
    assert telegram_server.post_to_webhook(forge("/start", user_id=78), secret[::-1]) == 403
    assert telegram_server.post_to_webhook(forge("/help", user_id=79), secret) == 200
    wait_until(lambda: telegram_server.texts(79), process)
    assert telegram_server.texts(77) == telegram_server.texts(78) == []  # never processed
    started = time.monotonic()
    process.send_signal(signal.SIGINT)  # Ctrl-C
    out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert time.monotonic() - started < 10
    assert "Traceback" not in err and TOKEN not in err + out and secret not in err + out
    assert not telegram_server.calls_to("getUpdates")  # no polling in webhook mode


def test_a_webhook_port_in_use_is_one_line(
    telegram_server: FakeTelegramServer, data_dir: Path, processes: list[subprocess.Popen[str]]
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        url = f"https://bot.example/hook{port}"
        args = ["--webhook-url", url, "--listen", "127.0.0.1", "--port", str(port)]
        processes.append(process := articlebot(env_for(telegram_server, data_dir), *args))
        out, err = process.communicate(timeout=60)
    assert process.returncode == 1, err
    assert err.strip().splitlines()[-1] == (
        f"Error: cannot listen on 127.0.0.1:{port} for the webhook: Address already in use"
    )
    assert "Traceback" not in err and not telegram_server.calls_to("setWebhook")


def test_bad_webhook_secret_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli.main,
        ["telegram", "--webhook-url", "https://bot.example/hook", "--secret-token", "not ok!"],
        env={"TELEGRAM_BOT_TOKEN": TOKEN},
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: the webhook secret may only use A-Z, a-z, 0-9, _ and - (1 to 256 characters)"
    ]


def test_a_stop_while_starting_up_is_a_clean_stop(
    telegram_server: FakeTelegramServer, data_dir: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """SIGTERM while PTB's start-up request (deleteWebhook) is in flight: PTB's shutdown
    fails that request, which must not pass for an unreachable Telegram."""
    release = telegram_server.hold("deleteWebhook")
    processes.append(process := articlebot(env_for(telegram_server, data_dir)))
    try:
        wait_until(lambda: telegram_server.calls_to("deleteWebhook"), process)  # in flight
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    finally:
        release.set()
    assert process.returncode == 0, err
    assert "cannot reach" not in err and "Traceback" not in err
    assert not telegram_server.calls_to("getUpdates")  # it never polled


def test_start_prints_one_line_saying_what_runs(
    telegram_server: FakeTelegramServer, data_dir: Path, processes: list[subprocess.Popen[str]]
) -> None:
    processes.append(process := articlebot(env_for(telegram_server, data_dir)))
    wait_until(lambda: telegram_server.calls_to("deleteWebhook"), process)  # about to poll
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert out.splitlines() == [
        f"Telegram bot @{BOT_USERNAME}: long polling, 1 articles indexed,"
        " answers offline (quoted from the articles). Ctrl-C stops it."
    ]
