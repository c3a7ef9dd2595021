"""Calibrate the threshold that says a new article is about a followed topic.

Run: `.venv/bin/python bench/fit_follow.py [--data-dir DIR]`.

Ingests `samples/news-dev/articles/` with the shipped `articlebot ingest` (default
embedder, in a temporary data directory unless --data-dir names one already holding
them), scores every (topic, article) pair of `samples/follow/labels.jsonl` with the
shipped matcher (`retrieval/news/follow.py`: the topic searched in that article alone, the
refusal model's probability), and prints precision, recall and F1 per threshold, then the
threshold with the best F1 (ties: the higher one, fewer unwanted messages), and a check
across topics: each third of the topics judged with the threshold chosen on the others.
The labels are judgments written for this project: 18 topics × the 56 articles.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bot.settings import Settings
from retrieval.news.follow import TopicMatcher
from retrieval.news.retriever import NewsRetriever
from retrieval.store.index import ArticleIndex

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = ROOT / "samples" / "news-dev" / "articles"
LABELS = ROOT / "samples" / "follow" / "labels.jsonl"
THRESHOLDS = [round(0.05 * n, 2) for n in range(1, 20)]


def scores(data_dir: Path) -> list[tuple[str, float, bool]]:
    """(topic, probability, relevant) for every labelled pair."""
    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    labels = [json.loads(line) for line in LABELS.read_text().splitlines() if line.strip()]
    with ArticleIndex(settings, must_exist=True) as index:
        matcher = TopicMatcher(NewsRetriever(index), k=settings.top_k)
        return [
            (
                label["topic"],
                matcher.score(label["topic"], label["article_id"])[0],
                bool(label["relevant"]),
            )
            for label in labels
        ]


def table(rows: list[tuple[float, bool]]) -> list[tuple[float, float, float, float]]:
    """(threshold, precision, recall, F1) per threshold."""
    out = []
    for threshold in THRESHOLDS:
        tp = sum(p >= threshold and rel for p, rel in rows)
        fp = sum(p >= threshold and not rel for p, rel in rows)
        fn = sum(p < threshold and rel for p, rel in rows)
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out.append((threshold, precision, recall, f1))
    return out


def best(rows: list[tuple[float, bool]]) -> tuple[float, float, float, float]:
    """The threshold with the best F1 (ties: the higher one)."""
    return max(table(rows), key=lambda r: (round(r[3], 6), r[0]))


def cross_validated(rows: list[tuple[str, float, bool]], folds: int = 3) -> str:
    """Precision and recall when each fold of topics is judged with the threshold chosen
    on the other topics (no topic is scored by a threshold fitted on it)."""
    topics = sorted({t for t, _, _ in rows})
    tp = fp = fn = 0
    chosen = []
    for fold in range(folds):
        held = set(topics[fold::folds])
        train = [(p, rel) for t, p, rel in rows if t not in held]
        threshold = best(train)[0]
        chosen.append(threshold)
        for t, p, rel in rows:
            if t in held:
                tp += p >= threshold and rel
                fp += p >= threshold and not rel
                fn += p < threshold and rel
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    shown = ", ".join(f"{c:.2f}" for c in chosen)
    return (
        f"{folds}-fold by topic (thresholds {shown}): precision {precision:.3f},"
        f" recall {recall:.3f}, F1 {f1:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="an index of the news dev set to reuse")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = args.data_dir or Path(scratch) / "data"
        if args.data_dir is None:
            subprocess.run(
                [sys.executable, "-m", "bot", "--data-dir", str(data_dir), "ingest", str(ARTICLES)],
                check=True,
                capture_output=True,
            )
        scored = scores(data_dir)
    rows = [(p, rel) for _, p, rel in scored]
    positives = sum(rel for _, rel in rows)
    print(f"pairs {len(rows)}: {positives} relevant, {len(rows) - positives} not")
    print("| threshold | precision | recall | F1 |")
    print("|---|---|---|---|")
    results = table(rows)
    for threshold, precision, recall, f1 in results:
        print(f"| {threshold:.2f} | {precision:.3f} | {recall:.3f} | {f1:.3f} |")
    chosen = best(rows)
    print(f"chosen threshold {chosen[0]:.2f}: precision {chosen[1]:.3f}, recall {chosen[2]:.3f}")
    print(cross_validated(scored))


if __name__ == "__main__":
    main()
