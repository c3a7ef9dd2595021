"""Vectors lost behind the catalog's back: `stats` says so, `ingest` re-embeds them.

The defect: with `chroma/` gone, answers fell back to BM25 alone without a word, and
`ingest` called every article "unchanged" (its records said the vectors were written), so
they never came back. Both cases run the real `articlebot` in forks of a warm interpreter:
the whole folder deleted (embedded Chroma, the default embedder, the sample articles), and
one article's vectors deleted from a `chroma run` server (only that article is redone).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import chromadb

from tests.conftest import SAMPLES_DIR
from tests.fakes.chroma_server import ChromaServer, chroma_server
from tests.fakes.forkserver import ForkServer, forks
from tests.fakes.harness import (
    bag_embedding,
    openai_settings,
    settings_env,
    town_articles,
    town_fact,
    town_question,
    write_jsonl,
)
from tests.fakes.openai_server import FakeOpenAIServer

__all__ = ["chroma_server", "forks"]
SAMPLES = str(SAMPLES_DIR / "articles")
SAMPLE_COUNT = 8
BRIDGE_Q = "When is the Sallow Street Bridge now expected to reopen?"


def run(forks: ForkServer, env: dict[str, str], log: Path, *args: str) -> str:
    """Run `articlebot *args` in a fork; return what it printed (exit status 0 asserted)."""
    assert forks.run(env, log, *args) == 0, log.read_text()
    return log.read_text()


def run_json(forks: ForkServer, env: dict[str, str], log: Path, *args: str) -> Any:
    return json.loads(run(forks, env, log, *args, "--json"))


def test_a_lost_chroma_folder_is_reported_and_the_next_ingest_re_embeds_it(
    tmp_path: Path, forks: ForkServer, ingested_copy: Callable[[Path, Path], Path]
) -> None:
    data_dir = ingested_copy(SAMPLES_DIR / "articles", tmp_path / "data")  # the samples
    env = {**os.environ, "ARTICLEBOT_DATA_DIR": str(data_dir)}
    log = tmp_path / "run.log"
    listed = run_json(forks, env, log, "list")
    assert len(listed) == SAMPLE_COUNT
    chunks = sum(a["chunks"] for a in listed)

    shutil.rmtree(data_dir / "chroma")
    stats = run_json(forks, env, log, "stats")
    assert (stats["articles"], stats["chunks"], stats["missing_vectors"]) == (8, 0, 8)
    assert "chunks     0 (vectors missing for 8 articles: only BM25 finds them until the" in (
        run(forks, env, log, "stats")
    )
    dense = run_json(forks, env, log, "ask", BRIDGE_Q, "--retriever", "dense")
    assert not dense["found"]  # what answers were reduced to, silently, before

    report = run_json(forks, env, log, "ingest", SAMPLES)
    assert {k: report[k] for k in ("added", "updated", "unchanged", "resumed")} == {
        "added": 0,
        "updated": 0,
        "unchanged": 0,
        "resumed": SAMPLE_COUNT,
    }
    assert {a["status"] for a in report["articles"]} == {"resumed"}
    assert report["chunks"] == chunks
    stats = run_json(forks, env, log, "stats")
    assert (stats["chunks"], stats["missing_vectors"], stats["pending"]) == (chunks, 0, 0)
    dense = run_json(forks, env, log, "ask", BRIDGE_Q, "--retriever", "dense")
    assert dense["found"] and "May 18" in dense["answer"], dense
    again = run_json(forks, env, log, "ingest", SAMPLES)
    assert (again["unchanged"], again["resumed"], again["chunks"]) == (SAMPLE_COUNT, 0, 0)


def test_one_article_s_lost_vectors_are_re_embedded_and_only_those(
    tmp_path: Path, forks: ForkServer, chroma_server: ChromaServer
) -> None:
    articles = town_articles(6)
    corpus = write_jsonl(tmp_path / "corpus.jsonl", articles)
    log = tmp_path / "run.log"
    with FakeOpenAIServer(embed=bag_embedding) as fake:
        settings = openai_settings(
            tmp_path / "data",
            fake,
            chroma_host=chroma_server.host,
            chroma_port=chroma_server.port,
            collection="lost-vectors",
        )
        env = settings_env(settings)
        assert run_json(forks, env, log, "ingest", str(corpus))["added"] == 6
        client = chromadb.HttpClient(host=chroma_server.host, port=chroma_server.port)
        collection = client.get_collection(settings.collection)
        total = collection.count()
        lost = collection.get(where={"article_id": articles[4].id}, include=[])["ids"]
        collection.delete(ids=lost)  # e.g. a server restored from an older backup

        assert run_json(forks, env, log, "stats")["missing_vectors"] == 1
        report = run_json(forks, env, log, "ingest", str(corpus))
        assert (report["resumed"], report["unchanged"], report["chunks"]) == (1, 5, len(lost))
        assert [a["id"] for a in report["articles"] if a["status"] == "resumed"] == [articles[4].id]
        assert collection.count() == total
        answer = run_json(forks, env, log, "ask", town_question(4), "--retriever", "dense")
        assert town_fact(4) in answer["answer"], answer
