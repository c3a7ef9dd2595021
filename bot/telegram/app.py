"""The Telegram bot's `Application`: services, access control, handlers, errors.

`build_application(settings, services)` wires everything; `articlebot telegram` (in
`bot/cli/telegram.py`) runs it, by long polling or behind our webhook endpoint
(`webhook_server.py`). The services (answerer, index, settings, the stores of memory and
limits) live in `bot_data["services"]`, never in module globals. Each chat's conversation
and the rate limits live in the catalog's database (shared by every process of the bot),
not in PTB's `chat_data`: nothing is kept per process.
"""

from __future__ import annotations

import logging
from typing import Any, TypeAlias

from telegram import BotCommand, Update
from telegram.constants import ChatType
from telegram.error import Conflict, NetworkError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.observability.logs import set_request_id
from bot.settings import Settings
from bot.telegram import admin as telegram_admin
from bot.telegram import follow as telegram_follow
from bot.telegram import handlers as telegram_handlers
from bot.telegram import news as telegram_news
from bot.telegram.network import BotApiRequest, OutageLog
from bot.telegram.old_memory import migrate_pickle
from bot.telegram.send_limit import SharedRateLimiter
from bot.telegram.services import Services, services_of
from retrieval.errors import ArticlebotError, LLMError, StoreError

log = logging.getLogger(__name__)
#: `bot_data` key: why polling was given up (a second poller), for the CLI to say once.
POLLING_REFUSED = "polling_refused"
SECOND_POLLER = (
    "Telegram refused to poll ({why}): another process is polling this bot token, and"
    " only one may; stop the other `articlebot telegram` (or program) using it, or run"
    " several replicas with --webhook-url"
)

#: The bot's application type (PTB's default context, bot and data types).
BotApplication: TypeAlias = Application[Any, Any, Any, Any, Any, Any]

#: Updates handled at once (PTB's default); the answers themselves share the worker threads.
CONCURRENT_UPDATES = 256
#: Retries of a request Telegram answered with 429 "retry after" (the limiter waits first).
RATE_LIMIT_RETRIES = 3
COMMANDS = [
    BotCommand("start", "What this bot does and how to ask"),
    BotCommand("help", "How to use the bot"),
    BotCommand("ask", "Ask a question about the articles"),
    BotCommand("sources", "List the articles the bot knows"),
    BotCommand("reset", "Forget this chat's conversation"),
    BotCommand("stats", "How many articles are indexed"),
    BotCommand("timeline", "Dated events about a topic, oldest first"),
    BotCommand("follow", "Get a message when a new article is about a topic"),
    BotCommand("following", "List this chat's followed topics"),
    BotCommand("unfollow", "Stop following a topic (its number in /following)"),
]
REFUSAL_ACCESS = "Sorry, this bot is private: you are not on its list of users."
APOLOGY = "Sorry, something went wrong while answering. Please try again in a minute."
APOLOGY_LLM = (
    "Sorry, the language model is not answering right now (busy or timed out). "
    "Please try again in a minute."
)
APOLOGY_STORE = "Sorry, the article index is unavailable right now. Please try again later."


def build_application(
    settings: Settings, services: Services, *, polling: bool = True
) -> BotApplication:
    """Build the bot: token, Bot API URLs, concurrency, shared rate limits, handlers; the
    conversations an older bot kept in its pickle file are imported first (once).

    polling: with PTB's updater (long polling); False for webhook mode, where our own
    endpoint puts the updates on the application's queue (`bot/telegram/webhook.py`).
    """
    if settings.telegram_bot_token is None:
        raise ValueError("settings.telegram_bot_token is not set")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate_pickle(settings.data_dir, services.conversations)
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .request(BotApiRequest(connection_pool_size=CONCURRENT_UPDATES))
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_file_url)
        .concurrent_updates(CONCURRENT_UPDATES)
        .post_init(register_commands)
        .post_shutdown(close_services)
    )
    if polling:
        builder = builder.get_updates_request(
            BotApiRequest(connection_pool_size=1, outage=OutageLog(settings.telegram_base_url))
        )
    else:
        builder = builder.updater(None)
    if settings.telegram_rate_limit:
        limiter = SharedRateLimiter(services.limits, max_retries=RATE_LIMIT_RETRIES)
        builder = builder.rate_limiter(limiter)
    application = builder.build()
    application.bot_data["services"] = services
    add_handlers(application)
    telegram_follow.schedule_follows(application)
    return application


