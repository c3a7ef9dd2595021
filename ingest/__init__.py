"""The ingest job: load articles from files, URLs and feeds, chunk them, hand them to the index.

Names are imported on first use: the pipeline pulls in the index (Chroma), and the
extraction worker process (`ingest.extract`) must start without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.chunk import Chunker
    from ingest.pipeline import IngestReport, ingest_articles, run_ingest

_LAZY = {
    "Chunker": "ingest.chunk",
    "IngestReport": "ingest.pipeline",
    "ingest_articles": "ingest.pipeline",
    "run_ingest": "ingest.pipeline",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ingest' has no attribute {name!r}")


__all__ = ["Chunker", "IngestReport", "ingest_articles", "run_ingest"]
