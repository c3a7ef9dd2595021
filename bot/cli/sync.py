"""Commands that keep the collection current: `sources add|list|remove` and `watch`.

Sources live in the data directory's catalog (`retrieval.store.sources`); `watch` runs
them through the ingest pipeline on their schedule (`ingest.sync`).
"""

from __future__ import annotations

import json
import random
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from rich.console import Console

from bot.cli.errors import require_writable
from bot.cli.main import AppContext, handle_errors
from bot.cli.progress import TerminalProgress
from bot.observability.health import store_readiness
from bot.observability.metrics import Metrics
from bot.observability.server import start_monitor
from bot.settings import Settings
from ingest.fetch import Fetcher, without_userinfo
from ingest.formats import FORMATS, SUPPORTED
from ingest.sources import is_url
from ingest.sync.clock import SystemClock
from ingest.sync.interval import format_interval, parse_interval
from ingest.sync.report import SourceReport
from ingest.sync.runner import SyncRunner
from ingest.sync.schedule import watch as watch_loop
from ingest.sync.stop import Cancelled, StopSignal
from retrieval.errors import SourceError
from retrieval.store.catalog import Catalog
from retrieval.store.index import ArticleIndex
from retrieval.store.sources import Source, SourceKind, SourceStore

pass_app = click.make_pass_decorator(AppContext)
_FEED_HINTS = (".xml", ".rss", ".atom", "/feed", "/rss", "feed.", "rss.", "atom.")


@contextmanager
def _sources(settings: Settings) -> Iterator[SourceStore]:
    catalog = Catalog(settings.catalog_location, busy_timeout=settings.busy_timeout)
    try:
        yield SourceStore(catalog)
    finally:
        catalog.close()


@click.group()
def sources() -> None:
    """Declare the feeds, pages and folders that `articlebot watch` keeps in step.

    \b
    Example usage:
        articlebot sources add https://example.com/feed.xml --every 15m
        articlebot sources add samples/articles/ --every 1h --name desk
        articlebot sources list
        articlebot sources remove desk
    """


@sources.command(name="add")
@click.argument("location")
@click.option("--every", "every", help="How often to sync it: 90s, 15m, 2h, 1d (default 15m).")
@click.option("--name", help="A short name for lists and `sources remove` (default: from it).")
@click.option(
    "--allow-private",
    is_flag=True,
    help="A URL on a private or loopback address you trust (an intranet, localhost).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the source as JSON.")
@pass_app
@handle_errors
def add_source(
    app: AppContext,
    location: str,
    every: str | None,
    name: str | None,
    allow_private: bool,
    as_json: bool,
) -> None:
    """Watch a feed or page URL, or a folder or file, from now on.

    A URL must pass the same address check as `articlebot ingest` (private and loopback
    addresses only with --allow-private); a path must exist. The first `articlebot watch`
    syncs it at once.
    """
    settings = app.settings
    interval = settings.sync_default_interval
    if every is not None:
        try:
            interval = parse_interval(every)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    location, kind = _checked_location(settings, location, allow_private)
    require_writable(settings, "sources add")
    with _sources(settings) as store:
        if name is not None and not name.strip():
            raise click.ClickException("the name is empty")
        chosen = name.strip() if name else _free_name(store, _default_name(location, kind))
        source = store.add(
            location,
            kind,
            chosen,
            interval,
            now=SystemClock().now(),
            allow_private=allow_private,
        )
    if as_json:
        click.echo(json.dumps(_source_dict(source, SystemClock().now()), indent=2))
        return
    click.echo(
        f"Watching {source.kind} {source.name} (#{source.id}) every"
        f" {format_interval(source.interval)}: `articlebot watch` keeps it current."
    )


