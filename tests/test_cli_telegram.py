"""`articlebot telegram` as a real process against the Bot API emulator: start, answer, stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli_telegram import NO_TOKEN
from ingest.chunk import Chunker
from retrieval.index import ArticleIndex
from retrieval.settings import Settings
from tests.fakes import telegram_server as fake_telegram
from tests.fakes.embedder import HashEmbedder
from tests.fakes.telegram_server import TOKEN, FakeTelegramServer
from tests.test_telegram import BRIDGE

telegram_server = fake_telegram.telegram_server  # the fixture, used by name below


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
    assert err.strip().splitlines() == [f"Error: {NO_TOKEN}"]
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


def test_sigterm_stops_the_polling_bot_cleanly(
    telegram_server: FakeTelegramServer, data_dir: Path, processes: list[subprocess.Popen[str]]
) -> None:
    processes.append(process := articlebot(env_for(telegram_server, data_dir)))
    telegram_server.private_message("/start")  # the index was built by another embedder
    deadline = time.monotonic() + 40
    while not telegram_server.texts(42):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no answer from the bot process"
        time.sleep(0.05)
    assert "numbered sources" in telegram_server.texts(42)[0]
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert "Traceback" not in err and TOKEN not in err + out
    assert (data_dir / "telegram-conversations.pickle").exists()  # memory flushed on stop
