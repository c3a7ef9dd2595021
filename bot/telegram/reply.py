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

from telegram import LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.telegram.render import LIMIT, render_html, render_plain
from bot.telegram.services import Services, services_of
from bot.telegram.turns import chat_turn
from retrieval.answer.fallback import UNREACHABLE
from retrieval.types import Answer, Turn

log = logging.getLogger(__name__)

SLOW_DOWN = (
    "You're asking faster than I can read, so I skipped this question: “{}”."
    " Please wait a minute and ask again."
)
#: How much of a skipped question the slow-down reply quotes.
QUOTED = 200
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_DONE = object()


async def answer_question(
    message: Message, context: ContextTypes.DEFAULT_TYPE, question: str
) -> None:
    """Answer `question` in `message`'s chat, citing sources, and remember the turn.

    The user's questions are counted across every process of the bot; the chat's turns
    are taken one at a time (`chat_turn`), whichever process gets them. The turn is
    remembered before the reply goes out (and taken back if it cannot be sent), so a
    follow-up sent as soon as the reply arrives always sees it.
    """
    services = services_of(context)
    user, chat_id = message.from_user, message.chat_id
    per_minute = services.settings.telegram_questions_per_minute
    if user is not None and not await services.store(
        services.limits.allow_question, user.id, per_minute
    ):
        services.metrics.refused("rate_limited")
        await message.reply_text(slow_down(question), reply_parameters=threaded(message))
        return
    started = time.monotonic()
    memory = services.conversations
    async with chat_turn(services, chat_id):
        history = await services.store(memory.recent, chat_id)
        async with typing_action(context, chat_id):
            if services.settings.use_llm:
                answer, draft = await _streamed(message, services, question, history)
            else:
                answer = await services.run(services.answerer.answer, question, history)
                draft = None
        turn = await services.store(memory.add, chat_id, question, answer.text)
        try:
            await send_answer(message, answer, draft)
        except BaseException:
            await services.store(memory.take_back, turn)
            raise
    services.metrics.answered(answer, time.monotonic() - started, answerer_label(services, answer))
    if services.prune_due():
        await _prune(services)


def answerer_label(services: Services, answer: Answer) -> str:
    """Who wrote the answer, for the metrics: the LLM, or the offline answerer."""
    llm = services.settings.use_llm and answer.notice != UNREACHABLE
    return "llm" if llm else "offline"


def threaded(message: Message) -> ReplyParameters:
    """Reply to `message` itself, in private chats too (PTB threads only group replies):
    eight quick questions then get eight answers each under its own question. Sent even if
    the question was deleted meanwhile."""
    return ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True)


def slow_down(question: str) -> str:
    """The reply to a question over the limit, quoting it: the user sees which one to ask
    again."""
    words = " ".join(question.split())
    return SLOW_DOWN.format(words if len(words) <= QUOTED else words[: QUOTED - 1] + "…")


async def _prune(services: Services) -> None:
    """Forget the chats quiet too long and the old counters (a chat that never comes back
    must not be kept for ever); a failure only delays it to the next time."""
    try:
        await services.store(services.conversations.prune)
        await services.store(services.limits.prune)
    except Exception:
        log.warning("could not prune the conversation memory", exc_info=True)


@contextlib.asynccontextmanager
async def typing_action(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> AsyncIterator[None]:
    """Show "typing…" in the chat, repeated every few seconds, while the block runs."""
    every = services_of(context).settings.telegram_typing_interval

    async def send() -> None:
        try:
            await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as exc:  # cosmetic: never fail an answer for it
            log.debug("typing action failed: %s", exc)

    async def repeat() -> None:
        while True:
            await asyncio.sleep(every)
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
    message: Message, services: Services, question: str, history: list[Turn]
) -> tuple[Answer, Draft]:
    """Show the LLM's text as it arrives by editing one message, at most once per interval."""
    pieces: Iterator[str | Answer] = services.answerer.stream(question, history)
    draft = Draft(message, services.settings.telegram_edit_interval)
    text = ""
    while True:
        item = await services.run(next, pieces, _DONE)
        if isinstance(item, Answer):
            return item, draft
        if item is _DONE:
            raise RuntimeError("the answerer's stream ended without an answer")
        text += str(item)
        if draft.due():
            await draft.show(text[: LIMIT - 2] + " …")


class Draft:
    """The one message a streamed answer is shown in; edited at most once per `interval`."""

    def __init__(self, message: Message, interval: float) -> None:
        self.message = message
        self.interval = interval
        self.sent: Message | None = None
        self._shown = ""
        self._last = 0.0

    def due(self) -> bool:
        """Whether an edit now would respect the interval."""
        return time.monotonic() - self._last >= self.interval

    async def wait(self) -> None:
        """Sleep until the next edit is due."""
        await asyncio.sleep(max(0.0, self._last + self.interval - time.monotonic()))

    async def show(self, text: str) -> None:
        """Send the draft, or edit it if the text changed."""
        if text.strip() == self._shown:
            return
        if self.sent is None:
            self.sent = await self.message.reply_text(text, reply_parameters=threaded(self.message))
        else:
            await self.sent.edit_text(text)
        self._shown, self._last = text.strip(), time.monotonic()


async def send_answer(message: Message, answer: Answer, draft: Draft | None = None) -> None:
    """Reply with the HTML answer (into `draft` first, if any); plain text if HTML is refused."""
    try:
        await _send(message, render_html(answer), draft, ParseMode.HTML)
    except BadRequest as exc:
        if "can't parse entities" not in str(exc).lower():
            raise
        log.warning("Telegram refused the HTML (%s); sending plain text", exc)
        await _send(message, render_plain(answer), draft, None)


async def _send(
    message: Message, parts: list[str], draft: Draft | None, mode: ParseMode | None
) -> None:
    first, rest = parts[0], parts[1:]
    if draft is not None and draft.sent is not None:
        await draft.wait()  # the final edit keeps to the interval too
        await draft.sent.edit_text(first, parse_mode=mode, link_preview_options=NO_PREVIEW)
    else:
        await message.reply_text(
            first,
            parse_mode=mode,
            link_preview_options=NO_PREVIEW,
            reply_parameters=threaded(message),
        )
    for part in rest:
        await message.get_bot().send_message(
            message.chat_id, part, parse_mode=mode, link_preview_options=NO_PREVIEW
        )
