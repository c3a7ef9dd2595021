"""Hostile sources through the real `articlebot` command: one line each, the rest goes on.

A FIFO in a directory, a URL carrying a password, a feed whose pages never answer, a page
built to keep the extractor busy. Servers are on 127.0.0.1 only (`--allow-private`).
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli.main import main
from tests.fakes import http_server
from tests.fakes.http_server import ArticleServer

article_server = http_server.article_server  # the fixture


def run(data_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--data-dir", str(data_dir), *args])


@pytest.mark.timeout(120)  # before the fix: blocked forever opening the FIFO
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_in_a_directory_is_skipped_with_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "good.txt").write_text("Title: Ferry\n\nThe ferry sailed at dawn.\n")
    os.mkfifo(folder / "stuck.txt")
    result = run(tmp_path / "d", "ingest", str(folder))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"  failed    {folder / 'stuck.txt'}: not a regular file, skipped"
    ]
    assert "Added 1, updated 0, unchanged 0, failed 1" in result.stdout


def test_credentials_in_a_url_are_never_stored_shown_or_logged(
    tmp_path: Path, article_server: ArticleServer, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "d"
    page = article_server.serve(  # a page naming no site: the host was the fallback outlet
        f"/private/{uuid.uuid4().hex}", article_server.route("/article/mountain-rail", {})
    )
    secret_page = page.replace("http://", "http://alice:S3cret@")
    missing = article_server.url("/status/404").replace("http://", "http://alice:S3cret@")
    hop = page.replace("127.0.0.1", "localhost")  # another host: refused, even when trusted
    redirect = article_server.url(f"/redirect-to?url={hop}").replace(
        "http://", "http://alice:S3cret@", 1
    )
    with caplog.at_level(logging.INFO):  # what -v logs
        outputs = [
            run(data, "-v", "ingest", "--allow-private", secret_page),
            run(data, "-v", "ingest", "--allow-private", "--json", secret_page),
            run(data, "-v", "ingest", "--allow-private", missing, redirect),
            run(data, "list"),
            run(data, "list", "--json"),
            run(data, "ask", "When did the mountain railway reach Alder?"),
            run(data, "ask", "When did the mountain railway reach Alder?", "--json"),
            run(data, "stats"),
        ]
    assert outputs[0].exit_code == 0, outputs[0].output
    assert outputs[2].exit_code == 1 and "HTTP 404" in outputs[2].stderr
    assert f"redirect to {hop}: refused" in outputs[2].stderr
    assert "Sources:" in outputs[5].stdout
    seen = [caplog.text] + [r.stdout + r.stderr for r in outputs]
    seen += [p.read_bytes().decode("latin-1") for p in data.rglob("*") if p.is_file()]
    for text in seen:
        assert "S3cret" not in text and "alice:" not in text and "alice@" not in text
    # and the request really carried the credentials (basic auth), to that host only
    auth = [r.headers.get("Authorization") for r in article_server.requests if r.path in page]
    assert "Basic YWxpY2U6UzNjcmV0" in auth


def test_a_feed_whose_pages_never_answer_stops_at_its_deadline(
    tmp_path: Path, article_server: ArticleServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    links = [article_server.url(f"/slow?n={n}") for n in range(3)]
    items = "".join(
        f"<item><title>Entry {n}</title><link>{link}</link></item>" for n, link in enumerate(links)
    )
    body = f"<rss version='2.0'><channel><title>Slow</title>{items}</channel></rss>"
    feed = article_server.serve(
        f"/feeds/{uuid.uuid4().hex}.rss",
        http_server.Response(body=body.encode(), content_type="application/rss+xml"),
    )
    monkeypatch.setenv("ARTICLEBOT_FEED_TIMEOUT", "1")
    monkeypatch.setenv("ARTICLEBOT_FETCH_TIMEOUT", "0.8")
    started = time.monotonic()
    result = run(tmp_path / "d", "ingest", "--allow-private", feed)
    took = time.monotonic() - started
    assert result.exit_code == 1
    assert f"{feed}: stopped after the 1 s deadline, 2 of 3 entries not fetched" in result.stderr
    assert took < 8, took


def test_a_feed_is_read_up_to_the_entry_cap(
    tmp_path: Path, article_server: ArticleServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = "".join(
        f"<item><title>Notice {n}</title><guid>notice-{n}</guid>"
        f"<description>Harbour notice number {n} for the ferry.</description></item>"
        for n in range(5)
    )
    body = f"<rss version='2.0'><channel><title>Notices</title>{items}</channel></rss>"
    feed = article_server.serve(
        f"/feeds/{uuid.uuid4().hex}.rss",
        http_server.Response(body=body.encode(), content_type="application/rss+xml"),
    )
    monkeypatch.setenv("ARTICLEBOT_FEED_MAX_ENTRIES", "2")
    result = run(tmp_path / "d", "ingest", "--allow-private", feed)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"  failed    {feed}: only the first 2 of 5 entries read (ARTICLEBOT_FEED_MAX_ENTRIES)"
    )
    assert "Added 2," in result.stdout


def _children() -> set[int]:
    """Processes (zombies too) whose parent is this test process."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            found.add(int(stat.parent.name))
    return found


def test_a_page_too_complex_to_extract_is_stopped_and_the_rest_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "pages"
    folder.mkdir()
    bomb = folder / "a-bomb.html"  # ~20 s of trafilatura in-process
    bomb.write_text("<html><body>" + "<table><tr><td>cell</td></tr></table>" * 12_000)
    page = http_server.article_html("Ferry Timetable Explained", http_server.ARTICLE_PARAGRAPHS)
    script = "<script>var tracking = [" + "1," * 40_000 + "];</script>"  # big like real pages
    (folder / "b-long.html").write_text(page.replace("</head>", script + "</head>"))
    (folder / "c-good.txt").write_text("Title: Ferry\n\nThe ferry sailed at dawn.\n")
    monkeypatch.setenv("ARTICLEBOT_EXTRACT_TIMEOUT", "0.5")
    before = _children()
    started = time.monotonic()
    result = run(tmp_path / "d", "ingest", str(folder))
    took = time.monotonic() - started
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"  failed    {bomb}: page too complex to extract (took more than 0.5 s)"
    ]
    assert "Added 2, updated 0, unchanged 0, failed 1" in result.stdout
    assert _children() <= before, "an extraction worker outlived the run"
    assert took < 15, took
