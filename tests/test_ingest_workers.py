"""Several ingest workers on one catalog: claims share the work, nothing is stored twice,
and a killed worker's articles are finished by another."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval.store.catalog import Catalog
from retrieval.store.claims import ClaimStore
from retrieval.store.owners import new_owner
from retrieval.types import Article
from tests.fakes.chroma_server import ChromaServer, chroma_server
from tests.test_crash_safety import assert_consistent, write_corpus

__all__ = ["chroma_server"]


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Catalog]:
    """A catalog in each mode: a SQLite file, a PostgreSQL database."""
    where: Path | str = tmp_path / "catalog.sqlite3"
    if request.param == "postgresql":
        where = str(request.getfixturevalue("postgres_url"))
    opened = Catalog(where)
    yield opened
    opened.close()


def pending(catalog: Catalog, *ids: str) -> None:
    for article_id in ids:
        catalog.put_pending(Article(id=article_id, title=article_id, text="Ferries run."), [])


def dead_owner() -> str:
    """The owner name of a process of this host that has exited."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return new_owner().replace(f":{os.getpid()}:", f":{gone.pid}:")


def test_an_article_claimed_by_a_live_worker_is_left_to_it(catalog: Catalog) -> None:
    a, b = ClaimStore(catalog, new_owner()), ClaimStore(catalog, new_owner())
    assert a.claim(["x", "y"]) == {"x", "y"}
    assert b.claim(["y", "z"]) == {"z"}
    assert a.claim(["x"]) == {"x"}  # renewing its own claim
    a.release(["y"])
    assert b.claim(["y"]) == {"y"}


def test_a_claim_that_ran_out_is_taken_over(catalog: Catalog) -> None:
    a, b = ClaimStore(catalog, new_owner()), ClaimStore(catalog, new_owner())
    assert a.claim(["x"]) == {"x"}
    with catalog.transaction() as conn:  # its time ran out (another host: no pid to check)
        conn.execute("UPDATE claims SET expires_at = expires_at - 3600")
    assert b.claim(["x"]) == {"x"}
    assert a.claim(["x"]) == set()


def test_a_dead_workers_claims_are_taken_over_at_once(catalog: Catalog) -> None:
    dead = ClaimStore(catalog, dead_owner())
    pending(catalog, "p1", "p2")
    assert dead.claim(["x"]) == {"x"} and dead.claim_pending(10) == ["p1", "p2"]
    alive = ClaimStore(catalog, new_owner())
    assert alive.claim(["x"]) == {"x"}
    assert alive.claim_pending(10) == ["p1", "p2"]


def test_pending_work_is_handed_out_once(catalog: Catalog) -> None:
    pending(catalog, *(f"p{n:02d}" for n in range(40)))
    owners = [ClaimStore(catalog, new_owner()) for _ in range(4)]
    got: list[list[str]] = [[] for _ in owners]
    start = threading.Barrier(len(owners))

    def take(n: int) -> None:
        start.wait()
        while claimed := owners[n].claim_pending(3):  # as `resume` does: index, release
            got[n].extend(claimed)
            catalog.mark_indexed(claimed)
            owners[n].release(claimed)

    threads = [threading.Thread(target=take, args=(n,)) for n in range(len(owners))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    handed = [i for g in got for i in g]
    assert sorted(handed) == [f"p{n:02d}" for n in range(40)]  # each once, none lost


def worker(data_dir: Path, env: dict[str, str], corpus: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--data-dir", str(data_dir), "ingest", str(corpus)]
        + ["--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_two_workers_on_one_corpus_one_killed_every_article_once(
    tmp_path: Path, postgres_url: str, chroma_server: ChromaServer
) -> None:
    corpus = tmp_path / "corpus.jsonl"
    write_corpus(corpus)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLEBOT_", "CHROMA_"))}
    env |= {
        "ARTICLEBOT_DATABASE_URL": postgres_url,
        "ARTICLEBOT_COLLECTION": f"workers-{postgres_url.rsplit('/', 1)[1]}"[:60],
        "CHROMA_HOST": chroma_server.host,
        "CHROMA_PORT": str(chroma_server.port),
        "ARTICLEBOT_CHUNK_SIZE": "200",
        "ARTICLEBOT_CHUNK_OVERLAP": "40",
    }
    catalog = Catalog(postgres_url)
    doomed = worker(tmp_path / "a", env, corpus)
    survivor = worker(tmp_path / "b", env, corpus)
    deadline = time.monotonic() + 120
    held = f"SELECT COUNT(*) FROM claims WHERE owner LIKE '%:{doomed.pid}:%'"
    while not catalog.query(held)[0][0] and doomed.poll() is None:  # storing its first group
        assert time.monotonic() < deadline, "the first worker made no progress"
        time.sleep(0.01)
    doomed.send_signal(signal.SIGKILL)
    assert doomed.wait() == -signal.SIGKILL, "the worker ended before the kill: nothing tested"
    doomed.communicate()  # (closes its pipes)
    out, err = survivor.communicate(timeout=300)
    assert survivor.returncode == 0, err
    again = worker(tmp_path / "b", env, corpus)  # finishes what the killed one held
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    report = json.loads(out)
    assert report["failed"] == 0 and report["elsewhere"] == 0
    catalog.close()

    assert_consistent(  # every article once, nothing doubled
        tmp_path / "check",
        database_url=postgres_url,
        collection=env["ARTICLEBOT_COLLECTION"],
        chroma_host=chroma_server.host,
        chroma_port=chroma_server.port,
    )
    catalog = Catalog(postgres_url)
    assert catalog.query("SELECT COUNT(*) FROM claims") == [(0,)]  # none left behind
    catalog.close()
