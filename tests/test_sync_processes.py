"""`articlebot watch` as real processes: two at once on one data directory, SIGTERM while
a fetch hangs, and kill -9 in the middle of a sync, against the feed server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import main
from bot.settings import Settings
from retrieval.store.index import ArticleIndex
from tests.fakes import feed_server as feed_server_module
from tests.fakes.feed_server import HANG, FeedServer, stories, wait_for
from tests.fakes.harness import articlebot_command

feed_server = feed_server_module.feed_server  # the fixture


def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLEBOT_", "OPENAI_"))}
    return clean | {"XDG_CONFIG_HOME": str(tmp_path / "config"), "NO_PROXY": "127.0.0.1"}


def add_feed(data: Path, url: str) -> None:
    result = CliRunner().invoke(
        main, ["--data-dir", str(data), "sources", "add", url, "--allow-private"]
    )
    assert result.exit_code == 0, result.output


def watch(data: Path, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        articlebot_command("--data-dir", str(data), "watch", *args),
        env=env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def rows(data: Path, sql: str) -> list[tuple[object, ...]]:
    try:
        with sqlite3.connect(data / "catalog.sqlite3", timeout=5) as conn:
            return list(conn.execute(sql).fetchall())
    except sqlite3.Error:
        return []


def test_two_watch_processes_fetch_each_source_once(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    data = tmp_path / "data"
    names = [f"town{n}" for n in range(4)]
    for name in names:
        add_feed(data, feed_server.set_feed(name, stories(name, 1)))
    feed_server.page_delay = 0.3  # each run lasts long enough for the two to overlap
    first = watch(data, tmp_path, "--once", "--json")
    second = watch(data, tmp_path, "--once", "--json")
    outputs = [p.communicate(timeout=240) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    ran = [s["name"] for out, _ in outputs for s in json.loads(out)["sources"]]
    assert len(ran) == len(set(ran)) == len(names)  # each source run by one of the two
    polled = Counter(r.path for r in feed_server.seen("/feeds/"))
    assert polled == Counter({f"/feeds/{name}.xml": 1 for name in names})
    assert Counter(r.path for r in feed_server.seen("/a/")) == Counter(
        {f"/a/{name}-0": 1 for name in names}
    )


def test_sigterm_stops_watch_within_5_seconds_and_leaves_the_source_due(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    data = tmp_path / "data"
    add_feed(data, feed_server.set_feed("slowtown", stories("slowtown", 1)))
    feed_server.fail("slowtown", HANG)  # the first poll gets no answer at all
    proc = watch(data, tmp_path)
    wait_for(lambda: feed_server.seen("/feeds/"), timeout=120)
    time.sleep(0.2)  # into the blocking read
    stopping = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert time.monotonic() - stopping < 5, err
    assert proc.returncode == 0, err
    assert "Stopped" in err and "Traceback" not in err
    (state,) = rows(data, "SELECT lease_owner, failures, last_error, next_run FROM sources")
    assert state[:3] == (None, 0, None)  # released, not counted as a failure: still due
    assert float(str(state[3])) <= time.time()


def test_sigterm_ends_the_wait_between_runs(tmp_path: Path, feed_server: FeedServer) -> None:
    data = tmp_path / "data"
    add_feed(data, feed_server.set_feed("calm", stories("calm", 1)))
    proc = watch(data, tmp_path, "--json")
    assert proc.stdout is not None
    line = json.loads(proc.stdout.readline())  # the run's line: now it waits 15 minutes
    assert (line["status"], line["added"]) == ("synced", 1)
    stopping = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    assert time.monotonic() - stopping < 5, err
    assert proc.returncode == 0 and "Traceback" not in err
    (state,) = rows(data, "SELECT lease_owner, failures, last_success FROM sources")
    assert state[:2] == (None, 0) and state[2] is not None


N_STORIES = 6


def assert_consistent(data: Path) -> None:
    settings = Settings(_env_file=None, data_dir=data)  # type: ignore[call-arg]
    with ArticleIndex(settings, must_exist=True) as index:
        stored = index.articles()
        assert sorted(s.article.title for s in stored) == sorted(
            s.title for s in stories("crashtown", N_STORIES)
        )
        assert all(s.indexed for s in stored)
        collection = index.vectorstore._collection
        assert collection.count() == sum(s.chunk_count for s in stored)
        assert not index.catalog.removals()
    keys = rows(data, "SELECT key FROM source_entries")
    assert len(keys) == N_STORIES
    (source,) = rows(data, "SELECT lease_owner, failures, last_success FROM sources")
    assert source[0] is None and source[1] == 0 and source[2] is not None


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["fetching", "storing"])
def test_kill_9_mid_sync_then_rerun(tmp_path: Path, feed_server: FeedServer, moment: str) -> None:
    data = tmp_path / "data"
    add_feed(data, feed_server.set_feed("crashtown", stories("crashtown", N_STORIES)))
    feed_server.page_delay = 0.2
    proc = watch(data, tmp_path, "--once")
    if moment == "fetching":
        wait_for(lambda: len(feed_server.seen("/a/")) >= 3 or proc.poll() is not None, 120)
    else:
        wait_for(lambda: rows(data, "SELECT 1 FROM articles") or proc.poll() is not None, 120)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL, "watch ended before the kill: nothing was tested"
    assert len(rows(data, "SELECT key FROM source_entries")) < N_STORIES

    rerun = watch(data, tmp_path, "--once", "--json")
    out, err = rerun.communicate(timeout=240)
    assert rerun.returncode == 0, err
    (report,) = json.loads(out)["sources"]
    assert report["status"] == "synced" and report["failed"] == 0
    assert_consistent(data)
    again = watch(data, tmp_path, "--once", "--all", "--json")
    out, err = again.communicate(timeout=240)
    (report,) = json.loads(out)["sources"]
    assert (report["added"], report["updated"]) == (0, 0)
    assert_consistent(data)
