"""What the news layer costs: offline `ask` latency with and without it, and a timeline's.

    .venv/bin/python bench/bench_news.py --sizes 1000 10000 --queries 40

Same index as bench_ask.py (the samples plus seeded filler chunks with random vectors).
"plain" is the offline answerer alone; "news" is it wrapped by the news layer (dates,
outlets, syndicated copies, conflicts over the answer's own retrieval); "timeline"
is `timeline()` of a sample story. Prints p50/p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_ask import QUESTIONS, ROOT, add_filler, pct

from bot.settings import Settings
from ingest import run_ingest
from retrieval.answer.offline import OfflineComposer
from retrieval.news.retriever import NewsRetriever
from retrieval.pipeline import Pipeline
from retrieval.search.retriever import HybridRetriever
from retrieval.store.index import ArticleIndex
from retrieval.types import Answer

TOPICS = ["Sallow Street Bridge", "Corvane plant", "seagrass in the Sennet estuary"]


def timed(
    calls: dict[str, Callable[[str], Answer]], inputs: list[str], queries: int
) -> dict[str, tuple[float, float]]:
    """p50 and p95 milliseconds of each call, taken in turns so they share the machine's noise."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():
        call(inputs[0])  # warm up
    for i in range(queries):
        for name, call in calls.items():
            started = time.perf_counter()
            call(inputs[i % len(inputs)])
            times[name].append((time.perf_counter() - started) * 1000)
    return {name: (statistics.median(t), pct(t, 0.95)) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--queries", type=int, default=40)
    args = parser.parse_args()
    print(f"{'chunks':>8} {'answerer':<9} {'p50 ms':>8} {'p95 ms':>8}")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(_env_file=None, data_dir=Path(tmp) / "data")  # type: ignore[call-arg]
            index = ArticleIndex(settings)
            run_ingest([str(ROOT / "samples" / "articles")], index, settings)
            add_filler(index, size, index.embedder.dimension)
            index.finish_run()
            total = index.stats().chunks
            plain = Pipeline(HybridRetriever(index), OfflineComposer(), news=False)
            news = Pipeline(NewsRetriever(index), OfflineComposer())
            calls = {"plain": plain.answer, "news": news.answer}
            rows = timed(calls, QUESTIONS, args.queries)
            rows |= timed({"timeline": news.timeline}, TOPICS, args.queries)
            for name, (p50, p95) in rows.items():
                print(f"{total:>8} {name:<9} {p50:>8.1f} {p95:>8.1f}")
            index.close()


if __name__ == "__main__":
    main()
