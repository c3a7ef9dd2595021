"""The catalog's versioned schema (Alembic): a catalog made before versioning, or before
Alembic, is migrated with its data; one from a newer articlebot is refused in one line."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest
from alembic import command as alembic
from alembic.script import ScriptDirectory

from retrieval.store.catalog import Catalog
from retrieval.store.database import Database, Location
from retrieval.store.limits import RateLimits
from retrieval.store.schema import HEAD, _config
from tests.fakes.harness import articlebot_command

# The layout as articlebot wrote it before the schema had a version (retrieval/store/catalog.py at
# e527f5c), copied here so that later edits of the code cannot change what is tested.
UNVERSIONED_LAYOUT = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    url TEXT,
    site TEXT,
    author TEXT,
    published TEXT,
    ingested_at TEXT NOT NULL,
    source TEXT,
    content_hash TEXT NOT NULL,
    indexed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS articles_url ON articles(url);
CREATE TABLE IF NOT EXISTS chunks (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    PRIMARY KEY (article_id, position)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    group_id TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (namespace, key)
);
CREATE INDEX IF NOT EXISTS records_group ON records(namespace, group_id, updated_at);
"""
TEXT = "The ferry to Wend runs six times a day. A ticket costs less than a bus fare."


def unversioned_catalog(data_dir: Path) -> Path:
    """A catalog as the code before versioning left it: one indexed article, its two
    chunks, their records and the generation."""
    data_dir.mkdir(parents=True)
    path = data_dir / "catalog.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(UNVERSIONED_LAYOUT)
        conn.execute(
            "INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
            (
                "https://gazette.example/ferry",
                "Ferry to Wend",
                TEXT,
                "https://gazette.example/ferry",
                "The Coastal Gazette",
                "Mara Quill",
                "2026-03-04",
                "2026-03-05T10:00:00+00:00",
                "gazette.html",
                "hash-1",
            ),
        )
        conn.executemany(
            'INSERT INTO chunks (article_id, position, start, "end") VALUES (?, ?, ?, ?)',
            [
                ("https://gazette.example/ferry", 0, 0, 39),
                ("https://gazette.example/ferry", 1, 40, 76),
            ],
        )
        conn.executemany(
            "INSERT INTO records VALUES (?, ?, ?, ?)",
            [("chroma/articles", f"key-{n}", "https://gazette.example/ferry", 1.5) for n in (0, 1)],
        )
        conn.execute("INSERT INTO meta VALUES ('generation', '7')")
    conn.close()
    return path


