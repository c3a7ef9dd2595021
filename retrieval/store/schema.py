"""The catalog's schema, versioned: a frozen baseline and numbered migration steps.

SQLite's `PRAGMA user_version` holds the number of the last step applied (0: the layout
of the catalogs made before versioning, `BASELINE`). Opening a catalog applies the
missing steps in order, each in its own transaction with the version bump, so a crash
leaves the catalog at one version or the next, never between. A catalog newer than this
code is refused (an older articlebot must not write what it does not understand).

Rules for a new step: append a `Migration` with the next number; never edit `BASELINE`
or a released step. Each step maps onto one Alembic revision (`version` → revision id,
`statements` → `upgrade()`) when the catalog moves to SQLAlchemy.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from retrieval.errors import StoreError

#: The layout every catalog had before versioning (version 0), statement by statement.
BASELINE = (
    """CREATE TABLE IF NOT EXISTS articles (
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
)""",
    "CREATE INDEX IF NOT EXISTS articles_url ON articles(url)",
    """CREATE TABLE IF NOT EXISTS chunks (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    PRIMARY KEY (article_id, position)
)""",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS records (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    group_id TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (namespace, key)
)""",
    "CREATE INDEX IF NOT EXISTS records_group ON records(namespace, group_id, updated_at)",
)


@dataclass(frozen=True, slots=True)
class Migration:
    """One step: the version it brings the catalog to, why, and its statements."""

    version: int
    why: str
    statements: tuple[str, ...]


MIGRATIONS = (
    Migration(
        1,
        "a removal is marked as started before Chroma is touched, so a killed `remove` is"
        " finished by the next writer and its article is never quoted meanwhile",
        (
            "CREATE TABLE removals ("
            " article_id TEXT PRIMARY KEY, started_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        ),
    ),
    Migration(
        2,
        "the named entities of each article (spaCy NER, tagged once when it is stored) and"
        " which model tagged it, so questions can prefer sentences naming what they ask for",
        (
            "CREATE TABLE entities ("
            " article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,"
            ' start INTEGER NOT NULL, "end" INTEGER NOT NULL, label TEXT NOT NULL)',
            "CREATE INDEX entities_article ON entities(article_id)",
            "CREATE TABLE tagged ("
            " article_id TEXT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,"
            " model TEXT NOT NULL)",
        ),
    ),
    Migration(
        3,
        "stories: the names each article gives (people, organisations, places, events) and"
        " the story each article was grouped into when it was stored, so news steps compare"
        " reports of one story only and a story told again is known as such",
        (
            "CREATE TABLE names ("
            " article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,"
            " name TEXT NOT NULL, PRIMARY KEY (article_id, name))",
            "CREATE INDEX names_name ON names(name)",
            "CREATE TABLE stories ("
            " article_id TEXT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,"
            " story TEXT NOT NULL)",
            "CREATE INDEX stories_story ON stories(story)",
        ),
    ),
    Migration(
        4,
        "watched sources (feeds, pages, folders) with their schedule, HTTP validators,"
        " failures and a lease, and what each source last saw of its entries or files, so"
        " `articlebot watch` fetches only what changed and notices deleted files",
        (
            "CREATE TABLE sources ("
            " id INTEGER PRIMARY KEY,"
            " location TEXT NOT NULL UNIQUE,"
            " kind TEXT NOT NULL CHECK (kind IN ('feed', 'page', 'folder', 'file')),"
            " name TEXT NOT NULL UNIQUE,"
            " interval_seconds INTEGER NOT NULL CHECK (interval_seconds > 0),"
            " allow_private INTEGER NOT NULL DEFAULT 0,"
            " added_at REAL NOT NULL,"
            " next_run REAL NOT NULL,"
            " last_run REAL, last_success REAL, last_error TEXT,"
            " failures INTEGER NOT NULL DEFAULT 0,"
            " articles_added INTEGER NOT NULL DEFAULT 0,"
            " etag TEXT, last_modified TEXT,"
            " lease_owner TEXT, lease_expires REAL)",
            "CREATE TABLE source_entries ("
            " source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,"
            " key TEXT NOT NULL,"
            " fingerprint TEXT NOT NULL,"
            " article_ids TEXT NOT NULL DEFAULT '[]',"
            " PRIMARY KEY (source_id, key))",
        ),
    ),
    Migration(
        5,
        "followed topics: each chat's topics with a cursor (the highest `articles.rowid`"
        " already considered, so only articles stored later are matched) and the stories"
        " sent for each, so a story is sent once and a chat's messages per hour are counted",
        (
            "CREATE TABLE follows ("
            " id INTEGER PRIMARY KEY,"
            " chat_id INTEGER NOT NULL,"
            " user_id INTEGER,"
            " topic TEXT NOT NULL,"
            " created_at REAL NOT NULL,"
            " cursor INTEGER NOT NULL DEFAULT 0,"
            " UNIQUE (chat_id, topic))",
            "CREATE TABLE follow_deliveries ("
            " follow_id INTEGER NOT NULL REFERENCES follows(id) ON DELETE CASCADE,"
            " chat_id INTEGER NOT NULL,"
            " story TEXT NOT NULL,"
            " article_id TEXT NOT NULL,"
            " sent_at REAL NOT NULL,"
            " UNIQUE (follow_id, story))",
            "CREATE INDEX follow_deliveries_chat ON follow_deliveries(chat_id, sent_at)",
        ),
    ),
)
CURRENT = MIGRATIONS[-1].version


def version_of(conn: sqlite3.Connection) -> int:
    """The schema version a catalog is at."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, where: str) -> int:
    """Bring the catalog to `CURRENT`; return the version it was at.

    `conn` is in autocommit mode (isolation_level=None). A current catalog costs one read
    and no lock (readers may open a catalog they cannot write); otherwise each missing step
    runs in a write transaction that first re-reads the version, so two processes opening
    an old catalog at once apply each step once.
    """
    found = version_of(conn)
    _refuse_newer(found, where)
    if found == CURRENT:
        return found
    if found == 0:
        _apply(conn, 0, BASELINE)
    for step in MIGRATIONS:
        if step.version > found:
            _apply(conn, step.version, step.statements)
    return found


def require_current(conn: sqlite3.Connection, where: str) -> None:
    """Refuse, in one line, a catalog that a read-only process cannot use: newer than this
    code, or older (its migration needs a write)."""
    found = version_of(conn)
    _refuse_newer(found, where)
    if found != CURRENT:
        raise StoreError(
            f"the article catalog at {where} has schema version {found} and needs upgrading"
            f" to {CURRENT}, which needs write access: run any articlebot command once where"
            " the data directory is writable"
        )


def _apply(conn: sqlite3.Connection, version: int, statements: tuple[str, ...]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        now = version_of(conn)
        if now < version or (version == 0 and now == 0):
            for statement in statements:
                conn.execute(statement)
            if version:
                conn.execute(f"PRAGMA user_version = {int(version)}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _refuse_newer(found: int, where: str) -> None:
    if found > CURRENT:
        raise StoreError(
            f"the article catalog at {where} has schema version {found}, newer than this"
            f" articlebot understands ({CURRENT}); upgrade articlebot to use it"
        )
