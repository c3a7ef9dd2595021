"""The bot's shared state in the catalog: conversation memory, the per-chat turn lease and
the rate limits, on a SQLite file and on a real PostgreSQL server. Time is an injected
clock where a test moves it; the races use the database's own clock and real threads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from retrieval.store.catalog import Catalog
from retrieval.store.conversations import ConversationStore
from retrieval.store.limits import RateLimits
from retrieval.types import Turn


class Clock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.25

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where the catalog is: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "catalog.sqlite3"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def opened(where: str | Path) -> Iterator[Callable[[], Catalog]]:
    """Open the catalog, as many times as a test wants (each one like another process)."""
    catalogs: list[Catalog] = []

    def open_one() -> Catalog:
        catalogs.append(Catalog(where))
        return catalogs[-1]

    yield open_one
    for catalog in catalogs:
        catalog.close()


def memory(catalog: Catalog, clock: Clock | None, keep: int = 2) -> ConversationStore:
    return ConversationStore(catalog, keep=keep, memory_seconds=600, clock=clock)


def test_memory_keeps_the_last_turns_until_a_long_silence(opened: Callable[[], Catalog]) -> None:
    clock = Clock()
    store, other = memory(opened(), clock), memory(opened(), clock)  # two processes
    for n in range(3):
        store.add(42, f"q{n}", f"a{n}")
        clock.now += 60
    store.add(77, "q", "a")
    assert other.recent(42) == [Turn("q1", "a1"), Turn("q2", "a2")]
    assert [q for q, _, _ in other.turns(42)] == ["q1", "q2"]  # older ones are gone
    assert other.chats() == [42, 77]

    clock.now += 540  # quiet 10 minutes after q2 (600 s): still remembered
    assert store.recent(42) == [Turn("q1", "a1"), Turn("q2", "a2")]
    clock.now += 1
    assert store.recent(42) == [] and store.turns(42) == []  # forgotten, and deleted

    turn = other.add(42, "q3", "a3")
    assert store.recent(42) == [Turn("q3", "a3")]
    store.take_back(turn)  # its reply never arrived
    assert other.recent(42) == []
    assert memory(opened(), clock, keep=0).add(42, "q", "a") is None  # nothing kept


def test_reset_and_pruning_forget_only_what_they_should(opened: Callable[[], Catalog]) -> None:
    clock = Clock()
    store = memory(opened(), clock)
    store.add(1, "q", "a")
    clock.now += 300
    store.add(2, "q", "a")
    assert store.forget(2) is True and store.forget(2) is False
    store.add(2, "q", "a")
    clock.now += 400  # chat 1 quiet 700 s: pruned; chat 2 quiet 400 s: kept
    assert store.claim(9, "crashed", 30) is True
    assert store.prune() == 1
    assert store.chats() == [2]
    clock.now += 300
    assert store.forget(2) is False  # expired turns are not "something to forget"
    assert store.claim(9, "another", 30) is True  # the crashed holder's claim ran out


def test_a_chat_lease_has_one_holder_until_released_or_run_out(
    opened: Callable[[], Catalog],
) -> None:
    clock = Clock()
    a, b = memory(opened(), clock), memory(opened(), clock)
    assert a.claim(42, "a", 30) is True
    assert b.claim(42, "b", 30) is False
    assert b.claim(77, "b", 30) is True  # another chat is another lease
    clock.now += 20
    assert a.claim(42, "a", 30) is True  # renewed: now until +50
    clock.now += 29
    assert b.claim(42, "b", 30) is False
    clock.now += 1
    assert b.claim(42, "b", 30) is True  # a crashed: its claim ran out
    a.release(42, "a")  # too late: it is b's now, and stays b's
    assert a.claim(42, "a", 30) is False
    b.release(42, "b")
    assert a.claim(42, "a", 30) is True


def race(count: int, work: Callable[[int], object]) -> list[object]:
    """Run `work(n)` on `count` threads released at once; their results."""
    start, results = threading.Barrier(count), [None] * count

    def run(n: int) -> None:
        start.wait()
        results[n] = work(n)  # type: ignore[call-overload]

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_claims_racing_on_the_database_clock_have_one_winner(
    opened: Callable[[], Catalog],
) -> None:
    stores = [memory(opened(), None) for _ in range(6)]
    won = race(6, lambda n: stores[n].claim(42, f"worker {n}", 30))
    assert won.count(True) == 1


def test_the_question_limit_is_one_for_every_process(opened: Callable[[], Catalog]) -> None:
    clock = Clock()
    a, b = RateLimits(opened(), clock), RateLimits(opened(), clock)
    assert a.allow_question(42, 2) and b.allow_question(42, 2)
    assert not a.allow_question(42, 2) and not b.allow_question(42, 2)
    assert a.allow_question(77, 2)  # another user counts alone
    clock.now += 59.9
    assert not b.allow_question(42, 2)  # a refused question is not counted...
    clock.now += 0.1  # ...and 60 s after the first two, two more may come
    assert b.allow_question(42, 2) and a.allow_question(42, 2)
    assert not a.allow_question(42, 2)


def test_racing_questions_are_counted_once_each(opened: Callable[[], Catalog]) -> None:
    limits = [RateLimits(opened()) for _ in range(8)]  # the database's clock
    allowed = race(8, lambda n: limits[n].allow_question(42, 5))
    assert allowed.count(True) == 5


def test_the_send_budget_is_per_second_across_processes(opened: Callable[[], Catalog]) -> None:
    clock = Clock()
    a, b = RateLimits(opened(), clock), RateLimits(opened(), clock)
    assert [a.take_send(3), b.take_send(3), a.take_send(3)] == [0.0, 0.0, 0.0]
    assert b.take_send(3) == pytest.approx(0.75)  # wait for the next second
    clock.now += 0.75
    assert b.take_send(3) == 0.0
    clock.now += 120
    a.prune()
    assert a.catalog.query("SELECT COUNT(*) FROM telegram_sends") == [(0,)]


def test_a_group_budget_is_a_sliding_minute_across_processes(
    opened: Callable[[], Catalog],
) -> None:
    clock = Clock()
    a, b = RateLimits(opened(), clock), RateLimits(opened(), clock)
    assert [a.take_group_send("-100", 3), b.take_group_send("-100", 3)] == [0.0, 0.0]
    clock.now += 30
    assert a.take_group_send("-100", 3) == 0.0
    assert b.take_group_send("-100", 3) == pytest.approx(30)  # until the first leaves
    assert a.take_group_send("-200", 3) == 0.0  # another group counts alone
    clock.now += 30  # a minute after the first two: two more, not three
    assert [b.take_group_send("-100", 3), a.take_group_send("-100", 3)] == [0.0, 0.0]
    assert b.take_group_send("-100", 3) == pytest.approx(30)
    clock.now += 60
    a.prune()
    assert a.catalog.query("SELECT COUNT(*) FROM group_sends") == [(0,)]


def test_racing_group_sends_are_counted_once_each(opened: Callable[[], Catalog]) -> None:
    limits = [RateLimits(opened()) for _ in range(8)]  # the database's clock
    taken = race(8, lambda n: limits[n].take_group_send("-100", 5))
    assert taken.count(0.0) == 5


def test_imported_turns_are_imported_once(opened: Callable[[], Catalog]) -> None:
    clock = Clock()
    store, other = memory(opened(), clock), memory(opened(), clock)
    chats = {42: [("q0", "a0", clock.now - 60), ("q1", "a1", clock.now - 30), ("q2", "a2", 0.0)]}
    assert store.import_turns(chats, marker="old file", digest="abc") == 2  # the last 2
    assert other.import_turns(chats, marker="old file", digest="abc") is None
    assert other.recent(42) == []  # the newest was asked long ago: expired
    assert store.turns(42)[0] == ("q1", "a1", clock.now - 30)
