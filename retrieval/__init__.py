"""Retrieval: the domain types, the settings, the index, and (soon) search and answers."""

from retrieval.catalog import StoredArticle
from retrieval.errors import (
    ArticlebotError,
    ConfigError,
    EmbedderError,
    EmbedderMismatchError,
    IndexMissingError,
    SourceError,
    StoreError,
)
from retrieval.index import ArticleIndex, IndexStats, UpsertOutcome
from retrieval.settings import Settings
from retrieval.types import Article, Chunk

__all__ = [
    "Article",
    "ArticleIndex",
    "ArticlebotError",
    "Chunk",
    "ConfigError",
    "EmbedderError",
    "EmbedderMismatchError",
    "IndexMissingError",
    "IndexStats",
    "Settings",
    "SourceError",
    "StoreError",
    "StoredArticle",
    "UpsertOutcome",
]
