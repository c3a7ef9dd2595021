"""Webhook mode: the application (no updater) behind our endpoint, served by uvicorn.

This replaces PTB's `run_webhook`, so that the bot can run as several processes behind any
load balancer: each process serves the same webhook URL, and what one receives it answers.

Start: bind the port first (a port in use is one line, before anything else), initialize
the application (getMe), `post_init`, start it (the JobQueue too: follows,
`--watch`), call setWebhook (URL, secret, every update type; pending updates are kept),
then serve. Every replica calls setWebhook with the same URL and secret at its start,
which Telegram takes as the same webhook again.

Stop (`stop()`, which the CLI calls on SIGTERM and Ctrl-C): uvicorn stops accepting and
answers the requests it has, then the application handles every update already queued
and waits for the answers in flight, `post_stop`, shutdown,
`post_shutdown`. The webhook is never deleted at stop: the other replicas behind the
same URL still serve it, and Telegram keeps (and retries) what no replica could take.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from telegram import Update
from telegram.error import BadRequest, Forbidden

from bot.telegram.webhook import webhook_app

#: Connections waiting to be accepted (uvicorn's default).
BACKLOG = 2048
#: Seconds an idle keep-alive connection stays open. Longer than load balancers keep theirs
#: (nginx 60 s upstream, AWS ALB 60 s): the balancer then always closes first, and never
#: sends a request on a connection the bot is just closing (a 502 for that update).
KEEP_ALIVE = 75
#: Seconds uvicorn waits at stop for the requests it has (each only queues an update).
GRACE = 10
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class Webhook:
    """Where Telegram posts (`url`), where this process listens, and the secret it checks."""

    url: str
    listen: str
    port: int
    secret: str

    @property
    def path(self) -> str:
        """The path this process serves: the URL's (a balancer forwards it unchanged)."""
        return urlsplit(self.url).path or "/"


class WebhookError(Exception):
    """Webhook mode cannot start (the port, or Telegram refused the URL); one line."""


class _Server(uvicorn.Server):
    """uvicorn without signal handlers of its own: `WebhookServer.stop` is how it stops.
    uvicorn would also raise a caught signal again once it has stopped, which ends the
    process before the application has finished its updates."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WebhookServer:
    """Runs one application in webhook mode until `stop()`."""

    def __init__(self, application: Any, webhook: Webhook) -> None:
        self.application = application
        self.webhook = webhook
        endpoint = webhook_app(
            application.bot, application.update_queue, webhook.path, webhook.secret
        )
        config = uvicorn.Config(
            endpoint,
            log_config=None,  # the process's logging (redacting, JSON) stays as it is
            access_log=False,
            lifespan="off",
            ws="none",
            http="h11",
            server_header=False,
            timeout_keep_alive=KEEP_ALIVE,
            timeout_graceful_shutdown=GRACE,
        )
        self._server = _Server(config)

    def stop(self) -> None:
        """Stop serving and then the application (from a signal handler, or a test). A
        second call stops waiting for open connections; the answers in flight still end."""
        if self._server.should_exit:
            self._server.force_exit = True
        self._server.should_exit = True

    async def run(self) -> None:
        """Serve until `stop()`: WebhookError if the port or the URL is refused; PTB's
        InvalidToken or NetworkError if Telegram refuses the token or cannot be reached."""
        sock = bind(self.webhook.listen, self.webhook.port)
        app = self.application
        try:
            async with app:  # initialize; shutdown at the end
                if app.post_init is not None:
                    await app.post_init(app)
                await app.start()
                try:
                    await self._set_webhook()
                    await self._server.serve(sockets=[sock])
                finally:
                    await app.stop()
                    if app.post_stop is not None:
                        await app.post_stop(app)
        finally:
            sock.close()
            if app.post_shutdown is not None:
                await app.post_shutdown(app)

    async def _set_webhook(self) -> None:
        # Pending updates are kept (no drop_pending_updates): at a replica's restart they
        # belong to the replicas still running, and at the first start to the users.
        try:
            await self.application.bot.set_webhook(
                self.webhook.url,
                secret_token=self.webhook.secret,
                allowed_updates=Update.ALL_TYPES,
            )
        except (BadRequest, Forbidden) as exc:
            raise WebhookError(f"Telegram refused the webhook (--webhook-url): {exc}") from None


def bind(listen: str, port: int) -> socket.socket:
    """A listening socket on `listen:port`, so that the port is taken (or refused in one
    line) before setWebhook sends Telegram there."""
    try:
        family, _, _, _, address = socket.getaddrinfo(
            listen, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        return socket.create_server(address, family=family, backlog=BACKLOG)
    except OSError as exc:
        # create_server's own message repeats the address; the system's reason is enough.
        errno = 0 if isinstance(exc, socket.gaierror) else exc.errno or 0
        reason = os.strerror(errno) if errno > 0 else (exc.strerror or str(exc))
        raise WebhookError(f"cannot listen on {listen}:{port} for the webhook: {reason}") from None


async def serve_until_signalled(application: Any, webhook: Webhook) -> None:
    """Run `WebhookServer` until SIGTERM or Ctrl-C (a second one stops waiting for open
    connections)."""
    server = WebhookServer(application, webhook)
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, server.stop)
    try:
        await server.run()
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
