"""Two `articlebot telegram --webhook-url` processes behind one round-robin balancer.

Real child processes, each on its own port, with the same data directory, the same Bot API
emulator and the same webhook URL (the balancer's) and secret: every question is answered
with its citation whichever replica gets it, both serve, a wrong secret is refused by each,
and SIGTERM stops each within seconds without deleting the webhook the other still serves.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from bot.settings import env_name
from tests.fakes import openai_server as fake_openai
from tests.fakes import telegram_server as fake_telegram
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.round_robin_proxy import RoundRobinProxy
from tests.fakes.telegram_server import TOKEN, FakeTelegramServer
from tests.fakes.webhook_sender import post_update
from tests.test_cli_telegram import (
    SECRET,
    env_for,
    free_port,
    llm_data_dir,
    llm_env,
    processes,
    wait_until,
)
from tests.test_telegram import BRIDGE_Q

telegram_server = fake_telegram.telegram_server  # the fixtures, used by name below
openai_server = fake_openai.openai_server
HOOK = "/telegram/hook"
__all__ = ["llm_data_dir", "processes"]
ANSWER = "The Sallow Street Bridge reopens on 4 May [1]."


def replica(env: dict[str, str], url: str, port: int, log: Path) -> subprocess.Popen[str]:
    """One bot process serving `url` on `port`; its log goes to a file (a pipe nobody
    reads would fill up and stall it)."""
    with log.open("w") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "-v", "telegram", "--webhook-url", url,
             "--listen", "127.0.0.1", "--port", str(port)],
            env=env, stdout=subprocess.PIPE, stderr=stderr, text=True,
        )  # fmt: skip


def answered(server: FakeTelegramServer, chat_id: int) -> str:
    """The finished answer to `chat_id` (the LLM's draft, edited into the answer with its
    sources and quoted passages), or "" while there is none."""
    texts = [
        str(call.params["text"])
        for call in list(server.calls)
        if call.ok
        and call.method in ("sendMessage", "editMessageText")
        and call.params.get("chat_id") == chat_id
    ]
    return next((t for t in texts if "<blockquote" in t), "")


def stop(process: subprocess.Popen[str], log: Path) -> float:
    """SIGTERM, wait for the exit (status 0); the seconds it took."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    took = time.monotonic() - started
    assert process.poll() == 0, log.read_text()
    return took


@pytest.mark.slow
def test_two_replicas_behind_a_balancer_answer_every_question(
    tmp_path: Path,
    telegram_server: FakeTelegramServer,
    openai_server: FakeOpenAIServer,
    llm_data_dir: Path,
    processes: list[subprocess.Popen[str]],
) -> None:
    openai_server.chat_responder = lambda body: ANSWER
    env = env_for(telegram_server, llm_data_dir)
    env |= {env_name(k): v for k, v in llm_env(openai_server).items()}
    env["ARTICLEBOT_TELEGRAM_WEBHOOK_SECRET"] = SECRET  # one secret for all replicas
    ports = [free_port(), free_port()]
    logs = [tmp_path / f"replica-{n}.log" for n in range(2)]
    with RoundRobinProxy(ports) as balancer:
        url = balancer.url(HOOK)
        processes.extend(replica(env, url, p, log) for p, log in zip(ports, logs, strict=True))
        first, second = processes
        for process in processes:  # each set the webhook: it listens and its handlers run
            wait_until(lambda: len(telegram_server.calls_to("setWebhook")) == 2, process)
        assert {c.params["url"] for c in telegram_server.calls_to("setWebhook")} == {url}
        assert {c.params["secret_token"] for c in telegram_server.calls_to("setWebhook")} == {
            SECRET
        }

        chats = list(range(101, 107))
        for chat in chats:  # Telegram POSTs each to the balancer, which takes turns
            telegram_server.private_message(BRIDGE_Q, user_id=chat)
        wait_until(lambda: all(answered(telegram_server, c) for c in chats), first, timeout=90)
        for chat in chats:
            text = answered(telegram_server, chat)
            assert "4 May [1]" in text, text
            assert '<a href="https://harbour.example/bridge">' in text, text
        assert [d.status for d in telegram_server.deliveries] == [200] * len(chats)
        assert Counter(balancer.ports_served()) == {ports[0]: 3, ports[1]: 3}

        forged = telegram_server.private_update("/start", user_id=99)
        for port in ports:
            replica_url = f"http://127.0.0.1:{port}{HOOK}"
            assert post_update(replica_url, forged, "not-the-secret") == 403
            assert post_update(replica_url, forged, None) == 403
        assert post_update(url, forged, SECRET[::-1]) == 403
        assert telegram_server.texts(99) == []  # never processed

        assert stop(first, logs[0]) < 10  # "within a few seconds" (a loaded machine too)
        telegram_server.private_message(BRIDGE_Q, user_id=107)  # only the second serves now
        wait_until(lambda: answered(telegram_server, 107), second)
        assert balancer.ports_served()[-1] == ports[1]
        assert telegram_server.webhook is not None and telegram_server.webhook["url"] == url
        assert stop(second, logs[1]) < 10
    assert not telegram_server.calls_to("deleteWebhook")  # stopping never removes it
    assert not telegram_server.calls_to("getUpdates")
    for log in logs:
        text = log.read_text()
        assert "Traceback" not in text and TOKEN not in text and SECRET not in text
