"""Telegram's flood limits, shared by every process of the bot.

Telegram allows a bot about 30 messages a second per token, and about 20 a minute to one
group: N webhook replicas each pacing themselves with PTB's `AIORateLimiter` would
together send N times that. So a request to a group first takes one of the group's sends
of the last 60 seconds (`RateLimits.take_group_send`), then every request to a chat one of
the second's sends (`RateLimits.take_send`), each one small write transaction in the
catalog, waiting when they are gone. The group's comes first so that a request waiting up
to a minute for its group does not hold one of the second's sends meanwhile. Then PTB's
own limiter does the rest (its per-process pacing, waiting out and retrying a 429). If the
database cannot be reached the request goes on: Telegram's 429 and PTB's retries still
hold the bot back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram._utils.types import JSONDict
from telegram.constants import FloodLimit
from telegram.ext import AIORateLimiter, BaseRateLimiter

from retrieval.store.limits import RateLimits

log = logging.getLogger(__name__)


def group_of(chat_id: object) -> str | None:
    """The group a request's `chat_id` sends to, as PTB's `AIORateLimiter` decides it: a
    negative id (groups, supergroups, channels) or an `@username` (supergroups, channels);
    None for a private chat or no chat."""
    if chat_id is None or isinstance(chat_id, bool):
        return None
    with contextlib.suppress(ValueError, TypeError):
        chat_id = int(chat_id)  # type: ignore[call-overload]
    if isinstance(chat_id, int):
        return str(chat_id) if chat_id < 0 else None
    return str(chat_id) if isinstance(chat_id, str) else None


class SharedRateLimiter(BaseRateLimiter[int]):
    """PTB's `AIORateLimiter` behind per-group and per-second budgets counted in the
    catalog."""

    def __init__(
        self,
        limits: RateLimits,
        *,
        per_second: int = FloodLimit.MESSAGES_PER_SECOND,
        per_group_minute: int = FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP,
        max_retries: int = 0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """sleep: how to wait for a budget (tests pass one that moves their clock)."""
        self.limits = limits
        self.per_second = per_second
        self.per_group_minute = per_group_minute
        self._sleep = sleep
        self._local = AIORateLimiter(max_retries=max_retries)

    async def initialize(self) -> None:
        await self._local.initialize()

    async def shutdown(self) -> None:
        await self._local.shutdown()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        """Wait for a send of the group's shared budget (requests to a group), then of the
        second's (requests to a chat, as PTB's limiter counts), then let PTB's limiter send
        it."""
        chat_id = data.get("chat_id")
        group = group_of(chat_id)
        if group is not None:
            await self.take_group(group)
        if chat_id is not None:
            await self.take()
        return await self._local.process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )

    async def take(self) -> None:
        """Wait until one of the current second's sends is this request's."""
        await self._wait(lambda: self.limits.take_send(self.per_second), "send limit")

    async def take_group(self, group: str) -> None:
        """Wait until one of `group`'s sends of the last 60 seconds is this request's."""
        await self._wait(
            lambda: self.limits.take_group_send(group, self.per_group_minute), "group send limit"
        )

    async def _wait(self, take: Callable[[], float], what: str) -> None:
        """Ask `take` (off the event loop) until it gives a send; on a database error log
        once and go on unpaced."""
        while True:
            try:
                wait = await asyncio.to_thread(take)
            except SQLAlchemyError as exc:
                why = " ".join(str(getattr(exc, "orig", None) or exc).split())
                log.warning("the shared %s is unavailable (%s); sending anyway", what, why)
                return
            if wait <= 0:
                return
            await self._sleep(wait)
