"""Commands that build and inspect the index: ingest, list, remove, stats."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from datetime import date
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from bot.cli.dates import check_dates, parse_date
from bot.cli.errors import require_writable
from bot.cli.list_view import print_article_list
from bot.cli.main import AppContext, handle_errors
from bot.cli.progress import TerminalProgress
from ingest import IngestReport, run_ingest
from retrieval import ArticleIndex, IndexStats
from retrieval.news.scope import in_scope, resolve_scope

pass_app = click.make_pass_decorator(AppContext)


def _print_json(payload: Any) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2))


@click.command()
@click.argument("sources", nargs=-1)
@click.option("--glob", "pattern", help="Only files matching this pattern in directories.")
@click.option("--rebuild", is_flag=True, help="Re-chunk and re-embed every stored article.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object, no progress.")
@click.option(
    "--allow-private",
    is_flag=True,
    help=(
        "Fetch the URLs given here even from private or loopback addresses (an intranet,"
        " localhost); links and redirects to other hosts are still checked."
    ),
)
@pass_app
@handle_errors
def ingest(
    app: AppContext,
    sources: tuple[str, ...],
    pattern: str | None,
    rebuild: bool,
    as_json: bool,
    allow_private: bool,
) -> None:
    """Load articles from files, directories, URLs or RSS/Atom feeds into the index.

    Files: .txt, .md, .html, .json, .jsonl, RSS/Atom (.xml, .rss, .atom), .pdf and .docx.

    Ingesting an unchanged article again does nothing; a changed one replaces its old
    passages. Exit status is 1 when any source failed (the others are still stored).

    \b
    Example usage:
        articlebot ingest samples/articles/
        articlebot ingest samples/articles/ --glob '*.md'
        articlebot ingest https://example.com/story.html https://example.com/feed.xml
        articlebot ingest --rebuild        # after changing the embedder or chunk size
        articlebot ingest --allow-private http://intranet.local/feed.xml
    """
    if not sources and not rebuild:
        raise click.UsageError("give at least one file, directory, URL or feed (or --rebuild)")
    settings = app.settings
    require_writable(settings, "ingest")
    stderr = Console(stderr=True)
    show_progress = not as_json and stderr.is_terminal
    display = TerminalProgress(stderr) if show_progress else nullcontext()
    try:
        with ArticleIndex(settings) as index, display as progress:
            report = run_ingest(
                list(sources),
                index,
                settings,
                pattern=pattern,
                rebuild=rebuild,
                progress=progress,
                allow_private=allow_private,
            )
    except KeyboardInterrupt:
        click.echo(
            "Interrupted: run the same command again to finish; nothing stored is lost.", err=True
        )
        sys.exit(130)
    if as_json:
        _print_json(report.to_dict())
    else:
        _print_report(report)
    if not report.ok:
        sys.exit(1)


def _print_report(report: IngestReport) -> None:
    console = Console(highlight=False, soft_wrap=True)
    for item in report.articles:
        if item["status"] not in ("unchanged", "elsewhere"):
            console.print(
                f"  {item['status']:<9} {escape(item['title'])} ({item['chunks']} chunks)"
            )
    for error in report.errors:
        click.echo(f"  failed    {error['source']}: {error['reason']}", err=True)
    if any(e["reason"].startswith("refused: ") for e in report.errors):
        click.echo(
            "  (a URL on a private or loopback address you trust: add --allow-private)", err=True
        )
    resumed = f", resumed {report.resumed}" if report.resumed else ""
    elsewhere = f", {report.elsewhere} being stored by another worker" if report.elsewhere else ""
    console.print(
        f"Added {report.added}, updated {report.updated}, unchanged {report.unchanged},"
        f" failed {report.failed}{resumed}{elsewhere}: {report.chunks} chunks in"
        f" {report.seconds:.1f} s"
    )


@click.command(name="list")
@click.option("--site", help="Only articles from this outlet: its name or domain.")
@click.option("--since", callback=parse_date, help="Only articles published on or after.")
@click.option("--until", callback=parse_date, help="Only articles published on or before.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_app
@handle_errors
def list_articles(
    app: AppContext, site: str | None, since: date | None, until: date | None, as_json: bool
) -> None:
    """List stored articles, newest first. Ids are printed whole, to copy into `remove`.

    \b
    Example usage:
        articlebot list
        articlebot list --site valleywire.example --since 2026-03-10
        articlebot list --json
    """
    check_dates(since, until)
    with ArticleIndex(app.settings, must_exist=True) as index:
        stored = index.articles()
        removing = len(index.catalog.removals())
    if site is not None or since or until:
        scope = resolve_scope([s.article for s in stored], site, since, until)
        stored = [s for s in stored if in_scope(s.article, scope)]
    if as_json:
        _print_json(
            [{**s.article.to_dict(), "chunks": s.chunk_count, "indexed": s.indexed} for s in stored]
        )
        return
    print_article_list(stored, Console(highlight=False, soft_wrap=True))
    click.echo(f"{len(stored)} articles{_removing_note(removing)}")


def _removing_note(removing: int) -> str:
    if not removing:
        return ""
    return f" ({removing} more being removed: the next ingest or remove finishes that)"


@click.command()
@click.argument("article")
@click.option("--json", "as_json", is_flag=True, help="Print the removed article as JSON.")
@pass_app
@handle_errors
def remove(app: AppContext, article: str, as_json: bool) -> None:
    """Remove one article (by id or URL) and all its passages.

    \b
    Example usage:
        articlebot remove https://harbourledger.example/2026/03/02/sallow-street-bridge-closed
        articlebot remove vw-20260312-sennet-seagrass
    """
    require_writable(app.settings, "remove")
    with ArticleIndex(app.settings, must_exist=True) as index:
        removed = index.remove(article)
        index.finish_run()
    if as_json:
        _print_json(removed.to_dict())
    else:
        click.echo(f"Removed {removed.title} ({removed.id})")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
@handle_errors
def stats(app: AppContext, as_json: bool) -> None:
    """Show what the index holds: articles, chunks, embedder, dates, size, location.

    \b
    Example usage:
        articlebot stats
    """
    with ArticleIndex(app.settings, must_exist=True) as index:
        summary = index.stats()
    if as_json:
        _print_json(summary.to_dict())
    else:
        _print_stats(summary)


def _print_stats(s: IndexStats) -> None:
    dates = (
        f"{s.oldest.isoformat()} to {s.newest.isoformat()}"
        if s.oldest and s.newest
        else "no dated articles"
    )
    if s.undated:
        dates += f" ({s.undated} with no date)"
    pending = f" ({s.pending} pending: run ingest again)" if s.pending else ""
    missing = (
        f" (vectors missing for {s.missing_vectors} articles: only BM25 finds them until"
        " the next `articlebot ingest`, of any source, re-embeds them)"
        if s.missing_vectors
        else ""
    )
    lines = [
        f"articles   {s.articles}{pending}{_removing_note(s.removing)}",
        f"chunks     {s.chunks}{missing}",
        f"embedder   {s.embedder or 'none yet'}" + (f" ({s.dimension}-d)" if s.dimension else ""),
        f"published  {dates}",
        f"store      {s.location}",
        f"data dir   {s.data_dir} ({s.size_bytes / 1e6:.1f} MB)",
        f"last run   {s.last_ingest or 'never'}",
    ]
    click.echo("\n".join(lines))