def _checked_location(
    settings: Settings, location: str, allow_private: bool
) -> tuple[str, SourceKind]:
    """The location to store and its kind; one-line ClickException if it is unusable."""
    location = location.strip()
    if not location:
        raise click.ClickException("give a URL, a folder or a file")
    if is_url(location):
        trusted = [location] if allow_private else []
        try:
            with Fetcher(settings, trusted_urls=trusted) as fetcher:
                fetcher.check(location)
        except SourceError as exc:
            hint = " (add --allow-private if you trust it)" if "refused" in exc.reason else ""
            raise click.ClickException(f"{exc}{hint}") from None
        url_path = urlsplit(location).path.lower()
        return location, "feed" if any(h in url_path for h in _FEED_HINTS) else "page"
    path = Path(location).expanduser()
    if not path.exists():
        raise click.ClickException(f"{location}: no such file or directory")
    resolved = path.resolve()
    if resolved.is_dir():
        return str(resolved), "folder"
    if not resolved.is_file():
        raise click.ClickException(f"{location}: not a regular file or folder")
    if resolved.suffix.lower() not in FORMATS:
        raise click.ClickException(
            f"{location}: unsupported file type '{resolved.suffix}' (supported: {SUPPORTED})"
        )
    return str(resolved), "file"


def _default_name(location: str, kind: SourceKind) -> str:
    if kind in ("feed", "page"):
        parts = urlsplit(without_userinfo(location))
        host = parts.hostname or "source"
        return host.removeprefix("www.") + (parts.path.rstrip("/") or "")
    return Path(location).name or location


def _free_name(store: SourceStore, wanted: str) -> str:
    taken = {s.name for s in store.all()}
    name, number = wanted, 2
    while name in taken:
        name, number = f"{wanted} ({number})", number + 1
    return name


@sources.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_app
@handle_errors
def list_sources(app: AppContext, as_json: bool) -> None:
    """List watched sources: kind, interval, last success, last error, articles added,
    next run.

    \b
    Example usage:
        articlebot sources list
        articlebot sources list --json
    """
    settings = app.settings
    found: list[Source] = []
    if settings.catalog_exists():
        catalog = Catalog(
            settings.catalog_location,
            busy_timeout=settings.busy_timeout,
            read_only=not settings.shared_catalog and not _writable(settings),
        )
        try:
            found = SourceStore(catalog).all()
        finally:
            catalog.close()
    now = SystemClock().now()
    if as_json:
        click.echo(json.dumps([_source_dict(s, now) for s in found], indent=2))
        return
    if not found:
        click.echo("No sources: add one with `articlebot sources add URL|FOLDER`.")
        return
    for s in found:
        last = _ago(s.last_success, now) if s.last_success else "never"
        click.echo(
            f"#{s.id:<3} {s.name}  {s.kind}, every {format_interval(s.interval)},"
            f" last success {last}, {s.articles_added} articles added, next run"
            f" {_when(s.next_run, now)}"
        )
        click.echo(f"     {without_userinfo(s.location)}")
        if s.last_error:
            failures = f" ({s.failures} failures in a row)" if s.failures > 1 else ""
            click.echo(f"     last error: {s.last_error}{failures}")


def _writable(settings: Settings) -> bool:
    from retrieval.store.fs import is_writable

    return is_writable(settings.data_dir)


@sources.command(name="remove")
@click.argument("source")
@pass_app
@handle_errors
def remove_source(app: AppContext, source: str) -> None:
    """Stop watching a source (by number, name or location).

    The articles it already stored stay in the index: remove those with
    `articlebot remove` if you want them gone.
    """
    settings = app.settings
    require_writable(settings, "sources remove")
    if not settings.catalog_exists():
        raise click.ClickException(f"no source {source!r}: see `articlebot sources list`")
    with _sources(settings) as store:
        found = store.find(source)
        if found is None:
            raise click.ClickException(f"no source {source!r}: see `articlebot sources list`")
        store.remove(found.id)
    click.echo(
        f"Stopped watching {found.name} (#{found.id}); the {found.articles_added} articles"
        " it added stay in the index."
    )


