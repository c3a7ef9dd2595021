"""Telegram's per-token flood limit, shared by every process of the bot.

Telegram allows a bot about 30 messages a second, per token: N webhook replicas each
pacing themselves with PTB's `AIORateLimiter` would together send N times that. This
limiter first takes one of the second's sends from the catalog (`RateLimits.take_send`,
one small write transaction per request to a chat) and waits for the next second when
they are gone; then PTB's own limiter does the rest (per-group pacing, waiting out and
retrying a 429). If the database cannot be reached the request goes on: Telegram's 429
and PTB's retries still hold the bot back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram._utils.types import JSONDict
from telegram.constants import FloodLimit
from telegram.ext import AIORateLimiter, BaseRateLimiter

from retrieval.store.limits import RateLimits

log = logging.getLogger(__name__)


class SharedRateLimiter(BaseRateLimiter[int]):
    """PTB's `AIORateLimiter` behind a sends-per-second budget counted in the catalog."""

    def __init__(
        self,
        limits: RateLimits,
        *,
        per_second: int = FloodLimit.MESSAGES_PER_SECOND,
        max_retries: int = 0,
    ) -> None:
        self.limits = limits
        self.per_second = per_second
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
        """Wait for a send of the shared budget (requests to a chat, as PTB's limiter
        counts), then let PTB's limiter send it."""
        if data.get("chat_id") is not None:
            await self.take()
        return await self._local.process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )

    async def take(self) -> None:
        """Wait until one of the current second's sends is this request's."""
        while True:
            try:
                wait = await asyncio.to_thread(self.limits.take_send, self.per_second)
            except SQLAlchemyError as exc:
                why = " ".join(str(getattr(exc, "orig", None) or exc).split())
                log.warning("the shared send limit is unavailable (%s); sending anyway", why)
                return
            if wait <= 0:
                return
            await asyncio.sleep(wait)
