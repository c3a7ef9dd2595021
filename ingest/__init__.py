"""The ingest job: load articles from files, URLs and feeds, chunk them, hand them to the index."""

from ingest.chunk import Chunker
from ingest.pipeline import IngestReport, Progress, ingest_articles, run_ingest

__all__ = ["Chunker", "IngestReport", "Progress", "ingest_articles", "run_ingest"]
