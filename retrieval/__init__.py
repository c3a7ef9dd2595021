"""Retrieval: the domain types, the settings, the index, search and answers.

Heavy names (the index pulls in Chroma) are imported on first use, so `from retrieval
import RetrievalSettings` or an error type stays cheap for the command line's start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from retrieval.errors import (
    ArticlebotError,
    ConfigError,
    EmbedderError,
    EmbedderMismatchError,
    IndexMissingError,
    LLMError,
    SourceError,
    StoreError,
)
from retrieval.settings import RetrievalSettings
from retrieval.types import Answer, Article, Chunk, Citation, Hit, SearchFilters, Turn

if TYPE_CHECKING:
    from retrieval.answer.base import Answerer
    from retrieval.pipeline import make_answerer
    from retrieval.search.retriever import HybridRetriever
    from retrieval.store.catalog import StoredArticle
    from retrieval.store.index import ArticleIndex, IndexStats, UpsertOutcome

_LAZY = {
    "Answerer": "retrieval.answer.base",
    "StoredArticle": "retrieval.store.catalog",
    "make_answerer": "retrieval.pipeline",
    "ArticleIndex": "retrieval.store.index",
    "IndexStats": "retrieval.store.index",
    "UpsertOutcome": "retrieval.store.index",
    "HybridRetriever": "retrieval.search.retriever",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'retrieval' has no attribute {name!r}")


__all__ = [
    "Answer",
    "Answerer",
    "Article",
    "ArticleIndex",
    "ArticlebotError",
    "Chunk",
    "Citation",
    "ConfigError",
    "EmbedderError",
    "EmbedderMismatchError",
    "Hit",
    "HybridRetriever",
    "IndexMissingError",
    "IndexStats",
    "LLMError",
    "SearchFilters",
    "RetrievalSettings",
    "SourceError",
    "StoreError",
    "StoredArticle",
    "Turn",
    "UpsertOutcome",
    "make_answerer",
]
