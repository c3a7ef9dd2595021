"""What the bot's handlers share: the services, the question limiter, conversation memory.

Memory is one list of (question, answer, time) tuples per chat in PTB's `chat_data`, kept
for `history_turns` turns and `telegram_memory_minutes` of silence. The time comes from
`Services.clock` (wall-clock seconds: it is persisted across restarts).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from telegram.ext import ContextTypes

from bot.observability.metrics import Metrics
from bot.settings import Settings
from retrieval.answer.base import Answerer
from retrieval.store.index import ArticleIndex
from retrieval.types import Turn

_TURNS = "turns"
#: How often (in clock seconds) stale chats are looked for and forgotten.
PRUNE_EVERY = 60.0
P = ParamSpec("P")
R = TypeVar("R")


class QuestionLimiter:
    """At most `per_minute` questions per user in any sliding 60-second window."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._asked: dict[int, deque[float]] = {}

    def allow(self, user_id: int) -> bool:
        """Count one question by `user_id`; False when it is over the limit."""
        now = self._clock()
        asked = self._asked.setdefault(user_id, deque())
        while asked and now - asked[0] >= 60.0:
            asked.popleft()
        if len(asked) >= self.per_minute:
            return False
        asked.append(now)
        return True


@dataclass
class Services:
    """The collaborators every handler uses; kept in `bot_data["services"]`.

    `executor` runs the blocking work (retrieval, LLM calls, ingest) so that the event loop,
    and every other chat, goes on meanwhile. `clock` dates the conversation memory.
    `metrics` counts answers, refusals and ingests for `/metrics`.
    allow_private_addresses lets /add fetch from private networks (tests only).
    """

    settings: Settings
    index: ArticleIndex
    answerer: Answerer
    limiter: QuestionLimiter
    allow_private_addresses: bool = False
    clock: Callable[[], float] = time.time
    write_lock: threading.Lock = field(default_factory=threading.Lock)
    executor: ThreadPoolExecutor | None = None
    pruned_at: float = 0.0
    metrics: Metrics = field(default_factory=Metrics)

    @classmethod
    def create(
        cls, settings: Settings, index: ArticleIndex, answerer: Answerer, **extra: Any
    ) -> Services:
        """Services for `settings`, with a limiter set to its questions per minute."""
        limiter = QuestionLimiter(settings.telegram_questions_per_minute)
        return cls(settings, index, answerer, limiter, **extra)

    async def run(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run blocking `function` in one of the bot's worker threads and await its result."""
        if self.executor is None:
            threads = self.settings.telegram_answer_threads
            self.executor = ThreadPoolExecutor(threads, thread_name_prefix="articlebot-answer")
        # In a copy of this task's context: the worker's log lines keep the request id.
        call = functools.partial(contextvars.copy_context().run, function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    def close(self) -> None:
        """Stop the worker threads (after the application has finished its updates)."""
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    """The services of the running application."""
    services = context.bot_data["services"]
    assert isinstance(services, Services)
    return services


def remembered(chat_data: MutableMapping[Any, Any], services: Services) -> list[Turn]:
    """This chat's recent turns, or none when it has been quiet too long."""
    if is_stale(chat_data, services):
        chat_data.pop(_TURNS, None)
        return []
    turns: list[tuple[str, str, float]] = chat_data.get(_TURNS, [])
    keep = services.settings.history_turns
    return [Turn(q, a) for q, a, _ in turns[-keep:]] if keep else []


def is_stale(chat_data: Mapping[Any, Any], services: Services) -> bool:
    """True when the chat has turns and the last one is older than the memory allows."""
    turns: list[tuple[str, str, float]] = chat_data.get(_TURNS, [])
    ttl = services.settings.telegram_memory_minutes * 60
    return bool(turns) and services.clock() - turns[-1][2] > ttl


def remember(
    chat_data: MutableMapping[Any, Any], services: Services, question: str, answer: str
) -> tuple[str, str, float] | None:
    """Add one turn to this chat's memory (plain tuples: they pickle across versions).

    Returns the turn, so that `unremember` can take it back if the reply never arrives.
    """
    keep = services.settings.history_turns
    if not keep:
        return None
    turn = (question, answer, services.clock())
    chat_data[_TURNS] = [*chat_data.get(_TURNS, []), turn][-keep:]
    return turn


def unremember(chat_data: MutableMapping[Any, Any], turn: tuple[str, str, float] | None) -> None:
    """Take back a turn whose reply could not be sent."""
    turns = [t for t in chat_data.get(_TURNS, []) if t is not turn]
    if turns:
        chat_data[_TURNS] = turns
    else:
        chat_data.pop(_TURNS, None)


def forget(chat_data: MutableMapping[Any, Any]) -> bool:
    """Clear this chat's memory; True if there was something to forget."""
    return chat_data.pop(_TURNS, None) is not None


def stale_chats(all_chat_data: Mapping[int, Mapping[Any, Any]], services: Services) -> list[int]:
    """The chats whose memory has expired, at most once per `PRUNE_EVERY` clock seconds.

    Without this, a chat that never comes back would keep its conversation (in memory and
    in the persistence file) for ever.
    """
    now = services.clock()
    if now - services.pruned_at < PRUNE_EVERY:
        return []
    services.pruned_at = now
    return [chat_id for chat_id, data in list(all_chat_data.items()) if is_stale(data, services)]
