"""Two `articlebot telegram --webhook-url` processes behind a round-robin balancer act as
one bot: a conversation whose turns alternate replicas keeps its context, a user over the
question limit on one replica is limited on the other, and two quick messages of one chat
sent at once to both are answered one after the other, both remembered.

Real child processes on the shared SQLite catalog of one data directory, and on a real
PostgreSQL server (ARTICLEBOT_DATABASE_URL; Chroma stays embedded in the data directory
both replicas share). The LLM is the fake OpenAI server: what each replica sent it shows
which earlier turns the answer was written with.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import Settings, env_name
from bot.telegram.reply import slow_down
from ingest.chunk import Chunker
from retrieval.store.catalog import Catalog
from retrieval.store.index import ArticleIndex
from tests.fakes import openai_server as fake_openai
from tests.fakes import telegram_server as fake_telegram
from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest, ScriptedResponse
from tests.fakes.round_robin_proxy import RoundRobinProxy
from tests.fakes.telegram_server import FakeTelegramServer
from tests.test_cli_telegram import SECRET, env_for, free_port, llm_env, processes, wait_until
from tests.test_telegram import BRIDGE, BRIDGE_Q
from tests.test_telegram_replicas import HOOK, replica, stop

telegram_server = fake_telegram.telegram_server  # the fixtures, used by name below
openai_server = fake_openai.openai_server
__all__ = ["processes"]
#: Makes sense only after BRIDGE_Q (which repairs?), and then only with its answer.
FOLLOW_UP = "How much did the repairs cost?"
THIRD = "Why did the bridge close?"


def reply_for(body: object) -> str:
    """The fake model's answer to the question it was given."""
    question = asked(body)
    if "close" in question:
        return "Inspectors found corroded bolts under the deck [1]."
    if "repairs" in question:
        return "The repairs cost 12 million crowns [1]."
    return "The Sallow Street Bridge reopens on 4 May [1]."


def asked(body: object) -> str:
    """The question the bot put to the model (as it read it, with the conversation)."""
    messages = body["messages"] if isinstance(body, dict) else []
    last = str(messages[-1]["content"]) if messages else ""
    return last.rsplit("Question:", 1)[-1].strip()


def sent_to_model(request: RecordedRequest) -> str:
    return json.dumps(request.json)


def said(question: str, answer: str) -> str:
    """A turn as the model reads the conversation so far (JSON-encoded, as sent)."""
    return json.dumps(f"User: {question}\nAssistant: {answer}")[1:-1]


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_env(
    request: pytest.FixtureRequest, tmp_path: Path, openai_server: FakeOpenAIServer
) -> Iterator[tuple[dict[str, str], Path | str]]:
    """The environment both replicas run with (one data directory, and on PostgreSQL one
    database), and where their catalog is."""
    values = llm_env(openai_server)
    database = None
    if request.param == "postgresql":
        database = str(request.getfixturevalue("postgres_url"))
        values["database_url"] = database
    settings = Settings(_env_file=None, data_dir=tmp_path / "shared", **values)  # type: ignore[arg-type]
    with ArticleIndex(settings) as index:
        index.upsert([(BRIDGE, Chunker(size=300, overlap=40).split(BRIDGE))])
        index.finish_run()
    openai_server.chat_responder = reply_for
    env = {env_name(k): v for k, v in values.items()}
    env["ARTICLEBOT_TELEGRAM_WEBHOOK_SECRET"] = SECRET
    yield env, database or settings.data_dir / "catalog.sqlite3"


def remembered(where: Path | str, chat_id: int) -> list[str]:
    """The questions the catalog remembers of a chat, oldest first."""
    catalog = Catalog(where)
    try:
        rows = catalog.query(
            "SELECT question FROM conversation_turns WHERE chat_id = :chat ORDER BY id",
            {"chat": chat_id},
        )
    finally:
        catalog.close()
    return [str(r[0]) for r in rows]


class Replicas:
    """Two bot processes behind the balancer, started and stopped with the test."""

    def __init__(
        self,
        tmp_path: Path,
        telegram_server: FakeTelegramServer,
        env: dict[str, str],
        started: list[subprocess.Popen[str]],
    ) -> None:
        self.ports = [free_port(), free_port()]
        self.logs = [tmp_path / f"replica-{n}.log" for n in range(2)]
        self.balancer = RoundRobinProxy(self.ports)
        self.server, self.env, self.started = telegram_server, env, started

    def __enter__(self) -> Replicas:
        self.balancer.__enter__()
        url = self.balancer.url(HOOK)
        for port, log in zip(self.ports, self.logs, strict=True):
            self.started.append(replica(self.env, url, port, log))
        for process in self.started:
            wait_until(lambda: len(self.server.calls_to("setWebhook")) == 2, process)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                for process, log in zip(self.started, self.logs, strict=True):
                    stop(process, log)
                for log in self.logs:
                    assert "Traceback" not in log.read_text()
        finally:
            self.balancer.__exit__(*exc)

    def answered(self, chat_id: int, count: int) -> list[str]:
        """Wait for `count` finished answers to the chat; their texts."""

        def finished() -> list[str]:
            texts = [
                str(c.params["text"])
                for c in list(self.server.calls)
                if c.ok and c.method in ("sendMessage", "editMessageText")
                and c.params.get("chat_id") == chat_id and "<blockquote" in str(c.params["text"])
            ]  # fmt: skip
            return texts if len(texts) >= count else []

        return wait_until(finished, self.started[0], timeout=90)  # type: ignore[no-any-return]


