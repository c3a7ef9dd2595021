"""The catalog's database: a SQLite file in the data directory, or a shared PostgreSQL.

One SQLAlchemy engine, one dialect-neutral SQL (named parameters, `ON CONFLICT`,
`RETURNING`), so there is one code path for both: SQLite when one machine holds
everything, PostgreSQL (`ARTICLEBOT_DATABASE_URL=postgresql+psycopg://…`) when several
workers on several machines share the articles. The schema is versioned by Alembic
(`retrieval/store/migrations/`).

Writes are serialised the way each engine does it best: SQLite takes its write lock at
the start of a write (`BEGIN IMMEDIATE`, so two writers queue instead of deadlocking on a
lock upgrade); PostgreSQL locks rows. Nested use on one thread joins the outer
transaction, as a single connection did before.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, Engine, bindparam, create_engine, event, make_url, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.sql.elements import TextClause

from retrieval.errors import StoreError

Params = Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Location:
    """Where a catalog lives: a SQLite file, or a database URL (its password never shown)."""

    url: URL
    path: Path | None  # the SQLite file, when it is one

    @classmethod
    def of(cls, where: Path | str) -> Location:
        """A path is a SQLite file; a string is an SQLAlchemy URL."""
        if isinstance(where, Path):
            return cls(URL.create("sqlite", database=str(where)), where)
        try:
            url = make_url(where)
        except ArgumentError:
            raise StoreError(
                "ARTICLEBOT_DATABASE_URL is not a database URL (expected e.g."
                " postgresql+psycopg://user:password@host:5432/articlebot)"
            ) from None
        if url.get_backend_name() == "sqlite":
            if not url.database or url.database == ":memory:":
                raise StoreError("a SQLite ARTICLEBOT_DATABASE_URL must name a file")
            return cls(url, Path(url.database))
        if url.get_backend_name() != "postgresql":
            raise StoreError(
                f"ARTICLEBOT_DATABASE_URL: unsupported database {url.get_backend_name()!r}"
                " (use sqlite:///PATH or postgresql+psycopg://…)"
            )
        return cls(url.set(drivername="postgresql+psycopg"), None)

    @property
    def is_sqlite(self) -> bool:
        return self.path is not None

    def __str__(self) -> str:
        """For messages and logs: the file, or the URL with its password hidden."""
        if self.path is not None:
            return str(self.path)
        return self.url.render_as_string(hide_password=True)


class Database:
    """A pool of connections to the catalog's database, shared by the threads of a process."""

    def __init__(self, location: Location, *, busy_timeout: float, read_only: bool) -> None:
        self.location = location
        self.read_only = read_only
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        try:
            self.engine = _engine(location, busy_timeout, read_only)
        except NoSuchModuleError:
            raise StoreError(
                "PostgreSQL needs the psycopg driver: pip install 'articlebot[postgres]'"
            ) from None

    @property
    def is_sqlite(self) -> bool:
        return self.location.is_sqlite

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def write(self) -> Iterator[Statements]:
        """A write transaction: every statement lands, or none."""
        joined = getattr(self._local, "connection", None)
        if joined is not None:
            yield Statements(joined)
            return
        with self.engine.connect() as conn:
            if self.is_sqlite:
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                self._local.connection = conn
                try:
                    yield Statements(conn)
                finally:
                    self._local.connection = None

    @contextmanager
    def read(self) -> Iterator[Statements]:
        """A consistent view for several reads (within a write: the write's own view)."""
        joined = getattr(self._local, "connection", None)
        if joined is not None:
            yield Statements(joined)
            return
        with self.engine.connect() as conn, conn.begin():
            yield Statements(conn)

    def query(self, sql: str, params: Params | None = None) -> list[tuple[Any, ...]]:
        """Run one read query and return its rows."""
        with self.read() as db:
            return db.rows(sql, params)

    def now(self) -> float:
        """The database server's clock, in Unix seconds: the one clock every worker shares."""
        with self.read() as db:
            return db.now()