def test_a_catalog_from_before_versioning_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    path = unversioned_catalog(tmp_path / "data")
    listed = subprocess.run(
        articlebot_command("--data-dir", str(tmp_path / "data"), "list", "--json"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    [article] = json.loads(listed.stdout)
    assert (article["title"], article["chars"], article["chunks"]) == ("Ferry to Wend", 76, 2)
    assert article["indexed"] and article["site"] == "The Coastal Gazette"
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
        assert conn.execute("SELECT text, content_hash, stored_seq FROM articles").fetchall() == [
            (TEXT, "hash-1", 1)
        ]
        assert conn.execute('SELECT start, "end" FROM chunks ORDER BY position').fetchall() == [
            (0, 39),
            (40, 76),
        ]
        assert conn.execute("SELECT key, group_id FROM records ORDER BY key").fetchall() == [
            ("key-0", "https://gazette.example/ferry"),
            ("key-1", "https://gazette.example/ferry"),
        ]
        assert conn.execute("SELECT key, value FROM meta ORDER BY key").fetchall() == [
            ("generation", "7"),
            ("stored_seq", "1"),  # revision 0006 numbered the stored article
        ]
        assert conn.execute("SELECT COUNT(*) FROM removals").fetchone()[0] == 0  # revision 1
    conn.close()


def test_opening_a_current_catalog_again_changes_nothing(tmp_path: Path) -> None:
    path = unversioned_catalog(tmp_path / "data")
    command = articlebot_command("--data-dir", str(tmp_path / "data"), "list", "--json")
    first = subprocess.run(command, capture_output=True, text=True, timeout=120)
    with sqlite3.connect(path) as conn:
        schema = conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    conn.close()
    second = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert first.returncode == second.returncode == 0 and first.stdout == second.stdout
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == schema
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
    conn.close()


def catalog_before_alembic(data_dir: Path) -> Path:
    """A catalog as the last articlebot before Alembic left it: schema version 5 counted in
    `PRAGMA user_version`, no `alembic_version`, two stored articles (in rowid order)."""
    data_dir.mkdir(parents=True)
    path = data_dir / "catalog.sqlite3"
    db = Database(Location.of(path), busy_timeout=5, read_only=False)
    with db.write() as s:
        alembic.upgrade(_config(s), "0005")
        s.execute("DROP TABLE alembic_version")
    db.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 5")
        for n, title in enumerate(("Ferry to Wend", "Ferry fares")):
            conn.execute(
                "INSERT INTO articles (id, title, text, ingested_at, content_hash, indexed)"
                " VALUES (?, ?, ?, '2026-03-05T10:00:00+00:00', ?, 1)",
                (f"a{n}", title, TEXT, f"hash-{n}"),
            )
        conn.execute(
            "INSERT INTO follows (chat_id, topic, created_at, cursor) VALUES (7, 'x', 1, 1)"
        )
    conn.close()
    return path


def test_a_catalog_from_before_alembic_is_stamped_and_carried_on(tmp_path: Path) -> None:
    path = catalog_before_alembic(tmp_path / "data")
    listed = subprocess.run(
        articlebot_command("--data-dir", str(tmp_path / "data"), "list", "--json"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert sorted(a["title"] for a in json.loads(listed.stdout)) == ["Ferry fares", "Ferry to Wend"]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
        # The follows' cursor counted rowids: the stored order carries on from them.
        assert conn.execute("SELECT id, stored_seq FROM articles ORDER BY id").fetchall() == [
            ("a0", 1),
            ("a1", 2),
        ]
        assert conn.execute("SELECT value FROM meta WHERE key = 'stored_seq'").fetchone() == ("2",)
        assert conn.execute("SELECT topic, cursor FROM follows").fetchall() == [("x", 1)]
    conn.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_catalog_at_0008_gains_the_group_sends_and_keeps_the_bot_state(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Revision 0009 adds `group_sends`; the bot's memory and limits of 0008 are kept."""
    where: Path | str = tmp_path / "catalog.sqlite3"
    if kind == "postgresql":
        where = str(request.getfixturevalue("postgres_url"))
    db = Database(Location.of(where), busy_timeout=5, read_only=False)
    with db.write() as s:
        alembic.upgrade(_config(s), "0008")
        s.execute(
            "INSERT INTO conversation_turns (chat_id, question, answer, asked_at)"
            " VALUES (-100, 'Ferry?', 'Six a day.', 1800000000.5)"
        )
        s.execute("INSERT INTO question_log (user_id, asked_at) VALUES (7, 1800000000.5)")
        s.execute("INSERT INTO telegram_sends (second, sent) VALUES (1800000000, 3)")
    db.close()
    catalog = Catalog(where)
    try:
        assert catalog.query("SELECT version_num FROM alembic_version") == [(HEAD,)]
        assert catalog.query("SELECT chat_id, question, answer FROM conversation_turns") == [
            (-100, "Ferry?", "Six a day.")
        ]
        assert catalog.query("SELECT user_id FROM question_log") == [(7,)]
        assert catalog.query("SELECT second, sent FROM telegram_sends") == [(1800000000, 3)]
        assert RateLimits(catalog).take_group_send("-100", 20) == 0.0
        assert catalog.query("SELECT chat FROM group_sends") == [("-100",)]
    finally:
        catalog.close()


def test_a_catalog_from_a_newer_articlebot_is_refused_in_one_line(tmp_path: Path) -> None:
    path = unversioned_catalog(tmp_path / "data")
    newer = f"{int(HEAD) + 1:04d}"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES (?)", (newer,))
    conn.close()
    for command in ("list", "stats"):
        run = subprocess.run(
            articlebot_command("--data-dir", str(tmp_path / "data"), command),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 1
        assert run.stderr.splitlines() == [
            f"Error: the article catalog at {path} has schema revision {newer}, newer than"
            f" this articlebot understands ({HEAD}); upgrade articlebot to use it"
        ]
    with sqlite3.connect(path) as conn:  # left as it was
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(newer,)]
        assert conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 1
    conn.close()


def test_revisions_are_numbered_one_by_one_up_to_head() -> None:
    scripts = ScriptDirectory(str(Path(__file__).parent.parent / "retrieval/store/migrations"))
    revisions = list(reversed(list(scripts.walk_revisions())))
    assert [r.revision for r in revisions] == [f"{n:04d}" for n in range(int(HEAD) + 1)]
    assert [r.down_revision for r in revisions] == [None] + [r.revision for r in revisions[:-1]]
    assert scripts.get_current_head() == HEAD
    assert all(r.doc for r in revisions)  # each says why
