"""`articlebot telegram`: run the Telegram bot on the index (long polling or a webhook)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import signal
import threading

import click
from telegram import Bot, Update
from telegram.error import InvalidToken, NetworkError

from bot.cli.main import AppContext, handle_errors
from bot.observability.health import store_readiness
from bot.observability.logs import configure as configure_logs
from bot.observability.server import start_monitor
from bot.settings import Settings, secret_values
from bot.telegram.app import POLLING_REFUSED, BotApplication, build_application
from bot.telegram.network import BotApiRequest, OneLineNetworkErrors
from bot.telegram.services import Services
from bot.telegram.sync import make_runner, schedule_sync
from bot.telegram.webhook_server import Webhook, WebhookError, serve_until_signalled
from retrieval.pipeline import make_answerer
from retrieval.store.index import ArticleIndex

pass_app = click.make_pass_decorator(AppContext)
NO_TOKEN = (
    "no Telegram bot token: set TELEGRAM_BOT_TOKEN (from @BotFather) in the environment or .env"
)
#: What Telegram accepts as a webhook secret token.
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
BAD_TOKEN = "Telegram rejected the bot token (TELEGRAM_BOT_TOKEN): check it with @BotFather"


@click.command()
@click.option(
    "--webhook-url",
    help="Public HTTPS URL Telegram posts updates to (webhook mode); this process serves its path.",
)
@click.option("--listen", default="127.0.0.1", show_default=True, help="Webhook listen address.")
@click.option("--port", type=int, default=8443, show_default=True, help="Webhook listen port.")
@click.option(
    "--secret-token",
    help="Webhook secret (else ARTICLEBOT_TELEGRAM_WEBHOOK_SECRET, else a random one); "
    "requests without it are refused. Replicas of one bot need the same one.",
)
@click.option(
    "--watch",
    "watch_sources",
    is_flag=True,
    help="Also sync the watched sources on their schedule (see `articlebot sources`).",
)
@click.option(
    "--keep-deleted",
    is_flag=True,
    help="With --watch: keep the articles of files deleted from a watched folder.",
)
@pass_app
@handle_errors
def telegram(
    app: AppContext,
    webhook_url: str | None,
    listen: str,
    port: int,
    secret_token: str | None,
    watch_sources: bool,
    keep_deleted: bool,
) -> None:
    """Run the Telegram bot: cited answers to questions about the stored articles.

    Needs TELEGRAM_BOT_TOKEN. Long polling by default; with --webhook-url, Telegram posts
    updates to this process instead (--listen/--port; put a TLS proxy or load balancer in
    front: several processes with the same URL and secret may serve it), and every request
    must carry the webhook secret. Ctrl-C or SIGTERM stops it cleanly. With
    --watch the same process keeps the watched sources current, as `articlebot watch` does.

    \b
    Example usage:
        TELEGRAM_BOT_TOKEN=123:abc articlebot telegram
        TELEGRAM_BOT_TOKEN=123:abc articlebot telegram --watch
        ARTICLEBOT_TELEGRAM_WEBHOOK_SECRET=s3cret articlebot telegram \\
            --webhook-url https://bot.example.com/tg --listen 127.0.0.1 --port 8443
    """
    settings = app.settings
    if settings.telegram_bot_token is None:
        raise click.ClickException(f"{NO_TOKEN} (settings read from {app.looked_in})")
    # PTB 22 warns on every 429 ("retry after") unless the process opts in to its future
    # timedelta durations; the bot reads none of them, so it opts in.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    if webhook_url:
        secret_token = webhook_secret(settings, secret_token)
    _redact_logs(settings, secret_token)
    username = asyncio.run(_check_token(settings))
    with ArticleIndex(settings, must_exist=True) as index:
        services = Services.create(settings, index, make_answerer(settings, index))
        _, indexed, _ = index.catalog.counts()
        application = build_application(settings, services, polling=not webhook_url)
        line = start_line(settings, username, indexed, webhook_url, listen, port)
        if watch_sources:
            runner = make_runner(services, keep_deleted=keep_deleted)
            try:
                schedule_sync(application, runner)
            except RuntimeError as exc:
                raise click.ClickException(str(exc)) from None
            count = len(runner.store.all())
            line = line.replace(" Ctrl-C", f" Watching {count} sources. Ctrl-C")
        readiness = store_readiness(settings, lambda: index.client)
        monitor = start_monitor(settings, readiness, services.metrics)
        if monitor is not None:
            host, monitor_port = monitor.address
            line = line.replace(" Ctrl-C", f" Health and metrics on {host}:{monitor_port}. Ctrl-C")
        click.echo(line)
        try:
            _run(application, settings, webhook_url, listen, port, secret_token)
        finally:
            if monitor is not None:
                monitor.close()


def webhook_secret(settings: Settings, given: str | None) -> str:
    """The secret Telegram must send with each update: given, configured, or random."""
    configured = settings.telegram_webhook_secret
    secret = given or (configured.get_secret_value() if configured else secrets.token_hex(32))
    if not SECRET_PATTERN.fullmatch(secret):
        raise click.ClickException(
            "the webhook secret may only use A-Z, a-z, 0-9, _ and - (1 to 256 characters)"
        )
    return secret


def start_line(
    settings: Settings, username: str, indexed: int, webhook_url: str | None, listen: str, port: int
) -> str:
    """What the bot is about to do, in one line: someone who starts it sees it works."""
    mode = (
        f"webhook {webhook_url} (listening on {listen}:{port})" if webhook_url else "long polling"
    )
    return (
        f"Telegram bot @{username}: {mode}, {indexed} articles indexed,"
        f" answers {answerer_label(settings)}. Ctrl-C stops it."
    )


def answerer_label(settings: Settings) -> str:
    """Who writes the answers, as the start line says it."""
    if not settings.use_llm:
        return "offline (quoted from the articles)"
    if settings.answerer == "auto":
        return f"by the LLM {settings.llm_model} (offline while it is unreachable)"
    return f"by the LLM {settings.llm_model}"


async def _check_token(settings: Settings) -> str:
    """Ask getMe once, so a bad token is one line (PTB's own start-up logs a traceback).

    Returns the bot's username, for the start line."""
    assert settings.telegram_bot_token is not None
    bot = Bot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=settings.telegram_base_url,
        base_file_url=settings.telegram_file_url,
        request=BotApiRequest(connection_pool_size=1),
    )
    try:
        async with bot:  # initialize() calls getMe; shutdown() closes the connections
            return bot.username
    except InvalidToken:
        raise click.ClickException(BAD_TOKEN) from None
    except NetworkError as exc:
        raise click.ClickException(
            f"cannot reach the Telegram Bot API at {settings.telegram_base_url}: {exc}"
        ) from None


