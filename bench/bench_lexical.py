"""BM25 (bm25s) at scale: a full build, save and load, the delta that makes new articles
searchable, its ranking against a full rebuild, search, and searching during a merge.

    .venv/bin/python bench/bench_lexical.py --sizes 10000 100000
    prlimit --as=$((12*1024**3)) .venv/bin/python bench/bench_lexical.py --sizes 1000000 --shares

Synthetic, deterministic chunks (seeded): ~230 words each (~1,400 characters, the shipped
chunk size), drawn from 50,000 made-up words with a Zipf-like frequency, mixed with English
stop words and figures, so `analyze` does its real work; five to an article. Texts are made
as the build reads them (a block of 2,000 at a time), as the real build reads the catalog a
page at a time. Each size runs in its own child process, so its peak RSS is its own:

- build: a base of every chunk (analysis + bm25s indexing: the CPU part of a full rebuild;
  reading the catalog is left out), then save and load (what a worker that finds another's
  saved base does instead);
- delta: 1 and 100 new articles made searchable by remaking the delta over them
  (`LexicalIndex.extended`: what each own write, and each extension after another worker's
  write, costs) instead of a full rebuild;
- ranking (`--shares`, default 1%, 5%, 10%): a base of the other articles plus a delta over
  that share, against a full rebuild of all of them: mean top-10 overlap of 200 four-word
  queries, raw and counting hits that tie the full rebuild's 10th score (synthetic chunks
  tie often), the time to remake that delta and the search p50 with it;
- search: median and p95 of 200 four-word queries (`lexical()` + `search`, k=50), idle;
- during a background merge: the real `LexicalCopy` (check interval 0, merge at 10%)
  holding the index; another worker stores 11% more articles: the copy extends, passes the
  share and builds a new base in the background; the same queries are asked in a loop
  until it is built: the median and p95 of `lexical()` alone and of `lexical()` + `search`.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from retrieval.store.lexical import LexicalIndex  # noqa: E402
from retrieval.store.lexical_copy import LexicalCopy  # noqa: E402

VOCABULARY = 50_000
WORDS_PER_CHUNK = 230
CHUNKS_PER_ARTICLE = 5
_BLOCK = 2000  # chunks drawn at once
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

    def texts(self, count: int, start: int = 0) -> Iterator[str]:
        """Chunks start..start+count (the same chunk for the same number, always), made
        as they are read: a build never holds them all."""
        end = start + count
        for first in range(start - start % _BLOCK, end, _BLOCK):
            for number, text in enumerate(self._block(first), first):
                if number >= end:
                    return
                if number >= start:
                    yield text

    def _block(self, first: int) -> Iterator[str]:
        """Chunks first..first+_BLOCK, drawn at once (always whole: a chunk does not
        depend on how many are read)."""
        rng = np.random.default_rng(first + 1_000_003)
        picks = rng.choice(VOCABULARY, size=(_BLOCK, WORDS_PER_CHUNK), p=self.p)
        stops = rng.integers(0, len(_STOP), size=(_BLOCK, WORDS_PER_CHUNK // 3))
        figures = rng.integers(1, 5000, size=_BLOCK)
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


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ms(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class Source:
    """The catalog as `LexicalCopy` sees it: chunks 0..size of the corpus, five to an
    article, article i stored at seq i; `store` adds articles as a sync would."""

    def __init__(self, corpus: Corpus, size: int) -> None:
        self.corpus, self.size, self.value = corpus, size, 1
        self.live = {f"a{i}": i for i in range(-(-size // CHUNKS_PER_ARTICLE))}
        self.stored: dict[int, list[str]] = {}  # texts of articles stored later, made ahead

    def generation(self) -> int:
        return self.value

    def load(self) -> LexicalIndex | None:
        return None

    def build(self) -> LexicalIndex:
        """A base of every stored article, its texts made as they are indexed."""
        live = dict(self.live)
        keys = [(a, p) for a in live for p in range(CHUNKS_PER_ARTICLE)]
        texts = self.corpus.texts(len(keys))
        return LexicalIndex.build(keys, texts, live)

    def extend(self, index: LexicalIndex) -> LexicalIndex:
        return index.extended(dict(self.live), self.read)

    def store(self, count: int) -> None:
        """Articles after the last are stored (their texts made now, not while timed)."""
        first = len(self.live)
        texts = list(self.corpus.texts(count * CHUNKS_PER_ARTICLE, first * CHUNKS_PER_ARTICLE))
        for i in range(count):
            self.stored[first + i] = texts[i * CHUNKS_PER_ARTICLE : (i + 1) * CHUNKS_PER_ARTICLE]
            self.live[f"a{first + i}"] = first + i
        self.value += 1

    def read(self, ids: Sequence[str]) -> Iterator[tuple[str, int, list[tuple[int, str]]]]:
        for article_id in ids:
            n = int(article_id[1:])
            yield article_id, n, list(enumerate(self.stored[n]))


def agreement(base: LexicalIndex, full: LexicalIndex, queries: list[str]) -> tuple[float, float]:
    """Mean top-10 overlap of `base` (with its delta) and `full`: raw, and counting a hit
    whose score in `full` ties the 10th's (the synthetic chunks tie often) as agreeing."""
    raw, tied = [], []
    for query in queries:
        ours = [key for key, _ in base.search(query, 10)]
        theirs = full.search(query, 1000)
        top = {key for key, _ in theirs[:10]}
        raw.append(len(top & set(ours)) / max(len(top), 1))
        if len(theirs) >= 10:
            floor = theirs[9][1] * (1 - 1e-5)
            scores = dict(theirs)
            tied.append(sum(scores.get(key, 0.0) >= floor for key in ours) / len(ours))
        else:
            tied.append(raw[-1])
    return float(np.mean(raw)), float(np.mean(tied))


