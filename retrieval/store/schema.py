"""The catalog's schema, versioned by Alembic (`retrieval/store/migrations/versions/`).

Opening a catalog brings it to `HEAD`: a current one costs one read and no lock (readers
may open a catalog they cannot write); otherwise the missing revisions run in one write
transaction that first takes the migration lock (SQLite's write lock, a PostgreSQL
advisory lock) and re-reads the revision, so two processes opening an old catalog at once
apply each revision once, and a crash leaves it at the old revision or the new, never
between. A catalog newer than this code is refused: an older articlebot must not write
what it does not understand.

SQLite catalogs made before Alembic counted their version in `PRAGMA user_version`
(0 to 5); revision "000N" is that version, so they are stamped with it and carried on.

A new revision: `alembic revision -m "why"` with this directory's script location (or copy
the last file), next number, `down_revision` the last; then move `HEAD`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from retrieval.errors import StoreError
from retrieval.store.database import Database, Statements

#: The newest revision this code writes (a test checks it is Alembic's head).
HEAD = "0009"
_SCRIPTS = Path(__file__).parent / "migrations"


def migrate(db: Database) -> str | None:
    """Bring the catalog to `HEAD`; return the revision it was at (None: a new catalog)."""
    found = _revision(db)
    if found == HEAD:
        return found
    _refuse_newer(found, db)
    with db.write() as s:
        s.lock("articlebot schema")
        recorded = _revision_in(s)
        found = recorded or _legacy_revision(s)
        config = _config(s)
        if recorded is None and found is not None:  # made before Alembic: carry it on
            command.stamp(config, found)
        command.upgrade(config, "head")
    return found


def require_current(db: Database) -> None:
    """Refuse, in one line, a catalog that a read-only process cannot use: newer than this
    code, or older (its migration needs a write)."""
    found = _revision(db)
    _refuse_newer(found, db)
    if found != HEAD:
        raise StoreError(
            f"the article catalog at {db.location} has schema revision {found or 'none'} and"
            f" needs upgrading to {HEAD}, which needs write access: run any articlebot command"
            " once where the data directory is writable"
        )


def _revision(db: Database) -> str | None:
    with db.read() as s:
        return _revision_in(s) or _legacy_revision(s)


def _revision_in(s: Statements) -> str | None:
    """Alembic's record of the revision, or None where Alembic never ran."""
    if not inspect(s.connection).has_table("alembic_version"):
        return None
    value = s.scalar("SELECT version_num FROM alembic_version")
    return None if value is None else str(value)


def _legacy_revision(s: Statements) -> str | None:
    """The revision a SQLite catalog made before Alembic is at (None: an empty file)."""
    if s.connection.dialect.name != "sqlite":
        return None
    if not s.scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'articles'"):
        return None
    return f"{int(s.scalar('PRAGMA user_version')):04d}"


def _refuse_newer(found: str | None, db: Database) -> None:
    if found is not None and found != HEAD and found not in _known():
        raise StoreError(
            f"the article catalog at {db.location} has schema revision {found}, newer than"
            f" this articlebot understands ({HEAD}); upgrade articlebot to use it"
        )


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    scripts = ScriptDirectory(str(_SCRIPTS))
    return frozenset(r.revision for r in scripts.walk_revisions())


def _config(s: Statements) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["connection"] = s.connection
    return config
