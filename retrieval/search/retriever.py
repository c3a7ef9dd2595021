"""Hybrid retrieval: dense (Chroma) and lexical (bm25s) candidates, fused and re-scored.

    retriever = HybridRetriever(index)
    hits = retriever.search("When does the bridge reopen?", SearchFilters(k=5))

Each side returns a pool of candidates; their scores are z-normalised per query and mixed
(`fuse`), then every candidate is re-scored by its best sentence (`rescore`), overlapping
chunks of one article are collapsed and each article is capped, so several articles can
be cited. Last, when the question was embedded (hybrid and dense modes), the best few
sentences of the first passages are embedded too and re-rank them (`sentence_rank`).
The same code runs against embedded Chroma and a Chroma server. For LangChain chains,
`retrieval.search.langchain_retriever.ArticlesRetriever` wraps it as a `BaseRetriever`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any, Literal

import numpy as np

from retrieval.search import question_kinds
from retrieval.search.question import Question, read
from retrieval.search.scoring import (
    NEAR_DUPLICATE,
    QueryTerms,
    containment,
    fuse,
    minmax,
    recency_boost,
    sentence_score,
    shingles,
    stems,
)
from retrieval.search.sentence_rank import (
    Encoded,
    Sentence,
    SentenceConfig,
    SentenceEmbeddings,
    rerank,
    with_meaning,
    word_scored,
)
from retrieval.search.sentences import sentence_spans
from retrieval.store.index import ArticleIndex
from retrieval.store.lexical import ChunkKey
from retrieval.types import Article, Chunk, Hit, SearchFilters

Mode = Literal["hybrid", "dense", "lexical"]
DenseResult = tuple[Encoded | None, list[tuple[ChunkKey, float]]]


@dataclass(frozen=True, slots=True)
class RetrievalConfig:
    """Knobs tuned on the dev set (see docs/retrieval.md)."""

    pool: int = 50  # candidates taken from each side
    alpha: float = 0.5  # weight of the dense side in the fusion
    rescore_top: int = 20  # fused candidates re-scored by their best sentence
    sentence_weight: float = 1.5  # weight of the best-sentence score against the fused one
    per_article: int = 2  # most chunks of one article in the results
    recency_weight: float = 2.0  # with prefer_recent: bonus for the newest, halving every 14 days
    sentences: SentenceConfig = field(default_factory=SentenceConfig)


@dataclass(frozen=True, slots=True)
class Retrieval:
    """What one search found: the hits, plus the scored sentences of the first of them.

    `sentences` are best word score first; the embedded few carry a cosine (none in lexical
    mode, where the question is not embedded). `terms` are the question's weighted stems.
    """

    hits: list[Hit]
    sentences: list[Sentence]
    terms: QueryTerms
    question: Question


class HybridRetriever:
    """Find the passages that best answer a question."""

    def __init__(
        self, index: ArticleIndex, mode: Mode = "hybrid", config: RetrievalConfig | None = None
    ) -> None:
        self.index = index
        self.mode = mode
        self.config = config or RetrievalConfig()
        self._cache: dict[str, Article] = {}
        self._cache_generation = -1
        self._sentence_vectors: SentenceEmbeddings | None = None

    def read(self, question: str, vector: np.ndarray | None = None) -> Question:
        """The question, read once; where the grammar leaves its kind open, the kind is
        read from its `vector` (the dense search's; none in lexical mode), when the model
        was fitted on this embedder's vectors."""
        lexical = self.index.lexical()
        meaning = None
        if vector is not None and self.index.embedder.model_id == question_kinds.FITTED_ON:
            meaning = partial(question_kinds.shipped().kind, vector)
        return read(
            question,
            known=lambda word: any(lexical.document_frequency(s) > 0 for s in stems(word)),
            meaning=meaning,
        )

    def search(self, question: str, filters: SearchFilters | None = None) -> list[Hit]:
        """Return up to `filters.k` hits, best first."""
        return self.retrieve(question, filters).hits

    def retrieve(self, question: str, filters: SearchFilters | None = None) -> Retrieval:
        """Search, and keep the scored sentences of the first hits for the answerer."""
        filters = filters or SearchFilters()
        pool = max(self.config.pool, filters.k)
        encoded, dense = (
            (None, []) if self.mode == "lexical" else self._dense(question, filters, pool)
        )
        asked = self.read(question, encoded.vector if encoded is not None else None)
        terms = QueryTerms.of(question, self.index.lexical())
        lexical = self._lexical(question, filters, pool) if self.mode != "dense" else []
        removing = self.index.removing()
        dense, lexical = _drop_removed(dense, removing), _drop_removed(lexical, removing)
        alpha = {"hybrid": self.config.alpha, "dense": 1.0, "lexical": 0.0}[self.mode]
        fused = fuse(dense, lexical, alpha)
        hits = self._hits(fused, dict(dense), dict(lexical))
        hits = self._rescore(terms, hits)
        dated = [h.article.published for h in hits if h.article.published]
        if filters.prefer_recent and dated:
            newest, weight = max(dated), self.config.recency_weight
            boosted = [
                _with_score(h, h.score + weight * recency_boost(h.article, newest)) for h in hits
            ]
            hits = sorted(boosted, key=lambda h: h.score, reverse=True)
        hits = _diversify(hits, filters.k, self.config.per_article)
        config = self.config.sentences
        tagged = self.index.entities.of([h.article.id for h in hits[: config.passages]])
        sentences = word_scored(asked, terms, hits, config, tagged)
        if encoded is not None and sentences:
            sentences = with_meaning(sentences, encoded, terms, self._vectors(), config.embedded)
            hits = rerank(hits, sentences, config)
        return Retrieval(hits, sentences, terms, asked)

    # --- candidates ------------------------------------------------------------------------
    def _vectors(self) -> SentenceEmbeddings:
        if self._sentence_vectors is None:
            self._sentence_vectors = SentenceEmbeddings(self.index.embedder)
        return self._sentence_vectors

    def _dense(self, question: str, filters: SearchFilters, pool: int) -> DenseResult:
        """The question's encoding (None for an empty index) and the nearest chunks."""
        collection, size = self.index.searchable()
        if collection is None or size == 0 or filters.article_ids == frozenset():
            return None, []
        encoded = self._vectors().encode([question], cache=False)[0]
        result = collection.query(
            query_embeddings=encoded.vector.reshape(1, -1),
            n_results=min(pool, size),
            where=_where(filters),
            include=["metadatas", "distances"],
        )
        metadatas = (result.get("metadatas") or [[]])[0]
        distances = (result.get("distances") or [[]])[0]
        return encoded, [
            ((str(m["article_id"]), int(m["position"])), 1.0 - float(d))  # type: ignore[arg-type]
            for m, d in zip(metadatas, distances, strict=True)
        ]

    def _lexical(
        self, question: str, filters: SearchFilters, pool: int
    ) -> list[tuple[ChunkKey, float]]:
        lexical = self.index.lexical()
        mask = self._mask(lexical.keys, filters)
        if mask is not None and not mask.any():
            return []
        return lexical.search(question, pool, mask=mask)

    def _mask(self, keys: Sequence[ChunkKey], filters: SearchFilters) -> np.ndarray | None:
        allowed: set[str] | None = None
        if filters.site or filters.since or filters.until:
            allowed = {
                aid
                for aid, site, published in self.index.catalog.filter_fields()
                if _passes(site, published, filters)
            }
        if filters.article_ids is not None:
            allowed = set(filters.article_ids) if allowed is None else allowed & filters.article_ids
        if allowed is None:
            return None
        return np.array([1.0 if key[0] in allowed else 0.0 for key in keys], dtype=np.float32)

    def _articles(self, ids: Sequence[str]) -> dict[str, Article]:
        # One local reference: another thread (the bot answers in several) may swap the
        # cache for a new generation while this one reads it.
        generation = self.index.generation()
        cache = self._cache
        if generation != self._cache_generation or len(cache) > 4096:
            cache = {}
            self._cache, self._cache_generation = cache, generation
        missing = [i for i in dict.fromkeys(ids) if i not in cache]
        if missing:
            cache.update(self.index.catalog.get_many(missing))
        return {i: cache[i] for i in ids if i in cache}

    # --- turning keys into hits ----------------------------------------------------------------
    def _hits(
        self,
        fused: list[tuple[ChunkKey, float]],
        dense: dict[ChunkKey, float],
        lexical: dict[ChunkKey, float],
    ) -> list[Hit]:
        articles = self._articles([key[0] for key, _ in fused])
        offsets = self.index.catalog.spans(list(articles))
        hits = []
        for key, score in fused:
            article = articles.get(key[0])
            if article is None:
                continue
            span = offsets.get(key[0], {}).get(key[1])
            if span is None:
                continue
            chunk = Chunk(article.id, key[1], span[0], span[1], article.text[span[0] : span[1]])
            hits.append(Hit(article, chunk, score, dense.get(key), lexical.get(key)))
        return hits

    def _rescore(self, terms: QueryTerms, hits: list[Hit]) -> list[Hit]:
        """Re-rank the head by min-max(fused) + weight * best sentence score."""
        top = self.config.rescore_top
        if not hits or top <= 0 or self.config.sentence_weight <= 0:
            return hits
        head = hits[:top]
        base = minmax([h.score for h in head])
        rescored = []
        for hit, fused in zip(head, base, strict=True):
            text = hit.article.text
            spans = sentence_spans(text, hit.chunk.start, hit.chunk.end)
            best = max((sentence_score(terms, text[s:e]) for s, e in spans), default=0.0)
            rescored.append(_with_score(hit, fused + self.config.sentence_weight * best))
        rescored.sort(key=lambda h: h.score, reverse=True)
        tail = [_with_score(h, -1.0 - i) for i, h in enumerate(hits[top:])]  # keep their order
        return rescored + tail


def _with_score(hit: Hit, score: float) -> Hit:
    return Hit(hit.article, hit.chunk, score, hit.dense, hit.lexical)


def _diversify(hits: list[Hit], k: int, per_article: int) -> list[Hit]:
    """Collapse overlapping and near-duplicate chunks; cap chunks per article."""
    chosen: list[Hit] = []
    seen: list[set[str]] = []
    per: dict[str, int] = {}
    for hit in hits:
        if per.get(hit.article.id, 0) >= per_article:
            continue
        if any(_overlaps(hit.chunk, c.chunk) for c in chosen if c.article.id == hit.article.id):
            continue
        own = shingles(hit.chunk.text)
        if any(containment(own, other) >= NEAR_DUPLICATE for other in seen):
            continue  # the same passage syndicated under another URL
        chosen.append(hit)
        seen.append(own)
        per[hit.article.id] = per.get(hit.article.id, 0) + 1
        if len(chosen) == k:
            break
    return chosen


def _overlaps(a: Chunk, b: Chunk) -> bool:
    shared = min(a.end, b.end) - max(a.start, b.start)
    return shared > 0.5 * min(a.end - a.start, b.end - b.start)


def _where(filters: SearchFilters) -> Any:
    clauses: list[dict[str, Any]] = []
    if filters.site:
        clauses.append({"site": filters.site})
    if filters.since:
        clauses.append({"published_day": {"$gte": filters.since.toordinal()}})
    if filters.until:
        clauses.append({"published_day": {"$lte": filters.until.toordinal()}})
    if filters.article_ids is not None:
        clauses.append({"article_id": {"$in": sorted(filters.article_ids)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _passes(site: str | None, published: date | None, filters: SearchFilters) -> bool:
    if filters.site and site != filters.site:
        return False
    if filters.since and (published is None or published < filters.since):
        return False
    return not (filters.until and (published is None or published > filters.until))


# --- articles being removed: never quoted (kept apart from the scoring above) -------------
def _drop_removed(
    candidates: list[tuple[ChunkKey, float]], removing: frozenset[str]
) -> list[tuple[ChunkKey, float]]:
    """Leave out the chunks of articles whose removal started: a killed `remove` can leave
    their vectors, and a BM25 index built before the removal may still hold them."""
    if not removing:
        return candidates
    return [(key, score) for key, score in candidates if key[0] not in removing]
