"""Where a worker's BM25 copy comes from: the catalog, and the base saved in `lexical/`.

`LexicalCopy` decides when; this says how: load the saved base (made by any worker), build
a base from the whole catalog (and save it), or extend an index to the catalog as it is now
(a delta over the articles stored since its base, O(delta)).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence

from retrieval.store.catalog import Catalog
from retrieval.store.lexical import ChunkKey, LexicalIndex
from retrieval.store.settings import StoreSettings
from retrieval.types import Article, Chunk

log = logging.getLogger(__name__)


class CatalogSource:
    """The `LexicalCopy.Source` of an `ArticleIndex`: its catalog and data directory."""

    def __init__(
        self,
        catalog: Catalog,
        settings: StoreSettings,
        generation: Callable[[], int],
        text: Callable[[Article, Chunk], str],
        *,
        read_only: bool,
    ) -> None:
        self._catalog = catalog
        self._directory = settings.lexical_dir
        self.generation = generation
        self._text = text  # what is indexed of a chunk (its article's title + its text)
        self._read_only = read_only

    def load(self) -> LexicalIndex | None:
        """The base another worker (or an earlier run) saved, if usable."""
        loaded = LexicalIndex.load(self._directory)
        return None if loaded is None else loaded[0]

    def build(self) -> LexicalIndex:
        """A base of every indexed article, read a page at a time, saved for other workers
        (unless read-only)."""
        generation = self.generation()
        keys: list[ChunkKey] = []
        articles: dict[str, int] = {}

        def texts() -> Iterator[str]:  # appends each chunk's key as it yields its text
            for page in self._catalog.indexed_pages():
                spans = self._catalog.spans([a.id for _, a in page])
                for seq, article in page:
                    if article.id in articles:  # re-stored during the build: read once
                        continue
                    articles[article.id] = seq
                    for position, text in self._chunks(article, spans.get(article.id, {})):
                        keys.append((article.id, position))
                        yield text

        built = LexicalIndex.build(keys, texts(), articles)
        if not self._read_only:
            try:
                built.save(self._directory, generation)
            except OSError as exc:  # a full disk: answer all the same, rebuild next time
                log.warning(
                    "could not save the BM25 index in %s (%s): answering without saving it",
                    self._directory,
                    exc.strerror or exc,
                )
        return built

    def extend(self, index: LexicalIndex) -> LexicalIndex:
        """`index`'s base, with a delta that brings it to the catalog now."""
        return index.extended(self._catalog.indexed_seqs(), self._read)

    def _read(self, article_ids: Sequence[str]) -> Iterator[tuple[str, int, list[tuple[int, str]]]]:
        for page in self._catalog.indexed_pages(article_ids):
            spans = self._catalog.spans([a.id for _, a in page])
            for seq, article in page:
                yield article.id, seq, list(self._chunks(article, spans.get(article.id, {})))

    def _chunks(
        self, article: Article, spans: dict[int, tuple[int, int]]
    ) -> Iterator[tuple[int, str]]:
        for position in sorted(spans):
            start, end = spans[position]
            chunk = Chunk(article.id, position, start, end, article.text[start:end])
            yield position, self._text(article, chunk)
