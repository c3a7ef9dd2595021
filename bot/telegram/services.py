"""What the bot's handlers share: the services, and the stores of its shared state.

Conversation memory (`ConversationStore`) and the rate limits (`RateLimits`) live in the
catalog's database, so every process of the bot (webhook replicas) sees the same turns and
counts the same questions. Their times are the database's clock; a test's `clock` (given
to `Services.create`) replaces it, to move time forward instead of waiting.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from telegram.ext import ContextTypes

from bot.observability.metrics import Metrics
from bot.settings import Settings
from retrieval.answer.base import Answerer
from retrieval.store.conversations import ConversationStore
from retrieval.store.index import ArticleIndex
from retrieval.store.limits import RateLimits

#: How often (in clock seconds) each process deletes expired chats and old counters.
PRUNE_EVERY = 60.0
P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class Services:
    """The collaborators every handler uses; kept in `bot_data["services"]`.

    `executor` runs the blocking work (retrieval, LLM calls, ingest) so that the event loop,
    and every other chat, goes on meanwhile; `store` runs the short database calls of the
    memory and limits apart from it. `clock` dates the follows and paces the pruning.
    `metrics` counts answers, refusals and ingests for `/metrics`.
    allow_private_addresses lets /add fetch from private networks (tests only).
    """

    settings: Settings
    index: ArticleIndex
    answerer: Answerer
    conversations: ConversationStore
    limits: RateLimits
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
        """Services for `settings`, their memory and limits in the index's catalog (timed
        by `extra["clock"]` when a test gives one, else by the database's clock)."""
        clock = extra.get("clock")
        conversations = ConversationStore(
            index.catalog,
            keep=settings.history_turns,
            memory_seconds=settings.telegram_memory_minutes * 60,
            clock=clock,
        )
        limits = RateLimits(index.catalog, clock)
        return cls(settings, index, answerer, conversations, limits, **extra)

    async def run(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run blocking `function` in one of the bot's worker threads and await its result."""
        if self.executor is None:
            threads = self.settings.telegram_answer_threads
            self.executor = ThreadPoolExecutor(threads, thread_name_prefix="articlebot-answer")
        # In a copy of this task's context: the worker's log lines keep the request id.
        call = functools.partial(contextvars.copy_context().run, function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    async def store(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a short blocking database call (memory, limits) off the event loop, not in
        the answer threads: a turn never waits for other chats' answers to be remembered."""
        return await asyncio.to_thread(function, *args, **kwargs)

    def prune_due(self) -> bool:
        """True at most once per `PRUNE_EVERY` clock seconds (then this process prunes)."""
        now = self.clock()
        if now - self.pruned_at < PRUNE_EVERY:
            return False
        self.pruned_at = now
        return True

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
