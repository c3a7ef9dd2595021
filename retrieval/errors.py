"""The exceptions articlebot raises on purpose, each with a one-line, actionable message.

    ArticlebotError
    ├── ConfigError          a setting is missing or invalid
    ├── SourceError          one ingest source could not be loaded (names the source)
    ├── StoreError           the index (Chroma, catalog, lexical index) is unusable
    │   ├── IndexMissingError     nothing has been ingested yet
    │   └── EmbedderMismatchError the index was built with another embedder
    ├── EmbedderError        the embedding model could not be loaded or run
    └── LLMError             the chat model failed (timeout, 429, 5xx, malformed reply)

Only the command line and the bot turn these into user text; library code raises them.
"""

from __future__ import annotations


class ArticlebotError(Exception):
    """Base class: `str(error)` is a complete one-line message for the user."""


class ConfigError(ArticlebotError):
    """A setting is missing or has an invalid value."""


class SourceError(ArticlebotError):
    """One ingest source failed; the other sources go on."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class StoreError(ArticlebotError):
    """The index cannot be opened, read or written."""


class IndexMissingError(StoreError):
    """There is no index yet at the configured location."""


class EmbedderMismatchError(StoreError):
    """The collection was built by a different embedder than the configured one."""


class EmbedderError(ArticlebotError):
    """The embedding model could not be loaded or failed to run."""


class LLMError(ArticlebotError):
    """The chat model could not produce an answer; the message never holds the API key."""


class ScopeError(ArticlebotError):
    """`--site` names no stored outlet, or no stored article falls in the dates asked for."""


class LLMUnreachableError(LLMError):
    """The chat model's server could not be connected to (refused, or no answer in time)."""
