"""SIGKILL `articlebot ingest` at random moments, many times; every rerun must repair it.

A seeded sequence of runs adds, changes (new text, another number of chunks) and rebuilds
120 articles (`tests/fakes/consistency.py`) in embedded Chroma; each run is killed after a
random delay drawn over the length of a whole run, so kills land while loading, chunking,
writing the catalog, embedding, writing Chroma and the records, marking articles done and
saving the lexical index. After every few kills a rerun must leave every article exactly
once with the text of the version last ingested, exactly its chunks in Chroma (no orphan,
no double), a lexical index equal to the catalog, and questions answered from the right
article.

Each run is a fork of one warm interpreter (`tests/fakes/forkserver.py`): a real process,
without Python's start-up cost a dozen times over.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.settings import Settings
from ingest.chunk import Chunker
from retrieval.store.index import ArticleIndex
from retrieval.types import Article
from tests.fakes.consistency import CHECK, extra_article, version
from tests.fakes.embedder import HashEmbedder
from tests.fakes.forkserver import ForkServer, forks
from tests.fakes.harness import bag_embedding, openai_settings, settings_env, write_jsonl
from tests.fakes.openai_server import FakeOpenAIServer

SEED = 20260306
KILLS = 12
CHECK_EVERY = 3
__all__ = ["forks"]


@pytest.mark.slow
def test_sigkill_at_random_points_then_rerun(
    tmp_path: Path, forks: ForkServer, report_measurement: Callable[[str], None]
) -> None:
    rng = random.Random(SEED)
    corpora = {n: write_jsonl(tmp_path / f"v{n}.jsonl", version(n)) for n in (1, 2)}
    extra = write_jsonl(tmp_path / "extra.jsonl", [extra_article()])
    with FakeOpenAIServer(embed=bag_embedding) as server:
        settings = openai_settings(tmp_path / "data", server, chunk_size=200, chunk_overlap=40)
        env = settings_env(settings)
        log = tmp_path / "run.log"

        def ingest(*sources: Path) -> float:
            started = time.monotonic()
            assert forks.run(env, log, "ingest", *map(str, sources)) == 0, log.read_text()
            return time.monotonic() - started

        def check(expected: str) -> None:
            assert forks.run(env, log, expected, "extra", call=CHECK) == 0, log.read_text()

        full, update = ingest(corpora[1], extra), ingest(corpora[2])  # uninterrupted runs
        check("2")
        # Kill delays are drawn over a run's length; a run that ends before its kill shows
        # the runs are quicker than the first measurement (a busy moment then), and the
        # window shrinks to that delay, so most kills still land inside a run.
        window = {True: full, False: update}
        kills = finished = 0
        for n in range(KILLS):
            current = 1 if n % 2 else 2  # every run has work: a third of the articles change
            rebuild = rng.random() < 0.25  # ...or every article is re-embedded
            args = ["ingest", str(corpora[current]), *(["--rebuild"] if rebuild else [])]
            pid = forks.start(env, log, *args)
            delay = rng.uniform(0, 1.1 * window[rebuild])
            time.sleep(delay)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            status = forks.wait()
            kills += status == -signal.SIGKILL
            finished += status == 0
            if status == 0:
                window[rebuild] = min(window[rebuild], delay)
            if (n + 1) % CHECK_EVERY == 0:
                ingest(extra)  # a run about something else must finish what was cut short
                check("any")
        ingest(corpora[current])
        check(str(current))
    assert kills >= KILLS // 2, f"only {kills} of {KILLS} runs were killed before they ended"
    report_measurement(
        f"{kills} ingest runs killed with SIGKILL at random points ({finished} had finished),"
        f" {KILLS // CHECK_EVERY + 2} reruns checked consistent; uninterrupted runs"
        f" {full:.1f} s (121 added) and {update:.1f} s (40 updated) [shared CPU]"
    )


def test_vectors_written_before_their_records_are_dropped_by_the_next_run(
    settings: Settings,
) -> None:
    """The one window random kills rarely hit: Chroma has the vectors, no record knows them."""
    article = version(1)[0]
    chunker = Chunker(200, 40)
    first = ArticleIndex(settings, HashEmbedder())
    first.upsert([(article, chunker.split(article))])
    collection = first.vectorstore._collection
    kept = sorted(collection.get(where={"article_id": article.id})["ids"])
    # as if killed after Chroma's write of a changed version, before the records update:
    changed = Article(article.id, article.title, article.text + " Then the roof leaked.")
    first.catalog.put_pending(changed, chunker.split(changed))
    collection.add(
        ids=["stray-1", "stray-2"],
        embeddings=[[0.1] * 64] * 2,
        metadatas=[{"article_id": article.id, "position": 9}] * 2,
    )
    first.close()
    second = ArticleIndex(settings, HashEmbedder())
    assert len(second.resume()) == 1
    ids = sorted(second.vectorstore._collection.get(where={"article_id": article.id})["ids"])
    assert "stray-1" not in ids and len(ids) == len(chunker.split(changed))
    assert ids == sorted(second.records.list_keys(group_ids=[article.id])) != kept
    second.close()
