"""kill -9 during ingest: the next run finishes the job, nothing lost or doubled."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.settings import Settings
from retrieval.store.index import ArticleIndex

N_ARTICLES = 100  # more than one write group (64), so kills land between groups too
INDEXED = "SELECT COUNT(*) FROM articles WHERE indexed = 1"


def write_corpus(path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for n in range(N_ARTICLES):
            text = "\n\n".join(
                f"Report {n}, part {p}: the county board reviewed budget line {n * 7 + p}"
                f" and heard from {p + 2} residents about road works near school {n}."
                for p in range(4)
            )
            record = {"id": f"crash-{n}", "title": f"Board report {n}", "text": text}
            out.write(json.dumps(record) + "\n")


def catalog_rows(data_dir: Path, where: str = "1") -> int:
    try:
        with sqlite3.connect(data_dir / "catalog.sqlite3", timeout=5) as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM articles WHERE {where}").fetchone()[0])
    except sqlite3.Error:
        return 0


def ingest(data_dir: Path, corpus: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--data-dir", str(data_dir), "ingest", str(corpus)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ARTICLEBOT_CHUNK_SIZE": "200", "ARTICLEBOT_CHUNK_OVERLAP": "40"},
    )


def assert_consistent(data_dir: Path, **stores: object) -> None:
    """Every article once and indexed, its vectors exactly its chunks and records, no other
    vector, BM25 = the catalog. stores: where the catalog and Chroma are, if not in
    `data_dir` (shared mode)."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=data_dir, chunk_size=200, chunk_overlap=40, **stores
    )
    index = ArticleIndex(settings, must_exist=True)
    stored = index.articles()
    assert len(stored) == N_ARTICLES and all(s.indexed for s in stored)
    collection = index.vectorstore._collection
    for s in stored:
        ids = collection.get(where={"article_id": s.article.id}, include=[])["ids"]
        assert len(ids) == s.chunk_count, s.article.id
        assert sorted(ids) == sorted(index.records.list_keys(group_ids=[s.article.id]))
    assert collection.count() == sum(s.chunk_count for s in stored)
    lexical_keys = sorted(index.lexical().keys)
    expected = sorted(
        (s.article.id, p) for s in stored for p, _, _ in index.catalog.chunks(s.article.id)
    )
    assert lexical_keys == expected
    assert index.lexical().search("road works near school 17", 1)[0][0][0] == "crash-17"
    index.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("where", "rows", "delay"),
    [
        ("1", 1, 0.0),  # just after the first catalog write, before any vector
        ("1", 1, 1.5),  # while the first group is being embedded
        ("indexed = 1", 64, 0.0),  # between the first and the second group
        # while the second group is being embedded: all its rows written, pending
        (f"indexed = 0 AND ({INDEXED}) >= 64", N_ARTICLES - 64, 0.2),
    ],
    ids=["first-write", "first-group", "between-groups", "second-group"],
)
def test_kill_9_mid_ingest_then_rerun(tmp_path: Path, where: str, rows: int, delay: float) -> None:
    corpus = tmp_path / "corpus.jsonl"
    write_corpus(corpus)
    data_dir = tmp_path / "data"
    proc = ingest(data_dir, corpus)
    deadline = time.monotonic() + 120
    while catalog_rows(data_dir, where) < rows and proc.poll() is None:
        assert time.monotonic() < deadline, "ingest made no progress"
        time.sleep(0.01)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "ingest ended before the kill: nothing was tested"
    rerun = ingest(data_dir, corpus)
    assert rerun.wait(timeout=180) == 0
    assert_consistent(data_dir)
