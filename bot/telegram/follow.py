"""Follow a topic: `/follow <topic>`, `/following`, `/unfollow <n>`, and the deliveries.

Follows live in the catalog (`retrieval.store.follows`), so they survive restarts. A job on
PTB's JobQueue looks every `telegram_follow_every` seconds at the articles stored since
each follow's cursor, whatever stored them (`--watch`, `articlebot watch`, a manual
`ingest`, /add), and sends one short message per new story about the topic.

Delivery is at most once per story and chat: the delivery row is written (claimed) before
the message is sent, and the cursor moved past the article only after. A crash between
the claim and the send loses that one message; a crash after the send leaves the cursor
behind, and the next run finds the story claimed and skips it. A send that fails for a
passing reason (network, flood wait) gives the claim back and holds the cursor, so the
next run tries again; one Telegram refuses for good (bot blocked, chat gone) is not
retried. Over the chat's hourly limit, the cursor waits too: nothing is skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ContextTypes

from bot.telegram.render import escape_within, sendable, source_line
from bot.telegram.reply import NO_PREVIEW
from bot.telegram.services import Services, services_of
from retrieval.errors import StoreError
from retrieval.news.follow import Match, TopicMatcher, plan
from retrieval.news.retriever import NewsRetriever
from retrieval.search.retriever import HybridRetriever
from retrieval.store.follows import Follow, FollowStore

log = logging.getLogger(__name__)

FOLLOW_JOB = "articlebot-follow"
#: New articles one follow looks at per run (the rest wait for the next run).
BATCH = 200
HOUR = 3600.0
TOPIC_MAX = 200
USAGE_FOLLOW = (
    "Usage: /follow <topic>, for example /follow the Sallow Street Bridge. I send a short"
    " message when a new article about it is stored."
)
USAGE_UNFOLLOW = "Usage: /unfollow <n>, where n is the topic's number in /following."
NONE_FOLLOWED = "This chat follows no topics. /follow <topic> starts one."
_MATCHER = "follow_matcher"


def store_of(services: Services) -> FollowStore:
    """The follows of the bot's catalog."""
    return FollowStore(services.index.catalog)


async def follow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Start following the topic after /follow in this chat."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    topic = " ".join(" ".join(context.args or []).split())
    if not topic:
        await message.reply_text(USAGE_FOLLOW)
        return
    if len(topic) > TOPIC_MAX:
        await message.reply_text(f"That topic is too long: at most {TOPIC_MAX} characters.")
        return
    services = services_of(context)
    user = update.effective_user
    try:
        await services.run(
            store_of(services).add,
            chat.id,
            user.id if user else None,
            topic,
            now=services.clock(),
            max_topics=services.settings.telegram_follow_topics,
        )
    except StoreError as exc:
        await message.reply_text(f"Not followed: {exc}.")
        return
    await message.reply_text(
        f"Following “{topic}”: I'll send a short message when a new article about it is"
        " stored. /following lists this chat's topics."
    )


