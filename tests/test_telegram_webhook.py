"""Webhook mode in this process: our endpoint under uvicorn on 127.0.0.1, the real PTB
application without an updater, the Bot API emulator POSTing updates to it.

What a request gets (403, 413, 400, 405, 404, 200), the JobQueue running as in polling mode,
a stop that finishes the answer in flight and keeps the webhook, and one-line start-up
failures (a port in use, a URL Telegram refuses).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.settings import Settings
from bot.telegram.app import BotApplication, build_application
from bot.telegram.follow import FOLLOW_JOB
from bot.telegram.services import Services
from bot.telegram.sync import SYNC_JOB, make_runner, schedule_sync
from bot.telegram.webhook import MAX_BODY, SECRET_HEADER
from bot.telegram.webhook_server import Webhook, WebhookError, WebhookServer
from retrieval.pipeline import make_answerer
from retrieval.store.index import ArticleIndex
from retrieval.store.sources import SourceStore
from tests.fakes import feed_server as fake_feeds
from tests.fakes import openai_server as fake_openai
from tests.fakes import telegram_server as fake_telegram
from tests.fakes.chroma_server import free_port
from tests.fakes.embedder import HashEmbedder
from tests.fakes.feed_server import FeedServer, stories
from tests.fakes.openai_server import FakeOpenAIServer, ScriptedResponse
from tests.fakes.telegram_server import FakeTelegramServer
from tests.test_telegram import (
    BRIDGE_Q,
    bot_settings,
    index,
    llm_settings,
    reply_to,
)

telegram_server = fake_telegram.telegram_server  # the fixtures, used by name below
openai_server = fake_openai.openai_server
feed_server = fake_feeds.feed_server
SECRET = "hook-Secret_7"
PATH = "/tg/hook"
__all__ = ["index"]


def webhook_bot(settings: Settings, index: ArticleIndex) -> BotApplication:
    """The bot as `articlebot telegram --webhook-url` builds it: no updater."""
    services = Services.create(settings, index, make_answerer(settings, index))
    return build_application(settings, services, polling=False)


def hook_for(port: int) -> Webhook:
    return Webhook(f"http://127.0.0.1:{port}{PATH}", "127.0.0.1", port, SECRET)


async def until(check: Callable[[], Any], task: asyncio.Task[None], timeout: float = 20) -> Any:
    """Poll `check()` while the server task runs (its error, if it ends early)."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if task.done():
            task.result()
            raise AssertionError("the webhook server stopped")
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)
    return result


@contextlib.asynccontextmanager
async def serving(
    app: BotApplication, server: FakeTelegramServer
) -> AsyncIterator[tuple[WebhookServer, asyncio.Task[None]]]:
    """Run the webhook server until the block ends; yields once the webhook is set."""
    hook = WebhookServer(app, hook_for(free_port()))
    task = asyncio.create_task(hook.run())
    try:
        await until(lambda: server.webhook, task)
        yield hook, task
    finally:
        hook.stop()
        await asyncio.wait_for(task, 30)


async def test_the_endpoint_takes_only_updates_with_the_secret(
    tmp_path: Path, telegram_server: FakeTelegramServer, index: ArticleIndex
) -> None:
    app = webhook_bot(bot_settings(tmp_path, telegram_server), index)
    async with serving(app, telegram_server) as (hook, task):
        url = hook.webhook.url
        webhook = telegram_server.webhook
        assert set(webhook) == {"url", "secret_token", "allowed_updates"}  # pending kept
        assert webhook["url"] == url and webhook["secret_token"] == SECRET
        assert {"message", "callback_query"} <= set(webhook["allowed_updates"])
        update = telegram_server.private_update("/start", user_id=77)
        ok = {SECRET_HEADER: SECRET}
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET + "x"}):
                refused = await client.post(url, json=update, headers=headers)
                assert (refused.status_code, refused.content) == (403, b"")
            assert (await client.post(url, content=b"{not json", headers=ok)).text == (
                "not JSON (JSONDecodeError: Expecting property name enclosed in double quotes:"
                " line 1 column 2 (char 1))\n"
            )
            for body, why in [
                ([1, 2], "not a JSON object"),
                ({"message": {}}, "not a Telegram update (no integer update_id)"),
                ({"update_id": 5, "message": "hi"}, "not a Telegram update (AttributeError:"),
            ]:
                bad = await client.post(url, json=body, headers=ok)
                assert bad.status_code == 400 and bad.text.startswith(why), bad.text

            async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as read
                yield b" " * MAX_BODY
                yield b"{}"

            big = await client.post(url, content=chunks(), headers=ok)
            assert (big.status_code, big.text) == (413, f"body over {MAX_BODY} bytes\n")
            assert (await client.get(url, headers=ok)).status_code == 405
            other = url.replace(PATH, "/other")
            assert (await client.post(other, json=update, headers=ok)).status_code == 404
            assert telegram_server.texts(77) == []  # nothing refused reached the bot
            done = await client.post(url, json=update, headers=ok)
            assert (done.status_code, done.content) == (200, b"")
        [welcome] = await reply_to(telegram_server, 77)
        assert "numbered sources" in welcome


