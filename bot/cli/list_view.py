"""`articlebot list` on a terminal: every id printed whole, whatever the width.

An id is what `remove` takes, so it is copied from this list: a cut ("vw-20260319-sallo…")
or wrapped id cannot be removed. The table is used when the widest id fits beside a
readable title; on a narrower terminal each article takes two lines instead (its date, site,
title and chunks, wrapped as needed, then its id alone on the next line, never wrapped).
"""

from __future__ import annotations

from collections.abc import Sequence

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from retrieval.news.datelines import published_label
from retrieval.store.catalog import StoredArticle

#: Narrowest widths the table gives the columns it may wrap.
MIN_TITLE = 24
MIN_SITE = 12
#: The widths of the fixed columns (date, chunks) and the gaps between the five columns.
FIXED = len("published") + len("chunks") + 2 * 5


def print_article_list(stored: Sequence[StoredArticle], console: Console) -> None:
    """Print the articles as a table, or two lines each when ids would not fit."""
    if not stored:
        return
    id_width = max(len(s.article.id) for s in stored)
    if id_width + MIN_TITLE + MIN_SITE + FIXED <= console.width:
        console.print(_table(stored, id_width))
    else:
        _stacked(stored, console)


def _title(s: StoredArticle) -> str:
    return escape(s.article.title) + ("" if s.indexed else " [yellow](pending)[/]")


def _table(stored: Sequence[StoredArticle], id_width: int) -> Table:
    table = Table(box=None)
    table.add_column("published", no_wrap=True)
    table.add_column("site", min_width=MIN_SITE, overflow="fold")
    table.add_column("title", min_width=MIN_TITLE, overflow="fold")
    table.add_column("chunks", no_wrap=True)
    table.add_column("id", no_wrap=True, min_width=id_width, overflow="ignore")
    for s in stored:
        a = s.article
        table.add_row(
            published_label(a), escape(a.site or ""), _title(s), str(s.chunk_count), escape(a.id)
        )
    return table


def _stacked(stored: Sequence[StoredArticle], console: Console) -> None:
    for s in stored:
        a = s.article
        site = f"  {escape(a.site)}" if a.site else ""
        console.print(
            f"{published_label(a)}{site}  {_title(s)} ({_chunks(s.chunk_count)})", soft_wrap=False
        )
        click.echo(f"    {a.id}")  # never wrapped by us: a terminal's soft wrap copies whole


def _chunks(count: int) -> str:
    return f"{count} chunk" if count == 1 else f"{count} chunks"
