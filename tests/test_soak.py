"""Soak: the bot under steady load while the LLM server misbehaves.

Ten users ask question after question through the Bot API emulator for a bounded time (20 s
here; `pytest tests/test_soak.py --soak-seconds 600` for a long run). The LLM is the fake
OpenAI server answering like a model would (`harness.librarian`); before four questions in
ten a fault is queued: 429s, 500s, replies slower than the client's timeout, malformed JSON,
broken streams, an HTML error page, a failing embeddings endpoint. The bot must never die,
every question must get an answer (with the right number) or a polite apology, nothing
unexpected may be logged; latency and memory are reported.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.telegram.app import build_application
from bot.telegram.services import Services
from ingest.chunk import Chunker
from retrieval.pipeline import make_answerer
from retrieval.store.index import ArticleIndex
from tests.fakes import telegram_server as fake_telegram
from tests.fakes.harness import (
    ReplyWatcher,
    RssSampler,
    bag_embedding,
    librarian,
    openai_settings,
    percentile,
    running,
    town_articles,
    town_fact,
    town_question,
)
from tests.fakes.openai_server import FakeOpenAIServer, ScriptedResponse
from tests.fakes.telegram_server import TOKEN, FakeTelegramServer

telegram_server = fake_telegram.telegram_server

USERS = 10
TOWNS = 24
TIMEOUT = 1.0  # the LLM client's timeout (s); one retry
CHAT, EMBED = "/v1/chat/completions", "/v1/embeddings"
FAULTS: dict[str, list[ScriptedResponse]] = {
    "429 then success": [ScriptedResponse.error(429, path=CHAT)],
    "500 twice": [ScriptedResponse.error(500, path=CHAT)] * 2,
    "slow once": [ScriptedResponse.slow(TIMEOUT + 0.5, path=CHAT)],
    "slow twice": [ScriptedResponse.slow(TIMEOUT + 0.5, path=CHAT)] * 2,
    "malformed JSON": [ScriptedResponse.malformed(CHAT)],
    "broken stream": [
        ScriptedResponse(
            raw=b'data: {"choices": [{"delta": {"content": "The li',
            headers={"content-type": "text/event-stream"},
            path=CHAT,
        )
    ],
    "HTML error page": [
        ScriptedResponse(status=502, raw=b"<html><h1>502 Bad Gateway</h1></html>", path=CHAT)
    ],
    "embeddings 500 twice": [ScriptedResponse.error(500, path=EMBED)] * 2,
}
OUR_LOGGERS = ("bot", "retrieval", "ingest", "telegram")


def classify(reply: str, town: int) -> str:
    """Every question is answerable: the right answer or an apology, nothing else (a
    refusal would say the articles don't answer it, which is wrong)."""
    if town_fact(town) in reply and "Sources:" in reply:
        return "answer"
    if reply.startswith("Sorry"):
        return "apology"
    raise AssertionError(f"neither the right answer nor an apology: {reply!r}")


@pytest.fixture
def soak_seconds(request: pytest.FixtureRequest) -> float:
    value = request.config.getoption("--soak-seconds")
    return 20.0 if value is None else float(value)


@pytest.mark.slow
@pytest.mark.timeout(0)  # bounded by --soak-seconds instead
async def test_bot_survives_a_misbehaving_llm_under_steady_load(
    tmp_path: Path,
    telegram_server: FakeTelegramServer,
    caplog: pytest.LogCaptureFixture,
    soak_seconds: float,
    report_measurement: Callable[[str], None],
) -> None:
    caplog.set_level(logging.WARNING)
    rng = random.Random(7)
    outcomes: Counter[str] = Counter()
    injected: Counter[str] = Counter()
    latencies: list[float] = []
    with FakeOpenAIServer(embed=bag_embedding) as fake:
        fake.chat_responder = librarian
        settings = openai_settings(
            tmp_path / "data",
            fake,
            llm=True,
            openai_timeout=TIMEOUT,
            telegram_bot_token=SecretStr(TOKEN),
            telegram_base_url=telegram_server.base_url,
            telegram_base_file_url=telegram_server.file_url,
            telegram_questions_per_minute=600,
            telegram_edit_interval=0.2,
        )
        index = ArticleIndex(settings)
        chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
        index.upsert([(a, chunker.split(a)) for a in town_articles(TOWNS)])
        index.finish_run()
        app = build_application(
            settings, Services.create(settings, index, make_answerer(settings, index))
        )
        watcher = ReplyWatcher(telegram_server)
        asked: Counter[int] = Counter()

        async def ask(user: int, faults: bool, wording: str = "") -> str:
            chat, town = 2000 + user, rng.randrange(TOWNS)
            if faults and rng.random() < 0.4:
                name = rng.choice(sorted(FAULTS))
                injected[name] += 1
                fake.enqueue(*FAULTS[name])
            asked[chat] += 1
            started = time.monotonic()
            telegram_server.private_message(town_question(town) + wording, user_id=chat)
            reply = await watcher.wait(chat, asked[chat], 30)
            latencies.append(time.monotonic() - started)
            outcome = classify(reply, town)
            outcomes[outcome] += 1
            return outcome

        async def user(n: int, until: float) -> None:
            while time.monotonic() < until:
                await ask(n, faults=True)

        with RssSampler(interval=0.5) as rss:
            async with running(app):
                until = time.monotonic() + soak_seconds
                await asyncio.gather(*(user(n, until) for n in range(USERS)))
                # Faults still queued: let them be used up. Repeated questions are answered
                # from the retriever's memo without an embedding request, so each drain
                # question is worded anew; the loop is bounded so a stuck fault fails fast.
                for again in range(1, 41):
                    if not fake.pending:
                        break
                    await ask(0, faults=False, wording=f" (asked again, {again})")
                assert not fake.pending, "queued faults were never requested"
                finals = await asyncio.gather(*(ask(n, faults=False) for n in range(USERS)))
                assert finals == ["answer"] * USERS  # the bot is alive and well
                assert app.running and app.updater is not None and app.updater.running
        index.close()
    unexpected = [
        r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith(OUR_LOGGERS)
    ]
    assert not unexpected, [r.getMessage() for r in unexpected]
    total = sum(outcomes.values())
    assert outcomes["answer"] >= 0.5 * total, outcomes
    first, last = rss.window(0, 0.25), rss.window(0.75, 1)
    growth = sorted(last)[len(last) // 2] - sorted(first)[len(first) // 2]
    assert growth < 150, rss.summary()
    report_measurement(
        f"{soak_seconds:.0f} s, {USERS} users, {total} questions:"
        f" {outcomes['answer']} answers, {outcomes['apology']} apologies;"
        f" {sum(injected.values())} faults injected"
        f" ({', '.join(f'{k} x{v}' for k, v in sorted(injected.items()))}); latency p50"
        f" {percentile(latencies, 0.5):.2f} s, p95 {percentile(latencies, 0.95):.2f} s, max"
        f" {max(latencies):.2f} s; {rss.summary()} [shared CPU]"
    )