class Statements:
    """Statements on one connection, with named parameters; a list or tuple value is
    expanded for `IN :name`."""

    def __init__(self, conn: Connection) -> None:
        self.connection = conn

    def execute(self, sql: str, params: Params | None = None) -> CursorResult[Any]:
        """Run one statement."""
        params = params or {}
        return self.connection.execute(_statement(sql, _expanding(params)), dict(params))

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        """Run one statement for each row (nothing when there are none)."""
        if rows:
            self.connection.execute(_statement(sql, ()), [dict(r) for r in rows])

    def rows(self, sql: str, params: Params | None = None) -> list[tuple[Any, ...]]:
        """Run a query and return all its rows."""
        return [tuple(row) for row in self.execute(sql, params)]

    def lock(self, name: str) -> None:
        """Hold a lock named `name` until this transaction ends: writers of one kind of
        state take turns. SQLite's write transaction already holds the only write lock;
        PostgreSQL takes a transaction-level advisory lock."""
        if self.connection.dialect.name == "postgresql":
            self.execute("SELECT pg_advisory_xact_lock(hashtext(:name))", {"name": name})

    def scalar(self, sql: str, params: Params | None = None) -> Any:
        """Run a query and return the first column of its first row (None if none)."""
        return self.execute(sql, params).scalar()

    def now(self) -> float:
        """The database server's clock (Unix seconds), read inside this transaction."""
        sql = (
            "SELECT (julianday('now') - 2440587.5) * 86400.0"
            if self.connection.dialect.name == "sqlite"
            else "SELECT EXTRACT(EPOCH FROM clock_timestamp())"
        )
        return float(self.scalar(sql))


def sqlite_error(exc: BaseException) -> sqlite3.Error | None:
    """The SQLite error under SQLAlchemy's wrapper, for the one-line messages."""
    if isinstance(exc, sqlite3.Error):
        return exc
    if isinstance(exc, DBAPIError) and isinstance(exc.orig, sqlite3.Error):
        return exc.orig
    return None


@lru_cache(maxsize=512)
def _statement(sql: str, expanding: tuple[str, ...]) -> TextClause:
    clause = text(sql)
    if expanding:
        clause = clause.bindparams(*(bindparam(name, expanding=True) for name in expanding))
    return clause


def _expanding(params: Params) -> tuple[str, ...]:
    return tuple(sorted(k for k, v in params.items() if isinstance(v, list | tuple)))


def _engine(location: Location, busy_timeout: float, read_only: bool) -> Engine:
    if location.path is None:
        engine = create_engine(
            location.url,
            hide_parameters=True,  # article texts and passwords never reach an error message
            pool_pre_ping=True,
            # UTF-8 whatever the database's encoding: a SQL_ASCII one would otherwise hand
            # back bytes, which SQLAlchemy cannot even read the server's version from.
            connect_args={
                "connect_timeout": max(1, round(busy_timeout)),
                "client_encoding": "utf8",
            },
        )
        return engine
    path = location.path
    if read_only:
        creator = _read_only_connector(path, busy_timeout)
        engine = create_engine("sqlite://", creator=creator, hide_parameters=True)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            URL.create("sqlite", database=str(path)),
            hide_parameters=True,
            connect_args={"timeout": busy_timeout},
        )
    _manage_sqlite_transactions(engine, read_only)
    return engine


def _manage_sqlite_transactions(engine: Engine, read_only: bool) -> None:
    """Let SQLAlchemy, not the sqlite3 module, begin transactions: a write begins
    IMMEDIATE (takes the write lock first), a read DEFERRED (a snapshot, no lock)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None
        if not read_only:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _read_only_connector(path: Path, busy_timeout: float) -> Any:
    """Open the catalog for reading only. A WAL database needs its `-shm` file, which a
    read-only directory cannot get when the last writer removed it on closing: then the
    file is opened as immutable (nobody can be writing a directory that is read-only)."""
    uri = path.resolve().as_uri()

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(
            f"{uri}?mode=ro", uri=True, timeout=busy_timeout, check_same_thread=False
        )
        try:
            conn.execute("PRAGMA user_version").fetchone()
            return conn
        except sqlite3.OperationalError:
            conn.close()
        return sqlite3.connect(
            f"{uri}?immutable=1", uri=True, timeout=busy_timeout, check_same_thread=False
        )

    return connect