def env_of(
    env: dict[str, str], telegram_server: FakeTelegramServer, data_dir: Path
) -> dict[str, str]:
    return env_for(telegram_server, data_dir) | env


@pytest.mark.slow
def test_a_conversation_alternating_replicas_keeps_its_context(
    tmp_path: Path,
    telegram_server: FakeTelegramServer,
    openai_server: FakeOpenAIServer,
    shared_env: tuple[dict[str, str], Path | str],
    processes: list[subprocess.Popen[str]],
) -> None:
    env, where = shared_env
    env = env_of(env, telegram_server, tmp_path / "shared")
    with Replicas(tmp_path, telegram_server, env, processes) as bots:
        for count, question in enumerate([BRIDGE_Q, FOLLOW_UP, THIRD], 1):
            telegram_server.private_message(question)
            bots.answered(42, count)
        first, second = bots.ports
        assert bots.balancer.ports_served() == [first, second, first]  # turns alternate
        answers = bots.answered(42, 3)
        assert "12 million crowns" in answers[1] and "corroded bolts" in answers[2]
        requests = openai_server.chat_requests
        # The follow-up's replica never saw the first question, yet read the follow-up
        # with its subject ("which repairs?"); the third's saw the second only through the
        # catalog, and got the conversation so far with it.
        assert [asked(r.json) for r in requests] == [
            BRIDGE_Q,
            f"{FOLLOW_UP} Sallow Street Bridge",
            "Why did the Sallow Street Bridge close?",
        ]
        readings = [sent_to_model(r) for r in openai_server.structured_requests]
        assert len(readings) == 3 and "(none)" in readings[0]
        assert said(BRIDGE_Q, "The Sallow Street Bridge reopens on 4 May") in readings[1]
        assert said(FOLLOW_UP, "The repairs cost 12 million crowns") in readings[2]
        assert remembered(where, 42) == [BRIDGE_Q, FOLLOW_UP, THIRD]


@pytest.mark.slow
def test_a_user_over_the_limit_on_one_replica_is_limited_on_the_other(
    tmp_path: Path,
    telegram_server: FakeTelegramServer,
    shared_env: tuple[dict[str, str], Path | str],
    processes: list[subprocess.Popen[str]],
) -> None:
    env, _ = shared_env
    env = env_of(env, telegram_server, tmp_path / "shared")
    env["ARTICLEBOT_TELEGRAM_QUESTIONS_PER_MINUTE"] = "1"
    with Replicas(tmp_path, telegram_server, env, processes) as bots:
        telegram_server.private_message(BRIDGE_Q)
        bots.answered(42, 1)
        telegram_server.private_message(FOLLOW_UP)  # the other replica: it counted none
        limited = wait_until(
            lambda: slow_down(FOLLOW_UP) in telegram_server.texts(42), processes[1]
        )
        assert limited
        telegram_server.private_message(FOLLOW_UP, user_id=77)  # another user may ask
        bots.answered(77, 1)
        first, second = bots.ports
        assert bots.balancer.ports_served() == [first, second, first]


@pytest.mark.slow
def test_two_quick_messages_on_two_replicas_are_answered_in_turn(
    tmp_path: Path,
    telegram_server: FakeTelegramServer,
    openai_server: FakeOpenAIServer,
    shared_env: tuple[dict[str, str], Path | str],
    processes: list[subprocess.Popen[str]],
) -> None:
    """The first answer is held at the model; the second message, on the other replica,
    waits for the first turn and is then written with it: neither turn is lost."""
    env, where = shared_env
    env = env_of(env, telegram_server, tmp_path / "shared")
    release = threading.Event()
    openai_server.enqueue(ScriptedResponse.held(release, path="/v1/chat/completions"))
    with Replicas(tmp_path, telegram_server, env, processes) as bots:
        telegram_server.private_message(BRIDGE_Q)
        telegram_server.private_message(FOLLOW_UP)
        wait_until(lambda: len(bots.balancer.ports_served()) == 2, processes[0])
        wait_until(lambda: openai_server.chat_requests, processes[0])  # one is held
        release.set()
        bots.answered(42, 2)
        held = openai_server.chat_requests[0]
        question = asked(held.json)  # whichever replica took the chat's turn first
        other = FOLLOW_UP if question == BRIDGE_Q else BRIDGE_Q
        alone, after = [sent_to_model(r) for r in openai_server.structured_requests]
        assert "(none)" in alone  # the first was read alone...
        answer = reply_for(held.json).removesuffix(" [1].")
        assert said(question, answer) in after  # ...the second after it, with its answer
        assert remembered(where, 42) == [question, other]
        assert len(set(bots.balancer.ports_served())) == 2
