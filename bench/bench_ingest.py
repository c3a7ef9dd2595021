"""Ingest throughput against the embedder's raw throughput on the same chunks.

    .venv/bin/python bench/bench_ingest.py --articles 1000 --repeat 3

Generates articles (seeded), ingests them into a fresh data directory through the real
pipeline (load .jsonl → chunk → LangChain index() → Chroma + catalog + BM25), then embeds
the very same chunk texts with the bare embedder. Prints medians over the repeats, the
ingest/raw ratio (target <= 1.5), the index size on disk and the peak memory.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

from bot.settings import Settings
from ingest import Chunker, run_ingest
from retrieval.store.embedders import make_embedder
from retrieval.store.index import ArticleIndex, embedding_text

WORDS = (
    "council harbour bridge ferry budget river school mayor contract repair storm flood "
    "police station hospital election vote plan road rail port factory jobs workers union "
    "strike price market energy wind solar grid water survey estuary report minister court "
    "judge appeal museum festival team match season coach league players fans stadium"
).split()


def make_corpus(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            paragraphs = []
            for _ in range(rng.randint(3, 7)):
                sentences = [
                    " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20))).capitalize()
                    + f" in district {rng.randint(1, 500)}."
                    for _ in range(rng.randint(2, 5))
                ]
                paragraphs.append(" ".join(sentences))
            record = {
                "id": f"bench-{i}",
                "title": f"Bench story {i}: {rng.choice(WORDS)} {rng.choice(WORDS)}",
                "text": "\n\n".join(paragraphs),
                "site": f"outlet{i % 5}.example",
                "published": f"2026-0{1 + i % 9}-{1 + i % 28:02d}",
            }
            out.write(json.dumps(record) + "\n")


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def one_run(corpus: Path, n_articles: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp) / "data")  # type: ignore[call-arg]
        embedder = make_embedder(settings)
        embedder.embed_documents(["warm up"])
        index = ArticleIndex(settings, embedder)
        started = time.perf_counter()
        report = run_ingest([str(corpus)], index, settings)
        ingest_s = time.perf_counter() - started
        assert report.added == n_articles, report.errors
        chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
        texts = []
        for stored in index.articles():
            for chunk in chunker.split(stored.article):
                texts.append(embedding_text(stored.article, chunk))
        started = time.perf_counter()
        embedder.embed_documents(texts)
        raw_s = time.perf_counter() - started
        size = dir_size(settings.data_dir)
        index.close()
    return {
        "ingest_s": ingest_s,
        "raw_embed_s": raw_s,
        "chunks": float(report.chunks),
        "size_mb": size / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.jsonl"
        make_corpus(corpus, args.articles)
        runs = [one_run(corpus, args.articles) for _ in range(args.repeat)]
    med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"articles            {args.articles}  (median of {args.repeat} runs)")
    print(f"chunks              {med['chunks']:.0f}")
    print(
        f"ingest              {med['ingest_s']:.1f} s  "
        f"{args.articles / med['ingest_s']:.1f} articles/s  "
        f"{med['chunks'] / med['ingest_s']:.1f} chunks/s"
    )
    print(
        f"raw embedding       {med['raw_embed_s']:.1f} s  "
        f"{med['chunks'] / med['raw_embed_s']:.1f} chunks/s"
    )
    print(f"ingest / raw embed  {med['ingest_s'] / med['raw_embed_s']:.2f}x  (target <= 1.5x)")
    print(f"index size on disk  {med['size_mb']:.1f} MB")
    print(f"peak memory (RSS)   {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
