"""A real HTTP server on 127.0.0.1 for ingest tests: pages, feeds, redirects, failures.

Runs `http.server` in a background thread (one per test session); feeds link back to it.
Slow endpoints wake up when the server stops, so shutdown is quick and leaves no thread.
Use the `article_server` fixture and build URLs with `article_server.url("/path")`.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

ARTICLE_PARAGRAPHS = (
    "The town of Harbor opened its first ferry line in forty years on Tuesday, linking the "
    "mainland with the island of Wend.",
    "Officials said the ferry would run six times a day and that a ticket would cost less "
    "than a bus fare. The first crossing took thirty-five minutes.",
    "Residents welcomed the change. Islanders have until now relied on private boats, which "
    "cannot sail when the autumn storms arrive.",
)
SECOND_PARAGRAPHS = (
    "A new mountain railway climbed to the village of Alder for the first time on Friday, "
    "after six years of construction through the granite of the eastern ridge.",
    "The line has three tunnels and a viaduct over the Kessel gorge, and the trip from the "
    "valley now takes twenty minutes instead of an hour by road.",
)


def article_html(
    title: str,
    paragraphs: tuple[str, ...],
    *,
    canonical: str | None = None,
    site: str | None = "The Coastal Gazette",
    author: str | None = "Mara Quill",
    published: str | None = "2026-03-04",
) -> str:
    """A plausible news page: navigation, metadata, an <article>, a footer."""
    head = [f"<title>{title} | {site or 'News'}</title>", '<meta charset="utf-8">']
    if site:
        head.append(f'<meta property="og:site_name" content="{site}">')
    if author:
        head.append(f'<meta name="author" content="{author}">')
    if published:
        head.append(f'<meta property="article:published_time" content="{published}T09:00:00Z">')
    if canonical:
        head.append(f'<link rel="canonical" href="{canonical}">')
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        "<!DOCTYPE html><html><head>" + "".join(head) + "</head><body>"
        '<nav><a href="/">Home</a> | <a href="/news">News</a></nav>'
        f"<article><h1>{title}</h1>{body}</article>"
        "<footer>Copyright The Coastal Gazette</footer></body></html>"
    )


@dataclass(frozen=True)
class Response:
    """What one route answers."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Recorded:
    """One request the server saw (for assertions on headers)."""

    path: str
    headers: dict[str, str]


