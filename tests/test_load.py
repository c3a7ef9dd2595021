"""Concurrency: the bot answers 20 chats at once while `articlebot ingest` writes the index.

The real PTB `Application` against the Bot API emulator, a real `chroma run` server, and an
ingest process (a fork, `tests/fakes/forkserver.py`) adding 200 articles to the same
catalog, lexical index and collection. Round after round, 20 users each ask about their
own town's library; every answer must cite that town's article with its number, no error
or warning may be logged, and the bot's memory (RSS, sampled every 0.25 s) must stay flat.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.telegram.app import build_application
from bot.telegram.services import Services
from ingest.chunk import Chunker
from retrieval.pipeline import make_answerer
from retrieval.store.index import ArticleIndex
from retrieval.types import Article
from tests.fakes import telegram_server as fake_telegram
from tests.fakes.chroma_server import ChromaServer, chroma_server
from tests.fakes.forkserver import ForkServer, forks
from tests.fakes.harness import (
    ReplyWatcher,
    RssSampler,
    bag_embedding,
    librarian,
    openai_settings,
    percentile,
    running,
    settings_env,
    town_articles,
    town_fact,
    town_name,
    town_question,
    write_jsonl,
)
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.telegram_server import TOKEN, FakeTelegramServer

telegram_server = fake_telegram.telegram_server
__all__ = ["chroma_server", "forks"]

CHATS = 20
FILLER = 200
OUR_LOGGERS = ("bot", "retrieval", "ingest", "telegram")


def filler_articles() -> list[Article]:
    """Articles on another subject (ferries), so that they change the index, not answers."""
    return [
        Article(
            id=f"ferry-{n}",
            title=f"Ferry timetable {n} changes",
            text=(
                f"The harbour ferry on route {n} will leave every {10 + n % 50} minutes from"
                " Monday. Tickets cost the same as before, the operator said.\n\nThe night"
                f" crossing on route {n} is cancelled for the winter months."
            ),
            url=f"https://news.example/ferry/{n}",
            site="Harbour Post",
            published=date(2026, 2, 1 + n % 28),
        )
        for n in range(FILLER)
    ]


async def ask_round(
    server: FakeTelegramServer, watcher: ReplyWatcher, round_: int, latencies: list[float]
) -> None:
    """Every chat asks its question at once; wait for all 20 answers and check them."""

    async def one(n: int) -> None:
        chat = 1000 + n
        started = time.monotonic()
        server.private_message(town_question(n), user_id=chat)
        reply = await watcher.wait(chat, round_, 60)
        latencies.append(time.monotonic() - started)
        assert town_fact(n) in reply and f"https://news.example/town/{n}" in reply, reply

    await asyncio.gather(*(one(n) for n in range(CHATS)))


@pytest.mark.slow
async def test_twenty_chats_while_ingest_writes_the_index(
    tmp_path: Path,
    chroma_server: ChromaServer,
    forks: ForkServer,
    telegram_server: FakeTelegramServer,
    caplog: pytest.LogCaptureFixture,
    report_measurement: Callable[[str], None],
) -> None:
    caplog.set_level(logging.INFO)
    with FakeOpenAIServer(embed=bag_embedding) as fake:
        # The LLM path: the offline answerer's refusal model is calibrated on MiniLM's
        # cosines, which the word-bag embedding does not imitate.
        fake.chat_responder = librarian
        settings = openai_settings(
            tmp_path / "data",
            fake,
            llm=True,
            chroma_host=chroma_server.host,
            chroma_port=chroma_server.port,
            collection=f"load-{time.monotonic_ns()}",
            telegram_bot_token=SecretStr(TOKEN),
            telegram_base_url=telegram_server.base_url,
            telegram_base_file_url=telegram_server.file_url,
            telegram_questions_per_minute=600,
            lexical_check_ms=0,  # the bot notices the ingest's changes on its next search
        )
        assert town_name(CHATS - 1) != town_name(0)
        index = ArticleIndex(settings)
        chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
        index.upsert([(a, chunker.split(a)) for a in town_articles(CHATS)])
        index.finish_run()
        filler = write_jsonl(tmp_path / "filler.jsonl", filler_articles())
        services = Services.create(settings, index, make_answerer(settings, index))
        watcher, latencies = ReplyWatcher(telegram_server), []
        rounds_during = 0
        with RssSampler() as rss:
            async with running(build_application(settings, services)):
                await ask_round(telegram_server, watcher, 1, latencies)  # warm
                forks.start(settings_env(settings), tmp_path / "ingest.log", "ingest", str(filler))
                status = None
                while status is None or rounds_during < 2:
                    rounds_during += 1
                    await ask_round(telegram_server, watcher, 1 + rounds_during, latencies)
                    status = forks.poll() if status is None else status
                assert status == 0, (tmp_path / "ingest.log").read_text()
                for extra in range(3):  # after the ingest: the index has changed under us
                    await ask_round(telegram_server, watcher, 2 + rounds_during + extra, latencies)
        stored = index.articles()
        assert len(stored) == CHATS + FILLER and all(s.indexed for s in stored)
        chunks = sorted(
            (s.article.id, p) for s in stored for p, *_ in index.catalog.chunks(s.article.id)
        )
        index.lexical()  # the ingest was another process's: rebuilt in the background
        assert index.wait_lexical(60)
        assert sorted(index.lexical().keys) == chunks  # not an index built mid-ingest
        hits = services.answerer.retriever.search("night crossing on route 117")  # type: ignore[attr-defined]
        assert hits[0].article.id == "ferry-117"
        index.close()
    problems = [
        r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith(OUR_LOGGERS)
    ]
    assert not problems, [r.getMessage() for r in problems]
    first, last = rss.window(0, 0.25), rss.window(0.75, 1)
    growth = sorted(last)[len(last) // 2] - sorted(first)[len(first) // 2]
    assert growth < 150, rss.summary()  # generous: flat within noise, not a leak
    report_measurement(
        f"{len(latencies)} answers in {rounds_during + 4} rounds of {CHATS} concurrent chats"
        f" ({rounds_during} while ingest added {FILLER} articles to a Chroma server); latency"
        f" p50 {percentile(latencies, 0.5):.2f} s, p95 {percentile(latencies, 0.95):.2f} s;"
        f" {rss.summary()} [shared CPU]"
    )
