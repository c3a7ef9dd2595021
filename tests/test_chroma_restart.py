"""The Chroma server goes away in the middle of an ingest, and comes back.

`articlebot ingest` against a real `chroma run` is interrupted by stopping the server
(SIGTERM: a clean shutdown; SIGKILL: a crash) once the first write group has landed, or
before the first one is written. The run must end with one clear `Error:` line naming the server
(no traceback, no hang); after a restart, the same command must finish the job and leave
the index consistent (`tests/fakes/consistency.py`). A question asked while the server is
down gets a one-line store error, and is answered again once it is back.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from retrieval.errors import StoreError
from retrieval.pipeline import make_answerer
from retrieval.store.index import ArticleIndex
from tests.fakes.chroma_server import free_port, start_chroma, stop_chroma
from tests.fakes.consistency import CHECK, version
from tests.fakes.forkserver import ForkServer, forks
from tests.fakes.harness import (
    bag_embedding,
    openai_settings,
    settings_env,
    town_fact,
    town_question,
    write_jsonl,
)
from tests.fakes.openai_server import FakeOpenAIServer, ScriptedResponse

__all__ = ["forks"]
EMBED = "/v1/embeddings"


def indexed_rows(data_dir: Path, indexed: int) -> int:
    try:
        with sqlite3.connect(data_dir / "catalog.sqlite3", timeout=5) as conn:
            sql = "SELECT COUNT(*) FROM articles WHERE indexed = ?"
            return int(conn.execute(sql, (indexed,)).fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kill", "after_first_group"),
    [(False, True), (True, False)],
    ids=["sigterm-between-groups", "sigkill-before-the-first-write"],
)
def test_chroma_stopped_mid_ingest_is_one_line_then_a_rerun_finishes(
    tmp_path: Path,
    forks: ForkServer,
    kill: bool,
    after_first_group: bool,
    report_measurement: Callable[[str], None],
) -> None:
    """The embedding of the group that must fail is held back 1.5 s, so the server is
    surely gone when it is written (requests: the dimension probe, then one per group)."""
    port, store = free_port(), tmp_path / "chroma"
    server = start_chroma(store, port)
    corpus = write_jsonl(tmp_path / "corpus.jsonl", version(1))
    log = tmp_path / "ingest.log"
    try:
        with FakeOpenAIServer(embed=bag_embedding) as fake:
            settings = openai_settings(
                tmp_path / "data",
                fake,
                chunk_size=200,
                chunk_overlap=40,
                chroma_host="127.0.0.1",
                chroma_port=port,
                collection=f"restart{int(kill)}",
            )
            env = settings_env(settings)
            held = [ScriptedResponse.ok(EMBED)] * (2 if after_first_group else 1)
            fake.enqueue(*held, ScriptedResponse.slow(1.5, path=EMBED))
            forks.start(env, log, "ingest", str(corpus))
            deadline = time.monotonic() + 60
            while (
                indexed_rows(settings.data_dir, 1) < 64
                if after_first_group
                else indexed_rows(settings.data_dir, 0) < 1
            ):
                assert time.monotonic() < deadline, "the ingest made no progress"
                time.sleep(0.005)
            stop_chroma(server, kill=kill)
            stopped = time.monotonic()
            status = forks.wait(timeout=90)
            took = time.monotonic() - stopped
            lines = log.read_text().strip().splitlines()
            assert status == 1 and len(lines) == 1, log.read_text()
            assert lines[0].startswith("Error: ") and f"127.0.0.1:{port}" in lines[0], lines

            # A question while the server is down: a one-line store error, no traceback.
            index = ArticleIndex(settings, must_exist=True)
            answerer = make_answerer(settings, index)
            with pytest.raises(StoreError) as down:
                answerer.answer(town_question(3))
            assert "\n" not in str(down.value) and f"127.0.0.1:{port}" in str(down.value)

            server = start_chroma(store, port)
            assert forks.run(env, log, "ingest", str(corpus)) == 0, log.read_text()
            assert forks.run(env, log, "1", call=CHECK) == 0, log.read_text()
            answer = make_answerer(settings, index).answer(town_question(3))
            assert town_fact(3) in answer.text
            index.close()
    finally:
        stop_chroma(server)
    report_measurement(
        f"Chroma server {'killed' if kill else 'stopped'} mid-ingest: exit 1 after {took:.1f} s"
        f" with {lines[0][:110]!r}...; rerun consistent"
    )
