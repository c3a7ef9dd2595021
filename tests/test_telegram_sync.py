"""`articlebot telegram --watch`: the sync runs inside the bot on PTB's JobQueue, against
the Bot API emulator and the feed server on 127.0.0.1, while the bot answers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.telegram.follow import FOLLOW_JOB
from bot.telegram.services import Services
from bot.telegram.sync import SYNC_JOB, make_runner, schedule_sync
from retrieval.store.index import ArticleIndex
from retrieval.store.sources import SourceStore
from tests.fakes import feed_server as fake_feeds
from tests.fakes import telegram_server as fake_telegram
from tests.fakes.embedder import HashEmbedder
from tests.fakes.feed_server import FeedServer, stories
from tests.fakes.harness import running
from tests.fakes.telegram_server import FakeTelegramServer
from tests.test_telegram import bot_settings, make_app, reply_to

telegram_server = fake_telegram.telegram_server
feed_server = fake_feeds.feed_server


async def test_the_bot_syncs_watched_sources_and_answers_from_them(
    tmp_path: Path, telegram_server: FakeTelegramServer, feed_server: FeedServer
) -> None:
    settings = bot_settings(tmp_path, telegram_server)
    url = feed_server.set_feed("quay", stories("quay", 2))
    with ArticleIndex(settings, embedder=HashEmbedder()) as index:
        store = SourceStore(index.catalog)
        store.add(url, "feed", "quay", 600, now=time.time(), allow_private=True)
        app = make_app(settings, index)
        services = app.bot_data["services"]
        assert isinstance(services, Services)
        runner = make_runner(services)
        schedule_sync(app, runner, first=0.1, every=0.2)
        async with running(app):
            assert sorted(job.name for job in app.job_queue.jobs()) == [FOLLOW_JOB, SYNC_JOB]
            for _ in range(300):
                if len(index.articles()) == 2:
                    break
                await asyncio.sleep(0.1)
            assert sorted(s.article.title for s in index.articles()) == [
                "Quay council story 0",
                "Quay council story 1",
            ]
            await asyncio.sleep(0.6)  # several more job runs: the source is not due again
            assert len(feed_server.seen("/feeds/")) == 1
            telegram_server.private_message("/stats")
            [text] = await reply_to(telegram_server, 42)
            assert text.startswith("2 articles"), text
        (source,) = SourceStore(index.catalog).all()
        assert source.last_success is not None and source.articles_added == 2
    registry = services.metrics.registry  # counted as each run ended (the bot stopped since)
    assert registry.get_sample_value("articlebot_sync_runs_total", {"status": "synced"}) == 1
    added = {"job": "sync", "status": "added"}
    assert registry.get_sample_value("articlebot_ingest_articles_total", added) == 2
