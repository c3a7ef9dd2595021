"""Telegram bot latency and throughput against the Bot API emulator, offline answerer.

    .venv/bin/python bench/bench_telegram.py --chunks 10000 --questions 50 --rounds 5

The real `Application` (long polling, memory and limits in the catalog, worker threads)
answers from an index of the sample articles plus generated filler chunks (as in
bench_ask.py: random vectors, so building 10k chunks takes seconds). Measured:

* latency: from an update being available in the emulator's queue to the bot's reply
  arriving at the emulator, one question at a time (p50/p95);
* throughput: 20 chats ask at once; replies per second from the moment the 20 updates are
  available to the last reply (per round; the median and the total over all rounds).

Both run with PTB's rate limiter on (as deployed: at most 30 requests a second, and each
answer costs two, "typing…" and the message) and off (the bot's own capacity). The
emulator runs in a thread of this process, so its work shares the interpreter with the
bot's: the numbers are an upper bound on the bot's own cost. The questions cycle through
five, and the bot's answerer remembers recent searches, so after the first round the bot
answers from memory: these numbers are the bot's own cost (Telegram, PTB, the limiter);
the first line printed gives the answerer's cost for a new question, to add to them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.fakes (the emulator); bench_ask is beside us

from bench_ask import QUESTIONS, add_filler, pct  # noqa: E402

from bot.settings import Settings  # noqa: E402
from bot.telegram.app import BotApplication, build_application  # noqa: E402
from bot.telegram.services import Services  # noqa: E402
from ingest import run_ingest  # noqa: E402
from retrieval.pipeline import make_answerer  # noqa: E402
from retrieval.store.index import ArticleIndex  # noqa: E402
from tests.fakes.telegram_server import TOKEN, FakeTelegramServer  # noqa: E402

CHATS = 20


async def wait(check: Callable[[], Any], timeout: float = 120.0) -> None:
    """Poll `check()` (the emulator's timestamps are what gets measured, not this loop)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the bot did not reply in time")
        await asyncio.sleep(0.005)


def reply_times(server: FakeTelegramServer, chat_ids: list[int]) -> list[float]:
    """Arrival times of the first reply to each chat (chats are used once each)."""
    first: dict[int, float] = {}
    for call in server.sent():
        first.setdefault(int(call.params["chat_id"]), call.at)
    return [first[c] for c in chat_ids if c in first]


async def latency(server: FakeTelegramServer, questions: int, first_chat: int) -> list[float]:
    """Milliseconds from update available to reply received, one question at a time."""
    results = []
    for i in range(questions):
        chat = first_chat + i
        pushed = time.monotonic()
        server.private_message(QUESTIONS[i % len(QUESTIONS)], user_id=chat)
        await wait(lambda chat=chat: reply_times(server, [chat]))  # type: ignore[misc]
        results.append((reply_times(server, [chat])[0] - pushed) * 1000)
    return results


async def throughput(server: FakeTelegramServer, rounds: int, first_chat: int) -> list[float]:
    """Replies per second when `CHATS` chats ask at once, per round."""
    results = []
    for r in range(rounds):
        chats = [first_chat + r * CHATS + n for n in range(CHATS)]
        pushed = time.monotonic()
        for n, chat in enumerate(chats):
            server.private_message(QUESTIONS[n % len(QUESTIONS)], user_id=chat)
        await wait(lambda chats=chats: len(reply_times(server, chats)) == CHATS)  # type: ignore[misc]
        results.append(CHATS / (max(reply_times(server, chats)) - pushed))
    return results


async def run_bot(app: BotApplication, work: Callable[[], Any]) -> Any:
    """Start the bot as `run_polling` does, run `work()`, stop it."""
    assert app.post_init is not None and app.post_shutdown is not None
    try:
        async with app:
            assert app.updater is not None
            await app.post_init(app)
            await app.updater.start_polling(poll_interval=0, timeout=1)
            await app.start()
            try:
                return await work()
            finally:
                await app.updater.stop()
                await app.stop()
    finally:
        await app.post_shutdown(app)


def bench(index: ArticleIndex, data_dir: Path, limiter: bool, args: argparse.Namespace) -> None:
    with FakeTelegramServer() as server:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            data_dir=data_dir,
            telegram_bot_token=TOKEN,
            telegram_base_url=server.base_url,
            telegram_base_file_url=server.file_url,
            answerer="offline",
            telegram_questions_per_minute=600,
            telegram_rate_limit=limiter,
        )
        app = build_application(
            settings, Services.create(settings, index, make_answerer(settings, index))
        )

        async def work() -> tuple[list[float], list[float]]:
            await latency(server, 3, first_chat=1)  # warm-up: model, caches, connections
            lat = await latency(server, args.questions, first_chat=100)
            rates = await throughput(server, args.rounds, first_chat=10_000)
            return lat, rates

        lat, rates = asyncio.run(run_bot(app, work))
    name = "on " if limiter else "off"
    total = CHATS * args.rounds / sum(CHATS / r for r in rates)
    print(
        f"{name:<8} {statistics.median(lat):>8.0f} {pct(lat, 0.95):>8.0f}"
        f" {statistics.median(rates):>12.1f} {total:>10.1f}"
    )


def answer_alone(index: ArticleIndex, settings: Settings, fresh: bool, count: int = 20) -> float:
    """Median milliseconds of the answerer alone (no Telegram), for comparison.

    `fresh`: a new answerer per question, so nothing is remembered; else one answerer for
    all, as the bot has (it remembers recent searches and sentence encodings, and the
    questions here repeat).
    """
    shared = None if fresh else make_answerer(settings, index)
    times = []
    for i in range(count):
        answerer = shared or make_answerer(settings, index)
        started = time.perf_counter()
        answerer.answer(QUESTIONS[i % len(QUESTIONS)], [])
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000, help="filler chunks")
    parser.add_argument("--questions", type=int, default=50, help="for the latency")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of 20 chats at once")
    args = parser.parse_args()
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    os.environ.setdefault("PTB_TIMEDELTA", "true")  # as `articlebot telegram` does
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp) / "data", answerer="offline")  # type: ignore[call-arg]
        index = ArticleIndex(settings)
        run_ingest([str(ROOT / "samples" / "articles")], index, settings)
        add_filler(index, args.chunks, index.embedder.dimension)
        index.finish_run()
        chunks = index.stats().chunks
        fresh = answer_alone(index, settings, fresh=True)
        remembered = answer_alone(index, settings, fresh=False)
        print(
            f"index: {chunks} chunks; the offline answerer alone (p50): {fresh:.0f} ms for a"
            f" new question, {remembered:.0f} ms for one asked before"
        )
        print("latency: update available -> reply received, one question at a time")
        print("replies/s: 20 chats asking at once (median round, and all rounds together)")
        print(f"{'limiter':<8} {'p50 ms':>8} {'p95 ms':>8} {'replies/s':>12} {'overall':>10}")
        for limiter in (True, False):
            bench(index, Path(tmp) / f"bot-{limiter}", limiter, args)
        index.close()


if __name__ == "__main__":
    main()
