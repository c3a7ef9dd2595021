"""Sync cost when little or nothing changed: 50 feeds x 100 entries served from 127.0.0.1.

    .venv/bin/python bench/bench_sync.py --feeds 50 --entries 100 --changed 0.05

A local server publishes the feeds (each entry links to a short article page on it) with
ETag and Last-Modified, and answers conditional requests with 304. The bench declares
every feed as a watched source in a fresh data directory and runs three syncs through
the real runner (fetch, extract, chunk, embed, store): the first (everything new), one
where nothing changed (every feed a 304), and one where a share of the entries changed
(their pages fetched again). Prints seconds and requests for each.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import tempfile
import threading
import time
from collections import Counter
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bot.settings import Settings
from ingest.sync.clock import SystemClock
from ingest.sync.runner import SyncRunner
from retrieval.store.index import ArticleIndex
from retrieval.store.sources import SourceStore


class Site:
    """The feeds and pages, their versions, and a count of the requests by kind."""

    def __init__(self, feeds: int, entries: int) -> None:
        self.titles = {
            (f, e): f"Feed {f} story {e}: the council and the harbour"
            for f in range(feeds)
            for e in range(entries)
        }
        self.entries = entries
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.port = 0

    def change(self, share: float, rng: random.Random) -> int:
        chosen = rng.sample(sorted(self.titles), round(len(self.titles) * share))
        for key in chosen:
            self.titles[key] += " (updated)"
        return len(chosen)

    def feed(self, f: int) -> bytes:
        items = "".join(
            f"<item><title>{self.titles[(f, e)]}</title>"
            f"<link>http://127.0.0.1:{self.port}/a/{f}/{e}</link><guid>s-{f}-{e}</guid>"
            f"<description>Teaser {e}.</description></item>"
            for e in range(self.entries)
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Outlet {f}</title><link>http://127.0.0.1/</link>"
            f"<description>news</description>{items}</channel></rss>"
        ).encode()

    def page(self, f: int, e: int) -> bytes:
        title = self.titles[(f, e)]
        body = "".join(
            f"<p>Paragraph {p} of story {e} from outlet {f}: the council met about the harbour"
            f" ferry, the budget line {f * 1000 + e * 10 + p} and the night crossing.</p>"
            for p in range(4)
        )
        return (
            f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
            f"{body}</article></body></html>"
        ).encode()


def serve(site: Site) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            headers = {"Content-Type": "text/html; charset=utf-8"}
            status = 200
            if parts[0] == "feeds":
                body = site.feed(int(parts[1].removesuffix(".xml")))
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                headers = {
                    "Content-Type": "application/rss+xml",
                    "ETag": etag,
                    "Last-Modified": formatdate(1_770_000_000, usegmt=True),
                }
                if self.headers.get("If-None-Match") == etag:
                    status, body = 304, b""
                kind = "feed 304" if status == 304 else "feed 200"
            else:
                body, kind = site.page(int(parts[1]), int(parts[2])), "page"
            with site.lock:
                site.requests[kind] += 1
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    site.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def sync(runner: SyncRunner, site: Site, label: str) -> None:
    site.requests.clear()
    started = time.perf_counter()
    reports = runner.run_due()
    seconds = time.perf_counter() - started
    added = sum(r.ingest.added for r in reports)
    updated = sum(r.ingest.updated for r in reports)
    failed = [r.error for r in reports if r.status == "failed"]
    assert not failed, failed
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(site.requests.items()))
    print(
        f"{label:<22} {seconds:7.2f} s  {sum(site.requests.values()):5d} requests ({counts});"
        f" {added} added, {updated} updated"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--entries", type=int, default=100)
    parser.add_argument("--changed", type=float, default=0.05, help="share of entries changed")
    args = parser.parse_args()
    site = Site(args.feeds, args.entries)
    server = serve(site)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, data_dir=Path(tmp) / "data", feed_max_entries=args.entries
        )
        with ArticleIndex(settings) as index:
            store = SourceStore(index.catalog)
            for f in range(args.feeds):
                url = f"http://127.0.0.1:{site.port}/feeds/{f}.xml"
                store.add(url, "feed", f"outlet {f}", 900, now=time.time(), allow_private=True)
            runner = SyncRunner(
                index,
                settings,
                clock=SystemClock(),
                rng=random.Random(1),
                every_source=True,
                allow_private_addresses=True,
            )
            total = args.feeds * args.entries
            print(f"{args.feeds} feeds x {args.entries} entries = {total} entries")
            sync(runner, site, "first sync")
            sync(runner, site, "nothing changed")
            changed = site.change(args.changed, random.Random(7))
            sync(runner, site, f"{changed} entries changed")
    server.shutdown()


if __name__ == "__main__":
    main()