@click.command()
@click.option("--once", is_flag=True, help="Run the sources that are due, then exit (cron).")
@click.option("--all", "every_source", is_flag=True, help="With --once: every source, due or not.")
@click.option(
    "--keep-deleted",
    is_flag=True,
    help="Keep the articles of files deleted from a watched folder (default: remove them).",
)
@click.option("--json", "as_json", is_flag=True, help="JSON: one object (--once) or a line each.")
@pass_app
@handle_errors
def watch(
    app: AppContext, once: bool, every_source: bool, keep_deleted: bool, as_json: bool
) -> None:
    """Keep the index current: sync each watched source on its schedule until stopped.

    Feeds and pages are fetched with conditional requests (unchanged: one cheap request)
    and only new or changed entries are fetched; folders add new and changed files and
    remove the articles of deleted files. A failing source is retried later and later
    (its reason in `sources list`). Ctrl-C or SIGTERM stops between articles; nothing
    half-stored remains. Two watch processes on one data directory share the work.

    Run `articlebot watch` alone to keep syncing until stopped (a service); --once suits
    cron or a systemd timer.

    \b
    Example usage:
        articlebot watch --once
        articlebot watch --once --all --json
    """
    if every_source and not once:
        raise click.UsageError("--all goes with --once")
    settings = app.settings
    require_writable(settings, "watch")
    stop = StopSignal()
    stderr = Console(stderr=True)
    display = TerminalProgress(stderr) if not as_json and stderr.is_terminal else nullcontext()
    reports: list[SourceReport] = []
    started = SystemClock().now()

    metrics = Metrics()

    def show(report: SourceReport) -> None:
        reports.append(report)
        metrics.synced(report)
        if as_json and not once:
            click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
        elif not as_json:
            click.echo(("  " if report.status != "failed" else "! ") + report.line())

    with _signals(stop), ArticleIndex(settings) as index, display as progress:
        runner = SyncRunner(
            index,
            settings,
            clock=SystemClock(),
            rng=random.Random(),
            stop=stop,
            keep_deleted=keep_deleted,
            every_source=every_source,
            progress=progress,
        )
        if not once and not as_json:
            count = len(runner.store.all())
            click.echo(f"Watching {count} sources; Ctrl-C stops.", err=True)
        readiness = store_readiness(settings, lambda: index.client)
        monitor = start_monitor(settings, readiness, metrics) if not once else None
        try:
            if once:
                runner.run_due(show)
            else:
                watch_loop(runner, show)
        except Cancelled:
            click.echo("Stopped; the interrupted source runs again next time.", err=True)
        finally:
            if monitor is not None:
                monitor.close()
    if once:
        _summary(reports, as_json, SystemClock().now() - started)
    if once and any(r.status == "failed" for r in reports):
        sys.exit(1)


def _summary(reports: list[SourceReport], as_json: bool, seconds: float) -> None:
    if as_json:
        payload = {"sources": [r.to_dict() for r in reports], "seconds": round(seconds, 3)}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    if not reports:
        click.echo("No source was due.")
        return
    added = sum(r.ingest.added for r in reports)
    updated = sum(r.ingest.updated for r in reports)
    removed = sum(len(r.removed) for r in reports)
    failed = sum(r.status == "failed" for r in reports)
    click.echo(
        f"Synced {len(reports)} sources: {added} added, {updated} updated, {removed} removed,"
        f" {failed} sources failed in {seconds:.1f} s"
    )


@contextmanager
def _signals(stop: StopSignal) -> Iterator[None]:
    """SIGINT and SIGTERM ask the sync to stop (cancelling a fetch in flight)."""
    previous = {sig: signal.signal(sig, stop.handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _source_dict(s: Source, now: float) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "kind": s.kind,
        "location": without_userinfo(s.location),
        "interval_seconds": s.interval,
        "every": format_interval(s.interval),
        "last_run": _iso(s.last_run),
        "last_success": _iso(s.last_success),
        "last_error": s.last_error,
        "failures": s.failures,
        "articles_added": s.articles_added,
        "next_run": _iso(s.next_run),
        "due": s.next_run <= now,
    }


def _iso(when: float | None) -> str | None:
    if when is None:
        return None
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="seconds")


def _ago(when: float, now: float) -> str:
    return f"{_span(now - when)} ago"


def _when(when: float, now: float) -> str:
    return "now (due)" if when <= now else f"in {_span(when - now)}"


def _span(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f}m"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


__all__ = ["sources", "watch"]
