"""LangChain's record manager, kept in the article catalog.

LangChain's indexing API (`langchain_core.indexing.index`) decides what to embed, skip and
delete from these records. Keeping them as one more table of our catalog (rather than
langchain-classic's SQL record manager) keeps them in the transactions and migrations of
the rest, on SQLite or PostgreSQL alike.

Their timestamps decide what `index()` deletes as stale, so they come from the database's
clock, never a worker's: clocks differ across machines.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.indexing import RecordManager

from retrieval.store.catalog import Catalog


class CatalogRecordManager(RecordManager):
    """A `RecordManager` whose records live in the `records` table of a `Catalog`."""

    def __init__(self, catalog: Catalog, namespace: str) -> None:
        super().__init__(namespace)
        self._catalog = catalog
        self._last_time = 0.0

    def create_schema(self) -> None:
        """Nothing to do: the catalog creates the table."""

    async def acreate_schema(self) -> None:
        """Nothing to do: the catalog creates the table."""

    def get_time(self) -> float:
        """The database's clock, never going backwards within this process."""
        self._last_time = max(self._catalog.now(), self._last_time + 1e-6)
        return self._last_time

    async def aget_time(self) -> float:
        """Async `get_time`."""
        return self.get_time()

    def update(
        self,
        keys: Sequence[str],
        *,
        group_ids: Sequence[str | None] | None = None,
        time_at_least: float | None = None,
    ) -> None:
        """Insert or refresh records with the current time."""
        now = self.get_time()
        if time_at_least is not None and now < time_at_least:
            raise ValueError(f"clock went backwards: {now} < {time_at_least}")
        groups = list(group_ids) if group_ids is not None else [None] * len(keys)
        if len(groups) != len(keys):
            raise ValueError("group_ids must have one entry per key")
        with self._catalog.transaction() as conn:
            conn.executemany(
                "INSERT INTO records (namespace, key, group_id, updated_at)"
                " VALUES (:namespace, :key, :group_id, :now)"
                " ON CONFLICT (namespace, key) DO UPDATE SET"
                " group_id = excluded.group_id, updated_at = excluded.updated_at",
                [
                    {"namespace": self.namespace, "key": k, "group_id": g, "now": now}
                    for k, g in zip(keys, groups, strict=True)
                ],
            )

    async def aupdate(
        self,
        keys: Sequence[str],
        *,
        group_ids: Sequence[str | None] | None = None,
        time_at_least: float | None = None,
    ) -> None:
        """Async `update`."""
        self.update(keys, group_ids=group_ids, time_at_least=time_at_least)

    def exists(self, keys: Sequence[str]) -> list[bool]:
        """Return, for each key, whether a record exists."""
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            rows = self._catalog.query(
                "SELECT key FROM records WHERE namespace = :namespace AND key IN :keys",
                {"namespace": self.namespace, "keys": list(keys[start : start + 500])},
            )
            found.update(str(r[0]) for r in rows)
        return [k in found for k in keys]

    async def aexists(self, keys: Sequence[str]) -> list[bool]:
        """Async `exists`."""
        return self.exists(keys)

    def list_keys(
        self,
        *,
        before: float | None = None,
        after: float | None = None,
        group_ids: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[str]:
        """List keys, filtered by update time and group."""
        sql = "SELECT key FROM records WHERE namespace = :namespace"
        params: dict[str, object] = {"namespace": self.namespace}
        if before is not None:
            sql += " AND updated_at < :before"
            params["before"] = before
        if after is not None:
            sql += " AND updated_at > :after"
            params["after"] = after
        if group_ids is not None:
            if not group_ids:
                return []
            sql += " AND group_id IN :groups"
            params["groups"] = list(group_ids)
        if limit is not None:
            sql += " LIMIT :limit"
            params["limit"] = limit
        return [str(r[0]) for r in self._catalog.query(sql, params)]

    async def alist_keys(
        self,
        *,
        before: float | None = None,
        after: float | None = None,
        group_ids: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[str]:
        """Async `list_keys`."""
        return self.list_keys(before=before, after=after, group_ids=group_ids, limit=limit)

    def delete_keys(self, keys: Sequence[str]) -> None:
        """Delete these records."""
        with self._catalog.transaction() as conn:
            conn.executemany(
                "DELETE FROM records WHERE namespace = :namespace AND key = :key",
                [{"namespace": self.namespace, "key": k} for k in keys],
            )

    async def adelete_keys(self, keys: Sequence[str]) -> None:
        """Async `delete_keys`."""
        self.delete_keys(keys)

    def clear(self) -> None:
        """Forget every record of this namespace (the vector store was emptied)."""
        with self._catalog.transaction() as conn:
            conn.execute(
                "DELETE FROM records WHERE namespace = :namespace", {"namespace": self.namespace}
            )