async def test_a_declared_length_over_the_limit_is_refused_before_the_body(
    tmp_path: Path, telegram_server: FakeTelegramServer, index: ArticleIndex
) -> None:
    app = webhook_bot(bot_settings(tmp_path, telegram_server), index)
    async with serving(app, telegram_server) as (hook, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", hook.webhook.port)
        head = (
            f"POST {PATH} HTTP/1.1\r\nHost: bot\r\n{SECRET_HEADER}: {SECRET}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n"
        )
        writer.write(head.encode())  # and no body at all: none is waited for
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 10)
        writer.close()
        assert status.startswith(b"HTTP/1.1 413 ")


async def test_the_job_queue_runs_in_webhook_mode(
    tmp_path: Path, telegram_server: FakeTelegramServer, feed_server: FeedServer
) -> None:
    """Follows and `--watch` are jobs: they run without an updater as with one."""
    settings = bot_settings(tmp_path, telegram_server)
    url = feed_server.set_feed("quay", stories("quay", 2))
    with ArticleIndex(settings, embedder=HashEmbedder()) as own:
        SourceStore(own.catalog).add(url, "feed", "quay", 600, now=time.time(), allow_private=True)
        app = webhook_bot(settings, own)
        schedule_sync(app, make_runner(app.bot_data["services"]), first=0.1, every=0.2)
        async with serving(app, telegram_server) as (_, task):
            assert app.job_queue is not None
            assert sorted(job.name for job in app.job_queue.jobs()) == [FOLLOW_JOB, SYNC_JOB]
            await until(lambda: len(own.articles()) == 2, task)
            telegram_server.private_message("/stats")  # POSTed to the webhook
            [text] = await reply_to(telegram_server, 42)
            assert text.startswith("2 articles"), text
        (source,) = SourceStore(own.catalog).all()
        assert source.articles_added == 2


async def test_stop_finishes_the_answer_in_flight_and_keeps_the_webhook(
    tmp_path: Path,
    telegram_server: FakeTelegramServer,
    openai_server: FakeOpenAIServer,
    index: ArticleIndex,
) -> None:
    release = threading.Event()
    openai_server.enqueue(ScriptedResponse.held(release, path="/v1/chat/completions"))
    openai_server.enqueue_chat("The bridge reopens on 4 May [1].")
    app = webhook_bot(llm_settings(tmp_path, telegram_server, openai_server), index)
    async with serving(app, telegram_server) as (hook, task):
        telegram_server.private_message(BRIDGE_Q)
        await until(lambda: openai_server.chat_requests, task)  # the model is writing
        hook.stop()
        await until(lambda: not accepts(hook.webhook.port), task)  # no longer serving
        assert not task.done()  # still finishing the answer
        release.set()
        await asyncio.wait_for(task, 30)
    edits = telegram_server.calls_to("editMessageText")
    assert edits and edits[-1].params["text"].startswith("The bridge reopens on 4 May [1].")
    assert not telegram_server.calls_to("deleteWebhook")  # the other replicas still serve it
    assert telegram_server.webhook is not None


def accepts(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port`."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def test_a_port_in_use_is_one_line_before_telegram_hears_of_it(
    tmp_path: Path, telegram_server: FakeTelegramServer, index: ArticleIndex
) -> None:
    app = webhook_bot(bot_settings(tmp_path, telegram_server), index)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(WebhookError) as caught:
            await WebhookServer(app, hook_for(port)).run()
    assert str(caught.value) == (
        f"cannot listen on 127.0.0.1:{port} for the webhook: Address already in use"
    )
    assert not telegram_server.calls_to("setWebhook") and not telegram_server.calls_to("getMe")


async def test_a_url_telegram_refuses_is_one_line_and_a_clean_stop(
    tmp_path: Path, telegram_server: FakeTelegramServer, index: ArticleIndex
) -> None:
    telegram_server.fail_next(
        "setWebhook", 400, "Bad Request: bad webhook: HTTPS url must be provided for webhook"
    )
    app = webhook_bot(bot_settings(tmp_path, telegram_server), index)
    hook = hook_for(free_port())
    with pytest.raises(WebhookError) as caught:
        await WebhookServer(app, hook).run()
    assert str(caught.value) == (
        "Telegram refused the webhook (--webhook-url): Bad webhook: https url must be"
        " provided for webhook"
    )
    assert not app.running and not accepts(hook.port)
    with socket.create_server(("127.0.0.1", hook.port)):  # the port was given back
        pass
