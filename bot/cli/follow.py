"""`articlebot follow TOPIC --since DATE`: what a chat following TOPIC would have been sent.

The same matcher and story check as the bot's deliveries (`retrieval.news.follow`), over
the articles stored (or, with --published, published) since DATE; nothing is stored.
"""

from __future__ import annotations

import json
from datetime import date

import click

from bot.cli.dates import parse_date
from bot.cli.main import AppContext, handle_errors
from bot.cli.render import source_line
from retrieval.news.follow import Match, TopicMatcher, plan
from retrieval.news.retriever import NewsRetriever
from retrieval.search.retriever import HybridRetriever
from retrieval.store.follows import FollowStore
from retrieval.store.index import ArticleIndex

pass_app = click.make_pass_decorator(AppContext)


@click.command()
@click.argument("topic")
@click.option(
    "--since",
    required=True,
    callback=parse_date,
    metavar="YYYY-MM-DD",
    help="Articles stored (added to the index) on or after this day.",
)
@click.option(
    "--published",
    is_flag=True,
    help="Count --since by publication date instead of the day articles were stored.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
@handle_errors
def follow(app: AppContext, topic: str, since: date, published: bool, as_json: bool) -> None:
    """List what /follow TOPIC in the Telegram bot would have sent for the articles stored
    since a day: one message per story, its headline, outlet, date and matching sentence.

    Stores nothing. A match is an article the refusal model finds answers TOPIC with at
    least ARTICLEBOT_FOLLOW_MIN_PROBABILITY; copies and later reports of a story listed
    already are left out, as the bot leaves them out.

    \b
    Example usage:
        articlebot follow "Sallow Street Bridge" --since 2026-01-01 --published
        articlebot follow "battery recycling plant" --since 2026-03-01 --json
    """
    topic = " ".join(topic.split())
    if not topic:
        raise click.BadParameter("the topic is empty", param_hint="TOPIC")
    settings = app.settings
    with ArticleIndex(settings, must_exist=True) as index:
        day = since.isoformat()
        store = FollowStore(index.catalog)
        ids = store.since(published=day) if published else store.since(stored=day)
        retriever = (NewsRetriever if settings.news_aware else HybridRetriever)(index)
        matcher = TopicMatcher(retriever, settings.follow_min_probability, k=settings.top_k)
        found = plan(matcher, index, topic, ids, set())
    if as_json:
        payload = {
            "topic": topic,
            "since": day,
            "by": "published" if published else "stored",
            "articles_considered": len(ids),
            "matches": [m.to_dict() for m in found],
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    click.echo(_summary(topic, len(ids), found, "published" if published else "stored", day))
    for match in found:
        click.echo("")
        click.echo(_shown(match))


def _summary(topic: str, considered: int, found: list[Match], by: str, day: str) -> str:
    messages = "1 message" if len(found) == 1 else f"{len(found)} messages"
    articles = "1 article" if considered == 1 else f"{considered} articles"
    return f"“{topic}”: {messages} from {articles} {by} since {day}."


def _shown(match: Match) -> str:
    lines = [source_line(match.citation)]
    if match.article.url:
        lines.append(f"    {match.article.url}")
    lines.append(f'    "{match.citation.quote}"')
    return "\n".join(lines)
