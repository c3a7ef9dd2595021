"""The bot's news commands: /timeline <topic> lists the dated events about a topic."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.telegram.reply import answer_question
from retrieval.news.timeline import timeline_question

USAGE_TIMELINE = "Usage: /timeline <topic>, for example /timeline Sallow Street Bridge"


async def timeline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer with the dated events about the topic after /timeline, oldest first."""
    message = update.effective_message
    if message is None:
        return
    topic = " ".join(context.args or []).strip()
    if not topic:
        await message.reply_text(USAGE_TIMELINE)
        return
    await answer_question(message, context, timeline_question(topic))
