"""Watched sources in the catalog: what `articlebot watch` syncs, when, and what it last saw.

A source is a feed, a page, a folder or a file, with its interval, its schedule
(`next_run`, epoch seconds), its HTTP validators (ETag / Last-Modified) and its failures.
Each source also remembers its entries (a feed entry or a folder file: a fingerprint and
the articles it gave), so a sync fetches only what changed and notices deleted files.

Everything goes through the catalog's transactions, so a sync's state and the articles it
stored live in one database. A lease (owner + expiry, taken in a write
transaction) keeps two watch processes sharing the catalog off the same source; its expiry
is on the database's clock, which every machine shares (the schedule, `next_run`, is on
the runner's clock: a test moves it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError

from retrieval.errors import StoreError
from retrieval.store.catalog import Catalog

SourceKind = Literal["feed", "page", "folder", "file"]
_COLUMNS = (
    "id, location, kind, name, interval_seconds, allow_private, added_at, next_run, last_run,"
    " last_success, last_error, failures, articles_added, etag, last_modified, lease_owner,"
    " lease_expires"
)


@dataclass(frozen=True, slots=True)
class Source:
    """One watched source as stored (times are epoch seconds)."""

    id: int
    location: str  # the URL as typed (show it `without_userinfo`), or an absolute path
    kind: SourceKind
    name: str
    interval: int
    allow_private: bool
    added_at: float
    next_run: float
    last_run: float | None = None
    last_success: float | None = None
    last_error: str | None = None
    failures: int = 0
    articles_added: int = 0
    etag: str | None = None
    last_modified: str | None = None
    lease_owner: str | None = None
    lease_expires: float | None = None

    @property
    def is_web(self) -> bool:
        """A feed or a page (fetched over HTTP), not a folder or a file."""
        return self.kind in ("feed", "page")


@dataclass(frozen=True, slots=True)
class Entry:
    """What a source last saw of one entry or file: its fingerprint and its articles."""

    key: str
    fingerprint: str
    article_ids: tuple[str, ...] = ()


class SourceStore:
    """Reads and writes the `sources` and `source_entries` tables of one catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    # --- declaring -------------------------------------------------------------------
    def add(
        self,
        location: str,
        kind: SourceKind,
        name: str,
        interval: int,
        *,
        now: float,
        allow_private: bool = False,
    ) -> Source:
        """Declare a source, due at once; StoreError (one line) if it is already there."""
        try:
            with self.catalog.transaction() as conn:
                new_id = int(
                    conn.scalar(
                        "INSERT INTO sources (location, kind, name, interval_seconds,"
                        " allow_private, added_at, next_run)"
                        " VALUES (:location, :kind, :name, :interval, :private, :now, :now)"
                        " RETURNING id",
                        {"location": location, "kind": kind, "name": name}
                        | {"interval": interval, "private": int(allow_private), "now": now},
                    )
                )
        except IntegrityError:
            same = self.find(location) or self.find(name)
            what = f"#{same.id} {same.name}" if same else name
            raise StoreError(f"already watched as {what}: see `articlebot sources list`") from None
        found = self.get(new_id)
        assert found is not None
        return found

    def get(self, source_id: int) -> Source | None:
        """The source with this number, if any."""
        rows = self.catalog.query(
            f"SELECT {_COLUMNS} FROM sources WHERE id = :id", {"id": source_id}
        )
        return _source(rows[0]) if rows else None

    def find(self, ref: str) -> Source | None:
        """A source by its number, its name or its location."""
        if ref.strip().isdigit():
            found = self.get(int(ref))
            if found is not None:
                return found
        rows = self.catalog.query(
            f"SELECT {_COLUMNS} FROM sources WHERE name = :ref OR location = :ref"
            " ORDER BY id LIMIT 1",
            {"ref": ref},
        )
        return _source(rows[0]) if rows else None

    def all(self) -> list[Source]:
        """Every source, in the order they were added."""
        rows = self.catalog.query(f"SELECT {_COLUMNS} FROM sources ORDER BY id")
        return [_source(r) for r in rows]

    def remove(self, source_id: int) -> None:
        """Forget a source and its entries (the articles it stored stay)."""
        with self.catalog.transaction() as conn:
            conn.execute("DELETE FROM source_entries WHERE source_id = :id", {"id": source_id})
            conn.execute("DELETE FROM sources WHERE id = :id", {"id": source_id})

    # --- scheduling ------------------------------------------------------------------
    def due(self, now: float, *, force: bool = False) -> list[Source]:
        """Sources whose time has come (all with `force`) and that no live lease holds,
        soonest first."""
        rows = self.catalog.query(
            f"SELECT {_COLUMNS} FROM sources WHERE next_run <= :due"
            " AND (lease_owner IS NULL OR lease_expires <= :now) ORDER BY next_run, id",
            {"due": float("inf") if force else now, "now": self.catalog.now()},
        )
        return [_source(r) for r in rows]

    def next_due(self) -> float | None:
        """When the next source is due (epoch seconds), if any source exists."""
        (row,) = self.catalog.query("SELECT MIN(next_run) FROM sources")
        return float(str(row[0])) if row[0] is not None else None

    def try_lease(
        self, source_id: int, owner: str, *, now: float, seconds: float, force: bool = False
    ) -> Source | None:
        """Take the source's lease if it is still due and free; the source, else None.

        Checked and taken in one write transaction: of two processes only one gets it, and
        the other sees the source no longer due once the first has run it. force: due or
        not (`watch --once --all`); a lease another process holds is still respected.
        """
        due_by = float("inf") if force else now
        with self.catalog.transaction() as conn:
            held_until = self.catalog.now()
            taken = conn.execute(
                "UPDATE sources SET lease_owner = :owner, lease_expires = :until"
                " WHERE id = :id AND next_run <= :due"
                " AND (lease_owner IS NULL OR lease_expires <= :now)",
                {"owner": owner, "until": held_until + seconds, "id": source_id}
                | {"due": due_by, "now": held_until},
            ).rowcount
        return self.get(source_id) if taken else None

    def renew(self, source_id: int, owner: str, seconds: float) -> bool:
        """Extend a lease this owner holds by `seconds` from now (the database's clock);
        False if it lost it (expired and taken)."""
        with self.catalog.transaction() as conn:
            return bool(
                conn.execute(
                    "UPDATE sources SET lease_expires = :until"
                    " WHERE id = :id AND lease_owner = :owner",
                    {"until": self.catalog.now() + seconds, "id": source_id, "owner": owner},
                ).rowcount
            )

    def release(self, source_id: int, owner: str) -> bool:
        """Free `owner`'s lease: its own (a stopped run: the source stays due), or a dead
        holder's (a killed process on this host). False if `owner` did not hold it."""
        with self.catalog.transaction() as conn:
            return bool(
                conn.execute(
                    "UPDATE sources SET lease_owner = NULL, lease_expires = NULL"
                    " WHERE id = :id AND lease_owner = :owner",
                    {"id": source_id, "owner": owner},
                ).rowcount
            )

    def succeeded(
        self,
        source_id: int,
        owner: str,
        *,
        now: float,
        next_run: float,
        added: int,
        kind: SourceKind | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        validators: bool = False,
    ) -> None:
        """Record a successful run and release the lease, in one transaction.

        validators: store `etag`/`last_modified` (a 200 answer); a 304 keeps the old ones.
        """
        with self.catalog.transaction() as conn:
            conn.execute(
                "UPDATE sources SET last_run = :now, last_success = :now, last_error = NULL,"
                " failures = 0, next_run = :next, articles_added = articles_added + :added,"
                " kind = COALESCE(:kind, kind), lease_owner = NULL, lease_expires = NULL"
                " WHERE id = :id AND (lease_owner = :owner OR lease_owner IS NULL)",
                {"now": now, "next": next_run, "added": added, "kind": kind}
                | {"id": source_id, "owner": owner},
            )
            if validators:
                conn.execute(
                    "UPDATE sources SET etag = :etag, last_modified = :modified WHERE id = :id",
                    {"etag": etag, "modified": last_modified, "id": source_id},
                )

    def failed(
        self, source_id: int, owner: str, *, now: float, next_run: float, reason: str, added: int
    ) -> None:
        """Record a failed run (its reason, one more failure, the backoff) and release."""
        with self.catalog.transaction() as conn:
            conn.execute(
                "UPDATE sources SET last_run = :now, last_error = :reason,"
                " failures = failures + 1, next_run = :next,"
                " articles_added = articles_added + :added,"
                " lease_owner = NULL, lease_expires = NULL"
                " WHERE id = :id AND (lease_owner = :owner OR lease_owner IS NULL)",
                {"now": now, "reason": reason, "next": next_run, "added": added}
                | {"id": source_id, "owner": owner},
            )

    # --- entries ---------------------------------------------------------------------
    def entries(self, source_id: int) -> dict[str, Entry]:
        """What the source last saw: {key: Entry}."""
        rows = self.catalog.query(
            "SELECT key, fingerprint, article_ids FROM source_entries WHERE source_id = :id",
            {"id": source_id},
        )
        return {str(k): Entry(str(k), str(f), tuple(json.loads(str(ids)))) for k, f, ids in rows}

    def put_entries(self, source_id: int, entries: Iterable[Entry]) -> None:
        """Remember these entries (after their articles were stored: a crash in between
        makes the next run fetch them again, and storing them again changes nothing)."""
        with self.catalog.transaction() as conn:
            conn.executemany(
                "INSERT INTO source_entries (source_id, key, fingerprint, article_ids)"
                " VALUES (:id, :key, :fingerprint, :articles)"
                " ON CONFLICT (source_id, key) DO UPDATE SET"
                " fingerprint = excluded.fingerprint, article_ids = excluded.article_ids",
                [
                    {"id": source_id, "key": e.key, "fingerprint": e.fingerprint}
                    | {"articles": json.dumps(list(e.article_ids))}
                    for e in entries
                ],
            )

    def forget_entries(self, source_id: int, keys: Iterable[str]) -> None:
        """Drop entries (a deleted file, once its articles are removed)."""
        with self.catalog.transaction() as conn:
            conn.executemany(
                "DELETE FROM source_entries WHERE source_id = :id AND key = :key",
                [{"id": source_id, "key": k} for k in keys],
            )

    def claimed_ids(self, source_id: int) -> set[str]:
        """Every article id the source's entries gave (a file's removal spares those)."""
        found: set[str] = set()
        for entry in self.entries(source_id).values():
            found.update(entry.article_ids)
        return found


def _source(row: tuple[Any, ...]) -> Source:
    (id_, location, kind, name, interval, private, added, next_run, last_run, success) = row[:10]
    error, failures, articles, etag, modified, owner, expires = row[10:]
    return Source(
        id=int(id_),
        location=str(location),
        kind=kind,
        name=str(name),
        interval=int(interval),
        allow_private=bool(private),
        added_at=float(added),
        next_run=float(next_run),
        last_run=None if last_run is None else float(last_run),
        last_success=None if success is None else float(success),
        last_error=None if error is None else str(error),
        failures=int(failures),
        articles_added=int(articles),
        etag=None if etag is None else str(etag),
        last_modified=None if modified is None else str(modified),
        lease_owner=None if owner is None else str(owner),
        lease_expires=None if expires is None else float(expires),
    )
