"""Per-chat conversation memory in the catalog: bounded in turns and in time, forgotten by
quiet chats, kept across restarts, untouched by strangers, and carried over once from the
pickle file older bots kept. The clock that dates the turns is the test's (given to
`Services.create`), so the test moves time forward instead of waiting an hour."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
from telegram import Bot
from telegram.ext import PersistenceInput, PicklePersistence

from bot.telegram.app import REFUSAL_ACCESS
from bot.telegram.old_memory import PERSISTENCE_FILE, migrate_pickle
from retrieval.store.catalog import Catalog
from retrieval.store.conversations import ConversationStore
from retrieval.store.index import ArticleIndex
from tests.fakes.telegram_server import TOKEN, FakeTelegramServer
from tests.test_telegram import (
    BRIDGE_Q,
    bot_settings,
    index,
    make_app,
    memory_of,
    nothing_stored,
    questions,
    reply_to,
    running,
    telegram_server,
)

__all__ = ["index", "telegram_server"]  # fixtures
#: Makes sense only after BRIDGE_Q: which repairs? (the previous turn says)
FOLLOW_UP = "How much did the repairs cost?"
QUESTIONS = [BRIDGE_Q, FOLLOW_UP, "Why did the bridge close?"]


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
        assert questions(app, 42) == QUESTIONS[1:]  # the last 2
        telegram_server.private_message(BRIDGE_Q, user_id=77)
        await reply_to(telegram_server, 77)
        clock.now += 9 * 60  # chat 42 has been quiet 10 minutes: still remembered
        telegram_server.private_message(QUESTIONS[1], user_id=77)
        await reply_to(telegram_server, 77, 2)
        assert len(questions(app, 42)) == 2
        clock.now += 2 * 60  # 12 minutes: chat 42 is forgotten, though it never came back
        telegram_server.private_message(QUESTIONS[2], user_id=77)
        await reply_to(telegram_server, 77, 3)
        # Stale chats are pruned after the reply is sent: wait for it, not for the reply.
        await telegram_server.wait_for(lambda: 42 not in memory_of(app).chats())
        assert questions(app, 77) == QUESTIONS[1:]
        clock.now += 11 * 60  # chat 77 is quiet too long, then asks again: a fresh start
        telegram_server.private_message("How much did the repairs cost?", user_id=77)
        await reply_to(telegram_server, 77, 4)
        assert questions(app, 77) == [QUESTIONS[1]]
    async with running(make_app(settings, index, clock=clock)) as app:  # the catalog agrees
        assert memory_of(app).chats() == [77]
        assert questions(app, 77) == [QUESTIONS[1]]


async def test_a_stranger_in_a_shared_group_leaves_its_memory_alone(
    tmp_path: Path, telegram_server: FakeTelegramServer, index: ArticleIndex
) -> None:
    """Only user 42 is allowed; the group is not. A stranger's messages there, addressed
    or not, are refused; the memory 42 built in the group stays, and nothing is stored for
    the stranger."""
    group, stranger = -1001, 77
    settings = bot_settings(tmp_path, telegram_server, allowed_user_ids="42")
    async with running(make_app(settings, index)) as app:
        telegram_server.mention(BRIDGE_Q, chat_id=group, user_id=42)
        assert "4 May" in (await reply_to(telegram_server, group))[0]
        telegram_server.group_message("anyone seen the ferry?", chat_id=group, user_id=stranger)
        telegram_server.mention(FOLLOW_UP, chat_id=group, user_id=stranger)
        assert (await reply_to(telegram_server, group, 2))[1] == REFUSAL_ACCESS
        telegram_server.mention(FOLLOW_UP, chat_id=group, user_id=42)
        assert "12 million crowns" in (await reply_to(telegram_server, group, 3))[2]
        assert questions(app, group) == [BRIDGE_Q, FOLLOW_UP]
        assert nothing_stored(app, stranger) and stranger not in app.user_data
        counted = index.catalog.query("SELECT DISTINCT user_id FROM question_log")
        assert counted == [(42,)]  # the stranger's questions were never counted
    async with running(make_app(settings, index)) as app:  # what the catalog kept
        assert questions(app, group) == [BRIDGE_Q, FOLLOW_UP]
        assert nothing_stored(app, stranger)


async def old_pickle(path: Path, chats: dict[int, list[tuple[str, str, float]]]) -> None:
    """Write the file an older bot left: PTB's PicklePersistence as it was configured."""
    persistence = PicklePersistence(
        path, store_data=PersistenceInput(bot_data=False, user_data=False, callback_data=False)
    )
    persistence.set_bot(Bot(TOKEN))
    for chat_id, turns in chats.items():
        await persistence.update_chat_data(chat_id, {"turns": turns})
    await persistence.flush()


async def test_the_old_pickle_file_is_carried_over_once(
    tmp_path: Path, telegram_server: FakeTelegramServer, index: ArticleIndex
) -> None:
    """A bot upgraded from the pickle memory answers the follow-up of a question asked
    before the upgrade; the file is renamed, and a second start imports nothing again."""
    settings = bot_settings(tmp_path, telegram_server)
    clock = Clock()
    before = "The Sallow Street Bridge reopens on 4 May."
    asked = clock.now - 120
    old = [("An older question", "An older answer", asked - 60), (BRIDGE_Q, before, asked)]
    pickle_file = settings.data_dir / PERSISTENCE_FILE
    settings.data_dir.mkdir(parents=True)
    await old_pickle(pickle_file, {42: old, 77: [("Long ago", "Forgotten", asked - 7200)]})
    copy = pickle_file.read_bytes()
    async with running(make_app(settings, index, clock=clock)) as app:
        assert not pickle_file.exists()
        assert (settings.data_dir / (PERSISTENCE_FILE + ".migrated")).read_bytes() == copy
        assert memory_of(app).turns(42) == old
        telegram_server.private_message(FOLLOW_UP)
        assert "12 million crowns" in (await reply_to(telegram_server, 42))[0]
        assert questions(app, 42) == ["An older question", BRIDGE_Q, FOLLOW_UP]
        assert memory_of(app).recent(77) == []  # it was quiet too long already
    pickle_file.write_bytes(copy)  # the same file again (a restored backup, a second replica)
    async with running(make_app(settings, index, clock=clock)) as app:
        assert questions(app, 42) == ["An older question", BRIDGE_Q, FOLLOW_UP]
        assert not pickle_file.exists()


def test_an_unreadable_or_hostile_old_file_is_left_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A truncated file, or one naming a class to run, imports nothing and stays put (the
    unpickler builds plain containers only: `os.system` is never called)."""
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    store = ConversationStore(catalog, keep=6, memory_seconds=3600)
    path = tmp_path / PERSISTENCE_FILE
    canary = tmp_path / "ran"
    hostile = pickle.dumps({"chat_data": {42: {"turns": [Hostile(canary)]}}})
    for content in [b"\x80\x05\x95", hostile]:
        path.write_bytes(content)
        assert migrate_pickle(tmp_path, store) is None
        assert path.read_bytes() == content and store.chats() == []
    assert not canary.exists()
    assert "cannot read the old conversation memory" in caplog.text
    catalog.close()


class Hostile:
    """Unpickling this would run a shell command."""

    def __init__(self, canary: Path) -> None:
        self.canary = canary

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.canary}",)
