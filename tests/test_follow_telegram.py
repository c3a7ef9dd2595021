"""/follow, /following, /unfollow and the deliveries: the real PTB `Application` against the
Bot API emulator on 127.0.0.1, a real index (the default embedder) of news dev set
articles, and the delivery job run as the JobQueue runs it (`Job.run`), on a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from bot.telegram.app import REFUSAL_ACCESS, BotApplication
from bot.telegram.follow import FOLLOW_JOB, NONE_FOLLOWED
from retrieval.store.embedders import Embedder, make_embedder
from retrieval.store.follows import FollowStore
from retrieval.store.index import ArticleIndex
from tests.fakes import telegram_server as fake_telegram
from tests.fakes.clock import FakeClock
from tests.fakes.harness import running
from tests.fakes.telegram_server import FakeTelegramServer
from tests.test_follow import (
    BERTH,
    BERTH_COPY,
    CAR_PARK,
    FLOOD,
    FLOOD_LATER,
    FLOOD_TOPIC,
    TEACHERS,
    news,
    store,
)
from tests.test_render_telegram import check_message
from tests.test_telegram import bot_settings, make_app, reply_to

telegram_server = fake_telegram.telegram_server
FLOOD_COPY = "c/2026-04-13-observer-flood-evacuations-top-1100.md"  # nd-c03: nd-c02 reprinted
BERTH_TOPIC = "Valstrom container berth"


@pytest.fixture(scope="module")
def embedder() -> Iterator[Embedder]:
    """The default embedder, loaded once for the module."""
    model = make_embedder(Settings(_env_file=None))  # type: ignore[call-arg]
    yield model
    model.close()


def app_for(
    settings: Settings, index: ArticleIndex, clock: FakeClock | None = None
) -> BotApplication:
    return make_app(settings, index, clock=(clock or FakeClock()).now)


async def run_job(app: BotApplication) -> None:
    """Run the delivery job now, as the JobQueue would when it is due."""
    [job] = app.job_queue.get_jobs_by_name(FOLLOW_JOB)
    await job.run(app)


async def say(server: FakeTelegramServer, text: str, chat_id: int = 42, **kw: Any) -> str:
    """Send a private message (a command) and return the bot's reply."""
    before = len(server.texts(chat_id))
    server.private_message(text, **kw) if chat_id > 0 else server.group_message(text, chat_id)
    texts = await reply_to(server, chat_id, before + 1)
    return str(texts[before])


def deliveries(server: FakeTelegramServer, chat_id: int = 42) -> list[str]:
    return [t for t in server.texts(chat_id) if t.startswith("<b>New on")]


async def test_a_new_article_about_a_followed_topic_is_sent_once_per_story(
    tmp_path: Path, telegram_server: FakeTelegramServer, embedder: Embedder
) -> None:
    settings = bot_settings(tmp_path, telegram_server)
    with ArticleIndex(settings, embedder) as index:
        store(index, news(TEACHERS, FLOOD))  # stored before the follow: never sent
        async with running(app_for(settings, index)) as app:
            reply = await say(telegram_server, f"/follow {FLOOD_TOPIC}")
            assert reply.startswith(f"Following “{FLOOD_TOPIC}”")
            await run_job(app)
            assert deliveries(telegram_server) == []

            store(index, news(CAR_PARK, FLOOD_LATER))  # an unrelated story and a new report
            await run_job(app)
            [message] = deliveries(telegram_server)
            [call] = [c for c in telegram_server.sent(42) if c.params["text"] == message]
            assert call.params["parse_mode"] == "HTML"
            text = check_message(message)
            later = news(FLOOD_LATER)[0]
            assert text.startswith(f"New on “{FLOOD_TOPIC}”\n[1] {later.title}")
            assert "— Westline News Service, 2026-04-12\n" in text
            quote = text.rsplit("\n", 1)[1].removeprefix("… ")  # a dateline is not quoted
            assert quote in later.text and "Tarrow" in quote
            assert "<blockquote>" in message

            # the Observer's word-for-word reprint of the Westline report: not sent again
            store(index, news(FLOOD_COPY))
            await run_job(app)
            assert len(deliveries(telegram_server)) == 1
            (follow,) = FollowStore(index.catalog).all()
            assert follow.cursor == FollowStore(index.catalog).newest()

            listed = await say(telegram_server, "/following")
            assert listed == f"<b>Following</b>\n1. {FLOOD_TOPIC}\n/unfollow &lt;n&gt; stops one."
            assert await say(telegram_server, "/unfollow 2") == (
                "No topic number 2 here (this chat has 1 to 1)."
            )
            assert (await say(telegram_server, "/unfollow one")).startswith("Usage: /unfollow")
            assert await say(telegram_server, "/unfollow 1") == (
                f"Stopped following “{FLOOD_TOPIC}”."
            )
            assert await say(telegram_server, "/following") == NONE_FOLLOWED
            assert (await say(telegram_server, "/follow")).startswith("Usage: /follow")
    commands = telegram_server.calls_to("setMyCommands")[0].params["commands"]
    assert {"follow", "following", "unfollow"} <= {c["command"] for c in commands}


