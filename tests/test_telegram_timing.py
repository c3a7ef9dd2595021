"""The bot over time: "typing…" repeats, streamed edits keep to their interval, a slow
answer does not hold up other chats, and Telegram's 429s are waited out by PTB's limiter.

The real PTB `Application` against the Bot API emulator, with the LLM path against the
fake OpenAI server; the emulator stamps each call with its arrival time.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from pathlib import Path

import pytest

from bot.telegram.app import APOLOGY
from retrieval.store.index import ArticleIndex
from tests.fakes.openai_server import FakeOpenAIServer, ScriptedResponse
from tests.fakes.telegram_server import Call, FakeTelegramServer
from tests.test_telegram import (
    BRIDGE_Q,
    bot_settings,
    index,
    llm_settings,
    make_app,
    openai_server,
    reply_to,
    running,
    telegram_server,
)

__all__ = ["index", "openai_server", "telegram_server"]  # fixtures
CHAT_REPLY = "The bridge reopens on 4 May [1]."
CHAT = "/v1/chat/completions"


def final_answers(server: FakeTelegramServer, chat_id: int) -> list[Call]:
    """Messages and edits to `chat_id` that carry the finished answer (its quoted sources)."""
    return [
        c
        for c in server.calls
        if c.ok
        and c.method in ("sendMessage", "editMessageText")
        and c.params.get("chat_id") == chat_id
        and "<blockquote expandable>" in str(c.params.get("text"))
    ]


def gaps(calls: list[Call]) -> list[float]:
    return [b.at - a.at for a, b in itertools.pairwise(calls)]


async def test_typing_action_repeats_while_answering_and_stops_after(
    tmp_path: Path,
    telegram_server: FakeTelegramServer,
    openai_server: FakeOpenAIServer,
    index: ArticleIndex,
) -> None:
    every = 0.2  # the default is 4 s (Telegram shows the action for about 5 s)
    release = threading.Event()
    openai_server.enqueue(ScriptedResponse.held(release, path=CHAT))
    openai_server.enqueue_chat(CHAT_REPLY)
    settings = llm_settings(
        tmp_path, telegram_server, openai_server, telegram_typing_interval=every, openai_timeout=20
    )

    def typing() -> list[Call]:
        return telegram_server.calls_to("sendChatAction")

    async with running(make_app(settings, index)):
        telegram_server.private_message(BRIDGE_Q)
        await telegram_server.wait_for(lambda: len(typing()) >= 4)  # the model is still silent
        assert not telegram_server.sent(42)
        release.set()
        await telegram_server.wait_for(lambda: final_answers(telegram_server, 42))
        shown = len(typing())
        await asyncio.sleep(3 * every)  # long enough for three more, had it gone on
        assert len(typing()) == shown
    assert {c.params["action"] for c in typing()} == {"typing"}
    assert all(every <= gap < every + 1.0 for gap in gaps(typing())), gaps(typing())


async def test_streamed_answer_is_edited_at_most_once_per_interval(
    tmp_path: Path,
    telegram_server: FakeTelegramServer,
    openai_server: FakeOpenAIServer,
    index: ArticleIndex,
) -> None:
    interval = 0.3  # the default is 1 s
    openai_server.stream_delay = 0.02  # 80 words: the model writes for about 1.6 s
    openai_server.enqueue_chat(" ".join([CHAT_REPLY] * 10))
    settings = llm_settings(
        tmp_path, telegram_server, openai_server, telegram_edit_interval=interval
    )
    async with running(make_app(settings, index)):
        telegram_server.private_message(BRIDGE_Q)
        await telegram_server.wait_for(lambda: final_answers(telegram_server, 42), timeout=20)
    [draft] = telegram_server.sent(42)  # one message, then edits of it
    edits = telegram_server.calls_to("editMessageText")
    assert len({e.params["message_id"] for e in edits}) == 1  # the draft, and only it
    assert "parse_mode" not in draft.params and draft.params["text"].endswith(" …")
    assert len(edits) >= 3, "the answer should be seen growing"
    assert all(gap >= interval for gap in gaps([draft, *edits])), gaps([draft, *edits])
    final = edits[-1].params
    assert final["parse_mode"] == "HTML" and final["text"].startswith(CHAT_REPLY)
    assert "Sources:" in final["text"] and final["text"].endswith("</blockquote>")
    assert [c for c in edits[:-1] if "<blockquote" in c.params["text"]] == []


async def test_a_slow_answer_does_not_hold_up_other_chats(
    tmp_path: Path,
    telegram_server: FakeTelegramServer,
    openai_server: FakeOpenAIServer,
    index: ArticleIndex,
) -> None:
    release = threading.Event()
    openai_server.enqueue(ScriptedResponse.held(release, path=CHAT))  # chat 42's request
    openai_server.enqueue_chat(CHAT_REPLY, CHAT_REPLY)
    settings = llm_settings(tmp_path, telegram_server, openai_server, openai_timeout=20)
    async with running(make_app(settings, index)):
        telegram_server.private_message(BRIDGE_Q, user_id=42)
        await telegram_server.wait_for(lambda: openai_server.chat_requests)
        telegram_server.private_message(BRIDGE_Q, user_id=77)
        telegram_server.private_message("/stats", user_id=78)
        await telegram_server.wait_for(lambda: final_answers(telegram_server, 77))
        assert "7 articles" in (await reply_to(telegram_server, 78))[0]
        assert not final_answers(telegram_server, 42) and not telegram_server.sent(42)
        release.set()
        await telegram_server.wait_for(lambda: final_answers(telegram_server, 42))
    assert final_answers(telegram_server, 42)[0].params["text"].startswith(CHAT_REPLY)


@pytest.mark.parametrize("paced", [True, False], ids=["rate-limiter", "no-rate-limiter"])
async def test_telegram_429_is_waited_out_by_the_rate_limiter(
    tmp_path: Path, telegram_server: FakeTelegramServer, index: ArticleIndex, paced: bool
) -> None:
    too_many = "Too Many Requests: retry after 1"
    telegram_server.fail_next("sendMessage", 429, too_many, retry_after=1)
    settings = bot_settings(tmp_path, telegram_server, telegram_rate_limit=paced)
    async with running(make_app(settings, index)):
        telegram_server.private_message(BRIDGE_Q)
        [text] = await reply_to(telegram_server, 42)
    refused, answered = telegram_server.calls_to("sendMessage")[:2]
    assert not refused.ok
    if paced:  # PTB's AIORateLimiter waited the second Telegram asked for, then resent
        assert "4 May" in text and answered.at - refused.at >= 1.0
    else:  # without it, the 429 is an error: the user gets the apology instead
        assert text == APOLOGY