def _run(
    application: BotApplication,
    settings: Settings,
    webhook_url: str | None,
    listen: str,
    port: int,
    secret_token: str | None,
) -> None:
    """Poll or serve the webhook until a stop signal; turn start-up failures into one line."""
    try:
        if webhook_url:
            assert secret_token is not None  # webhook_secret() made one
            webhook = Webhook(webhook_url, listen, port, secret_token)
            asyncio.run(serve_until_signalled(application, webhook))
        else:
            _poll(application)
            refused = application.bot_data.get(POLLING_REFUSED)
            if refused:
                raise click.ClickException(str(refused))
    except WebhookError as exc:
        raise click.ClickException(str(exc)) from None
    except InvalidToken:
        raise click.ClickException(BAD_TOKEN) from None
    except NetworkError as exc:
        raise click.ClickException(
            f"cannot reach the Telegram Bot API at {settings.telegram_base_url}: {exc}"
        ) from None


def _poll(application: BotApplication) -> None:
    """PTB's `run_polling`, with the stop signals noted. A signal that lands while PTB is
    still starting makes its shutdown fail: the deleteWebhook in flight fails (a
    NetworkError), or, with polling half started, the loop stops under `updater.stop()`
    ("Event loop stopped before Future completed", seen once in ~30 runs under load). Either
    is a stop the user asked for, not an unreachable Telegram, so it ends quietly."""
    stopped = threading.Event()

    def stop() -> None:
        stopped.set()
        raise SystemExit  # as PTB's own handler does: run_polling shuts down

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGABRT):
        loop.add_signal_handler(sig, stop)
    try:
        application.run_polling(allowed_updates=Update.ALL_TYPES, stop_signals=None)
    except (NetworkError, RuntimeError):
        if not stopped.is_set():
            raise


def _redact_logs(settings: Settings, secret_token: str | None) -> None:
    """Keep the token and the webhook secret (which may come from the command line, not
    the settings) out of every log line, whatever writes it; network errors in one line."""
    configure_logs(settings.log_format, [*secret_values(settings), secret_token or ""])
    for handler in logging.getLogger().handlers:
        handler.addFilter(OneLineNetworkErrors())
