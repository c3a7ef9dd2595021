"""The `articlebot eval` command: measure retrieval, answers and refusals on a labelled set."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from bot.cli.main import AppContext, handle_errors
from bot.cli.progress import TerminalProgress
from bot.settings import Settings
from ingest import ingest_articles, run_ingest
from ingest.eval_corpus import load_any_articles
from retrieval import ArticleIndex
from retrieval.evaluation.news_checks import NewsReport, load_checks, run_news_eval
from retrieval.evaluation.qa import (
    MODES,
    EvalDataError,
    EvalOptions,
    EvalReport,
    ModeMetrics,
    load_questions,
    load_stories,
    run_eval,
)

pass_app = click.make_pass_decorator(AppContext)

_COLUMNS: tuple[tuple[str, str], ...] = (
    ("R@1", "recall_at_1"),
    ("R@5", "recall_at_5"),
    ("R@10", "recall_at_10"),
    ("MRR", "mrr"),
    ("ans\ngold", "answer_containment"),
    ("cite\nprec", "citation_precision"),
    ("false\nrefus", "false_refusal_rate"),
    ("OOC\nrefus", "refusal_rate_out_of_corpus"),
    ("unans\nrefus", "refusal_rate_unanswerable"),
    ("p50\nms", "p50_ms"),
    ("p95\nms", "p95_ms"),
    ("ans\nchars", "mean_answer_chars"),
)

_LEGEND = (
    "ans gold: the answer contains a gold answer; cite prec: verbatim quotes holding one;"
    " refus: share refused of answerable (false), held-out (OOC) or unanswerable questions"
)


@click.command(name="eval")
@click.option(
    "--articles",
    "articles_path",
    required=True,
    type=click.Path(path_type=Path),
    help="JSON Lines of {id, title, text, url, site, published}, or any file or directory"
    " that `ingest` reads.",
)
@click.option(
    "--questions",
    "questions_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON Lines of {id, question, answers, article_id, answerable} (--news: checks).",
)
@click.option(
    "--news",
    is_flag=True,
    help="Check the news behaviours (timelines, conflicts, copies, recency, follow-ups).",
)
@click.option(
    "--retriever",
    "retrievers",
    multiple=True,
    type=click.Choice([*MODES, "all"]),
    help="Retriever mode to evaluate; repeat it for several (default: all).",
)
@click.option(
    "--out-of-corpus",
    type=click.FloatRange(0.0, 0.9),
    default=0.2,
    show_default=True,
    help="Share of articles held out of the index; their questions must be refused.",
)
@click.option(
    "--stories",
    "stories_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON Lines of {story, articles: [ids]}: each story is held out whole.",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the hold-out and --limit."
)
@click.option(
    "--limit", type=click.IntRange(min=1), help="Evaluate a seeded sample of N questions."
)
@click.option(
    "--k",
    type=click.IntRange(1, 50),
    default=10,
    show_default=True,
    help="Passages searched for recall/MRR.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
@handle_errors
def eval_command(
    app: AppContext,
    articles_path: Path,
    questions_path: Path,
    retrievers: tuple[str, ...],
    out_of_corpus: float,
    stories_path: Path | None,
    seed: int,
    limit: int | None,
    k: int,
    news: bool,
    as_json: bool,
) -> None:
    """Score retrieval, answers and refusals on a labelled question set, per retriever mode.

    The articles (a JSON Lines file as in the dev set, or any file or directory `ingest`
    reads, whose article ids are then ingest's) go into a throwaway index (your own index
    is not touched), except a seeded share held out so that questions about them test
    refusal (--out-of-corpus 0 keeps them all; with --stories, the share is of stories, each
    held out with all its reports). A question may carry "history", the questions asked
    before it in the same conversation: they are answered first, as in a chat. Metrics:
    recall@1/5/10 and MRR (a hit is a passage of the gold article holding a gold answer), answer
    containment, citation precision, refusal rates, latency and answer length.

    With --json one object is printed. For one mode its metrics are top-level keys
    (recall_at_1, mrr, ...) with "retriever": MODE. For several modes they are under
    "modes": {MODE: {...}} and the hybrid mode's metrics (or, without hybrid, the first
    mode's) are also repeated at top level, so `jq .recall_at_1` always works. "corpus"
    describes the run. A metric with no question of its kind is null.

    With --news each line of --questions is a check of one news behaviour ({id, kind,
    question, articles, values, history}; kinds: timeline, conflict, syndication, recency,
    frame). It prints the rate of each kind; --json gives {"mode": "news", "news": {KIND:
    {passed, total, rate}}, "checks": [...]}. The retriever options don't apply.

    \b
    Example usage:
        articlebot eval --articles samples/articles/ --questions samples/questions.jsonl \\
            --out-of-corpus 0
        articlebot eval --articles samples/news-dev/articles/ \\
            --stories samples/news-dev/stories.jsonl \\
            --questions samples/news-dev/questions-test.jsonl --retriever hybrid --limit 10 --seed 1
        articlebot eval --news --articles samples/articles/ --questions samples/news-checks.jsonl
    """
    if news:
        checks = load_checks(questions_path)
        news_report = run_news_eval(app.settings, [str(articles_path)], checks, _index_sources)
        if as_json:
            click.echo(json.dumps(news_report.to_dict(), ensure_ascii=False, indent=2))
        else:
            _print_news(news_report)
        return
    articles = load_any_articles(articles_path, app.settings)
    ids = {a.id for a in articles}
    questions = load_questions(questions_path, ids)
    stories = tuple(frozenset(s) for s in load_stories(stories_path, ids)) if stories_path else ()
    modes = tuple(m for m in MODES if m in retrievers or "all" in retrievers) or MODES
    options = EvalOptions(modes, out_of_corpus, seed, limit, k, stories)
    stderr = Console(stderr=True)
    display = TerminalProgress(stderr) if stderr.is_terminal else nullcontext()
    try:
        with display as progress:
            report = run_eval(app.settings, articles, questions, options, ingest_articles, progress)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    if as_json:
        click.echo(json.dumps(report_json(report), ensure_ascii=False, indent=2))
    else:
        _print_report(report)


def report_json(report: EvalReport) -> dict[str, Any]:
    """The --json shape: hybrid's (or the first mode's) metrics are always at top level."""
    first = next(iter(report.modes))
    corpus = {
        "articles": report.articles,
        "held_out": report.held_out,
        "seed": report.options.seed,
        "k": report.options.k,
        "answerer": report.answerer,
        "seconds": round(report.seconds, 1),
    }
    if len(report.modes) == 1:
        return {"retriever": first, **report.modes[first].to_dict(), "corpus": corpus}
    name = "all" if len(report.modes) == len(MODES) else ",".join(report.modes)
    modes = {mode: metrics.to_dict() for mode, metrics in report.modes.items()}
    return {"retriever": name, **modes[first], "modes": modes, "corpus": corpus}


def _print_report(report: EvalReport) -> None:
    table = Table("mode", box=None, pad_edge=False, collapse_padding=True)
    for title, _ in _COLUMNS:
        table.add_column(title, justify="right", overflow="fold")
    for mode, metrics in report.modes.items():
        table.add_row(mode, *(_cell(metrics, key) for _, key in _COLUMNS))
    console = Console(highlight=False)
    if not console.is_terminal:  # a file or pipe: never squeeze the table to 80 columns
        console = Console(highlight=False, width=160)
    console.print(table)
    n = next(iter(report.modes.values())).n_questions
    console.print(
        f"Corpus: {report.articles} articles, {report.held_out} held out of the index"
        f" (seed {report.options.seed}); {n} questions; {report.answerer} answerer;"
        f" k={report.options.k};"
        f" {report.seconds:.1f} s"
    )
    console.print(_LEGEND, style="dim")


def _cell(metrics: ModeMetrics, key: str) -> str:
    value: Any = getattr(metrics, key)
    if value is None:
        return "-"
    return f"{value:.0f}" if key.endswith(("_ms", "_chars")) else f"{value:.3f}"


def _print_news(report: NewsReport) -> None:
    table = Table("check", "passed", "total", "rate", box=None, pad_edge=False)
    for kind, row in report.rates().items():
        table.add_row(kind, str(row["passed"]), str(row["total"]), f"{row['rate']:.3f}")
    console = Console(highlight=False, width=160)
    console.print(table)
    for result in report.results:
        if not result.passed:
            console.print(f"failed {result.check.id} ({result.check.kind}): {result.detail}")
    passed = sum(r.passed for r in report.results)
    console.print(
        f"Corpus: {report.articles} articles; {passed}/{len(report.results)} checks passed;"
        f" {report.answerer} answerer; {report.seconds:.1f} s"
    )


def _index_sources(sources: Sequence[str], index: ArticleIndex, settings: Settings) -> None:
    """Ingest the news checks' sources; the first one that fails stops the eval."""
    report = run_ingest(list(sources), index, settings)
    if not report.ok:
        first = report.errors[0]
        raise EvalDataError(f"{first['source']}: {first['reason']}")
