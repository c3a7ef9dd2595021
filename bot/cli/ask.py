"""Commands that answer questions: ask (one question) and chat (a conversation)."""

from __future__ import annotations

import json
import sys
from datetime import date

import click

from bot.cli.dates import check_dates, parse_date
from bot.cli.errors import require_utf8
from bot.cli.main import AppContext, handle_errors
from bot.cli.render import render_answer, render_sources
from retrieval import ArticleIndex
from retrieval.answer.base import Answerer
from retrieval.news.scope import resolve_scope
from retrieval.pipeline import make_answerer
from retrieval.types import Answer, SearchFilters, Turn

pass_app = click.make_pass_decorator(AppContext)


def filter_options(func: click.decorators.FC) -> click.decorators.FC:
    """The search options shared by ask and chat."""
    options = [
        click.option("--k", "k", type=click.IntRange(1, 50), help="Passages to retrieve."),
        click.option("--since", callback=parse_date, help="Only articles published on or after."),
        click.option("--until", callback=parse_date, help="Only articles published on or before."),
        click.option(
            "--site", help="Only articles from this outlet: its name or domain (see `list`)."
        ),
        click.option("--recent", is_flag=True, help="Prefer the newest relevant articles."),
        click.option(
            "--retriever",
            type=click.Choice(["hybrid", "dense", "lexical"]),
            default="hybrid",
            show_default=True,
            help="How passages are found.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _filters(
    app: AppContext,
    index: ArticleIndex,
    k: int | None,
    since: date | None,
    until: date | None,
    site: str | None,
    recent: bool,
) -> SearchFilters:
    """The search limits, with `--site` resolved to a stored outlet (by name or domain).

    An unknown outlet or an empty date range is a one-line error listing the outlets.
    """
    if site is not None or since or until:
        articles = [s.article for s in index.articles() if s.indexed]
        scope = resolve_scope(articles, site, since, until)
        site = scope.site
    return SearchFilters(
        k=k or app.settings.top_k, site=site, since=since, until=until, prefer_recent=recent
    )


@click.command()
@click.argument("question")
@filter_options
@click.option(
    "--timeline", is_flag=True, help="List the dated events about the topic, oldest first."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
@handle_errors
def ask(
    app: AppContext,
    question: str,
    k: int | None,
    since: date | None,
    until: date | None,
    site: str | None,
    recent: bool,
    retriever: str,
    timeline: bool,
    as_json: bool,
) -> None:
    """Answer a question from the stored articles, citing the passages used.

    Prints the answer with [n] markers, then each source with its title, site, date, URL
    and the exact quoted sentence. When the articles don't answer, it says so. Questions
    about "latest", "now" or "still" prefer the newest articles; "What happened with X?"
    (or --timeline X) lists the dated events. With --json, "events" holds a timeline and
    "conflicts" the figures the sources disagree on.

    \b
    Example usage:
        articlebot ask "When does the Sallow Street Bridge reopen?"
        articlebot ask "What did the council decide?" --since 2026-03-10 --site valleywire.example
        articlebot ask "How many jobs will the plant create?" --json
        articlebot ask --timeline "Sallow Street Bridge"
    """
    if not require_utf8(question, "question").strip():
        raise click.UsageError("the question is empty")
    check_dates(since, until)
    with ArticleIndex(app.settings, must_exist=True) as index:
        filters = _filters(app, index, k, since, until, site, recent)
        answerer = make_answerer(app.settings, index, retriever)  # type: ignore[arg-type]
        if timeline or as_json:
            answer = (answerer.timeline if timeline else answerer.answer)(question, (), filters)
        else:
            answer = _stream(answerer, question, [], filters)
        if answer.notice:
            click.echo(answer.notice, err=True)
        if as_json:
            click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        else:
            click.echo(render_answer(answer))


def _stream(
    answerer: Answerer, question: str, history: list[Turn], filters: SearchFilters
) -> Answer:
    """Show an LLM's answer as it is written (on a terminal), then return the final one."""
    final: Answer | None = None
    shown = False
    for piece in answerer.stream(question, history, filters):
        if isinstance(piece, Answer):
            final = piece
        elif _is_terminal() and len(piece) < 200:
            click.echo(piece, nl=False, err=True)
            shown = True
    if shown:
        click.echo("\r\033[K", nl=False, err=True)
    assert final is not None
    return final


def _is_terminal() -> bool:
    return sys.stderr.isatty()


CHAT_HELP = "Ask anything about the articles. /sources, /reset, /help; Ctrl-D to leave."


@click.command()
@filter_options
@pass_app
@handle_errors
def chat(
    app: AppContext,
    k: int | None,
    since: date | None,
    until: date | None,
    site: str | None,
    recent: bool,
    retriever: str,
) -> None:
    """Talk with the articles: follow-up questions understand the previous turns.

    \b
    In the chat:
        /sources   show the sources of the last answer again
        /reset     forget the conversation
        /help      this list
        Ctrl-D     leave

    \b
    Example usage:
        articlebot chat
        articlebot chat --since 2026-03-10
    """
    check_dates(since, until)
    with ArticleIndex(app.settings, must_exist=True) as index:
        filters = _filters(app, index, k, since, until, site, recent)
        answerer = make_answerer(app.settings, index, retriever)  # type: ignore[arg-type]
        _chat_loop(answerer, filters, app.settings.history_turns)


def _chat_loop(answerer: Answerer, filters: SearchFilters, max_turns: int) -> None:
    click.echo(CHAT_HELP)
    history: list[Turn] = []
    last: Answer | None = None
    while True:
        try:
            line = click.prompt("", prompt_suffix="> ", default="", show_default=False)
        except (EOFError, click.Abort):
            click.echo("")
            return
        try:
            text = require_utf8(line, "question").strip()
        except click.ClickException as exc:
            click.echo(f"Error: {exc.message}", err=True)
            continue
        if not text:
            continue
        if text == "/help":
            click.echo(CHAT_HELP)
        elif text == "/reset":
            history, last = [], None
            click.echo("Conversation forgotten.")
        elif text == "/sources":
            click.echo(render_sources(last) if last else "Nothing asked yet.")
        elif text.startswith("/"):
            click.echo(f"Unknown command {text.split()[0]}. {CHAT_HELP}")
        else:
            last = _stream(answerer, text, history, filters)
            if last.notice:
                click.echo(last.notice, err=True)
            click.echo(render_answer(last) + "\n")
            history = (history + [Turn(text, last.text)])[-max_turns:] if max_turns else []
