"""Per-chat conversation memory: bounded in turns and in time, forgotten by quiet chats,
kept across restarts, untouched by strangers. The clock that dates the turns is the bot's
`Services.clock`, so the test moves time forward instead of waiting an hour.
"""

from __future__ import annotations

from pathlib import Path

from bot.telegram.app import REFUSAL_ACCESS
from retrieval.store.index import ArticleIndex
from tests.fakes.telegram_server import FakeTelegramServer
from tests.test_telegram import (
    BRIDGE_Q,
    bot_settings,
    index,
    make_app,
    reply_to,
    running,
    telegram_server,
)

__all__ = ["index", "telegram_server"]  # fixtures
QUESTIONS = [BRIDGE_Q, "How much did the repairs cost?", "Why did the bridge close?"]


class Clock:
    """Wall-clock seconds that only move when the test says so."""

    def __init__(self) -> None:
        self.now = 1_770_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_memory_is_bounded_in_turns_and_time_and_quiet_chats_are_forgotten(
    tmp_path: Path, telegram_server: FakeTelegramServer, index: ArticleIndex
) -> None:
    settings = bot_settings(tmp_path, telegram_server, history_turns=2, telegram_memory_minutes=10)
    clock = Clock()
    async with running(make_app(settings, index, clock=clock)) as app:
        for count, question in enumerate(QUESTIONS, 1):
            telegram_server.private_message(question)
            await reply_to(telegram_server, 42, count)
            clock.now += 60
        assert [t[0] for t in app.chat_data[42]["turns"]] == QUESTIONS[1:]  # the last 2
        telegram_server.private_message(BRIDGE_Q, user_id=77)
        await reply_to(telegram_server, 77)
        clock.now += 9 * 60  # chat 42 has been quiet 10 minutes: still remembered
        telegram_server.private_message(QUESTIONS[1], user_id=77)
        await reply_to(telegram_server, 77, 2)
        assert len(app.chat_data[42]["turns"]) == 2
        clock.now += 2 * 60  # 12 minutes: chat 42 is forgotten, though it never came back
        telegram_server.private_message(QUESTIONS[2], user_id=77)
        await reply_to(telegram_server, 77, 3)
        # Stale chats are dropped after the reply is sent: wait for it, not for the reply.
        await telegram_server.wait_for(lambda: 42 not in app.chat_data)
        assert [t[0] for t in app.chat_data[77]["turns"]] == QUESTIONS[1:]
        clock.now += 11 * 60  # chat 77 is quiet too long, then asks again: a fresh start
        telegram_server.private_message("How much did the repairs cost?", user_id=77)
        await reply_to(telegram_server, 77, 4)
        assert [t[0] for t in app.chat_data[77]["turns"]] == [QUESTIONS[1]]
    async with running(make_app(settings, index, clock=clock)) as app:  # the file agrees
        assert 42 not in app.chat_data
        assert [t[0] for t in app.chat_data[77]["turns"]] == [QUESTIONS[1]]


async def test_a_stranger_in_a_shared_group_leaves_its_memory_alone(
    tmp_path: Path, telegram_server: FakeTelegramServer, index: ArticleIndex
) -> None:
    """Only user 42 is allowed; the group is not. A stranger's messages there, addressed
    or not, are refused; the memory 42 built in the group stays (in the bot and in its
    file), and nothing is stored for the stranger."""
    group, stranger = -1001, 77
    follow_up = "How much did the repairs cost?"
    settings = bot_settings(tmp_path, telegram_server, allowed_user_ids="42")
    async with running(make_app(settings, index)) as app:
        telegram_server.mention(BRIDGE_Q, chat_id=group, user_id=42)
        assert "4 May" in (await reply_to(telegram_server, group))[0]
        telegram_server.group_message("anyone seen the ferry?", chat_id=group, user_id=stranger)
        telegram_server.mention(follow_up, chat_id=group, user_id=stranger)
        assert (await reply_to(telegram_server, group, 2))[1] == REFUSAL_ACCESS
        telegram_server.mention(follow_up, chat_id=group, user_id=42)
        assert "12 million crowns" in (await reply_to(telegram_server, group, 3))[2]
        assert [t[0] for t in app.chat_data[group]["turns"]] == [BRIDGE_Q, follow_up]
        assert stranger not in app.chat_data and stranger not in app.user_data
    async with running(make_app(settings, index)) as app:  # what the file kept
        assert [t[0] for t in app.chat_data[group]["turns"]] == [BRIDGE_Q, follow_up]
        assert stranger not in app.chat_data
