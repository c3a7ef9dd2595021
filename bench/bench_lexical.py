"""BM25 (bm25s) at scale: a full build, save and load, search, and searching while a
background rebuild runs.

    .venv/bin/python bench/bench_lexical.py --sizes 10000 100000

Synthetic, deterministic chunks (seeded): ~230 words each (~1,400 characters, the shipped
chunk size), drawn from 50,000 made-up words with a Zipf-like frequency, mixed with English
stop words and figures, so `analyze` does its real work. Each size runs in its own child
process, so its peak RSS is its own. Per size:

- build: `LexicalIndex.build` over every chunk (analysis + bm25s indexing: the CPU part of
  a rebuild; reading the catalog is left out), then save and load (what a worker that
  finds another's saved copy does instead);
- search: median and p95 of 200 four-word queries (`lexical()` + `search`, k=50), idle;
- during a background rebuild: the real `LexicalCopy` (check interval 0) holding the
  index, the generation moved as another worker would; the same queries are asked in a
  loop until the rebuild has swapped in: the median and p95 of `lexical()` alone and of
  `lexical()` + `search`. Before this change, the call that noticed the change waited for
  the whole build.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from retrieval.store.lexical import ChunkKey, LexicalIndex  # noqa: E402
from retrieval.store.lexical_copy import LexicalCopy  # noqa: E402

VOCABULARY = 50_000
WORDS_PER_CHUNK = 230
CHUNKS_PER_ARTICLE = 5
_SYLLABLES = "ka lo ven dri mar tes qui ol an ber sit ro nu pel gar fin ho zeb".split()
_STOP = "the of and to in a is that for on was with as by at from".split()


class Corpus:
    """Deterministic chunk texts and queries."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        words: dict[str, None] = {}
        while len(words) < VOCABULARY:
            parts = rng.integers(0, len(_SYLLABLES), size=rng.integers(2, 5))
            words["".join(_SYLLABLES[p] for p in parts)] = None
        self.words = list(words)
        ranks = np.arange(1, VOCABULARY + 1, dtype=np.float64)
        self.p = ranks**-1.05 / (ranks**-1.05).sum()

    def texts(self, count: int) -> Iterator[str]:
        """Chunks 0..count (the same chunk for the same number, always)."""
        block = 2000
        for first in range(0, count, block):
            n = min(block, count - first)
            rng = np.random.default_rng(first + 1_000_003)
            picks = rng.choice(VOCABULARY, size=(n, WORDS_PER_CHUNK), p=self.p)
            stops = rng.integers(0, len(_STOP), size=(n, WORDS_PER_CHUNK // 3))
            figures = rng.integers(1, 5000, size=n)
            for row, stop, figure in zip(picks, stops, figures, strict=True):
                text = [self.words[i] for i in row]
                for j, s in enumerate(stop.tolist()):
                    text[3 * j] = f"{_STOP[s]} {text[3 * j]}"
                yield f"{' '.join(text)}, {figure} people said."

    def queries(self, count: int) -> list[str]:
        rng = np.random.default_rng(99)
        return [
            " ".join(self.words[i] for i in rng.integers(100, 5000, size=4)) for _ in range(count)
        ]


def keys_for(count: int) -> list[ChunkKey]:
    return [(f"a{i // CHUNKS_PER_ARTICLE}", i % CHUNKS_PER_ARTICLE) for i in range(count)]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ms(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class Generation:
    """The shared catalog's generation, as another worker moves it."""

    def __init__(self) -> None:
        self.value = 1

    def __call__(self) -> int:
        return self.value


def one(size: int) -> dict[str, Any]:
    corpus = Corpus()
    texts, keys = list(corpus.texts(size)), keys_for(size)
    queries = corpus.queries(200)
    result: dict[str, Any] = {"chunks": size}

    began = time.perf_counter()
    built = LexicalIndex.build(keys, texts)
    result["build_s"] = time.perf_counter() - began
    with tempfile.TemporaryDirectory() as scratch:
        began = time.perf_counter()
        built.save(Path(scratch) / "lexical", 1)
        result["save_s"] = time.perf_counter() - began
        began = time.perf_counter()
        LexicalIndex.load(Path(scratch) / "lexical")
        result["load_s"] = time.perf_counter() - began
    del built

    generation = Generation()
    copy = LexicalCopy(
        generation, lambda _: LexicalIndex.build(keys, texts), check_ms=0, clock=time.monotonic
    )
    copy.current()  # the first build, waited for
    idle_current, idle_search = [], []
    for query in queries:
        began = time.perf_counter()
        index = copy.current()
        idle_current.append(time.perf_counter() - began)
        index.search(query, 50)
        idle_search.append(time.perf_counter() - began)
    result["idle_current_p50_ms"] = ms(idle_current, 0.5)
    result["idle_search_p50_ms"] = ms(idle_search, 0.5)
    result["idle_search_p95_ms"] = ms(idle_search, 0.95)

    generation.value = 2  # another worker wrote
    busy_current, busy_search = [], []
    rebuilds = copy.rebuilds
    began_rebuild = time.perf_counter()
    while copy.rebuilds == rebuilds:
        for query in queries:
            began = time.perf_counter()
            index = copy.current()
            busy_current.append(time.perf_counter() - began)
            index.search(query, 50)
            busy_search.append(time.perf_counter() - began)
            if copy.rebuilds != rebuilds:
                break
    result["background_rebuild_s"] = time.perf_counter() - began_rebuild
    copy.wait()
    result["queries_during_rebuild"] = len(busy_search)
    result["busy_current_p50_ms"] = ms(busy_current, 0.5)
    result["busy_current_p95_ms"] = ms(busy_current, 0.95)
    result["busy_search_p50_ms"] = ms(busy_search, 0.5)
    result["busy_search_p95_ms"] = ms(busy_search, 0.95)
    result["peak_rss_mb"] = peak_mb()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    for size in args.sizes:
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(size)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(done.stdout)
        print(
            f"{r['chunks']:>9,} chunks: build {r['build_s']:.1f} s"
            f" ({r['build_s'] / r['chunks'] * 1e6:.0f} µs/chunk), save {r['save_s']:.2f} s,"
            f" load {r['load_s']:.2f} s; search p50/p95 {r['idle_search_p50_ms']:.2f}/"
            f"{r['idle_search_p95_ms']:.2f} ms (lexical() {r['idle_current_p50_ms'] * 1000:.0f}"
            f" µs); during a {r['background_rebuild_s']:.1f} s background rebuild"
            f" ({r['queries_during_rebuild']} queries): lexical() p50/p95"
            f" {r['busy_current_p50_ms'] * 1000:.0f}/{r['busy_current_p95_ms'] * 1000:.0f} µs,"
            f" lexical()+search p50/p95 {r['busy_search_p50_ms']:.2f}/"
            f"{r['busy_search_p95_ms']:.2f} ms; peak RSS {r['peak_rss_mb']:.0f} MB",
            flush=True,
        )


if __name__ == "__main__":
    main()
