"""A news site on 127.0.0.1 whose feeds change between polls, for the sync tests.

Each feed (`/feeds/<name>.xml`) lists entries linking to article pages on the same
server. The server computes an ETag and a Last-Modified per feed version and honours
If-None-Match / If-Modified-Since with a 304, recording every request and its headers so a
test can check what the client sent. A feed can be told to fail its next polls on purpose
(an HTTP status, or a hang that only a client timeout ends), and pages can be slowed down.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.fakes.http_server import article_html

HANG = -1  # a "status" that makes the server answer nothing until it stops


@dataclass
class Story:
    """One entry of a feed and the article page it links to."""

    slug: str
    title: str
    text: str

    def page(self) -> bytes:
        paragraphs = tuple(p.strip() for p in self.text.split("\n\n") if p.strip())
        return article_html(self.title, paragraphs).encode()


@dataclass
class _Feed:
    stories: list[Story] = field(default_factory=list)
    version: int = 1
    failures: list[int] = field(default_factory=list)  # statuses for the next polls


@dataclass(frozen=True)
class Seen:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    status: int


class FeedServer:
    """The site: `set_feed`, `fail`, `url`; `requests` lists what clients asked."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.stopping = threading.Event()
        self.page_delay = 0.0
        self.validators = True  # send ETag and Last-Modified
        self._feeds: dict[str, _Feed] = {}
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.feed_server = self  # type: ignore[attr-defined]
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def set_feed(self, name: str, stories: list[Story]) -> str:
        """Publish (or change) feed `name`; a change makes a new version. Its URL."""
        with self._lock:
            feed = self._feeds.setdefault(name, _Feed())
            if feed.stories and feed.stories != stories:
                feed.version += 1
            feed.stories = list(stories)
        return self.url(f"/feeds/{name}.xml")

    def fail(self, name: str, *statuses: int) -> None:
        """Make the next polls of feed `name` answer these statuses (HANG: no answer)."""
        with self._lock:
            self._feeds[name].failures.extend(statuses)

    def seen(self, prefix: str) -> list[Seen]:
        """The requests whose path starts with `prefix`."""
        return [r for r in list(self.requests) if r.path.startswith(prefix)]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) for one GET."""
        if path.startswith("/a/"):
            return self._page(path.removeprefix("/a/"))
        name = path.removeprefix("/feeds/").removesuffix(".xml")
        with self._lock:
            feed = self._feeds.get(name)
            if feed is None:
                return 404, {}, b"not found"
            if feed.failures:
                return feed.failures.pop(0), {}, b"failing on purpose"
            body = self._rss(name, feed).encode()
            version = feed.version
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        modified = formatdate(1_770_000_000 + version * 3600, usegmt=True)
        sent = {"Content-Type": "application/rss+xml"}
        if self.validators:
            sent |= {"ETag": etag, "Last-Modified": modified}
            if headers.get("If-None-Match") == etag or (
                "If-None-Match" not in headers and headers.get("If-Modified-Since") == modified
            ):
                return 304, sent, b""
        return 200, sent, body

    def _page(self, slug: str) -> tuple[int, dict[str, str], bytes]:
        if self.page_delay:
            self.stopping.wait(self.page_delay)
        with self._lock:
            for feed in self._feeds.values():
                for story in feed.stories:
                    if story.slug == slug:
                        return 200, {"Content-Type": "text/html; charset=utf-8"}, story.page()
        return 404, {}, b"not found"

    def _rss(self, name: str, feed: _Feed) -> str:
        items = "".join(
            f"<item><title>{s.title}</title><link>{self.url('/a/' + s.slug)}</link>"
            f"<guid>{s.slug}</guid><pubDate>Wed, 04 Mar 2026 09:00:00 GMT</pubDate>"
            f"<description>{s.title}.</description></item>"
            for s in feed.stories
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>The {name.title()} Gazette</title><link>{self.url('/')}</link>"
            f"<description>news</description>{items}</channel></rss>"
        )


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server: FeedServer = self.server.feed_server  # type: ignore[attr-defined]
        path = urlsplit(self.path).path
        headers = dict(self.headers.items())
        status, sent, body = server.answer(path, headers)
        server.requests.append(Seen(path, headers, status))
        if status == HANG:
            server.stopping.wait(30)
            return
        self.send_response(status)
        for name, value in sent.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def stories(prefix: str, count: int, *, start: int = 0) -> list[Story]:
    """`count` distinct small stories (a few sentences each: embedding stays cheap)."""
    return [
        Story(
            f"{prefix}-{n}",
            f"{prefix.title()} council story {n}",
            f"The {prefix} council met on day {n} to discuss the harbour ferry timetable."
            f"\n\nCouncillors voted {n + 3} to 2 to keep the {prefix} night crossing {n}.",
        )
        for n in range(start, start + count)
    ]


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A fresh site per test (its feeds and request log are the test's own)."""
    server = FeedServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def wait_for(condition: Any, timeout: float = 60.0) -> None:
    """Poll `condition()` until true (for subprocess tests); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)
