"""Offline `ask` latency at 1k, 10k and 100k chunks, and the cold start of a new process.

    .venv/bin/python bench/bench_ask.py --sizes 1000 10000 100000 --queries 50

Filler articles are generated (seeded) and written straight into the catalog, Chroma and
BM25 with random unit vectors: search cost depends on how many vectors there are, not on
what they mean, and embedding 100k real chunks would take most of an hour on 2 cores.
The sample articles are ingested normally on top, and the questions are about them, so
every query runs the full path: embed → dense ∥ lexical → fuse → re-score → embed the best
8 sentences of the first 3 passages → re-rank → compose → the news layer (attribution,
syndicated copies, conflicting figures), through the answerer `articlebot ask` builds. Each
query gets a new answerer, so no search or sentence encoding is reused from an earlier one.
Prints p50/p95 per stage (over the queries), and the median wall time of `articlebot ask`
as a new process (`--cold-runs`, 7 by default).
"""

from __future__ import annotations

import argparse
import compileall
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bot.settings import Settings
from ingest import run_ingest
from retrieval.pipeline import make_answerer
from retrieval.search.retriever import HybridRetriever
from retrieval.search.sentence_rank import SentenceEmbeddings
from retrieval.store.index import ArticleIndex, chunk_metadata, embedding_text
from retrieval.types import Article, Chunk

ROOT = Path(__file__).resolve().parent.parent
WORDS = (
    "council harbour bridge ferry budget river school mayor contract repair storm flood police "
    "station hospital election vote plan road rail port factory jobs workers union strike "
    "price market energy wind solar grid water survey report minister court judge appeal "
    "museum festival team match season coach league players fans stadium weather tourism"
).split()
QUESTIONS = [
    "When is the Sallow Street Bridge now expected to reopen?",
    "How many jobs will the Corvane plant create?",
    "Who scored twice in the Challenge Cup final?",
    "What did the seagrass survey find?",
    "Which company will repair the bridge?",
]


def add_filler(index: ArticleIndex, n_chunks: int, dim: int, seed: int = 1) -> None:
    """Write n_chunks generated chunks (2 per article) with random vectors."""
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    collection = index.vectorstore._collection
    batch_ids, batch_docs, batch_meta, done = [], [], [], []
    for i in range(n_chunks // 2):
        paragraphs = [
            " ".join(rng.choice(WORDS) for _ in range(90)).capitalize() + "." for _ in range(2)
        ]
        text = "\n\n".join(paragraphs)
        article = Article(id=f"filler-{i}", title=f"Filler {i}", text=text, site="filler.example")
        cut = len(paragraphs[0])
        chunks = [
            Chunk(article.id, 0, 0, cut, text[:cut]),
            Chunk(article.id, 1, cut + 2, len(text), text[cut + 2 :]),
        ]
        index.catalog.put_pending(article, chunks)
        for chunk in chunks:
            batch_ids.append(f"{article.id}/{chunk.position}")
            batch_docs.append(embedding_text(article, chunk))
            batch_meta.append(chunk_metadata(article, chunk))
        done.append(article.id)
        if len(batch_ids) >= 5000:
            _flush(collection, batch_ids, batch_docs, batch_meta, nprng, dim)
            index.catalog.mark_indexed(done)
            batch_ids, batch_docs, batch_meta, done = [], [], [], []
    if batch_ids:
        _flush(collection, batch_ids, batch_docs, batch_meta, nprng, dim)
        index.catalog.mark_indexed(done)
    index._bump_generation()


def _flush(collection, ids, docs, metas, nprng, dim) -> None:  # type: ignore[no-untyped-def]
    vectors = nprng.normal(size=(len(ids), dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    collection.upsert(ids=ids, embeddings=vectors, documents=docs, metadatas=metas)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(index: ArticleIndex, queries: int) -> dict[str, tuple[float, float]]:
    make_answerer(index.settings, index).answer("warm up the caches")
    stages: dict[str, list[float]] = {
        "embed": [],
        "dense": [],
        "lexical": [],
        "sentences": [],
        "total": [],
    }
    collection = index.collection()
    assert collection is not None
    for i in range(queries):
        q = QUESTIONS[i % len(QUESTIONS)]
        # A new answerer per query, built as `articlebot ask` builds it: the questions
        # repeat, and its cache of sentence vectors would otherwise hide their cost.
        answerer = make_answerer(index.settings, index)
        sentences = [s.text for s in HybridRetriever(index).retrieve(q).sentences[:8]]
        t = time.perf_counter()
        SentenceEmbeddings(index.embedder).encode(sentences)
        stages["sentences"].append((time.perf_counter() - t) * 1000)
        t0 = time.perf_counter()
        vector = index.embedder.embed_query(q)
        t1 = time.perf_counter()
        collection.query(
            query_embeddings=[vector], n_results=50, include=["metadatas", "distances"]
        )
        t2 = time.perf_counter()
        index.lexical().search(q, 50)
        t3 = time.perf_counter()
        answerer.answer(q)
        t4 = time.perf_counter()
        stages["embed"].append((t1 - t0) * 1000)
        stages["dense"].append((t2 - t1) * 1000)
        stages["lexical"].append((t3 - t2) * 1000)
        stages["total"].append((t4 - t3) * 1000)
    stages["compose+fuse"] = [
        max(t - e - d - lx - sn, 0.0)
        for t, e, d, lx, sn in zip(
            stages["total"],
            stages["embed"],
            stages["dense"],
            stages["lexical"],
            stages["sentences"],
            strict=True,
        )
    ]
    return {k: (statistics.median(v), pct(v, 0.95)) for k, v in stages.items()}


def cold_start(data_dir: Path, runs: int) -> float:
    # As `scripts/setup` leaves the checkout: our modules byte-compiled (an editable install
    # doesn't, and with PYTHONDONTWRITEBYTECODE set every run would compile them again).
    for package in ("bot", "retrieval", "ingest"):
        compileall.compile_dir(ROOT / package, quiet=1)
    # The index was just written: without this, the kernel writes its ~0.7 GB (at 100k
    # chunks) back to disk during the first runs, and they measure that (1.7 s vs 1.1 s).
    os.sync()
    times = []
    exe = Path(sys.executable).parent / "articlebot"
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(
            [str(exe), "--data-dir", str(data_dir), "ask", QUESTIONS[0]],
            check=True,
            capture_output=True,
            env={**os.environ},
        )
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument(
        "--cold-runs", type=int, default=7, help="New `articlebot ask` processes timed per size."
    )
    parser.add_argument(
        "--keep", type=Path, help="Build the indexes here (one folder per size) and keep them."
    )
    args = parser.parse_args()
    print(f"{'chunks':>8} {'stage':<13} {'p50 ms':>8} {'p95 ms':>8}")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            data_dir = args.keep / str(size) if args.keep else Path(tmp) / "data"
            settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
            index = ArticleIndex(settings)
            run_ingest([str(ROOT / "samples" / "articles")], index, settings)
            started = time.perf_counter()
            add_filler(index, size, index.embedder.dimension)
            index.finish_run()
            build_s = time.perf_counter() - started
            total = index.stats().chunks
            for stage, (p50, p95) in measure(index, args.queries).items():
                print(f"{total:>8} {stage:<13} {p50:>8.1f} {p95:>8.1f}")
            index.close()
            cold_ms = cold_start(settings.data_dir, args.cold_runs) * 1000
            print(
                f"{total:>8} {'cold start':<13} {cold_ms:>8.0f}"
                f"          (articlebot ask, new process; filler built in {build_s:.0f} s)"
            )


if __name__ == "__main__":
    main()
