"""Answer one question in a chat: limit, typing action, (streamed) answer, HTML reply.

The answerer is blocking (retrieval, maybe an LLM call), so it runs in a worker thread:
with concurrent updates, a slow answer in one chat never holds up the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterator

from telegram import LinkPreviewOptions, Message
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.render_telegram import LIMIT, render_html, render_plain
from bot.telegram_services import remember, remembered, services_of
from retrieval.answer import Answerer, Turn
from retrieval.types import Answer

log = logging.getLogger(__name__)

TYPING_EVERY = 4.0
SLOW_DOWN = "You're asking faster than I can read. Please wait a minute and ask again."
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_DONE = object()


async def answer_question(
    message: Message, context: ContextTypes.DEFAULT_TYPE, question: str
) -> None:
    """Answer `question` in `message`'s chat, citing sources, and remember the turn."""
    services = services_of(context)
    user = message.from_user
    if user is not None and not services.limiter.allow(user.id):
        await message.reply_text(SLOW_DOWN)
        return
    chat_data = context.chat_data if context.chat_data is not None else {}
    history = remembered(chat_data, services.settings)
    async with typing_action(context, message.chat_id):
        if services.settings.use_llm:
            answer, draft = await _streamed(message, services.answerer, question, history, context)
        else:
            answer = await asyncio.to_thread(services.answerer.answer, question, history)
            draft = None
    await send_answer(message, answer, draft)
    remember(chat_data, services.settings, question, answer.text)


@contextlib.asynccontextmanager
async def typing_action(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> AsyncIterator[None]:
    """Show "typing…" in the chat, repeated every few seconds, while the block runs."""

    async def send() -> None:
        try:
            await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as exc:  # cosmetic: never fail an answer for it
            log.debug("typing action failed: %s", exc)

    async def repeat() -> None:
        while True:
            await asyncio.sleep(TYPING_EVERY)
            await send()

    await send()
    task = asyncio.create_task(repeat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _streamed(
    message: Message,
    answerer: Answerer,
    question: str,
    history: list[Turn],
    context: ContextTypes.DEFAULT_TYPE,
) -> tuple[Answer, Message | None]:
    """Show the LLM's text as it arrives by editing one message, at most once per interval."""
    interval = services_of(context).settings.telegram_edit_interval
    pieces: Iterator[str | Answer] = answerer.stream(question, history)
    draft: Message | None = None
    text, shown, last = "", "", 0.0
    while True:
        item = await asyncio.to_thread(next, pieces, _DONE)
        if isinstance(item, Answer):
            return item, draft
        if item is _DONE:
            raise RuntimeError("the answerer's stream ended without an answer")
        text += str(item)
        preview = text[: LIMIT - 2] + " …"
        if time.monotonic() - last >= interval and preview.strip() != shown:
            if draft is None:
                draft = await message.reply_text(preview)
            else:
                await draft.edit_text(preview)
            shown, last = preview.strip(), time.monotonic()


async def send_answer(message: Message, answer: Answer, draft: Message | None = None) -> None:
    """Reply with the HTML answer (into `draft` first, if any); plain text if HTML is refused."""
    try:
        await _send(message, render_html(answer), draft, ParseMode.HTML)
    except BadRequest as exc:
        if "can't parse entities" not in str(exc).lower():
            raise
        log.warning("Telegram refused the HTML (%s); sending plain text", exc)
        await _send(message, render_plain(answer), draft, None)


async def _send(
    message: Message, parts: list[str], draft: Message | None, mode: ParseMode | None
) -> None:
    first, rest = parts[0], parts[1:]
    if draft is not None:
        await draft.edit_text(first, parse_mode=mode, link_preview_options=NO_PREVIEW)
    else:
        await message.reply_text(first, parse_mode=mode, link_preview_options=NO_PREVIEW)
    for part in rest:
        await message.get_bot().send_message(
            message.chat_id, part, parse_mode=mode, link_preview_options=NO_PREVIEW
        )
