"""The bot's command and message handlers: small functions, one job each."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.telegram.admin import ADMIN_HELP, is_admin
from bot.telegram.render import escape_within, is_web_url, sendable
from bot.telegram.reply import NO_PREVIEW, answer_question
from bot.telegram.services import services_of
from retrieval.news.datelines import published_label
from retrieval.store.catalog import StoredArticle

PAGE_SIZE = 5
START = (
    "I answer questions about a collection of news articles, citing the passages I used "
    "as numbered sources with the exact quotes.\n\n"
    "Just send me a question, for example: <i>When does the bridge reopen?</i>\n"
    "In groups, mention me or use /ask &lt;question&gt;.\n\n"
    "/timeline &lt;topic&gt; lists dated events, /sources the articles I know, "
    "/reset forgets our conversation, /help shows this.\n\n"
    "/follow &lt;topic&gt; sends a short message when a new article about it is stored; "
    "/following lists this chat's topics, /unfollow &lt;n&gt; stops one."
)
USAGE_ASK = "Usage: /ask <question>, for example /ask When does the bridge reopen?"


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say what the bot does and how to ask."""
    if update.effective_message:
        await update.effective_message.reply_text(START, parse_mode=ParseMode.HTML)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show how to use the bot (and, to an admin, how to add articles and files)."""
    message = update.effective_message
    if message is None:
        return
    user = message.from_user.id if message.from_user else None
    text = START
    if is_admin(services_of(context), user):
        text += "\n\n" + ADMIN_HELP
    await message.reply_text(text, parse_mode=ParseMode.HTML)


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the question after /ask."""
    message = update.effective_message
    if message is None:
        return
    question = " ".join(context.args or []).strip()
    if not question:
        await message.reply_text(USAGE_ASK)
        return
    await answer_question(message, context, question)


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer any text in a private chat as a question."""
    message = update.effective_message
    if message is not None and message.text and message.text.strip():
        await answer_question(message, context, message.text.strip())


def is_addressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """True for a group message that mentions the bot, replies to it, or is a command."""
    message = update.effective_message
    if message is None:
        return False
    if message.text and message.text.startswith("/"):
        return True
    replied = message.reply_to_message
    if replied is not None and replied.from_user and replied.from_user.id == context.bot.id:
        return True
    mentions = message.parse_entities([MessageEntity.MENTION]).values()
    return f"@{context.bot.username}".lower() in (m.lower() for m in mentions)


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In groups, answer only messages that mention the bot or reply to it."""
    message = update.effective_message
    if message is None or not message.text or not is_addressed(update, context):
        return
    question = message.text.replace(f"@{context.bot.username}", " ")
    question = " ".join(question.split())
    if not question:
        await message.reply_text(USAGE_ASK)
        return
    await answer_question(message, context, question)


async def reset(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Forget this chat's conversation."""
    message = update.effective_message
    if message is None:
        return
    services = services_of(context)
    had = await services.store(services.conversations.forget, message.chat_id)
    text = "Conversation forgotten." if had else "Nothing to forget: we start afresh."
    await message.reply_text(text)


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say how many articles and passages are indexed."""
    if update.effective_message is None:
        return
    services = services_of(context)
    info = await services.run(services.index.stats)
    dates = f"{info.oldest} to {info.newest}" if info.oldest and info.newest else "unknown"
    dates += f" ({info.undated} with no date)" if info.undated else ""
    mode = "LLM" if services.settings.use_llm else "offline"
    await update.effective_message.reply_text(
        f"{info.articles} articles, {info.chunks} passages indexed.\n"
        f"Published: {dates}.\nAnswers: {mode}."
    )


async def sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the known articles, one page at a time."""
    if update.effective_message is None:
        return
    services = services_of(context)
    articles = await services.run(services.index.articles)
    text, markup = sources_page_view(articles, 0)
    await update.effective_message.reply_text(
        text, parse_mode=ParseMode.HTML, reply_markup=markup, link_preview_options=NO_PREVIEW
    )


async def sources_page(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show another page of /sources when a button is pressed."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    await query.answer()
    page = int(query.data.split(":")[1])
    services = services_of(context)
    articles = await services.run(services.index.articles)
    text, markup = sources_page_view(articles, page)
    await query.edit_message_text(
        text, parse_mode=ParseMode.HTML, reply_markup=markup, link_preview_options=NO_PREVIEW
    )


def sources_page_view(
    articles: list[StoredArticle], page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of the article list (escaped HTML) and its Previous/Next buttons."""
    if not articles:
        return "No articles yet: an admin can /add a URL or send a file.", None
    pages = (len(articles) + PAGE_SIZE - 1) // PAGE_SIZE
    page = max(0, min(page, pages - 1))
    lines = [f"<b>Articles {page + 1}/{pages}</b> ({len(articles)} in all)"]
    for number, stored in enumerate(articles[page * PAGE_SIZE :][:PAGE_SIZE], page * PAGE_SIZE):
        a = stored.article
        # Bounded escaped sizes: five lines always fit one message (a 2 kB URL once did not).
        title = escape_within(" ".join(a.title.split()), 300)
        if a.url and is_web_url(a.url, 300):
            title = f'<a href="{html.escape(sendable(a.url), quote=True)}">{title}</a>'
        site = f" — {escape_within(' '.join(a.site.split()), 100)}" if a.site else ""
        lines.append(f"{number + 1}. {title}{site}, {published_label(a)}")
    buttons = []
    if page > 0:
        buttons.append(InlineKeyboardButton("‹ Previous", callback_data=f"sources:{page - 1}"))
    if page < pages - 1:
        buttons.append(InlineKeyboardButton("Next ›", callback_data=f"sources:{page + 1}"))
    return "\n".join(lines), InlineKeyboardMarkup([buttons]) if buttons else None
