"""One turn at a time per chat, across every process of the bot.

Two quick messages of one chat may reach two webhook replicas at once; each would read the
memory before the other wrote its turn, and the second answer would miss the first. So a
turn claims the chat's lease (`ConversationStore.claim`) before it reads the memory and
gives it up once its turn is remembered and sent. The claim is renewed while the turn runs
and lasts `LEASE` seconds otherwise: a crashed process's claim runs out by itself. A turn
waits at most `WAIT` seconds and then goes on without the lease (logged): never a deadlock,
and its turn is still remembered, only perhaps without the other one's context.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator

from bot.telegram.services import Services

log = logging.getLogger(__name__)
#: Seconds a claim lasts unless renewed (a crashed holder's claim runs out after this).
LEASE = 30.0
#: Seconds a turn waits for the chat's previous turn before going on without the lease.
WAIT = 120.0
#: The first and the longest pause between two tries to claim.
FIRST_PAUSE, LONGEST_PAUSE = 0.02, 0.5


@contextlib.asynccontextmanager
async def chat_turn(services: Services, chat_id: int) -> AsyncIterator[bool]:
    """Hold the chat's lease while the block runs; yields whether it was had."""
    store, owner = services.conversations, uuid.uuid4().hex
    deadline, pause = time.monotonic() + WAIT, FIRST_PAUSE
    held = await services.store(store.claim, chat_id, owner, LEASE)
    while not held and time.monotonic() < deadline:
        await asyncio.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE)
        held = await services.store(store.claim, chat_id, owner, LEASE)
    if not held:
        log.warning("chat %s: its previous turn took over %.0f s; answering anyway", chat_id, WAIT)
        yield False
        return
    renewing = asyncio.create_task(_renew(services, chat_id, owner))
    try:
        yield True
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
        try:
            await services.store(store.release, chat_id, owner)
        except Exception:  # the claim runs out by itself
            log.warning("could not release chat %s's turn", chat_id, exc_info=True)


async def _renew(services: Services, chat_id: int, owner: str) -> None:
    """Keep the claim alive while a long answer (an LLM's) is written."""
    while True:
        await asyncio.sleep(LEASE / 3)
        try:
            if not await services.store(services.conversations.claim, chat_id, owner, LEASE):
                log.warning("chat %s: its turn's lease was taken over", chat_id)
                return
        except Exception:
            log.warning("could not renew chat %s's turn", chat_id, exc_info=True)
