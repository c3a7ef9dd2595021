"""Shared mode against the default: the catalog on PostgreSQL vs SQLite, 1 vs 2 ingest workers.

    .venv/bin/python bench/bench_shared.py --articles 400 --questions 30 --repeat 3

Part 1, the catalog: the same seeded articles ingested into a fresh index with the catalog
in SQLite (the data directory's file), then in PostgreSQL (a server on 127.0.0.1 started
for the run: Debian's package, `tests/fakes/postgres_server.py`), interleaved per repeat.
Both use embedded Chroma and a cheap hashing embedder, so what differs is the catalog's
cost; then the offline `ask` latency over each index (median over the questions).

Part 2, workers: the corpus split in two files, ingested by one `articlebot ingest`
process (both files), then by two at once (one file each), sharing PostgreSQL and a
`chroma run` server, with the default MiniLM embedder: wall-clock seconds and chunks/s.
Prints medians over the repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.fakes (the servers)

from bot.settings import Settings  # noqa: E402
from ingest import ingest_articles  # noqa: E402
from retrieval.pipeline import make_answerer  # noqa: E402
from retrieval.store.index import ArticleIndex  # noqa: E402
from retrieval.types import Article  # noqa: E402
from tests.fakes.chroma_server import free_port, start_chroma, stop_chroma  # noqa: E402
from tests.fakes.embedder import HashEmbedder  # noqa: E402
from tests.fakes.postgres_server import start_postgres, stop_postgres  # noqa: E402

WORDS = (
    "council harbour bridge ferry budget river school mayor contract repair storm flood "
    "police station hospital election vote plan road rail port factory jobs workers union "
    "strike price market energy wind solar grid water survey estuary report minister court"
).split()


def corpus(count: int, seed: int = 0) -> list[Article]:
    """Seeded articles of five paragraphs, each naming its own town and figures."""
    rng = random.Random(seed)
    articles = []
    for n in range(count):
        paragraphs = [
            f"In Town{n} the {rng.choice(WORDS)} board approved {rng.randint(2, 900)} "
            + " ".join(rng.choice(WORDS) for _ in range(60))
            + "."
            for _ in range(5)
        ]
        articles.append(
            Article(id=f"bench-{n}", title=f"Town{n} report", text="\n\n".join(paragraphs))
        )
    return articles


def catalog_round(
    where: str, root: Path, articles: list[Article], questions: int
) -> tuple[float, float]:
    """(ingest seconds, median ask seconds) for one fresh index whose catalog is `where`
    ("sqlite" or a database URL)."""
    data_dir = Path(tempfile.mkdtemp(dir=root))
    values: dict[str, object] = {"data_dir": data_dir}
    if where != "sqlite":
        values["database_url"] = where
    settings = Settings(_env_file=None, **values)  # type: ignore[arg-type]
    with ArticleIndex(settings, HashEmbedder()) as index:
        started = time.perf_counter()
        report = ingest_articles(articles, index, settings)
        ingest_seconds = time.perf_counter() - started
        assert report.added == len(articles), report
        answerer = make_answerer(settings, index)
        times = []
        for n in range(questions):
            asked = time.perf_counter()
            answerer.answer(f"How many did the board in Town{n * 7 % len(articles)} approve?")
            times.append(time.perf_counter() - asked)
    return ingest_seconds, statistics.median(times)


def workers_round(halves: list[Path], env: dict[str, str], root: Path, parallel: bool) -> float:
    """Seconds for the corpus ingested by one process (both halves) or two (one each)."""

    def start(files: list[Path]) -> subprocess.Popen[bytes]:
        data_dir = tempfile.mkdtemp(dir=root)
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "--data-dir", data_dir, "ingest", *map(str, files)],
            env=env,
            stdout=subprocess.DEVNULL,
        )

    started = time.perf_counter()
    procs = [start([half]) for half in halves] if parallel else [start(halves)]
    for proc in procs:
        assert proc.wait() == 0
    return time.perf_counter() - started


def fresh_database(server: object, name: str) -> str:
    server.create_database(name)  # type: ignore[attr-defined]
    return str(server.url(name))  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-workers", action="store_true")
    args = parser.parse_args()
    articles = corpus(args.articles)
    root = Path(tempfile.mkdtemp(prefix="articlebot-bench-shared-"))
    # Its own directory: under root the server runs as another account, which must enter it.
    server = start_postgres(Path(tempfile.mkdtemp(prefix="articlebot-bench-pg-")))
    try:
        results: dict[str, list[tuple[float, float]]] = {"sqlite": [], "postgresql": []}
        for r in range(args.repeat):
            results["sqlite"].append(catalog_round("sqlite", root, articles, args.questions))
            url = fresh_database(server, f"catalog{r}")
            results["postgresql"].append(catalog_round(url, root, articles, args.questions))
        chunks = args.articles * 5
        print(
            f"Catalog: {args.articles} articles (~{chunks} chunks), hashing embedder,"
            f" embedded Chroma; medians of {args.repeat}"
        )
        print("| catalog | ingest s | articles/s | ask median ms |")
        print("|---|---|---|---|")
        for name, runs in results.items():
            ingest = statistics.median(i for i, _ in runs)
            ask = statistics.median(a for _, a in runs)
            print(f"| {name} | {ingest:.2f} | {args.articles / ingest:.0f} | {ask * 1000:.1f} |")
        if not args.skip_workers:
            print()
            run_workers(server, root, articles, args.repeat)
    finally:
        stop_postgres(server)


def run_workers(server: object, root: Path, articles: list[Article], repeat: int) -> None:
    halves = [root / "half-a.jsonl", root / "half-b.jsonl"]
    for n, path in enumerate(halves):
        with path.open("w", encoding="utf-8") as out:
            for article in articles[n::2]:
                out.write(
                    json.dumps({"id": article.id, "title": article.title, "text": article.text})
                    + "\n"
                )
    chroma = start_chroma(root / "chroma", free_port())
    try:
        timings: dict[str, list[float]] = {"1 worker": [], "2 workers": []}
        base = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLEBOT_", "CHROMA_"))}
        base |= {"CHROMA_HOST": chroma.host, "CHROMA_PORT": str(chroma.port)}
        for r in range(repeat):
            for label, parallel in (("1 worker", False), ("2 workers", True)):
                url = fresh_database(server, f"workers{r}{int(parallel)}")
                env = base | {
                    "ARTICLEBOT_DATABASE_URL": url,
                    "ARTICLEBOT_COLLECTION": f"w{r}{int(parallel)}",
                }
                timings[label].append(workers_round(halves, env, root, parallel))
        print(
            f"Workers: {len(articles)} articles, MiniLM embedder, PostgreSQL + chroma run;"
            f" medians of {repeat} (cores: {os.cpu_count()})"
        )
        print("| ingest | seconds | articles/s | vs 1 worker |")
        print("|---|---|---|---|")
        one = statistics.median(timings["1 worker"])
        for label, runs in timings.items():
            seconds = statistics.median(runs)
            print(
                f"| {label} | {seconds:.1f} | {len(articles) / seconds:.0f} |"
                f" {one / seconds:.2f}x |"
            )
    finally:
        stop_chroma(chroma)


if __name__ == "__main__":
    main()
