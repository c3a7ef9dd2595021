"""`articlebot remove` killed right after (or right before) its Chroma delete.

A proxy in front of a real `chroma run` lets the delete reach the server and keeps the
reply back (or keeps the delete itself back); the test then SIGKILLs the `remove`
process, which thus dies exactly there. Readers (`list`, `ask` hybrid and dense, `stats`)
must no longer see the article, and the next `ingest` must finish the removal first, so
that the article comes back as "added" with exactly its own vectors (the defect: it stayed
listed, marked indexed, quoted through BM25, and `ingest` called it "unchanged").
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import chromadb
import pytest

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
from tests.fakes.holding_proxy import HoldingProxy
from tests.fakes.openai_server import FakeOpenAIServer

__all__ = ["chroma_server", "forks"]
COLLECTION = "remove-crash"
ARTICLES = town_articles(5)
GONE = ARTICLES[2]


def run_json(forks: ForkServer, env: dict[str, str], log: Path, *args: str) -> Any:
    """Run `articlebot *args --json` in a fork; return what it printed, parsed."""
    assert forks.run(env, log, *args, "--json") == 0, log.read_text()
    return json.loads(log.read_text())


def vectors_of(server: ChromaServer, article_id: str | None, collection_name: str) -> list[str]:
    """The ids of the vectors in the server's collection (of one article, if given)."""
    client = chromadb.HttpClient(host=server.host, port=server.port)
    collection = client.get_collection(collection_name)
    where: Any = {"article_id": article_id} if article_id else None
    return list(collection.get(where=where, include=[])["ids"])


@pytest.mark.slow
@pytest.mark.parametrize("delete_landed", [True, False], ids=["after-delete", "before-delete"])
def test_a_killed_remove_is_hidden_at_once_then_finished_by_the_next_ingest(
    tmp_path: Path, forks: ForkServer, chroma_server: ChromaServer, delete_landed: bool
) -> None:
    corpus = write_jsonl(tmp_path / "corpus.jsonl", ARTICLES)
    log = tmp_path / "run.log"
    upstream = f"http://{chroma_server.host}:{chroma_server.port}"
    with FakeOpenAIServer(embed=bag_embedding) as fake, HoldingProxy(upstream) as proxy:
        settings = openai_settings(
            tmp_path / "data",
            fake,
            chroma_host=chroma_server.host,
            chroma_port=chroma_server.port,
            collection=f"{COLLECTION}-{delete_landed:d}",
        )
        env = settings_env(settings)
        assert run_json(forks, env, log, "ingest", str(corpus))["added"] == len(ARTICLES)
        chunks = len(vectors_of(chroma_server, GONE.id, settings.collection))
        assert chunks > 0

        proxy.hold = lambda method, path: method == "POST" and path.endswith("/delete")
        proxy.carry_out = delete_landed
        pid = forks.start(env | {"CHROMA_PORT": str(proxy.port)}, log, "remove", GONE.id)
        assert proxy.caught.wait(timeout=120), log.read_text()
        os.kill(pid, signal.SIGKILL)
        assert forks.wait() == -signal.SIGKILL, log.read_text()  # the kill landed
        left = vectors_of(chroma_server, GONE.id, settings.collection)
        assert len(left) == (0 if delete_landed else chunks)  # ...where it was meant to

        listed = run_json(forks, env, log, "list")
        assert sorted(a["id"] for a in listed) == sorted(a.id for a in ARTICLES if a != GONE)
        assert forks.run(env, log, "list") == 0
        assert log.read_text().splitlines()[-1] == (
            "4 articles (1 more being removed: the next ingest or remove finishes that)"
        )
        stats = run_json(forks, env, log, "stats")
        assert (stats["articles"], stats["removing"]) == (len(ARTICLES) - 1, 1)
        for retriever in ("hybrid", "dense", "lexical"):
            answer = run_json(forks, env, log, "ask", town_question(2), "--retriever", retriever)
            assert town_fact(2) not in answer["answer"], retriever
            assert all(c["article_id"] != GONE.id for c in answer["citations"]), answer

        report = run_json(forks, env, log, "ingest", str(corpus))
        assert (report["added"], report["unchanged"], report["resumed"]) == (1, 4, 0), report
        assert len(vectors_of(chroma_server, GONE.id, settings.collection)) == chunks
        stats = run_json(forks, env, log, "stats")
        assert (stats["articles"], stats["removing"], stats["missing_vectors"]) == (5, 0, 0)
        assert stats["chunks"] == len(vectors_of(chroma_server, None, settings.collection))
        answer = run_json(forks, env, log, "ask", town_question(2))
        assert town_fact(2) in answer["answer"]
        assert answer["citations"][0]["article_id"] == GONE.id


@pytest.mark.slow
def test_remove_again_after_a_killed_remove_finishes_it(
    tmp_path: Path, forks: ForkServer, chroma_server: ChromaServer
) -> None:
    corpus = write_jsonl(tmp_path / "corpus.jsonl", ARTICLES)
    log = tmp_path / "run.log"
    upstream = f"http://{chroma_server.host}:{chroma_server.port}"
    with FakeOpenAIServer(embed=bag_embedding) as fake, HoldingProxy(upstream) as proxy:
        settings = openai_settings(
            tmp_path / "data",
            fake,
            chroma_host=chroma_server.host,
            chroma_port=chroma_server.port,
            collection=f"{COLLECTION}-again",
        )
        env = settings_env(settings)
        assert forks.run(env, log, "ingest", str(corpus)) == 0, log.read_text()
        proxy.hold = lambda method, path: method == "POST" and path.endswith("/delete")
        pid = forks.start(env | {"CHROMA_PORT": str(proxy.port)}, log, "remove", GONE.id)
        assert proxy.caught.wait(timeout=120), log.read_text()
        os.kill(pid, signal.SIGKILL)
        assert forks.wait() == -signal.SIGKILL, log.read_text()

        assert forks.run(env, log, "remove", GONE.id) == 0, log.read_text()
        assert log.read_text().strip() == f"Removed {GONE.title} ({GONE.id})"
        assert forks.run(env, log, "remove", GONE.id) == 1
        assert log.read_text().strip().startswith(f"Error: no article with id or URL {GONE.id!r}")
        stats = run_json(forks, env, log, "stats")
        assert (stats["articles"], stats["removing"]) == (4, 0)
