"""Connecting to Chroma: embedded in the data directory, or a `chroma run` server.

The collection records which embedder built it (model id and dimension) so that a query
or an ingest with a different embedder is refused with a way out, instead of returning
nonsense neighbours.
"""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings

from retrieval.errors import EmbedderMismatchError, StoreError
from retrieval.store.settings import StoreSettings

EMBEDDER_KEY = "articlebot_embedder"
DIMENSION_KEY = "articlebot_dimension"


def describe_location(settings: StoreSettings) -> str:
    """Say where the vectors live, for messages and `stats`."""
    if settings.chroma_host:
        return f"chroma server http://{settings.chroma_host}:{settings.chroma_port}"
    return str(settings.chroma_dir)


def connect(settings: StoreSettings) -> ClientAPI:
    """Open a Chroma client for these settings (telemetry off: we run offline)."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if settings.chroma_host:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
        settings.chroma_dir.mkdir(parents=True, exist_ok=True)
        with _opening(settings.chroma_dir):
            return chromadb.PersistentClient(
                path=str(settings.chroma_dir), settings=chroma_settings
            )
    except Exception as exc:  # chromadb raises several unrelated types here
        raise StoreError(_connect_message(settings, exc)) from exc


@contextmanager
def _opening(chroma_dir: Path) -> Iterator[None]:
    """One process at a time opens embedded Chroma's files: the first open creates its
    tables, and two processes doing that at once (two `watch` processes starting on a new
    data directory) fail with "table collections already exists"."""
    with (chroma_dir / "open.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def connect_copy(settings: StoreSettings, scratch: Path) -> ClientAPI:
    """Open a copy of embedded Chroma's files made in `scratch`, for a data directory this
    process may not write: Chroma cannot open its database read-only (it writes on open),
    and the copy lets `ask` search the vectors all the same. Costs a copy of the folder."""
    target = scratch / "chroma"
    try:
        if settings.chroma_dir.is_dir():
            shutil.copytree(settings.chroma_dir, target, copy_function=shutil.copyfile)
            for path in [target, *target.rglob("*")]:  # copytree kept the folders' modes
                path.chmod(0o700 if path.is_dir() else 0o600)
        else:
            target.mkdir(parents=True)
        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        return chromadb.PersistentClient(path=str(target), settings=chroma_settings)
    except Exception as exc:
        raise StoreError(_connect_message(settings, exc)) from exc


def _connect_message(settings: StoreSettings, exc: Exception) -> str:
    if settings.chroma_host:
        return (
            f"cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port}"
            f" ({type(exc).__name__}); start it with `chroma run` or unset CHROMA_HOST"
        )
    return f"cannot open Chroma at {settings.chroma_dir}: {exc}"


def find_collection(client: ClientAPI, settings: StoreSettings) -> Collection | None:
    """Return the collection if it exists."""
    try:
        names = {c if isinstance(c, str) else c.name for c in client.list_collections()}
        if settings.collection not in names:
            return None
        return client.get_collection(settings.collection, embedding_function=None)
    except Exception as exc:
        raise StoreError(_connect_message(settings, exc)) from exc


def open_collection(
    client: ClientAPI, settings: StoreSettings, model_id: str, dimension: int
) -> Collection:
    """Get or create the collection, refusing one built by another embedder."""
    existing = find_collection(client, settings)
    if existing is not None:
        check_embedder(existing.metadata or {}, model_id, dimension)
        return existing
    metadata: dict[str, Any] = {EMBEDDER_KEY: model_id, DIMENSION_KEY: dimension}
    try:
        return client.get_or_create_collection(
            settings.collection,
            embedding_function=None,
            metadata=metadata,
            configuration={"hnsw": {"space": "cosine"}},
        )
    except Exception as exc:
        raise StoreError(_connect_message(settings, exc)) from exc


def check_embedder(metadata: dict[str, Any], model_id: str, dimension: int) -> None:
    """Raise `EmbedderMismatchError` unless the collection was built by this embedder."""
    built_with = metadata.get(EMBEDDER_KEY)
    built_dim = metadata.get(DIMENSION_KEY)
    if built_with is None or (built_with == model_id and built_dim == dimension):
        return
    raise EmbedderMismatchError(
        f"the index was built with {built_with} ({built_dim}-d vectors) but the configured"
        f" embedder is {model_id} ({dimension}-d); run `articlebot ingest --rebuild` to"
        " re-embed every stored article, or switch the embedder back"
    )


def drop_collection(client: ClientAPI, settings: StoreSettings) -> None:
    """Delete the collection if it exists."""
    if find_collection(client, settings) is not None:
        client.delete_collection(settings.collection)