def add_handlers(application: BotApplication) -> None:  # type: ignore[type-arg]
    """Register the access guard, the commands, the message handlers and the error handler."""
    application.add_handler(TypeHandler(Update, tag_request), group=-2)
    application.add_handler(TypeHandler(Update, guard), group=-1)
    h = telegram_handlers
    for name, callback in [
        ("start", h.start),
        ("help", h.help_command),
        ("ask", h.ask),
        ("sources", h.sources),
        ("reset", h.reset),
        ("stats", h.stats),
        ("add", telegram_admin.add),
        ("timeline", telegram_news.timeline),
        ("follow", telegram_follow.follow),
        ("following", telegram_follow.following),
        ("unfollow", telegram_follow.unfollow),
    ]:
        application.add_handler(CommandHandler(name, callback))
    application.add_handler(CallbackQueryHandler(h.sources_page, pattern=r"^sources:\d+$"))
    text = filters.TEXT & ~filters.COMMAND
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE & text, h.private_text))
    application.add_handler(MessageHandler(filters.ChatType.GROUPS & text, h.group_text))
    application.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.Document.ALL, telegram_admin.document)
    )
    application.add_error_handler(on_error)


async def register_commands(application: BotApplication) -> None:  # type: ignore[type-arg]
    """Tell Telegram the command list (shown in the client's menu)."""
    await application.bot.set_my_commands(COMMANDS)


async def close_services(application: BotApplication) -> None:  # type: ignore[type-arg]
    """Stop the worker threads once the application has finished its updates."""
    services = application.bot_data.get("services")
    if isinstance(services, Services):
        services.close()


def is_authorised(settings: Settings, user_id: int | None, chat_id: int | None) -> bool:
    """True when no allow-list is set, or the user or the chat is on one (admins always)."""
    users, chats = settings.allowed_user_ids, settings.allowed_chat_ids
    if user_id is not None and user_id in (settings.admin_user_ids or ()):
        return True
    if users is None and chats is None:
        return True
    return (user_id is not None and user_id in (users or ())) or (
        chat_id is not None and chat_id in (chats or ())
    )


async def tag_request(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Give the update a request id: every log line about it carries the id (each update
    runs in its own task, so the id stays with it, and `Services.run` hands it on)."""
    set_request_id()
    log.debug("update %s", update.update_id)


async def guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop updates from people and chats not allowed: one refusal (when addressed),
    nothing stored for them, nothing of the chat's memory touched (no handler runs)."""
    settings = services_of(context).settings
    user, chat = update.effective_user, update.effective_chat
    if is_authorised(settings, user.id if user else None, chat.id if chat else None):
        return
    log.info("refused an update from user %s in chat %s", user and user.id, chat and chat.id)
    services_of(context).metrics.refused("not_allowed")
    if update.callback_query is not None:
        await update.callback_query.answer(REFUSAL_ACCESS, show_alert=True)
    elif update.effective_message is not None and chat is not None:
        addressed = chat.type == ChatType.PRIVATE or telegram_handlers.is_addressed(update, context)
        if addressed:
            await update.effective_message.reply_text(REFUSAL_ACCESS)
    raise ApplicationHandlerStop


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error (traceback for unexpected ones) and send the user a short apology."""
    error = context.error
    if update is None and isinstance(error, Conflict):
        # Polling again would only take turns with the other poller, each answered 409.
        context.bot_data[POLLING_REFUSED] = SECOND_POLLER.format(why=str(error).rstrip("."))
        context.application.stop_running()
        return
    if update is None and isinstance(error, NetworkError):  # polling: one line, no traceback
        log.warning("polling Telegram failed: %s", " ".join(str(error).split()))
        return
    if isinstance(error, LLMError):
        services = context.bot_data.get("services")
        if isinstance(services, Services):
            services.metrics.llm_error(type(error).__name__)
    if isinstance(error, ArticlebotError):
        log.warning("could not answer: %s: %s", type(error).__name__, error)
    else:
        log.error("unexpected error while handling an update", exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    text = APOLOGY
    if isinstance(error, LLMError):
        text = APOLOGY_LLM
    elif isinstance(error, StoreError):
        text = APOLOGY_STORE
    try:
        await context.bot.send_message(update.effective_chat.id, text)
    except Exception:  # the apology itself failed (network): the log has the error
        log.warning("could not send the apology", exc_info=True)
