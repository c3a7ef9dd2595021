"""Liveness and readiness: is the process up, and can it answer from its index now?

Readiness is a list of named checks, each one line: the catalog can be read (and which
generation of the index it holds), Chroma is reachable (embedded or the `CHROMA_HOST`
server) and holds vectors when the catalog says articles are indexed. Shared mode adds
its database as one more check; the listener does not change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
from chromadb.api import ClientAPI

from retrieval.errors import ArticlebotError
from retrieval.store.catalog import Catalog
from retrieval.store.chroma import find_collection
from retrieval.store.settings import StoreSettings

#: Seconds a readiness probe waits for the Chroma server (probes come every few seconds).
CHROMA_TIMEOUT = 2.0
_GENERATION = "generation"


class NotReady(Exception):
    """A check failed; the message is the one-line reason `/readyz` gives."""


#: A check returns a short detail ("generation 4, 120 articles") or raises `NotReady`.
Check = Callable[[], str]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What `/readyz` answers: ready or not, and one line saying why."""

    ready: bool
    line: str


class Readiness:
    """Runs the checks in order; the first failure is the verdict's reason."""

    def __init__(self, checks: Sequence[tuple[str, Check]]) -> None:
        self.checks = list(checks)

    def verdict(self) -> Verdict:
        """Ready with every check's detail, or not ready with the first failure's reason."""
        details = []
        for name, check in self.checks:
            try:
                details.append(check())
            except NotReady as exc:
                return Verdict(False, f"not ready: {name}: {_one_line(str(exc))}")
            except Exception as exc:  # a check must never take the listener down
                reason = f"{type(exc).__name__}: {_one_line(str(exc))}"
                return Verdict(False, f"not ready: {name}: {reason}")
        return Verdict(True, "ready: " + "; ".join(details))


def catalog_check(settings: StoreSettings) -> Check:
    """The catalog opens (on a fresh read-only connection, so a removed or unreadable file
    shows) and says its generation and how many articles are indexed."""

    def check() -> str:
        generation, indexed = _read_catalog(settings)
        return f"generation {generation}, {indexed} articles indexed"

    return check


def chroma_check(settings: StoreSettings, embedded: Callable[[], ClientAPI]) -> Check:
    """The Chroma server answers its heartbeat within `CHROMA_TIMEOUT`; embedded, the
    client this process uses answers (`embedded()` returns it)."""

    def check() -> str:
        if settings.chroma_host:
            where = f"{settings.chroma_host}:{settings.chroma_port}"
            url = f"http://{where}/api/v2/heartbeat"
            try:
                response = httpx.get(url, timeout=CHROMA_TIMEOUT)
            except httpx.HTTPError as exc:
                raise NotReady(
                    f"Chroma server at {where} unreachable ({type(exc).__name__})"
                ) from exc
            if response.status_code != 200:
                raise NotReady(f"Chroma server at {where} answered HTTP {response.status_code}")
            return f"Chroma server {where}"
        try:
            embedded().heartbeat()
        except Exception as exc:
            raise NotReady(f"embedded Chroma at {settings.chroma_dir}: {exc}") from exc
        return "Chroma embedded"

    return check


def vectors_check(settings: StoreSettings, client: Callable[[], ClientAPI]) -> Check:
    """Chroma holds the collection, with vectors, when the catalog has indexed articles:
    without them answers would quietly fall back to BM25 alone (a lost `chroma/` folder,
    a server's collection dropped). One count, cheap at any size; `articlebot stats` finds
    which articles lack vectors."""

    def check() -> str:
        _, indexed = _read_catalog(settings)
        if not indexed:
            return "no vectors needed yet"
        collection = find_collection(client(), settings)
        vectors = collection.count() if collection is not None else 0
        if not vectors:
            raise NotReady(
                f"Chroma has no vectors in collection {settings.collection!r} while"
                f" {indexed} articles are indexed; `articlebot ingest` embeds them again"
            )
        return f"{vectors} vectors"

    return check


def store_readiness(settings: StoreSettings, client: Callable[[], ClientAPI]) -> Readiness:
    """The checks of a single data directory (today's only mode). `client()` returns the
    process's Chroma client (embedded or the server's)."""
    return Readiness(
        [
            ("catalog", catalog_check(settings)),
            ("chroma", chroma_check(settings, client)),
            ("vectors", vectors_check(settings, client)),
        ]
    )


def _read_catalog(settings: StoreSettings) -> tuple[int, int]:
    """The generation and the number of indexed articles, from a fresh read-only
    connection; `NotReady` when the catalog is missing or cannot be read."""
    path = settings.catalog_path
    if not settings.catalog_exists():
        raise NotReady(f"no index at {settings.data_dir} (the catalog {path.name} is missing)")
    try:
        catalog = Catalog(settings.catalog_location, busy_timeout=1.0, read_only=True)
    except ArticlebotError as exc:
        raise NotReady(str(exc)) from exc
    try:
        _, indexed, _ = catalog.counts()
        return int(catalog.get_meta(_GENERATION) or 0), indexed
    finally:
        catalog.close()


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]