async def test_a_syndicated_copy_is_not_sent_after_its_original(
    tmp_path: Path, telegram_server: FakeTelegramServer, embedder: Embedder
) -> None:
    settings = bot_settings(tmp_path, telegram_server)
    with ArticleIndex(settings, embedder) as index:
        store(index, news(TEACHERS))
        async with running(app_for(settings, index)) as app:
            await say(telegram_server, f"/follow {BERTH_TOPIC}")
            store(index, news(BERTH))
            await run_job(app)
            store(index, news(BERTH_COPY))
            await run_job(app)
            [message] = deliveries(telegram_server)
            assert "Meridian Wire" in message


async def test_limits_topics_per_chat_and_messages_per_hour(
    tmp_path: Path, telegram_server: FakeTelegramServer, embedder: Embedder
) -> None:
    settings = bot_settings(
        tmp_path, telegram_server, telegram_follow_topics=2, telegram_follow_per_hour=1
    )
    clock = FakeClock()
    with ArticleIndex(settings, embedder) as index:
        store(index, news(TEACHERS))
        async with running(app_for(settings, index, clock)) as app:
            await say(telegram_server, f"/follow {FLOOD_TOPIC}")
            await say(telegram_server, f"/follow {BERTH_TOPIC}")
            assert await say(telegram_server, "/follow  storms ") == (
                "Not followed: this chat already follows 2 topics, the most it may:"
                " /unfollow one first."
            )
            assert await say(telegram_server, "/follow " + "flood " * 40) == (
                "That topic is too long: at most 200 characters."
            )
            assert await say(telegram_server, f"/follow {BERTH_TOPIC}", chat_id=-1001) == (
                f"Following “{BERTH_TOPIC}”: I'll send a short message when a new article"
                " about it is stored. /following lists this chat's topics."
            )  # a group has its own topics
            store(index, news(FLOOD, BERTH))
            await run_job(app)
            assert len(deliveries(telegram_server)) == 1  # the chat's one message this hour
            assert len(deliveries(telegram_server, -1001)) == 1
            clock.advance(1800)
            await run_job(app)
            assert len(deliveries(telegram_server)) == 1
            clock.advance(1801)
            await run_job(app)  # the next hour: the waiting match is sent, not skipped
            assert len(deliveries(telegram_server)) == 2
            await run_job(app)
            assert len(deliveries(telegram_server)) == 2


async def test_follows_survive_a_restart_and_respect_the_access_lists(
    tmp_path: Path, telegram_server: FakeTelegramServer, embedder: Embedder
) -> None:
    settings = bot_settings(tmp_path, telegram_server, allowed_user_ids="42")
    with ArticleIndex(settings, embedder) as index:
        store(index, news(TEACHERS))
        async with running(app_for(settings, index)) as app:
            assert await say(telegram_server, "/follow floods", chat_id=77, user_id=77) == (
                REFUSAL_ACCESS
            )
            await say(telegram_server, f"/follow {FLOOD_TOPIC}")
            store(index, news(FLOOD))
            await run_job(app)
            assert len(deliveries(telegram_server)) == 1
        assert [f.chat_id for f in FollowStore(index.catalog).all()] == [42]
    with ArticleIndex(settings, embedder) as index:  # a new process on the same data
        async with running(app_for(settings, index)) as app:
            assert "1. River Tarrow floods" in await say(telegram_server, "/following")
            store(index, news(FLOOD_COPY, FLOOD_LATER))  # the story was sent before the restart
            await run_job(app)
            assert len(deliveries(telegram_server)) == 1
    removed = bot_settings(tmp_path, telegram_server, allowed_user_ids="99")
    with ArticleIndex(removed, embedder) as index:  # 42 taken off the list: nothing sent
        async with running(app_for(removed, index)) as app:
            store(index, news(BERTH))
            follows = FollowStore(index.catalog)
            follows.add(42, 42, BERTH_TOPIC, now=0.0, max_topics=10)
            store(index, news(BERTH_COPY))
            await run_job(app)
            assert len(deliveries(telegram_server)) == 1
            # nothing saved up for when 42 is allowed again
            assert {f.cursor for f in follows.all()} == {follows.newest()}


async def test_a_failed_send_is_tried_again_and_a_crash_after_it_does_not_resend(
    tmp_path: Path, telegram_server: FakeTelegramServer, embedder: Embedder
) -> None:
    settings = bot_settings(tmp_path, telegram_server, telegram_rate_limit=False)
    with ArticleIndex(settings, embedder) as index:
        store(index, news(TEACHERS))
        async with running(app_for(settings, index)) as app:
            await say(telegram_server, f"/follow {FLOOD_TOPIC}")
            store(index, news(FLOOD))
            telegram_server.fail_next("sendMessage", 502, "Bad Gateway")
            await run_job(app)
            assert deliveries(telegram_server) == []
            await run_job(app)
            assert len(deliveries(telegram_server)) == 1
            # a crash after the send, before the cursor moved: the next run sends nothing
            follows = FollowStore(index.catalog)
            (follow,) = follows.all()
            index.catalog.query("SELECT 1")  # (the catalog is shared: no reopening needed)
            with index.catalog.transaction() as conn:
                conn.execute("UPDATE follows SET cursor = 0 WHERE id = :id", {"id": follow.id})
            await run_job(app)
            assert len(deliveries(telegram_server)) == 1
