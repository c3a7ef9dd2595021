"""The hybrid retriever for news: results spread across outlets, so one outlet's many
reports of a story don't crowd out the others'."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from retrieval.news.datelines import outlet
from retrieval.search.retriever import HybridRetriever, Retrieval
from retrieval.types import Hit, SearchFilters

SPREAD_EXTRA = 5  # extra passages fetched so an outlet over its share can be replaced


class NewsRetriever(HybridRetriever):
    """The hybrid retriever, with results spread across outlets."""

    def retrieve(self, question: str, filters: SearchFilters | None = None) -> Retrieval:
        """Up to `filters.k` hits, best first, at most about half of them from one outlet."""
        filters = filters or SearchFilters()
        wider = min(filters.k + SPREAD_EXTRA, max(filters.k, self.config.pool))
        found = super().retrieve(question, filters.with_k(wider))
        return replace(found, hits=spread(found.hits, filters.k))


def spread(hits: Sequence[Hit], k: int) -> list[Hit]:
    """The first k hits, with an outlet's hits beyond its share moved after the others'."""
    share = max(2, (k + 1) // 2)
    seen: Counter[str] = Counter()
    first: list[Hit] = []
    later: list[Hit] = []
    for hit in hits:
        name = outlet(hit.article)
        (first if seen[name] < share else later).append(hit)
        seen[name] += 1
    return (first + later)[:k]
