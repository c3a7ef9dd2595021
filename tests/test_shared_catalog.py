"""Shared mode: the catalog on a real PostgreSQL server, the vectors on a real `chroma run`,
several data directories (machines) working on the same articles."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from retrieval.errors import StoreError
from retrieval.store.catalog import Catalog
from retrieval.store.follows import FollowStore
from retrieval.store.records import CatalogRecordManager
from retrieval.store.schema import HEAD
from retrieval.store.sources import SourceStore
from retrieval.types import Article, Chunk
from tests.conftest import SAMPLES_DIR
from tests.fakes.chroma_server import ChromaServer, chroma_server
from tests.fakes.harness import articlebot_command

__all__ = ["chroma_server"]
PLANT = SAMPLES_DIR / "articles" / "2026-03-05-harbour-ledger-corvane-plant.md"
QUESTION = "How many jobs will the Corvane plant create?"


def article(n: int, text: str = "The ferry to Wend runs six times a day.") -> Article:
    return Article(id=f"a{n}", title=f"Ferry {n}", text=text, url=f"https://gazette.example/{n}")


def machine(data_dir: Path, database_url: str, chroma: ChromaServer) -> dict[str, str]:
    """The environment of one worker: its own data directory, the shared database and
    Chroma server (a collection of this database's own: the server is the session's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLEBOT_", "CHROMA_"))}
    return env | {
        "ARTICLEBOT_DATA_DIR": str(data_dir),
        "ARTICLEBOT_DATABASE_URL": database_url,
        "ARTICLEBOT_COLLECTION": f"shared-{database_url.rsplit('/', 1)[1]}"[:60],
        "CHROMA_HOST": chroma.host,
        "CHROMA_PORT": str(chroma.port),
    }


def articlebot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        articlebot_command(*args), env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_an_article_ingested_on_one_machine_is_answered_and_removed_on_another(
    tmp_path: Path, postgres_url: str, chroma_server: ChromaServer
) -> None:
    a = machine(tmp_path / "a", postgres_url, chroma_server)
    b = machine(tmp_path / "b", postgres_url, chroma_server)

    ingested = articlebot(a, "ingest", str(PLANT), "--json")
    assert ingested.returncode == 0, ingested.stderr
    assert json.loads(ingested.stdout)["added"] == 1
    assert not (tmp_path / "a" / "catalog.sqlite3").exists()  # the catalog is the server's

    asked = articlebot(b, "ask", QUESTION, "--json")
    assert asked.returncode == 0, asked.stderr
    shown = json.loads(asked.stdout)
    assert shown["found"] and "1,500 jobs" in shown["answer"]
    [citation] = [c for c in shown["citations"] if "1,500 jobs" in c["quote"]]
    assert citation["title"].startswith("Corvane")

    again = articlebot(b, "ingest", str(PLANT), "--json")  # B knows A stored it
    assert json.loads(again.stdout)["unchanged"] == 1, again.stderr

    [listed] = json.loads(articlebot(b, "list", "--json").stdout)
    removed = articlebot(b, "remove", listed["id"])
    assert removed.returncode == 0, removed.stderr
    assert json.loads(articlebot(a, "list", "--json").stdout) == []
    refused = json.loads(articlebot(a, "ask", QUESTION, "--json").stdout)
    assert not refused["found"] and refused["citations"] == []


def test_every_store_works_on_postgresql(postgres_url: str) -> None:
    catalog = Catalog(postgres_url)
    try:
        first, second = article(1), article(2, "Fares rise by a tenth in May.")
        catalog.put_pending(first, [Chunk(first.id, 0, 0, 20, first.text[:20])])
        catalog.put_pending(second, [])
        catalog.mark_indexed([first.id, second.id], bump="generation")
        assert catalog.counts() == (2, 2, 1)
        assert catalog.get_many([first.id, "missing"]).keys() == {first.id}
        assert catalog.spans([first.id]) == {first.id: {0: (0, 20)}}
        catalog.put_pending(first, [])  # stored again: the next place in the stored order
        assert catalog.query("SELECT id FROM articles ORDER BY stored_seq", {}) == [
            (second.id,),
            (first.id,),
        ]

        records = CatalogRecordManager(catalog, "chroma/articles")
        records.update(["k1", "k2"], group_ids=[first.id, second.id])
        assert records.exists(["k1", "k3"]) == [True, False]
        assert records.list_keys(group_ids=[second.id]) == ["k2"]
        assert records.list_keys(group_ids=[]) == []

        sources = SourceStore(catalog)
        source = sources.add("https://gazette.example/feed", "feed", "Gazette", 900, now=10.0)
        with pytest.raises(StoreError, match="already watched"):
            sources.add("https://gazette.example/feed", "feed", "Other", 900, now=10.0)
        assert sources.try_lease(source.id, "w1", now=11.0, until=71.0) is not None
        assert sources.try_lease(source.id, "w2", now=12.0, until=72.0) is None

        follows = FollowStore(catalog)
        follow = follows.add(-1001234567890, 7, "ferries", now=1.0, max_topics=5)
        assert follow.chat_id == -1001234567890  # a supergroup's id needs 64 bits
        assert follows.claim(follow, {"s1"}, first.id, now=2.0)
        assert not follows.claim(follow, {"s1", "s2"}, second.id, now=3.0)
        follows.advance(follow.id, 5)
        follows.advance(follow.id, 3)  # never back
        assert follows.all()[0].cursor == 5
    finally:
        catalog.close()


def test_two_workers_opening_a_new_database_at_once_migrate_it_once(postgres_url: str) -> None:
    opened: list[Catalog] = []
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def open_it() -> None:
        start.wait()
        try:
            opened.append(Catalog(postgres_url))
        except BaseException as exc:  # the assertion below names it
            failures.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == [] and len(opened) == 2
    for catalog in opened:
        catalog.close()
    engine = create_engine(postgres_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [(HEAD,)]
    engine.dispose()


def test_the_record_clock_is_the_database_servers(postgres_url: str) -> None:
    catalog = Catalog(postgres_url)
    try:
        records = CatalogRecordManager(catalog, "chroma/articles")
        engine = create_engine(postgres_url)
        with engine.connect() as conn:
            before = float(conn.execute(text("SELECT EXTRACT(EPOCH FROM now())")).scalar_one())
        engine.dispose()
        stamps = [records.get_time() for _ in range(3)]
        assert stamps == sorted(set(stamps))  # never backwards, never the same twice
        assert before <= stamps[0] < before + 60
    finally:
        catalog.close()


def test_a_wrong_password_is_one_line_that_never_shows_it(
    tmp_path: Path, postgres_url: str
) -> None:
    password = postgres_url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    wrong = postgres_url.replace(f":{password}@", ":not-the-password-4711@")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLEBOT_", "CHROMA_"))}
    env |= {"ARTICLEBOT_DATA_DIR": str(tmp_path / "d"), "ARTICLEBOT_DATABASE_URL": wrong}
    for command in ("list", "stats"):
        run = articlebot(env, command)
        assert run.returncode == 1
        [line] = run.stderr.splitlines()
        assert line.startswith("Error: cannot open the article catalog at postgresql+psycopg://")
        assert "password authentication failed" in line
        assert "not-the-password-4711" not in line and password not in line and "***" in line


def test_an_unknown_database_url_is_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLEBOT_", "CHROMA_"))}
    env |= {
        "ARTICLEBOT_DATA_DIR": str(tmp_path / "d"),
        "ARTICLEBOT_DATABASE_URL": "mysql://u:secret-pw@127.0.0.1/x",
    }
    run = articlebot(env, "list")
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        "Error: ARTICLEBOT_DATABASE_URL: unsupported database 'mysql'"
        " (use sqlite:///PATH or postgresql+psycopg://…)"
    ]
