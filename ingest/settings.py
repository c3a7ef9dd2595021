"""How articles are fetched, extracted and chunked."""

from __future__ import annotations

from pydantic import BaseModel, Field


class IngestSettings(BaseModel):
    """The ingest job's settings."""

    chunk_size: int = Field(
        default=1500, ge=100, le=8000, description="Target chunk length in characters."
    )
    chunk_overlap: int = Field(
        default=200, ge=0, le=2000, description="Characters shared by neighbouring chunks."
    )
    fetch_timeout: float = Field(
        default=20.0, gt=0, description="Seconds allowed for downloading one URL."
    )
    extract_timeout: float = Field(
        default=20.0,
        gt=0,
        description=(
            "Seconds allowed for extracting one web page's or PDF/Word file's text; "
            "slower ones fail."
        ),
    )
    feed_timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds for one feed and its entries' pages; pages past it are not fetched.",
    )
    feed_max_entries: int = Field(
        default=200, ge=1, description="Entries read from one feed in one run (the first ones)."
    )
    max_article_bytes: int = Field(
        default=5_000_000, ge=1_000, description="Largest file or download accepted, in bytes."
    )
    max_document_pages: int = Field(
        default=1000,
        ge=1,
        description="Most pages accepted in one PDF; a longer one is refused (page bombs).",
    )
    max_unzipped_bytes: int = Field(
        default=50_000_000,
        ge=100_000,
        description="Largest unpacked size of one .docx, in bytes; more is refused (zip bombs).",
    )
    user_agent: str = Field(
        default="articlebot/0.1 (+https://github.com/articlebot/articlebot)",
        description="User-Agent sent when fetching URLs and feeds.",
    )
    sync_default_interval: int = Field(
        default=900,
        ge=60,
        description="Seconds between syncs of a watched source added without --every.",
    )
    sync_source_timeout: float = Field(
        default=600.0,
        gt=0,
        description=(
            "Seconds one watched source may take in one sync (its entries' pages included);"
            " what is left waits for the next run."
        ),
    )
    sync_max_backoff: float = Field(
        default=21600.0,
        ge=60,
        description="Longest wait in seconds before retrying a watched source that keeps failing.",
    )
