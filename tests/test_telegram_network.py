"""`articlebot telegram` when Telegram misbehaves: an empty token, a reply that is not JSON,
an outage. The real bot process against the Bot API emulator; one line each, never a
traceback, and a stop signal obeyed within 5 s in the middle of an outage."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli.telegram import NO_TOKEN
from bot.telegram.network import Backoff, OutageLog
from tests.fakes import telegram_server as fake_telegram
from tests.fakes.telegram_server import TOKEN, FakeTelegramServer
from tests.test_cli_telegram import data_dir, env_for

telegram_server = fake_telegram.telegram_server  # the fixtures, used by name below
__all__ = ["data_dir"]
#: A proxy's error page, as a load balancer in front of the Bot API would send it.
ERROR_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body>\n"
    + "<center><h1>502 Bad Gateway</h1></center>\n" * 40
    + "<hr><center>nginx/1.25.3 END-OF-PAGE</center>\n</body></html>\n"
)


class Bot:
    """`articlebot telegram` in a child process; stderr collected line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "telegram"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for_line(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert self.process.poll() is None, self.lines
            assert time.monotonic() < deadline, self.lines
            time.sleep(0.05)

    def finish(self, timeout: float = 30.0) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        if self.process.stderr is not None:
            self.process.stderr.close()
        return code


@pytest.fixture
def bots() -> Iterator[list[Bot]]:
    started: list[Bot] = []
    yield started
    for bot in started:  # never leave one running, even when a test fails
        if bot.process.poll() is None:
            bot.process.kill()
        bot.finish()


def test_an_empty_token_is_the_missing_token_line(
    telegram_server: FakeTelegramServer, data_dir: Path, bots: list[Bot]
) -> None:
    env = env_for(telegram_server, data_dir) | {"TELEGRAM_BOT_TOKEN": ""}
    bots.append(bot := Bot(env))
    assert bot.finish() == 1
    [line] = bot.lines  # one line: the missing token, and where settings were read from
    assert line.startswith(f"Error: {NO_TOKEN} (settings read from the environment, ./.env, ")


def test_a_reply_that_is_not_json_is_one_short_line(
    telegram_server: FakeTelegramServer, data_dir: Path, bots: list[Bot]
) -> None:
    telegram_server.fail_next("getMe", 502, "", html=ERROR_PAGE)
    bots.append(bot := Bot(env_for(telegram_server, data_dir)))
    assert bot.finish() == 1
    assert len(bot.lines) == 1, bot.lines
    line = bot.lines[0]
    assert line.startswith(
        f"Error: cannot reach the Telegram Bot API at {telegram_server.base_url}: Telegram"
        " answered 502 Bad Gateway with a reply that is not JSON: '<!DOCTYPE html> <html>"
        "<head><title>502 Bad Gateway</title>"
    )
    assert "END-OF-PAGE" not in line and len(line) < 300
    assert TOKEN not in line


@pytest.mark.slow
def test_each_outage_is_one_warning_line_and_a_stop_signal_ends_it_within_5_s(
    telegram_server: FakeTelegramServer, data_dir: Path, bots: list[Bot]
) -> None:
    bots.append(bot := Bot(env_for(telegram_server, data_dir)))
    telegram_server.private_message("/start")
    deadline = time.monotonic() + 60
    while not telegram_server.sent(42):  # polling works: /start is answered
        assert bot.process.poll() is None and time.monotonic() < deadline, bot.lines
        time.sleep(0.05)
    assert bot.lines == []

    telegram_server.stop()  # the port is closed: every poll is refused
    bot.wait_for_line("is unreachable")
    window = 8.0  # backoff 1, 2, 4 s: at least three more failed polls
    time.sleep(window)
    warnings = [line for line in bot.lines if "WARNING" in line or "ERROR" in line]
    assert len(warnings) == 1, bot.lines
    assert f"the Telegram Bot API at {telegram_server.base_url} is unreachable" in warnings[0]
    assert not any("Traceback" in line for line in bot.lines)

    telegram_server.start(telegram_server.port)  # Telegram is back: the bot answers again
    telegram_server.private_message("/help")
    deadline = time.monotonic() + 60
    while len(telegram_server.sent(42)) < 2:
        assert bot.process.poll() is None and time.monotonic() < deadline, bot.lines
        time.sleep(0.05)
    telegram_server.stop()  # a second outage: a second line
    deadline = time.monotonic() + 30
    while sum("is unreachable" in line for line in bot.lines) < 2:
        assert time.monotonic() < deadline, bot.lines
        time.sleep(0.05)
    assert len([line for line in bot.lines if "WARNING" in line or "ERROR" in line]) == 2

    bot.process.send_signal(signal.SIGTERM)
    asked = time.monotonic()
    assert bot.finish(timeout=30) == 0, bot.lines
    assert time.monotonic() - asked < 5.0
    assert not any("Traceback" in line for line in bot.lines), bot.lines
    assert TOKEN not in "\n".join(bot.lines)


def test_backoff_doubles_up_to_its_cap_and_starts_again_after_a_success() -> None:
    backoff = Backoff(first=1.0, factor=2.0, cap=30.0)
    assert [backoff.next() for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    backoff.reset()
    assert backoff.next() == 1


def test_an_outage_is_logged_once_and_its_end_once(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    outage = OutageLog("http://telegram.example/bot", clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="bot.telegram.network"):
        for _ in range(5):
            outage.failed(ConnectionRefusedError("refused"))
            now[0] += 3
        outage.answered()
        outage.answered()
        outage.failed(ConnectionRefusedError("refused again"))
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert messages == [
        (
            "WARNING",
            "the Telegram Bot API at http://telegram.example/bot is unreachable"
            " (ConnectionRefusedError: refused); retrying with backoff, quietly until it answers",
        ),
        ("INFO", "the Telegram Bot API answers again (unreachable for 15 s)"),
        (
            "WARNING",
            "the Telegram Bot API at http://telegram.example/bot is unreachable"
            " (ConnectionRefusedError: refused again); retrying with backoff, quietly until"
            " it answers",
        ),
    ]