def one(size: int, shares: list[float], merge: bool) -> dict[str, Any]:
    corpus = Corpus()
    queries = corpus.queries(200)
    result: dict[str, Any] = {"chunks": size}
    source = Source(corpus, size)

    began = time.perf_counter()
    full = source.build()
    result["build_s"] = time.perf_counter() - began
    with tempfile.TemporaryDirectory() as scratch:
        began = time.perf_counter()
        full.save(Path(scratch) / "lexical", 1)
        result["save_s"] = time.perf_counter() - began
        began = time.perf_counter()
        LexicalIndex.load(Path(scratch) / "lexical")
        result["load_s"] = time.perf_counter() - began

    searched = []
    for query in queries:
        began = time.perf_counter()
        full.search(query, 50)
        searched.append(time.perf_counter() - began)
    result["idle_search_p50_ms"] = ms(searched, 0.5)
    result["idle_search_p95_ms"] = ms(searched, 0.95)

    # New articles made searchable: the delta remade over them (what an own write, or an
    # extension after another worker's, costs), against a full rebuild (build_s).
    for count in (1, 100):
        source.store(count)
        began = time.perf_counter()
        extended = source.extend(full)
        result[f"delta_{count}_s"] = time.perf_counter() - began
        assert extended.delta is not None and len(extended.delta) == count * CHUNKS_PER_ARTICLE
        source.live = {a: s for a, s in source.live.items() if s < -(-size // CHUNKS_PER_ARTICLE)}
        source.stored.clear()

    # Ranking: a base of (1 - share) of the articles plus a delta over the rest, against a
    # full rebuild of them all; and what remaking that delta costs.
    result["agreement"] = {}
    articles = -(-size // CHUNKS_PER_ARTICLE)
    for share in shares:
        kept = round(articles * (1 - share))
        part = Source(corpus, kept * CHUNKS_PER_ARTICLE)
        base = part.build()
        part.store(articles - kept)
        began = time.perf_counter()
        extended = part.extend(base)
        seconds = time.perf_counter() - began
        raw, tied = agreement(extended, full, queries)
        part.store(1)  # one more article beside that delta: what each write then waits
        began = time.perf_counter()
        part.extend(extended)
        plus_one = time.perf_counter() - began
        searched = []
        for query in queries:
            began = time.perf_counter()
            extended.search(query, 50)
            searched.append(time.perf_counter() - began)
        result["agreement"][str(share)] = {
            "delta_chunks": extended.delta_chunks,
            "delta_s": seconds,
            "delta_plus_one_s": plus_one,
            "top10_overlap": raw,
            "top10_overlap_ties": tied,
            "search_p50_ms": ms(searched, 0.5),
        }
        del base, extended

    result["peak_rss_mb"] = peak_mb()
    if not merge:
        return result
    del full  # a worker holds one index, two while a merge runs
    copy = LexicalCopy(source, check_ms=0, merge_share=0.1, merge_min=0, clock=time.monotonic)
    copy.current()  # the first build, waited for
    idle_current = []
    for _ in queries:
        began = time.perf_counter()
        copy.current()
        idle_current.append(time.perf_counter() - began)
    result["idle_current_p50_ms"] = ms(idle_current, 0.5)

    # Another worker stores 11% of the articles: the copy extends (background), passes the
    # share and merges in the background; queries are asked until the merged base is in.
    source.store(articles * 11 // 100)
    busy_current, busy_search = [], []
    builds = copy.full_builds
    began_merge = time.perf_counter()
    while copy.full_builds == builds:
        for query in queries:
            began = time.perf_counter()
            index = copy.current()
            busy_current.append(time.perf_counter() - began)
            index.search(query, 50)
            busy_search.append(time.perf_counter() - began)
            if copy.full_builds != builds:
                break
    result["background_merge_s"] = time.perf_counter() - began_merge
    copy.wait()
    result["queries_during_merge"] = len(busy_search)
    result["busy_current_p50_ms"] = ms(busy_current, 0.5)
    result["busy_current_p95_ms"] = ms(busy_current, 0.95)
    result["busy_search_p50_ms"] = ms(busy_search, 0.5)
    result["busy_search_p95_ms"] = ms(busy_search, 0.95)
    result["peak_rss_mb"] = peak_mb()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument(
        "--shares",
        type=float,
        nargs="*",
        default=[0.01, 0.05, 0.1],
        help="delta shares whose ranking is compared with a full rebuild (none: skip)",
    )
    ap.add_argument(
        "--no-merge",
        dest="merge",
        action="store_false",
        help="skip the background merge (two more full builds)",
    )
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.shares, args.merge)))
        return
    for size in args.sizes:
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--shares", *map(str, args.shares)]
            + ([] if args.merge else ["--no-merge"]),
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(done.stdout)
        line = (
            f"{r['chunks']:>9,} chunks: build {r['build_s']:.1f} s"
            f" ({r['build_s'] / r['chunks'] * 1e6:.0f} µs/chunk), save {r['save_s']:.2f} s,"
            f" load {r['load_s']:.2f} s; search p50/p95 {r['idle_search_p50_ms']:.2f}/"
            f"{r['idle_search_p95_ms']:.2f} ms; 1 new article searchable in"
            f" {r['delta_1_s'] * 1000:.0f} ms, 100 in {r['delta_100_s'] * 1000:.0f} ms (delta)"
        )
        if "background_merge_s" in r:
            line += (
                f"; lexical() {r['idle_current_p50_ms'] * 1000:.0f} µs; during a"
                f" {r['background_merge_s']:.1f} s background merge"
                f" ({r['queries_during_merge']} queries): lexical() p50/p95"
                f" {r['busy_current_p50_ms'] * 1000:.0f}/{r['busy_current_p95_ms'] * 1000:.0f}"
                f" µs, lexical()+search p50/p95 {r['busy_search_p50_ms']:.2f}/"
                f"{r['busy_search_p95_ms']:.2f} ms"
            )
        print(f"{line}; peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
        for share, a in r["agreement"].items():
            print(
                f"    delta {float(share):.0%} ({a['delta_chunks']:,} chunks): made in"
                f" {a['delta_s']:.2f} s, remade with 1 more article in"
                f" {a['delta_plus_one_s']:.2f} s; top-10 overlap with a full rebuild"
                f" {a['top10_overlap']:.3f} ({a['top10_overlap_ties']:.3f} counting ties);"
                f" search p50 {a['search_p50_ms']:.2f} ms",
                flush=True,
            )
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