async def following(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List this chat's topics, numbered for /unfollow."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    services = services_of(context)
    follows = await services.run(store_of(services).of_chat, chat.id)
    if not follows:
        await message.reply_text(NONE_FOLLOWED)
        return
    lines = ["<b>Following</b>"]
    lines += [f"{n}. {escape_within(f.topic, 300)}" for n, f in enumerate(follows, 1)]
    lines.append("/unfollow &lt;n&gt; stops one.")
    await message.reply_text("\n".join(lines), parse_mode=ParseMode.HTML)


async def unfollow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop following the topic with this number in /following."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    args = context.args or []
    if len(args) != 1 or not args[0].isdigit():
        await message.reply_text(USAGE_UNFOLLOW)
        return
    services = services_of(context)
    store = store_of(services)
    follows = await services.run(store.of_chat, chat.id)
    number = int(args[0])
    if not 1 <= number <= len(follows):
        have = f"1 to {len(follows)}" if follows else "none"
        await message.reply_text(f"No topic number {number} here (this chat has {have}).")
        return
    chosen = follows[number - 1]
    await services.run(store.remove, chosen.id)
    await message.reply_text(f"Stopped following “{chosen.topic}”.")


# --- deliveries ----------------------------------------------------------------------------
def follow_text(topic: str, match: Match) -> str:
    """The message for one match: the topic, then the source line and its sentence."""
    citation = match.citation
    quote = sendable(citation.quote).strip() or "…"
    return (
        f"<b>New on “{escape_within(topic, 300)}”</b>\n"
        f"{sendable(source_line(citation))}\n"
        f"<blockquote>{escape_within(quote, 1000)}</blockquote>"
    )


@dataclass(frozen=True, slots=True)
class Due:
    """What one follow has to send: its matches by article id, and the articles seen."""

    follow: Follow
    articles: list[tuple[int, str]]  # (rowid, id), in the order they were stored
    matches: dict[str, Match]


def matcher_of(services: Services, bot_data: dict[Any, Any]) -> TopicMatcher:
    """The matcher over the bot's index (made once): the answers' retriever and threshold."""
    matcher = bot_data.get(_MATCHER)
    if not isinstance(matcher, TopicMatcher):
        settings = services.settings
        retriever = (NewsRetriever if settings.news_aware else HybridRetriever)(services.index)
        matcher = TopicMatcher(retriever, settings.follow_min_probability, k=settings.top_k)
        bot_data[_MATCHER] = matcher
    return matcher


def due(services: Services, matcher: TopicMatcher, follow: Follow, upto: int) -> Due:
    """The articles stored since the follow's cursor and those that match (a worker
    thread's job: it searches)."""
    store = store_of(services)
    articles = store.new_articles(follow.cursor, upto, BATCH)
    ids = [article_id for _, article_id in articles]
    sent = store.sent_stories(follow.chat_id)
    found = plan(matcher, services.index, follow.topic, ids, sent) if ids else []
    return Due(follow, articles, {m.article.id: m for m in found})


async def deliver(bot: Bot, services: Services, matcher: TopicMatcher) -> int:
    """One run over every follow: send what is new, move the cursors; messages sent."""
    from bot.telegram.app import is_authorised

    store = store_of(services)
    upto = await services.run(store.newest)
    sent = 0
    for follow in await services.run(store.all):
        if follow.cursor >= upto:
            continue
        if not is_authorised(services.settings, follow.user_id, follow.chat_id):
            # taken off the access lists since: kept, but nothing is sent or saved up
            await services.run(store.advance, follow.id, upto)
            continue
        work = await services.run(due, services, matcher, follow, upto)
        cursor = follow.cursor
        for rowid, article_id in work.articles:
            match = work.matches.get(article_id)
            if match is not None:
                outcome = await _send(bot, services, store, follow, match)
                if outcome == "wait":
                    break
                sent += outcome == "sent"
            cursor = rowid
        else:
            if len(work.articles) < BATCH:
                cursor = max(cursor, upto)
        if cursor > follow.cursor:
            await services.run(store.advance, follow.id, cursor)
    return sent


async def _send(
    bot: Bot, services: Services, store: FollowStore, follow: Follow, match: Match
) -> str:
    """Claim, then send one match: "sent", "skipped" (already sent, or refused for good)
    or "wait" (over the hourly limit, or a passing failure: the cursor stays)."""
    now = services.clock()
    limit = services.settings.telegram_follow_per_hour
    if await services.run(store.sent_count, follow.chat_id, now - HOUR) >= limit:
        return "wait"
    claimed = await services.run(store.claim, follow, set(match.stories), match.article.id, now=now)
    if not claimed:
        return "skipped"
    try:
        await bot.send_message(
            follow.chat_id,
            follow_text(follow.topic, match),
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
        )
    except (Forbidden, BadRequest) as exc:  # blocked, kicked, chat gone: not retried
        log.warning("follow #%s: chat %s refused the message: %s", follow.id, follow.chat_id, exc)
        return "skipped"
    except (RetryAfter, TimedOut, NetworkError) as exc:
        await services.run(store.release, follow, match.article.id)
        log.warning("follow #%s: sending failed, tried again next run: %s", follow.id, exc)
        return "wait"
    return "sent"


async def deliver_follows(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The job: one delivery run. It repeats every `telegram_follow_every` seconds; a run
    still going when the next is due makes the scheduler skip that one (never overlap)."""
    services = services_of(context)
    try:
        await deliver(context.bot, services, matcher_of(services, context.bot_data))
    except Exception:  # one bad run must not end the deliveries (the next one retries)
        log.exception("follow deliveries failed")


def schedule_follows(application: Any) -> bool:
    """Add the repeating delivery job; False when PTB was installed without its job-queue
    extra (follows are then stored but not delivered: the log says so)."""
    if application.job_queue is None:
        log.warning("no JobQueue (python-telegram-bot[job-queue]): /follow messages are off")
        return False
    services = application.bot_data["services"]
    assert isinstance(services, Services)
    every = services.settings.telegram_follow_every
    application.job_queue.run_repeating(
        deliver_follows, interval=every, first=every, name=FOLLOW_JOB
    )
    return True
