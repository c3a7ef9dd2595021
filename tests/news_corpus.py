"""The news test corpus (`tests/data/news/`): five outlets, one story over two weeks.

The Hollin Dam story in the fictional town of Greywell: a crack found (Lowmere Herald,
2026-04-03, "about 2,000 troops"), soldiers at work (Riverside Post, 04-05, "2,500
troops", last soldiers leave "not before May 2"), the repair begins (Coastline Wire, 04-09,
republished word for word by the Greywell Observer on 04-10), residents home (Eastbank
Daily, 04-16, last soldiers leave "on April 24"), plus an undated helpline notice and two
unrelated stories (a cheese fair, a rowing title).
"""

from __future__ import annotations

from pathlib import Path

from bot.settings import Settings
from ingest.chunk import Chunker
from ingest.eval_corpus import load_articles
from retrieval.store.index import ArticleIndex
from retrieval.types import Article
from tests.fakes.embedder import HashEmbedder

NEWS_DIR = Path(__file__).resolve().parent / "data" / "news"
ARTICLES = NEWS_DIR / "articles.jsonl"
CHECKS = NEWS_DIR / "checks.jsonl"

HERALD = "lh-2026-04-03-hollin-dam-crack"
POST = "rp-2026-04-05-greywell-troops"
WIRE = "cw-2026-04-09-hollin-dam-repair"
OBSERVER = "go-2026-04-10-dam-repair-under-way"
EASTBANK = "ed-2026-04-16-greywell-residents-home"
HELPLINE = "lwa-flood-helpline"
TROOPS_Q = "How many troops has the Defence Ministry sent to Greywell?"


def news_articles() -> list[Article]:
    """The corpus as articles."""
    return load_articles(ARTICLES)


def hashed_index(data_dir: Path, chunk_size: int = 1500) -> ArticleIndex:
    """The corpus in a fresh index with hashed embeddings (fast; no model to load)."""
    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    index = ArticleIndex(settings, HashEmbedder())
    chunker = Chunker(size=chunk_size, overlap=min(200, chunk_size // 5))
    index.upsert([(a, chunker.split(a)) for a in news_articles()])
    index.finish_run()
    return index
