"""How well ingest groups reports into stories, against the news dev set's labelled stories.

Run: `.venv/bin/python bench/stories.py`.

Ingests `samples/news-dev/articles/` with the shipped `articlebot ingest` (in a temporary
data directory), then counts, over every pair of articles, whether the pair shares a story
in the catalog and in `samples/news-dev/stories.jsonl`: pairwise precision and recall. The
single-report stories of the labels are pairs of nothing, so they only show as errors when
grouped with another.
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
import tempfile
from pathlib import Path

from bot.settings import Settings
from retrieval.evaluation.qa import load_stories
from retrieval.store.index import ArticleIndex

ROOT = Path(__file__).resolve().parents[1]
NEWS = ROOT / "samples" / "news-dev"


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = Path(scratch) / "data"
        articles = NEWS / "articles"
        subprocess.run(
            [sys.executable, "-m", "bot", "--data-dir", str(data_dir), "ingest", str(articles)],
            check=True,
            capture_output=True,
        )
        settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
        with ArticleIndex(settings, must_exist=True) as index:
            ids = {s.article.id for s in index.articles()}
            got = index.stories.of(ids)
    labels = load_stories(NEWS / "stories.jsonl", ids)
    gold = {article: n for n, story in enumerate(labels) for article in story}
    tp = fp = fn = 0
    for a, b in itertools.combinations(sorted(ids), 2):
        same = a in gold and gold[a] == gold.get(b)
        grouped = a in got and got[a] == got.get(b)
        tp += same and grouped
        fp += grouped and not same
        fn += same and not grouped
    print(f"articles {len(ids)}, stories grouped {len(set(got.values()))}, labelled {len(labels)}")
    print(f"pairs: precision {tp / max(tp + fp, 1):.3f}, recall {tp / max(tp + fn, 1):.3f}")


if __name__ == "__main__":
    main()
