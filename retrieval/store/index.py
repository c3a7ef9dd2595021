"""The article index: the one owner of Chroma, the catalog and the lexical index.

Writes go through LangChain's indexing API (`index()` with a record manager), which
embeds only chunks it has not seen and deletes the chunks an updated article no longer
has. The catalog is written first and marked indexed last, so an interrupted run is
finished by the next one (`resume`), with nothing lost or doubled. A removal is marked in
the catalog before Chroma is touched, and every writer finishes the removals it finds.

Example::

    index = ArticleIndex(settings)
    outcomes = index.upsert([(article, chunks)])
    print(index.stats().chunks)
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection

from retrieval.errors import IndexMissingError, StoreError
from retrieval.store.catalog import Catalog, StoredArticle
from retrieval.store.chroma import (
    DIMENSION_KEY,
    EMBEDDER_KEY,
    connect,
    connect_copy,
    describe_location,
    drop_collection,
    find_collection,
    open_collection,
)
from retrieval.store.claims import ClaimStore
from retrieval.store.embedders import Embedder, make_embedder
from retrieval.store.entities import NAME_LABELS, EntityTagger, SpacyTagger
from retrieval.store.entity_store import EntityStore, Names
from retrieval.store.fs import is_writable
from retrieval.store.lexical import LexicalIndex
from retrieval.store.lexical_copy import LexicalCopy
from retrieval.store.lexical_source import CatalogSource
from retrieval.store.owners import new_owner
from retrieval.store.settings import StoreSettings
from retrieval.store.stories import StoryStore
from retrieval.types import Article, Chunk

if TYPE_CHECKING:  # LangChain's Chroma wrapper is only needed for writing: import it then
    from langchain_chroma import Chroma

    from retrieval.store.records import CatalogRecordManager

#: What a run did to an article; "resumed": finished what an interrupted run left, or
#: re-embedded an article whose vectors were lost; "elsewhere": another worker was storing
#: it at that moment (its claim, `retrieval/store/claims.py`), so this run left it alone.
Status = Literal["added", "updated", "unchanged", "resumed", "elsewhere"]
#: Pending articles resumed per claim (and per embedding batch).
RESUME_GROUP = 32
_GENERATION = "generation"
_LAST_INGEST = "last_ingest"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UpsertOutcome:
    """What happened to one article in `ArticleIndex.upsert`."""

    article_id: str
    status: Status
    chunks: int
    title: str = ""


@dataclass(frozen=True, slots=True)
class IndexStats:
    """A summary of the index for `articlebot stats`."""

    articles: int
    pending: int
    chunks: int
    embedder: str | None
    dimension: int | None
    location: str
    data_dir: str
    size_bytes: int
    oldest: date | None
    newest: date | None
    last_ingest: str | None
    undated: int = 0  # articles with no known publication date
    removing: int = 0  # removals started and not finished (a killed `remove`)
    missing_vectors: int = 0  # indexed articles whose vectors are not in the store

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "articles": self.articles,
            "pending": self.pending,
            "chunks": self.chunks,
            "embedder": self.embedder,
            "dimension": self.dimension,
            "location": self.location,
            "data_dir": self.data_dir,
            "size_bytes": self.size_bytes,
            "oldest": self.oldest.isoformat() if self.oldest else None,
            "newest": self.newest.isoformat() if self.newest else None,
            "last_ingest": self.last_ingest,
            "undated": self.undated,
            "removing": self.removing,
            "missing_vectors": self.missing_vectors,
        }


def embedding_text(article: Article, chunk: Chunk) -> str:
    """Text that is embedded and BM25-indexed: the title gives a passage its topic."""
    return f"{article.title}\n\n{chunk.text}"


def chunk_metadata(article: Article, chunk: Chunk) -> dict[str, str | int]:
    """Chroma metadata of a chunk (Chroma refuses None values, so absent keys are left out)."""
    meta: dict[str, str | int] = {
        "article_id": article.id,
        "position": chunk.position,
        "start": chunk.start,
        "end": chunk.end,
        "title": article.title,
    }
    if article.site:
        meta["site"] = article.site
    if article.url:
        meta["url"] = article.url
    if article.published:
        meta["published"] = article.published.isoformat()
        meta["published_day"] = article.published.toordinal()
    return meta


class ArticleIndex:
    """Store, update, remove and describe articles; keep Chroma and BM25 in step."""

    def __init__(
        self,
        settings: StoreSettings,
        embedder: Embedder | None = None,
        *,
        must_exist: bool = False,
        tagger: EntityTagger | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if must_exist and not settings.catalog_exists():
            raise IndexMissingError(
                f"no index at {settings.data_dir}; run `articlebot ingest samples/articles/`"
                " (or your own files, URLs or feeds) first"
            )
        self.settings = settings
        #: The data directory cannot be written (a read-only mount, another user's files):
        #: the catalog is opened read-only and the BM25 index is never saved.
        self.read_only = must_exist and not is_writable(settings.data_dir)
        self.catalog = Catalog(
            settings.catalog_location,
            busy_timeout=settings.busy_timeout,
            read_only=self.read_only and not settings.shared_catalog,
        )
        self.claims = ClaimStore(self.catalog, new_owner())
        self.entities = EntityStore(self.catalog)
        self.stories = StoryStore(self.catalog)
        self._tagger = tagger
        self._embedder = embedder
        self._owns_embedder = embedder is None  # made here from settings: closed here
        #: This worker's BM25 copy: `clock` times its checks of the shared generation.
        self._lexical = LexicalCopy(
            CatalogSource(
                self.catalog, settings, self.generation, embedding_text, read_only=self.read_only
            ),
            check_ms=settings.lexical_check_ms,
            merge_share=settings.lexical_merge_share,
            merge_min=settings.lexical_merge_min,
            clock=clock,
        )
        # (generation, collection, its vector count): both cost Chroma several ms to look
        # up at 100k chunks, and neither changes until the generation does.
        self._search_cache: tuple[int, Collection | None, int] | None = None
        self._sites_cache: tuple[int, list[str]] | None = None
        self._names_cache: tuple[int, Names] | None = None
        self._removing_cache: tuple[int, frozenset[str]] | None = None
        self._scratch: tempfile.TemporaryDirectory[str] | None = None

    # --- connections, opened on first use -----------------------------------------------
    @property
    def embedder(self) -> Embedder:
        """The embedder, loaded on first use (listing and stats never need it)."""
        if self._embedder is None:
            self._embedder = make_embedder(self.settings)
        return self._embedder

    @property
    def tagger(self) -> EntityTagger:
        """The entity tagger, loaded on first use (only storing articles needs it)."""
        if self._tagger is None:
            self._tagger = SpacyTagger()
        return self._tagger

    @cached_property
    def records(self) -> CatalogRecordManager:
        """LangChain's record manager (imported on first use: only writing needs it, and
        LangChain's indexing module costs `ask` half a second to import)."""
        from retrieval.store.records import CatalogRecordManager

        return CatalogRecordManager(self.catalog, self.namespace)

    @property
    def namespace(self) -> str:
        """The records' namespace: one per collection."""
        return f"chroma/{self.settings.collection}"

    @cached_property
    def client(self) -> ClientAPI:
        """The Chroma client (over a temporary copy of its files when read-only)."""
        if self.read_only and not self.settings.chroma_host:
            self._scratch = tempfile.TemporaryDirectory(
                prefix="articlebot-chroma-", ignore_cleanup_errors=True
            )
            return connect_copy(self.settings, Path(self._scratch.name))
        return connect(self.settings)

    @cached_property
    def vectorstore(self) -> Chroma:
        """LangChain's Chroma store over our collection (checked against the embedder)."""
        from langchain_chroma import Chroma

        from retrieval.store.embedders.base import as_langchain

        embedder = self.embedder
        open_collection(self.client, self.settings, embedder.model_id, embedder.dimension)
        return Chroma(
            client=self.client,
            collection_name=self.settings.collection,
            embedding_function=as_langchain(embedder),
            create_collection_if_not_exists=False,
        )

    def collection(self) -> Collection | None:
        """The raw Chroma collection for searching (checked against the embedder), if any."""
        if "vectorstore" in self.__dict__:
            return self.vectorstore._collection
        if find_collection(self.client, self.settings) is None:
            return None
        embedder = self.embedder
        return open_collection(self.client, self.settings, embedder.model_id, embedder.dimension)

    def searchable(self) -> tuple[Collection | None, int]:
        """The collection to search and how many vectors it holds, looked up once per
        generation of the stored chunks."""
        generation = self.generation()
        cached = self._search_cache
        if cached is None or cached[0] != generation:
            collection = self.collection()
            size = collection.count() if collection is not None else 0
            cached = self._search_cache = (generation, collection, size)
        return cached[1], cached[2]

    def sites(self) -> list[str]:
        """The sites of the indexed articles, looked up once per generation."""
        generation = self.generation()
        cached = self._sites_cache
        if cached is None or cached[0] != generation:
            cached = self._sites_cache = (generation, self.catalog.sites())
        return cached[1]

    def __enter__(self) -> ArticleIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def names(self) -> Names:
        """The names the stored articles' entities hold (people, organisations, places,
        events...: "the Sallow Street Bridge"), looked up once per generation."""
        generation = self.generation()
        cached = self._names_cache
        if cached is None or cached[0] != generation:
            cached = self._names_cache = (generation, self.entities.names(NAME_LABELS))
        return cached[1]

    def close(self) -> None:
        """Release the catalog connection and the embedder this index made (after a
        background BM25 rebuild, which reads the catalog, has finished)."""
        self._lexical.close()
        self.catalog.close()
        if self._scratch is not None:
            self._scratch.cleanup()
        if self._owns_embedder and self._embedder is not None:
            self._embedder.close()

    # --- writing ----------------------------------------------------------------------
    def status(self, article: Article, chunks: Sequence[Chunk] | None = None) -> Status:
        """Tell whether upserting this article would add, update or change nothing.

        With `chunks`, new chunk boundaries (other chunk settings) also count as a change.
        """
        return self._plan(article, chunks)[0]

    def _plan(self, article: Article, chunks: Sequence[Chunk] | None) -> tuple[Status, bool]:
        """The article's status and whether it must be written. The same text stored but
        not yet indexed (another run is storing it right now, or was killed) is
        "unchanged", and written all the same, so that it is indexed when this run ends."""
        stored = self.catalog.get(article.id)
        if stored is None:
            return "added", True
        if stored.content_hash != article.content_hash:
            return "updated", True
        if chunks is not None:
            offsets = [(c.position, c.start, c.end) for c in chunks]
            if offsets != self.catalog.chunks(article.id):
                return "updated", True
        return "unchanged", not stored.indexed

    def upsert(self, items: Sequence[tuple[Article, Sequence[Chunk]]]) -> list[UpsertOutcome]:
        """Store these articles and their chunks; unchanged ones cost nothing."""
        ids = [article.id for article, _ in items]
        if len(set(ids)) < len(ids):  # the same article twice: store in order, one at a time
            return [outcome for item in items for outcome in self.upsert([item])]
        self.finish_removals()
        planned = [(article, chunks, *self._plan(article, chunks)) for article, chunks in items]
        held = self.claims.claim([a.id for a, _, _, write in planned if write])
        try:
            outcomes: list[UpsertOutcome] = []
            todo: list[tuple[Article, Sequence[Chunk]]] = []
            for article, chunks, status, write in planned:
                if write and article.id not in held:
                    status, write = "elsewhere", False
                elif write:  # claimed: look again (its holder may have just stored it)
                    status, write = self._plan(article, chunks)
                outcomes.append(UpsertOutcome(article.id, status, len(chunks), article.title))
                if write:
                    todo.append((article, chunks))
            if todo:
                _ = self.vectorstore  # refuse a mismatched embedder before touching the catalog
                self._bump_generation()
                for article, chunks in todo:
                    self.catalog.put_pending(article, chunks)
                self._index([article for article, _ in todo])
        finally:
            self.claims.release(sorted(held))
        return outcomes

    def resume(self) -> list[UpsertOutcome]:
        """Finish what interrupted runs left: the removals they started, the articles they
        left pending, and articles whose vectors are gone from the store (a lost `chroma/`
        folder). Articles stored before entities were tagged (or by another tagger) are
        tagged now. Return the articles indexed again, as "resumed"."""
        self.finish_removals()
        missing = self.missing_vectors()
        if missing:
            self.catalog.requeue(missing, self.namespace, bump=_GENERATION)
            self._lexical.changed_here()
        pending: list[StoredArticle] = []
        while claimed := self.claims.claim_pending(RESUME_GROUP):
            try:
                found = [s for s in map(self.catalog.get, claimed) if s is not None]
                self._bump_generation()
                self._index([s.article for s in found])
                pending.extend(found)
            finally:
                self.claims.release(claimed)
        self._tag_untagged()
        self._group_ungrouped()
        return [
            UpsertOutcome(s.article.id, "resumed", s.chunk_count, s.article.title) for s in pending
        ]

    def missing_vectors(self) -> list[str]:
        """Indexed articles whose records say their vectors were written, but some are not
        in the store (a lost `chroma/` folder, a server's collection dropped)."""
        written = self.catalog.written_count(self.namespace)
        if not written:
            return []
        with _store_errors(self.settings, "reading from"):
            collection = find_collection(self.client, self.settings)
            if collection is not None and collection.count() == written:
                return []  # one vector per record, as a finished run leaves them
            present = _vector_ids(collection) if collection is not None else set()
        expected = self.catalog.written_keys(self.namespace)
        return sorted({article for key, article in expected.items() if key not in present})

    def _tag_untagged(self) -> None:
        untagged = self.entities.untagged(self.tagger.model_id)
        for start in range(0, len(untagged), 32):
            found = self.catalog.get_many(untagged[start : start + 32])
            self._tag(list(found.values()))
        if untagged:
            self._bump_generation()

    def _group_ungrouped(self) -> None:
        """Put articles stored before stories existed into their stories."""
        ungrouped = self.stories.ungrouped()
        for start in range(0, len(ungrouped), 32):
            found = self.catalog.get_many(ungrouped[start : start + 32])
            entities = self.entities.of(list(found))
            self.stories.assign([(a, entities.get(a.id, [])) for a in found.values()])
        if ungrouped:
            self._bump_generation()

    def _tag(self, articles: Sequence[Article]) -> None:
        """Find and store the named entities of those articles the tagger hasn't tagged,
        and put them in their stories (which the entities decide)."""
        model = self.tagger.model_id
        done = self.entities.tagged([a.id for a in articles], model)
        todo = [a for a in articles if a.id not in done]
        if todo:
            found = self.tagger.tag([a.text for a in todo])
            tagged = list(zip(todo, found, strict=True))
            self.entities.put(model, [(a.id, e) for a, e in tagged])
            self.stories.assign(tagged)

    def _index(self, articles: Sequence[Article]) -> None:
        from langchain_core.documents import Document
        from langchain_core.indexing import index as langchain_index

        self._tag(articles)

        docs: list[Document] = []
        for article in articles:
            for position, start, end in self.catalog.chunks(article.id):
                chunk = Chunk(article.id, position, start, end, article.text[start:end])
                docs.append(
                    Document(
                        page_content=embedding_text(article, chunk),
                        metadata=chunk_metadata(article, chunk),
                    )
                )
        with _store_errors(self.settings, "writing to"):
            langchain_index(
                docs,
                self.records,
                self.vectorstore,
                cleanup="scoped_full",
                source_id_key="article_id",
                batch_size=max(len(docs), 1),
                key_encoder="sha256",
            )
            self._delete_unrecorded([a.id for a in articles])
        self.catalog.mark_indexed((a.id for a in articles), bump=_GENERATION)
        self._lexical.changed_here()

    def _delete_unrecorded(self, article_ids: Sequence[str]) -> None:
        """Drop vectors of these articles that no record knows (left by a crash)."""
        known = set(self.records.list_keys(group_ids=list(article_ids)))
        collection = self.vectorstore._collection
        where: Any = {"article_id": {"$in": list(article_ids)}}
        found = collection.get(where=where, include=[])
        strays = [i for i in found["ids"] if i not in known]
        if strays:
            collection.delete(ids=strays)

    def remove(self, id_or_url: str) -> Article:
        """Delete one article (by id or URL) and all its chunks.

        The removal is marked first, so readers stop seeing the article at once and a
        killed removal is finished by the next writer (`finish_removals`).
        """
        stored = self.catalog.find(id_or_url)
        if stored is None:
            raise StoreError(f"no article with id or URL {id_or_url!r}; see `articlebot list`")
        self.catalog.start_removal(stored.article.id, bump=_GENERATION)
        self._lexical.changed_here()
        self.finish_removals()
        return stored.article

    def finish_removals(self) -> int:
        """Delete the vectors, records and rows of every article whose removal started;
        return how many. Each writer calls this first: a killed `remove` ends here."""
        article_ids = self.catalog.removals()
        if not article_ids:
            return 0
        with _store_errors(self.settings, "writing to"):
            collection = find_collection(self.client, self.settings)
            for article_id in article_ids:
                if collection is not None:
                    collection.delete(where={"article_id": article_id})
                self.catalog.finish_removal(article_id, self.namespace, bump=_GENERATION)
                self._lexical.changed_here()
        return len(article_ids)

    def removing(self) -> frozenset[str]:
        """Articles whose removal started: searches leave them out (looked up once per
        generation; starting a removal bumps it)."""
        generation = self.generation()
        cached = self._removing_cache
        if cached is None or cached[0] != generation:
            cached = self._removing_cache = (generation, frozenset(self.catalog.removals()))
        return cached[1]

    def reset_vectors(self) -> None:
        """Empty the vector store and mark every stored article for re-indexing.

        The article texts stay in the catalog, so nothing is lost: the caller re-chunks
        them (`upsert`) or, if interrupted, the next run's `resume` re-embeds them.
        """
        self.finish_removals()
        self._bump_generation()
        self.catalog.mark_all_pending()
        drop_collection(self.client, self.settings)
        self.__dict__.pop("vectorstore", None)
        self.records.clear()
        self._bump_generation()  # readers that looked the dropped collection up: look again

    def _bump_generation(self) -> int:
        generation = self.catalog.increment_meta(_GENERATION)
        self._lexical.changed_here()
        return generation

    def finish_run(self) -> None:
        """Bring the lexical index up to date and note the time of this ingest."""
        self.lexical()
        self.catalog.set_meta(_LAST_INGEST, datetime.now(UTC).isoformat(timespec="seconds"))

    # --- lexical index -------------------------------------------------------------------
    def generation(self) -> int:
        """A number that changes whenever the stored chunks change."""
        return int(self.catalog.get_meta(_GENERATION) or 0)

    def lexical(self) -> LexicalIndex:
        """Return this worker's BM25 index: fresh after this process's own writes (a delta
        remade, not a rebuild); after other workers' writes, the last good one while a
        background thread extends it (`LexicalCopy`: the generation is read at most every
        `lexical_check_ms`)."""
        return self._lexical.current()

    @property
    def lexical_rebuilds(self) -> int:
        """How many BM25 indexes this worker has swapped in (loaded, extended, merged)."""
        return self._lexical.rebuilds

    @property
    def lexical_full_builds(self) -> int:
        """How many BM25 bases this worker has built from the whole catalog."""
        return self._lexical.full_builds

    def wait_lexical(self, timeout: float | None = None) -> bool:
        """Wait for a background BM25 update or merge, if one runs; False if one still runs."""
        return self._lexical.wait(timeout)

    # --- reading -------------------------------------------------------------------------
    def articles(self) -> list[StoredArticle]:
        """Every stored article, newest first."""
        return self.catalog.all()

    def stats(self) -> IndexStats:
        """Describe the index without loading the embedder."""
        total, indexed, _ = self.catalog.counts()
        collection = find_collection(self.client, self.settings)
        metadata = (collection.metadata or {}) if collection is not None else {}
        oldest, newest = self.catalog.date_range()
        dimension = metadata.get(DIMENSION_KEY)
        return IndexStats(
            articles=total,
            pending=total - indexed,
            chunks=collection.count() if collection is not None else 0,
            embedder=metadata.get(EMBEDDER_KEY),
            dimension=int(dimension) if dimension is not None else None,
            location=describe_location(self.settings),
            data_dir=str(self.settings.data_dir),
            size_bytes=_tree_size(self.settings),
            oldest=oldest,
            newest=newest,
            last_ingest=self.catalog.get_meta(_LAST_INGEST),
            undated=self.catalog.undated(),
            removing=len(self.catalog.removals()),
            missing_vectors=len(self.missing_vectors()),
        )


@contextmanager
def _store_errors(settings: StoreSettings, doing: str) -> Iterator[None]:
    """Turn what Chroma (or LangChain over it) raises into one `StoreError` line."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__  # one line
        raise StoreError(
            f"{doing} {describe_location(settings)} failed: {detail}; nothing stored is"
            " lost: run the same command again to finish"
        ) from exc


def _vector_ids(collection: Collection, page: int = 5000) -> set[str]:
    """Every vector id in the collection, a page at a time."""
    ids: set[str] = set()
    while True:
        found = collection.get(include=[], limit=page, offset=len(ids))["ids"]
        ids.update(found)
        if len(found) < page:
            return ids


def _tree_size(settings: StoreSettings) -> int:
    total = 0
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            total += path.stat().st_size
    return total
