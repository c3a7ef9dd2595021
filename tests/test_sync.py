"""Sync through the `articlebot sources` and `watch` commands, and the runner under a test
clock, against a real feed server on 127.0.0.1 that changes between polls."""

from __future__ import annotations

import json
import os
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli.main import main
from bot.settings import Settings
from ingest.sync.backoff import FIRST_RETRY, after_failure
from ingest.sync.interval import format_interval, parse_interval
from ingest.sync.runner import SyncRunner
from ingest.sync.schedule import watch
from retrieval.store.index import ArticleIndex
from retrieval.store.sources import SourceStore
from tests.fakes import feed_server as feed_server_module
from tests.fakes.clock import FakeClock
from tests.fakes.embedder import HashEmbedder
from tests.fakes.feed_server import HANG, FeedServer, stories

feed_server = feed_server_module.feed_server  # the fixture


def run(data_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--data-dir", str(data_dir), *args])


def watch_once(data_dir: Path, *args: str) -> dict[str, object]:
    result = run(data_dir, "watch", "--once", "--json", *args)
    assert result.exit_code in (0, 1), result.output
    report: dict[str, object] = json.loads(result.stdout)
    return report


def only(report: dict[str, object]) -> dict[str, object]:
    (source,) = report["sources"]  # type: ignore[misc]
    assert isinstance(source, dict)
    return source


def titles(data_dir: Path) -> list[str]:
    listed = json.loads(run(data_dir, "list", "--json").stdout)
    return sorted(a["title"] for a in listed)


# --- sources add / list / remove --------------------------------------------------------
def test_sources_add_list_remove(tmp_path: Path, feed_server: FeedServer) -> None:
    data = tmp_path / "data"
    folder = tmp_path / "news"
    folder.mkdir()
    url = feed_server.set_feed("harbour", stories("harbour", 1))

    added = run(data, "sources", "add", str(folder), "--every", "2h")
    assert added.exit_code == 0, added.output
    assert added.stdout.startswith("Watching folder news (#1) every 2h")

    refused = run(data, "sources", "add", url)
    assert refused.exit_code == 1
    assert "private or reserved address" in refused.stderr
    assert "--allow-private" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1

    secret_url = url.replace("http://", "http://reader:hunter2@")
    ok = run(data, "sources", "add", secret_url, "--allow-private", "--name", "harbour")
    assert ok.exit_code == 0, ok.output

    for bad, message in [
        (["sources", "add", str(folder), "--name", "other"], "already watched as #1 news"),
        (["sources", "add", str(tmp_path), "--every", "15x"], "invalid interval '15x'"),
        (["sources", "add", str(tmp_path / "nowhere")], "no such file or directory"),
        (["sources", "add", str(tmp_path), "--name", "harbour"], "already watched as #2"),
        (["sources", "add", "ftp://127.0.0.1/feed"], "unsupported scheme 'ftp'"),
    ]:
        result = run(data, *bad)
        assert result.exit_code == 1, (bad, result.output)
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr

    listed = json.loads(run(data, "sources", "list", "--json").stdout)
    assert [(s["name"], s["kind"], s["every"]) for s in listed] == [
        ("news", "folder", "2h"),
        ("harbour", "feed", "15m"),
    ]
    assert listed[1]["due"] is True and listed[1]["last_success"] is None
    human = run(data, "sources", "list").stdout
    assert "hunter2" not in human and "hunter2" not in json.dumps(listed)
    assert "every 15m" in human and "next run now (due)" in human

    synced = run(data, "watch", "--once", "--json")
    assert "hunter2" not in synced.output
    assert feed_server.seen("/feeds/")[-1].headers["Authorization"].startswith("Basic ")

    removed = run(data, "sources", "remove", "news")
    assert removed.exit_code == 0
    assert "stay in the index" in removed.stdout
    assert "do not" not in removed.stdout
    assert [s["name"] for s in json.loads(run(data, "sources", "list", "--json").stdout)] == [
        "harbour"
    ]
    assert run(data, "sources", "remove", "news").exit_code == 1
    assert "stay in the index" in run(data, "sources", "remove", "--help").stdout


# --- feeds: conditional GET, only what changed -------------------------------------------
def test_feed_sync_uses_conditional_get_and_fetches_only_new_entries(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    data = tmp_path / "data"
    url = feed_server.set_feed("harbour", stories("harbour", 3))
    assert run(data, "sources", "add", url, "--allow-private").exit_code == 0

    first = only(watch_once(data))
    assert (first["status"], first["added"], first["kind"]) == ("synced", 3, "feed")
    assert len(feed_server.seen("/a/")) == 3
    assert "If-None-Match" not in feed_server.seen("/feeds/")[0].headers

    nothing_due = watch_once(data)
    assert nothing_due["sources"] == []  # not due for 15 minutes
    assert len(feed_server.seen("/feeds/")) == 1

    unchanged = only(watch_once(data, "--all"))
    assert unchanged["status"] == "not modified"
    conditional = feed_server.seen("/feeds/")[-1]
    assert conditional.headers["If-None-Match"].startswith('"')
    assert conditional.headers["If-Modified-Since"].endswith("GMT")
    assert conditional.status == 304
    assert len(feed_server.seen("/a/")) == 3  # a 304 fetches nothing more

    changed = stories("harbour", 3)
    changed[0].title = "Harbour council story 0, corrected"
    feed_server.set_feed("harbour", changed + stories("harbour", 1, start=3))
    again = only(watch_once(data, "--all"))
    assert (again["status"], again["added"], again["updated"]) == ("synced", 1, 1)
    assert sorted(r.path for r in feed_server.seen("/a/")[3:]) == ["/a/harbour-0", "/a/harbour-3"]
    assert titles(data) == [
        "Harbour council story 0, corrected",
        "Harbour council story 1",
        "Harbour council story 2",
        "Harbour council story 3",
    ]
    listed = json.loads(run(data, "sources", "list", "--json").stdout)[0]
    assert listed["articles_added"] == 4 and listed["last_error"] is None

    feed_server.set_feed("harbour", changed[2:] + stories("harbour", 1, start=3))
    rolled = only(watch_once(data, "--all"))
    assert (rolled["added"], rolled["updated"], rolled["removed"]) == (0, 0, 0)
    with sqlite3.connect(data / "catalog.sqlite3") as conn:
        keys = sorted(r[0] for r in conn.execute("SELECT key FROM source_entries"))
    # the entries that left the feed are forgotten (feedparser makes a guid absolute)
    assert [key.rsplit("/", 1)[-1] for key in keys] == ["harbour-2", "harbour-3"]
    assert len(titles(data)) == 4  # ... but their articles stay


def test_a_feed_without_validators_still_skips_known_entries(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.validators = False
    data = tmp_path / "data"
    url = feed_server.set_feed("valley", stories("valley", 2))
    assert run(data, "sources", "add", url, "--allow-private").exit_code == 0
    assert only(watch_once(data))["added"] == 2
    second = only(watch_once(data, "--all"))
    assert (second["status"], second["added"], second["unchanged"]) == ("synced", 0, 0)
    assert "If-None-Match" not in feed_server.seen("/feeds/")[-1].headers
    assert len(feed_server.seen("/a/")) == 2


def test_a_page_is_extracted_again_only_when_it_changed(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    data = tmp_path / "data"
    story = stories("pier", 1)
    feed_server.set_feed("pier", story)
    page = feed_server.url("/a/pier-0")
    assert run(data, "sources", "add", page, "--allow-private").exit_code == 0
    first = only(watch_once(data))
    assert (first["kind"], first["added"]) == ("page", 1)
    same = only(watch_once(data, "--all"))
    assert (same["status"], same["added"], same["updated"], same["unchanged"]) == (
        "synced",
        0,
        0,
        0,  # the same body: not extracted, not even compared
    )
    story[0].text += "\n\nThe pier reopens in June."
    feed_server.set_feed("pier", story)
    changed = only(watch_once(data, "--all"))
    assert (changed["added"], changed["updated"]) == (0, 1)
    assert len(feed_server.seen("/a/")) == 3


# --- failures: backoff with the reason, under a test clock --------------------------------
@pytest.fixture
def index(settings: Settings) -> Iterator[ArticleIndex]:
    with ArticleIndex(settings, embedder=HashEmbedder()) as made:
        yield made


def test_failing_feed_backs_off_exponentially_and_recovers(
    settings: Settings, index: ArticleIndex, feed_server: FeedServer
) -> None:
    clock = FakeClock()
    quick = settings.model_copy(update={"fetch_timeout": 0.3})
    url = feed_server.set_feed("storm", stories("storm", 1))
    store = SourceStore(index.catalog)
    source = store.add(url, "feed", "storm", 900, now=clock.now(), allow_private=True)
    feed_server.fail("storm", 500, 503, HANG)
    runner = SyncRunner(index, quick, clock=clock, rng=random.Random(7))

    delays = []
    reasons = []
    for _ in range(3):
        (report,) = runner.run_due()
        assert report.status == "failed"
        stored = store.get(source.id)
        assert stored is not None and stored.lease_owner is None
        reasons.append(stored.last_error)
        delays.append(stored.next_run - clock.now())
        assert runner.run_due() == []  # not due again before its backoff
        clock.advance(delays[-1])
    assert reasons == [
        "HTTP 500 Internal Server Error",
        "HTTP 503 Service Unavailable",
        "timed out after 0.3 s",
    ]
    for failures, delay in enumerate(delays, start=1):
        full = FIRST_RETRY * 2 ** (failures - 1)
        assert full / 2 <= delay <= full, (failures, delay)
    assert (store.get(source.id) or source).failures == 3

    (report,) = runner.run_due()
    assert (report.status, report.ingest.added) == ("synced", 1)
    recovered = store.get(source.id)
    assert recovered is not None
    assert (recovered.failures, recovered.last_error) == (0, None)
    assert recovered.next_run - clock.now() >= 900


def test_the_source_deadline_keeps_what_is_done_and_the_next_run_goes_on(
    settings: Settings, index: ArticleIndex, feed_server: FeedServer
) -> None:
    clock = FakeClock()
    quick = settings.model_copy(update={"sync_source_timeout": 1.0})
    url = feed_server.set_feed("ebb", stories("ebb", 6))
    store = SourceStore(index.catalog)
    source = store.add(url, "feed", "ebb", 900, now=clock.now(), allow_private=True)
    feed_server.page_delay = 0.35  # about three pages fit in the deadline
    runner = SyncRunner(index, quick, clock=clock, rng=random.Random(5))

    (cut,) = runner.run_due()
    assert cut.status == "stopped" and "1 s deadline passed" in str(cut.error)
    remembered = len(store.entries(source.id))
    assert 1 <= remembered < 6
    stored = index.articles()
    assert len(stored) == remembered == cut.ingest.added
    assert all("Councillors voted" in s.article.text for s in stored)  # pages, not teasers
    after_cut = store.get(source.id)
    assert after_cut is not None and after_cut.failures == 1 and after_cut.lease_owner is None

    feed_server.page_delay = 0.0
    clock.advance(after_cut.next_run - clock.now())
    pages_before = len(feed_server.seen("/a/"))
    (rest,) = runner.run_due()
    assert (rest.status, rest.ingest.added) == ("synced", 6 - remembered)
    assert len(feed_server.seen("/a/")) - pages_before == 6 - remembered
    assert len(index.articles()) == 6
    assert all("Councillors voted" in s.article.text for s in index.articles())


def test_the_failure_reason_shows_in_sources_list(tmp_path: Path, feed_server: FeedServer) -> None:
    data = tmp_path / "data"
    url = feed_server.set_feed("gale", stories("gale", 1))
    assert run(data, "sources", "add", url, "--allow-private").exit_code == 0
    feed_server.fail("gale", 500)
    result = run(data, "watch", "--once")
    assert result.exit_code == 1
    assert "gale" in result.stdout and "failed: HTTP 500 Internal Server Error" in result.stdout
    listed = run(data, "sources", "list").stdout
    assert "last error: HTTP 500 Internal Server Error" in listed
    assert "last success never" in listed and "next run in" in listed


def test_backoff_is_capped_and_jittered() -> None:
    rng = random.Random(1)
    delays = [after_failure(n, 900, 3600, rng) for n in range(1, 12)]
    assert all(d <= 3600 for d in delays) and max(delays) >= 1800
    assert len({round(d, 6) for d in delays}) == len(delays)  # jitter: no two alike
    assert after_failure(1, 120, 3600, random.Random(1)) == after_failure(
        1, 120, 3600, random.Random(1)
    )


def test_intervals() -> None:
    assert [parse_interval(t) for t in ("90s", "15m", "2h", "1d", "600")] == [
        90,
        900,
        7200,
        86400,
        600,
    ]
    for bad in ("15x", "", "m", "-5m", "30s"):
        with pytest.raises(ValueError):
            parse_interval(bad)
    assert [format_interval(s) for s in (90, 900, 7200, 5400)] == ["90s", "15m", "2h", "90m"]


def test_watch_loop_runs_sources_on_schedule_without_sleeping(
    settings: Settings, index: ArticleIndex, feed_server: FeedServer
) -> None:
    clock = FakeClock()
    url = feed_server.set_feed("tide", stories("tide", 1))
    SourceStore(index.catalog).add(url, "feed", "tide", 600, now=clock.now(), allow_private=True)
    runner = SyncRunner(index, settings, clock=clock, rng=random.Random(3))
    started = clock.now()
    runs = watch(runner, max_rounds=4, recheck=3600)
    feeds = feed_server.seen("/feeds/")
    # Round 1 runs it; each wait lasts until it is due again (600 s + jitter), so each
    # later round runs it once more: 4 runs, 3 of them 304s, in simulated time only.
    assert runs == 4 and len(feeds) == 4
    assert [r.status for r in feeds] == [200, 304, 304, 304]
    assert all(600 <= w <= 660 for w in clock.waits) and len(clock.waits) == 3
    assert clock.now() - started == pytest.approx(sum(clock.waits))


# --- folders: new, changed and deleted files ---------------------------------------------
def write(path: Path, title: str, body: str) -> None:
    path.write_text(f"Title: {title}\n\n{body}\n", encoding="utf-8")


@pytest.mark.parametrize("keep", [False, True], ids=["removes", "keep-deleted"])
def test_folder_sync_adds_changes_and_removes_deleted_files(tmp_path: Path, keep: bool) -> None:
    data = tmp_path / "data"
    folder = tmp_path / "desk"
    folder.mkdir()
    write(folder / "ferry.txt", "Ferry returns", "The ferry returned on Monday.")
    write(folder / "bridge.txt", "Bridge closed", "The bridge closed for repairs on Friday.")
    (folder / "notes.pdfx").write_text("not supported, ignored")
    assert run(data, "sources", "add", str(folder)).exit_code == 0
    first = only(watch_once(data))
    assert (first["added"], first["removed"]) == (2, 0)

    write(folder / "ferry.txt", "Ferry returns", "The ferry returned on Tuesday, a day late.")
    (folder / "bridge.txt").unlink()
    write(folder / "school.txt", "School opens", "The new school opened its doors on Monday.")
    args = ["--all", "--keep-deleted"] if keep else ["--all"]
    second = only(watch_once(data, *args))
    assert (second["added"], second["updated"]) == (1, 1)
    if keep:
        assert (second["removed"], second["kept_deleted"]) == (0, 1)
        assert titles(data) == ["Bridge closed", "Ferry returns", "School opens"]
    else:
        assert (second["removed"], second["kept_deleted"]) == (1, 0)
        assert titles(data) == ["Ferry returns", "School opens"]

    third = only(watch_once(data, "--all"))
    assert (third["added"], third["updated"], third["unchanged"]) == (0, 0, 0)


def test_a_touched_file_is_not_loaded_again_and_a_fifo_does_not_hang(tmp_path: Path) -> None:
    data = tmp_path / "data"
    folder = tmp_path / "desk"
    folder.mkdir()
    story = folder / "ferry.txt"
    write(story, "Ferry returns", "The ferry returned on Monday.")
    assert run(data, "sources", "add", str(folder)).exit_code == 0
    assert only(watch_once(data))["added"] == 1
    os.utime(story, ns=(story.stat().st_atime_ns, story.stat().st_mtime_ns + 10**9))
    os.mkfifo(folder / "stuck.txt")
    touched = only(watch_once(data, "--all"))
    # The touched file: not loaded (it would count as "unchanged"); the FIFO: one failure.
    assert (touched["added"], touched["updated"], touched["unchanged"]) == (0, 0, 0)
    assert [e["reason"] for e in touched["errors"]] == ["not a regular file or directory"]
    again = only(watch_once(data, "--all"))
    assert (again["unchanged"], again["failed"]) == (0, 1)


def test_a_missing_folder_fails_and_removes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    folder = tmp_path / "mount"
    folder.mkdir()
    write(folder / "ferry.txt", "Ferry returns", "The ferry returned on Monday.")
    assert run(data, "sources", "add", str(folder)).exit_code == 0
    assert only(watch_once(data))["added"] == 1
    (folder / "ferry.txt").unlink()
    folder.rmdir()
    gone = only(watch_once(data, "--all"))
    assert gone["status"] == "failed" and "no such file or directory" in str(gone["error"])
    assert titles(data) == ["Ferry returns"]


def test_deleted_file_human_summary(tmp_path: Path) -> None:
    data = tmp_path / "data"
    folder = tmp_path / "desk"
    folder.mkdir()
    write(folder / "a.txt", "Alpha", "The alpha story about the harbour.")
    write(folder / "b.txt", "Beta", "The beta story about the bridge.")
    assert run(data, "sources", "add", str(folder)).exit_code == 0
    assert run(data, "watch", "--once").exit_code == 0
    (folder / "b.txt").unlink()
    result = run(data, "watch", "--once", "--all")
    assert result.exit_code == 0
    assert "1 removed (files deleted)" in result.stdout
    with sqlite3.connect(data / "catalog.sqlite3") as conn:
        keys = [r[0] for r in conn.execute("SELECT key FROM source_entries")]
    assert keys == ["a.txt"]
