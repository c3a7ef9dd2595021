"""What `articlebot ingest` reports: each article once, in one bucket.

The defects: an article that a concurrent run was storing was reported "updated" though
nothing changed; an article finished by `resume()` was counted as "resumed" and again as
"unchanged"; `--rebuild` with sources counted each article twice. Every case runs the real
`articlebot` (a kill is a real SIGKILL; the moments are set by holding a reply of the fake
embedding server or of a proxy in front of the fake news site, never by sleeping).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

from retrieval.store.index import ArticleIndex
from tests.fakes.forkserver import ForkServer, forks
from tests.fakes.harness import (
    articlebot_command,
    bag_embedding,
    openai_settings,
    settings_env,
    town_articles,
    write_jsonl,
)
from tests.fakes.holding_proxy import HoldingProxy
from tests.fakes.http_server import ArticleServer, article_server
from tests.fakes.openai_server import FakeOpenAIServer, ScriptedResponse

__all__ = ["article_server", "forks"]
EMBED = "/v1/embeddings"
ARTICLES = town_articles(5)
BUCKETS = ("added", "updated", "unchanged", "resumed")


def counts(report: dict[str, Any]) -> tuple[int, ...]:
    return tuple(report[bucket] for bucket in BUCKETS)


def run_json(forks: ForkServer, env: dict[str, str], log: Path, *args: str) -> Any:
    assert forks.run(env, log, *args, "--json") == 0, log.read_text()
    return json.loads(log.read_text())


def wait_for_requests(fake: FakeOpenAIServer, count: int, what: str) -> None:
    """Wait (in 10 ms steps, 60 s at most) until the fake has seen `count` embeddings."""
    ready = threading.Event()
    for _ in range(6000):
        if len(fake.requests_to(EMBED)) >= count:
            return
        ready.wait(0.01)
    raise AssertionError(f"no {what} within 60 s")


def test_an_article_resumed_is_counted_once_as_resumed(tmp_path: Path, forks: ForkServer) -> None:
    corpus = write_jsonl(tmp_path / "corpus.jsonl", ARTICLES)
    log = tmp_path / "run.log"
    with FakeOpenAIServer(embed=bag_embedding) as fake:
        env = settings_env(openai_settings(tmp_path / "data", fake))
        release = threading.Event()
        fake.enqueue(ScriptedResponse.ok(EMBED), ScriptedResponse.held(release, EMBED))
        pid = forks.start(env, log, "ingest", str(corpus))
        wait_for_requests(fake, 2, "embedding of the first group")  # the probe, then it
        os.kill(pid, signal.SIGKILL)
        assert forks.wait() == -signal.SIGKILL, log.read_text()  # killed while pending
        release.set()

        report = run_json(forks, env, log, "ingest", str(corpus))
        assert counts(report) == (0, 0, 0, 5), report
        assert [a["status"] for a in report["articles"]] == ["resumed"] * 5
        assert report["chunks"] == sum(a["chunks"] for a in report["articles"]) > 0


def test_rebuild_with_sources_counts_each_article_once(tmp_path: Path, forks: ForkServer) -> None:
    corpus = write_jsonl(tmp_path / "corpus.jsonl", ARTICLES)
    log = tmp_path / "run.log"
    with FakeOpenAIServer(embed=bag_embedding) as fake:
        env = settings_env(openai_settings(tmp_path / "data", fake))
        first = run_json(forks, env, log, "ingest", str(corpus))
        assert counts(first) == (5, 0, 0, 0)

        rebuilt = run_json(forks, env, log, "ingest", "--rebuild", str(corpus))
        assert counts(rebuilt) == (0, 5, 0, 0), rebuilt
        assert sorted(a["id"] for a in rebuilt["articles"]) == sorted(a.id for a in ARTICLES)
        assert rebuilt["chunks"] == first["chunks"]
        alone = run_json(forks, env, log, "ingest", "--rebuild")
        assert counts(alone) == (0, 5, 0, 0) and alone["chunks"] == first["chunks"]


def test_an_article_a_concurrent_run_is_storing_is_left_to_it(
    tmp_path: Path, article_server: ArticleServer
) -> None:
    """Run B starts (nothing to resume) and waits on a web page held by a proxy; run A then
    stores the same article X and waits on its held embedding, X pending and claimed by A.
    Released, B leaves X to A: "elsewhere" (being stored by another worker), neither
    "updated" nor stored twice; A indexes it."""
    corpus = write_jsonl(tmp_path / "x.jsonl", ARTICLES[:1])
    with (
        FakeOpenAIServer(embed=bag_embedding) as fake,
        HoldingProxy(article_server.url("")) as proxy,
    ):
        settings = openai_settings(tmp_path / "data", fake)
        env = settings_env(settings)
        proxy.hold = lambda method, path: path == "/article/harbor-ferry"
        page = f"http://127.0.0.1:{proxy.port}/article/harbor-ferry"
        run_b = subprocess.Popen(
            articlebot_command("ingest", "--allow-private", page, str(corpus), "--json"),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        run_a: subprocess.Popen[str] | None = None
        try:
            assert proxy.caught.wait(timeout=120), "run B never fetched the page"
            release_a = threading.Event()
            fake.enqueue(ScriptedResponse.ok(EMBED), ScriptedResponse.held(release_a, EMBED))
            run_a = subprocess.Popen(
                articlebot_command("ingest", str(corpus), "--json"),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            wait_for_requests(fake, 2, "embedding by run A")
            proxy.release.set()
            out_b, err_b = run_b.communicate(timeout=120)
            release_a.set()
            out_a, err_a = run_a.communicate(timeout=120)
        finally:
            for process in (run_b, run_a):
                if process is not None and process.poll() is None:
                    process.kill()
                    process.wait()
        assert run_b.returncode == 0 and run_a.returncode == 0, (err_b, err_a)
        report_b, report_a = json.loads(out_b), json.loads(out_a)
        assert counts(report_a) == (1, 0, 0, 0), report_a
        assert counts(report_b) == (1, 0, 0, 0) and report_b["elsewhere"] == 1, report_b
        assert {a["id"]: a["status"] for a in report_b["articles"]}[ARTICLES[0].id] == "elsewhere"
        index = ArticleIndex(settings, must_exist=True)
        try:
            stored = {s.article.id: s for s in index.articles()}
            assert stored[ARTICLES[0].id].indexed and len(stored) == 2
            vectors = index.vectorstore._collection.get(where={"article_id": ARTICLES[0].id})
            assert len(vectors["ids"]) == stored[ARTICLES[0].id].chunk_count
        finally:
            index.close()