class ArticleServer:
    """The server and its routes; `url(path)` gives an absolute URL on it."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.stopping = threading.Event()
        self.requests: list[Recorded] = []
        self._httpd = _Server((host, 0), _Handler)
        self._httpd.article_server = self
        self.host, self.port = host, self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._served: dict[str, Response] = {}
        self._streams: dict[str, Callable[[_Handler], None]] = {
            "/slow": _slow,
            "/trickle": _trickle,
            "/huge": _huge,
            "/huge-declared": _huge_declared,
        }

    def url(self, path: str) -> str:
        """Absolute URL of `path` on this server."""
        return f"http://{self.host}:{self.port}{path}"

    def start(self) -> None:
        self._thread.start()

    def serve(self, path: str, response: Response) -> str:
        """Answer `path` with `response` from now on (a test's own page); its absolute URL."""
        self._served[path] = response
        return self.url(path)

    def stop(self) -> None:
        """Wake slow handlers, stop serving, close the socket, wait for the thread."""
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def route(self, path: str, query: dict[str, list[str]]) -> Response:
        """The canned answer for `path` (404 for anything unknown)."""
        if path.startswith("/status/"):
            return Response(status=int(path.rsplit("/", 1)[1]), body=b"<p>error page</p>")
        if path.startswith("/redirect/"):  # /redirect/3 -> /redirect/2 -> ... -> article
            left = int(path.rsplit("/", 1)[1])
            target = f"/redirect/{left - 1}" if left > 1 else "/article/harbor-ferry"
            return Response(status=302, headers=(("Location", target),))
        if path == "/redirect-to":
            return Response(status=302, headers=(("Location", query["url"][0]),))
        if path == "/redirect-loop":
            return Response(status=301, headers=(("Location", "/redirect-loop"),))
        if path in self._served:
            return self._served[path]
        if path in self._pages:
            return self._pages[path]
        return Response(status=404, body=b"<h1>Not Found</h1>")

    @cached_property
    def _pages(self) -> dict[str, Response]:
        harbor = article_html(
            "Harbor Town Opens New Ferry Line",
            ARTICLE_PARAGRAPHS,
            canonical=self.url("/article/harbor-ferry?utm_source=rss&utm_medium=feed"),
        )
        offsite = article_html(
            "Harbor Town Opens New Ferry Line",
            ARTICLE_PARAGRAPHS,
            canonical="https://victim.example/article/other",
        )
        rail = article_html(
            "Mountain Railway Reaches Alder", SECOND_PARAGRAPHS, site=None, published=None
        )
        latin1 = article_html("Café Owners Celebrate", ARTICLE_PARAGRAPHS).replace(
            '<meta charset="utf-8">', ""
        )
        gzipped = gzip.compress(b"<html><body><p>" + b"a" * 3_000_000 + b"</p></body></html>")
        return {
            "/article/harbor-ferry": Response(body=harbor.encode()),
            "/article/mountain-rail": Response(body=rail.encode()),
            "/article/offsite-canonical": Response(body=offsite.encode()),
            "/article/latin1": Response(
                body=latin1.encode("latin-1"), content_type="text/html; charset=ISO-8859-1"
            ),
            "/nav-only": Response(
                body=b"<html><body><nav><a href='/'>Home</a></nav></body></html>"
            ),
            "/plain": Response(
                body=b"Title: Plain Dispatch\nAuthor: Ivo Lund\n\nA plain text report.\n",
                content_type="text/plain; charset=utf-8",
            ),
            "/feed.rss": Response(
                body=self.rss_feed().encode(), content_type="application/rss+xml"
            ),
            "/feed-as-xml": Response(body=self.rss_feed().encode(), content_type="text/xml"),
            "/feed-octet": Response(
                body=self.rss_feed().encode(), content_type="application/octet-stream"
            ),
            "/atom.xml": Response(
                body=self.atom_feed().encode(), content_type="application/atom+xml"
            ),
            "/bad-feed": Response(
                body=b"<?xml version='1.0'?><rss><channel><item><title>Broken",
                content_type="application/rss+xml",
            ),
            "/binary": Response(
                body=bytes(range(256)) * 64, content_type="application/octet-stream"
            ),
            "/image.png": Response(body=b"\x89PNG\r\n\x1a\n" + bytes(64), content_type="image/png"),
            "/report.pdf": Response(body=b"%PDF-1.7\n%\xe2\xe3", content_type="application/pdf"),
            "/gzip-bomb": Response(body=gzipped, headers=(("Content-Encoding", "gzip"),)),
        }

    def rss_feed(self) -> str:
        """RSS 2.0: a fetchable link, a 404 link with a summary, one with nothing, one unlinked."""
        return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>The Coastal Gazette</title><link>{self.url("/")}</link>
<description>Coastal news</description>
<item><title>Harbor Town Opens New Ferry Line</title>
<link>{self.url("/article/harbor-ferry?utm_source=rss")}</link>
<pubDate>Wed, 04 Mar 2026 23:30:00 -0500</pubDate><description>Teaser.</description></item>
<item><title>Lighthouse Keeper Retires</title><link>{self.url("/missing/lighthouse")}</link>
<pubDate>Tue, 03 Mar 2026 08:00:00 GMT</pubDate><author>desk@gazette.example (Ola Berg)</author>
<description>&lt;p&gt;After &lt;b&gt;thirty&lt;/b&gt; years the keeper of the north light
retires.&lt;/p&gt;&lt;p&gt;A party is planned.&lt;/p&gt;</description></item>
<item><title>Vanished Story</title><link>{self.url("/missing/vanished")}</link></item>
<item><title>Tide Table Changes</title><guid isPermaLink="false">gazette-tides-2026</guid>
<content:encoded><![CDATA[<p>The spring tide tables change on Monday.</p>
<p>Check the new times before sailing.</p>]]></content:encoded></item>
</channel></rss>"""

    def atom_feed(self) -> str:
        return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Valley Courier</title>
<id>urn:valley-courier</id><updated>2026-03-06T10:00:00Z</updated>
<entry><title>Mountain Railway Reaches Alder</title><id>urn:rail</id>
<link href="{self.url("/article/mountain-rail")}"/><published>2026-03-06T10:00:00Z</published>
<author><name>Pia Stone</name></author><summary>Teaser.</summary></entry>
<entry><title>Market Day Moves</title><id>urn:market</id><updated>2026-03-05T10:00:00Z</updated>
<content type="html">&lt;p&gt;Market day moves to Thursday this spring.&lt;/p&gt;</content>
</entry></feed>"""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    article_server: ArticleServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up early (size cap, timeout) is expected here, not an error."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    server_version = "ArticleServer/1.0"

    def do_GET(self) -> None:
        app = self.app
        parts = urlsplit(self.path)
        app.requests.append(Recorded(parts.path, dict(self.headers.items())))
        if parts.path in app._streams:
            app._streams[parts.path](self)
            return
        if parts.path == "/echo-host":
            host = str(self.headers.get("Host")).encode()
            self._send(Response(body=host, content_type="text/plain"))
            return
        self._send(app.route(parts.path, parse_qs(parts.query)))

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    @property
    def app(self) -> ArticleServer:
        return self.server.article_server

    def headers_only(self, content_type: str = "text/html", length: int | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()


def _slow(handler: _Handler) -> None:
    """Answer nothing for up to 10 s (until the server stops)."""
    if handler.app.stopping.wait(10):
        return
    handler.headers_only()


def _trickle(handler: _Handler) -> None:
    """Headers at once, then one byte every 50 ms: each read is quick, the whole is not."""
    handler.headers_only()
    _write_until_stopped(handler, b"<", interval=0.05)


def _huge(handler: _Handler) -> None:
    """An endless body with no Content-Length: only a streaming cap stops it."""
    handler.headers_only()
    _write_until_stopped(handler, b"<p>" + b"x" * 65_536 + b"</p>", interval=0)


def _huge_declared(handler: _Handler) -> None:
    """A Content-Length of 50 MB: a client can refuse before reading anything."""
    handler.headers_only(length=50_000_000)
    _write_until_stopped(handler, b"x" * 65_536, interval=0.01)


def _write_until_stopped(handler: _Handler, chunk: bytes, *, interval: float) -> None:
    """Write `chunk` repeatedly until the client hangs up or the server stops (max 10 s)."""
    for _ in range(int(10 / interval) if interval else 2_000):
        if handler.app.stopping.wait(interval):
            return
        try:
            handler.wfile.write(chunk)
            handler.wfile.flush()
        except OSError:
            return


@pytest.fixture(scope="session")
def article_server() -> Iterator[ArticleServer]:
    """One fake news site for the whole session; stopped (and joined) at the end."""
    server = ArticleServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
