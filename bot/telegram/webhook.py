"""The webhook endpoint: Telegram's POSTs, checked, into the application's update queue.

A small ASGI app (Starlette) instead of PTB's `run_webhook` (tornado), as in PTB's
"custom webhook" example: the application runs without an updater and this endpoint
pushes each update into `application.update_queue`. The endpoint keeps no state between
requests, so any number of processes can serve the same webhook URL behind a load
balancer (`webhook_server.py` runs it; docs/operations.md).

Each request is checked before anything of it is read: the secret header (compared in
constant time; 403 and no body otherwise), then the size (`MAX_BODY`; 413), then the JSON
(400 and a short reason). The answer is 200 as soon as the update is queued: the reply to
the user goes out by the Bot API, not in this response.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from http import HTTPStatus

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Bot, Update

log = logging.getLogger(__name__)

#: The header Telegram sends the `setWebhook` secret in.
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: Largest body accepted: Telegram's updates are a few kB (a message is at most 4096
#: characters; files come as ids, not bytes).
MAX_BODY = 1 << 20


class TooLarge(Exception):
    """The body is longer than the limit."""


class NotAnUpdate(Exception):
    """The body is not a Telegram update; the message says why in a few words."""


def webhook_app(
    bot: Bot,
    update_queue: asyncio.Queue[object],
    path: str,
    secret: str,
    max_body: int = MAX_BODY,
) -> Starlette:
    """The ASGI app: POST `path` with the secret header puts one update on the queue."""
    expected = secret.encode()

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode("latin-1")  # as HTTP decoded it
        if not hmac.compare_digest(given, expected):
            # Also what replicas started with different secrets see: the last one set wins.
            log.warning(
                "refused a webhook request without the right secret (replicas of one bot"
                " need the same secret)"
            )
            return Response(status_code=HTTPStatus.FORBIDDEN)
        try:
            body = await read_body(request, max_body)
        except TooLarge:
            log.warning("refused a webhook request over %d bytes", max_body)
            return _refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body over {max_body} bytes")
        try:
            update = parse_update(body, bot)
        except NotAnUpdate as exc:
            log.warning("refused a webhook request: %s", exc)
            return _refuse(HTTPStatus.BAD_REQUEST, str(exc))
        await update_queue.put(update)
        return Response(status_code=HTTPStatus.OK)

    return Starlette(routes=[Route(path, receive, methods=["POST"])])


async def read_body(request: Request, limit: int) -> bytes:
    """The body, read no further than `limit` bytes (TooLarge beyond: a declared
    Content-Length over it is refused before any is read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge
    return bytes(body)


def parse_update(body: bytes, bot: Bot) -> Update:
    """The update in `body`; NotAnUpdate (why, never the body itself) if it is not one."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise NotAnUpdate(f"not JSON ({_short(exc)})") from None
    if not isinstance(data, dict):
        raise NotAnUpdate("not a JSON object")
    if not isinstance(data.get("update_id"), int):
        raise NotAnUpdate("not a Telegram update (no integer update_id)")
    try:
        return Update.de_json(data, bot)
    except (TypeError, KeyError, AttributeError, ValueError) as exc:
        raise NotAnUpdate(f"not a Telegram update ({_short(exc)})") from None


def _refuse(status: HTTPStatus, why: str) -> Response:
    return PlainTextResponse(f"{why}\n", status_code=status)


def _short(error: Exception) -> str:
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text[:100]
