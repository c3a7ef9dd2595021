"""Telegram's per-token and per-group send budgets shared by the bot's processes
(`SharedRateLimiter`), and what the shared state costs each message, on SQLite and on a
real PostgreSQL."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.telegram.send_limit import SharedRateLimiter, group_of
from retrieval.store.catalog import Catalog
from retrieval.store.conversations import ConversationStore
from retrieval.store.limits import RateLimits


@pytest.fixture(params=["sqlite", "postgresql"])
def catalogs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[Catalog]]:
    """The catalog opened twice, as two bot processes open it."""
    where: Path | str = tmp_path / "catalog.sqlite3"
    if request.param == "postgresql":
        where = str(request.getfixturevalue("postgres_url"))
    opened = [Catalog(where), Catalog(where)]
    yield opened
    for catalog in opened:
        catalog.close()


async def test_two_processes_keep_to_one_send_budget(catalogs: list[Catalog]) -> None:
    """Nine messages through two limiters allowing 3 a second in all: every one is sent,
    counted in the second it took, no second over 3, so it takes three seconds."""
    limiters = [SharedRateLimiter(RateLimits(c), per_second=3) for c in catalogs]
    sent: list[int] = []

    async def send(n: int) -> bool:
        sent.append(n)
        return True

    await asyncio.gather(
        *(
            limiters[n % 2].process_request(send, (n,), {}, "sendMessage", {"chat_id": n}, None)
            for n in range(9)
        )
    )
    counted = catalogs[0].query("SELECT second, sent FROM telegram_sends ORDER BY second")
    assert sorted(sent) == list(range(9))
    assert sum(int(c) for _, c in counted) == 9
    assert all(int(c) <= 3 for _, c in counted) and len(counted) >= 3
    await limiters[0].process_request(send, (9,), {}, "getMe", {}, None)  # to no chat
    assert catalogs[0].query("SELECT SUM(sent) FROM telegram_sends") == [(9,)]


class Clock:
    """Seconds that move only when a limiter waits: its `sleep` moves them instead."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.25
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


async def test_two_processes_keep_to_one_group_budget(catalogs: list[Catalog]) -> None:
    """Two replicas sending to one group, 1 s apart: the first 20 go at once, the 21st
    waits until the first is a minute old; a private chat and another group meanwhile
    are not held back by that group."""
    clock = Clock()
    limiters = [
        SharedRateLimiter(RateLimits(c, clock), per_second=10**6, sleep=clock.sleep)
        for c in catalogs
    ]
    sent: list[tuple[int, float]] = []

    async def send(chat: int) -> bool:
        sent.append((chat, clock.now))
        return True

    async def to(chat: int | str, n: int) -> None:
        await limiters[n % 2].process_request(
            send, (chat,), {}, "sendMessage", {"chat_id": chat}, None
        )

    started = clock.now
    for n in range(20):
        await to(-100, n)
        clock.now += 1
    assert clock.waits == []
    for n in range(25):
        await to(5, n)  # a private chat: only the per-second budget
    await to(-200, 0)  # another group: its own budget
    await to("-200", 1)  # the same group, its id given as a string
    assert clock.waits == []
    await to(-100, 20)  # the 21st in the group: waits for the first to leave the minute
    assert clock.waits == [pytest.approx(40)]
    assert sent[-1] == (-100, pytest.approx(started + 60))
    to_group = [at for chat, at in sent if chat == -100]
    assert len(to_group) == 21
    assert all(b - a >= 60 for a, b in zip(to_group, to_group[20:], strict=False))
    counted = catalogs[0].query("SELECT chat, COUNT(*) FROM group_sends GROUP BY chat")
    assert sorted(counted) == [("-100", 20), ("-200", 2)]  # the first one left the window


def test_groups_are_told_from_private_chats_as_ptb_does() -> None:
    assert [group_of(c) for c in (-100, "-100", "@news", 5, "5", None)] == [
        "-100",
        "-100",
        "@news",
        None,
        None,
        None,
    ]


async def test_without_its_table_the_limiter_still_sends(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    with catalog.transaction() as conn:
        conn.execute("DROP TABLE telegram_sends")  # the database cannot count
        conn.execute("DROP TABLE group_sends")
    limiter = SharedRateLimiter(RateLimits(catalog), per_second=1)

    async def send() -> bool:
        return True

    for chat in (1, -100):
        assert await limiter.process_request(send, (), {}, "sendMessage", {"chat_id": chat}, None)
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "the shared send limit is unavailable",
        "the shared group send limit is unavailable",
        "the shared send limit is unavailable",
    ]
    catalog.close()


def milliseconds(call: Callable[[], object], times: int = 200) -> tuple[float, float]:
    """The median and 95th percentile of `call`'s duration, in ms."""
    took = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took), statistics.quantiles(took, n=20)[-1]


def test_what_the_shared_state_costs_a_message(
    catalogs: list[Catalog], report_measurement: Callable[[str], None]
) -> None:
    """One send costs one small write transaction (two to a group); one answered turn
    five (limit, claim, read, add, release). Measured against the local database, bounded
    generously."""
    catalog = catalogs[0]
    limits = RateLimits(catalog)
    memory = ConversationStore(catalog, keep=6, memory_seconds=3600)
    send = milliseconds(lambda: limits.take_send(10**6))
    chats = iter(range(10**6))
    group = milliseconds(lambda: limits.take_group_send(str(-(next(chats) % 50) - 1), 10**6))

    def turn() -> None:
        chat = next(chats) % 50
        limits.allow_question(chat, 10**6)
        memory.claim(chat, "owner", 30)
        memory.recent(chat)
        memory.add(chat, "A question?", "An answer.")
        memory.release(chat, "owner")

    answered = milliseconds(turn)
    kind = catalog.db.engine.dialect.name
    report_measurement(
        f"{kind}: send budget {send[0]:.2f} ms median, {send[1]:.2f} ms p95;"
        f" group budget {group[0]:.2f} ms median, {group[1]:.2f} ms p95;"
        f" a turn's memory and limits {answered[0]:.2f} ms median, {answered[1]:.2f} ms p95"
    )
    assert send[1] < 50 and group[1] < 50 and answered[1] < 250
