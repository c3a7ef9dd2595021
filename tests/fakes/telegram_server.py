"""A Telegram Bot API emulator on 127.0.0.1 for tests: the real PTB talks to it over HTTP.

Runs a Starlette app under uvicorn in a background thread (like `openai_server`). Point an
`Application` at it with `.base_url(server.base_url)` and `.base_file_url(server.file_url)`.

It keeps an update queue, filled by helpers (`private_message`, `group_message`, `mention`,
`reply_to_bot`, `callback_query`, `document`; built by `telegram_updates.Updates`) and
served by `getUpdates` (long poll with `offset`/`timeout`, woken as soon as an update
arrives), and a call log (`calls`, `sent`,
`wait_for`; each call with its arrival time). It answers `getMe`, `getUpdates`,
`sendMessage`, `editMessageText`, `sendChatAction`, `setMyCommands`, `answerCallbackQuery`,
`getFile` and file downloads, and `setWebhook`/`deleteWebhook`/`getWebhookInfo`: while a
webhook is set, `getUpdates` answers 409 as Telegram does and new updates are POSTed to the
webhook with its secret (`webhook_sender.py`; `deliveries` records the bot's answers).

Failures: `reject_html` makes the next N HTML messages fail with "can't parse entities";
`reject_token` answers 401 to all; `fail_next(method, status, ...)` fails the next call of a
method (e.g. 429 with `retry_after`, or a 502 HTML page with `html`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.asgi_server import ThreadedServer
from tests.fakes.telegram_updates import BOT_USER, Updates
from tests.fakes.webhook_sender import Delivery, WebhookSender, post_update

TOKEN = "123456789:TEST-token-do-not-echo-SECRET"
_STRING_KEYS = {"text", "caption", "parse_mode", "callback_query_id", "file_id", "action", "url"}
_STRING_KEYS |= {"secret_token"}
WEBHOOK_CONFLICT = "Conflict: can't use getUpdates method while webhook is active"


@dataclass(frozen=True)
class Call:
    """One Bot API request: the method, its decoded parameters, whether it succeeded, and
    when it arrived (`time.monotonic()`).
    """

    method: str
    params: dict[str, Any]
    ok: bool = True
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Failure:
    """A scripted Bot API error for the next call of `method`."""

    method: str
    status: int
    description: str
    retry_after: int | None = None
    html: str | None = None  # answer with this page (text/html) instead of Bot API JSON


def _decode(raw: bytes) -> dict[str, Any]:
    """PTB sends form fields whose non-string values are JSON: decode them back."""
    params: dict[str, Any] = {}
    for key, values in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items():
        value: Any = values[-1]
        if key not in _STRING_KEYS:
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        params[key] = value
    return params


class FakeTelegramServer:
    """The emulator; use as a context manager or through the `telegram_server` fixture."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.reject_html = 0
        self.reject_token = False
        self.make = Updates()
        self.webhook: dict[str, Any] | None = None  # the setWebhook parameters while set
        self._failures: list[Failure] = []
        self._held: dict[str, threading.Event] = {}
        self._sender: WebhookSender | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._arrived: asyncio.Event | None = None
        self._updates: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.port = 0
        self._serving = ThreadedServer(self._app(), "fake-telegram")

    @property
    def base_url(self) -> str:
        """The Bot API URL before the token."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        """The file download URL before the token."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    # -- injecting updates ------------------------------------------------------------------
    def _push(self, update: dict[str, Any]) -> int:
        """Make the update available: to `getUpdates`, or POSTed to the webhook if one is set."""
        with self._lock:
            webhook = self.webhook
            if webhook is None:
                self._updates.append(update)
        if webhook is not None:
            self._webhook_sender().send(webhook["url"], webhook.get("secret_token"), update)
        self._wake()
        return int(update["update_id"])

    def _wake(self) -> None:
        """Wake the long polls waiting in `getUpdates` (called from any thread)."""
        loop, arrived = self._loop, self._arrived
        if loop is not None and arrived is not None:
            with contextlib.suppress(RuntimeError):  # the server's loop has closed
                loop.call_soon_threadsafe(arrived.set)

    def _webhook_sender(self) -> WebhookSender:
        with self._lock:
            if self._sender is None:
                self._sender = WebhookSender()
            return self._sender

    @property
    def deliveries(self) -> list[Delivery]:
        """Updates POSTed to the webhook, with the HTTP status the bot answered."""
        return list(self._sender.deliveries) if self._sender else []

    def post_to_webhook(self, update: dict[str, Any], secret: str | None) -> int:
        """POST `update` to the webhook now, with `secret` (None: no header); the status."""
        assert self.webhook is not None, "no webhook is set"
        return post_update(self.webhook["url"], update, secret)

    def private_update(self, text: str, user_id: int = 42) -> dict[str, Any]:
        """The update of a private message, not yet sent anywhere (see `post_to_webhook`)."""
        return self.make.private(text, user_id)

    def push(self, update: dict[str, Any]) -> int:
        """Send an update built beforehand (`private_update`...), whose ids a test needs."""
        return self._push(update)

    def private_message(self, text: str, user_id: int = 42) -> int:
        """A user writes to the bot in a private chat (a "/..." text is a command)."""
        return self._push(self.make.private(text, user_id))

    def group_message(
        self, text: str, chat_id: int = -1001, user_id: int = 42, **extra: Any
    ) -> int:
        """A user writes in a group the bot is in."""
        return self._push(self.make.group(text, chat_id, user_id, **extra))

    def mention(self, question: str, chat_id: int = -1001, user_id: int = 42) -> int:
        """A group message that @mentions the bot."""
        return self._push(self.make.mention(question, chat_id, user_id))

    def reply_to_bot(
        self, text: str, bot_message_id: int, chat_id: int = -1001, user_id: int = 42
    ) -> int:
        """A group message that replies to one of the bot's messages."""
        return self._push(self.make.reply_to_bot(text, bot_message_id, chat_id, user_id))

    def callback_query(self, data: str, message_id: int, chat_id: int, user_id: int = 42) -> int:
        """A user presses an inline button under the bot's message `message_id`."""
        return self._push(self.make.callback_query(data, message_id, chat_id, user_id))

    def document(self, file_name: str, content: bytes, user_id: int = 42) -> int:
        """A user sends a file to the bot in a private chat."""
        return self._push(self.make.document(file_name, content, user_id))

    # -- observing ---------------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        """The recorded calls of one method, oldest first."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Successful sendMessage calls (to one chat, if given)."""
        return [
            c
            for c in self.calls_to("sendMessage")
            if c.ok and (chat_id is None or c.params.get("chat_id") == chat_id)
        ]

    def texts(self, chat_id: int | None = None) -> list[str]:
        """The texts of the successful messages sent."""
        return [str(c.params["text"]) for c in self.sent(chat_id)]

    async def wait_for(self, check: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Poll until `check()` is truthy and return its value; fail after `timeout`."""
        deadline = time.monotonic() + timeout
        while not (result := check()):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls: {[c.method for c in self.calls]}")
            await asyncio.sleep(0.02)
        return result

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by an offset."""
        with self._lock:
            return len(self._updates)

    def fail_next(
        self,
        method: str,
        status: int,
        description: str,
        retry_after: int | None = None,
        html: str | None = None,
    ) -> None:
        """Answer the next call of `method` with this Bot API error (after the token check),
        or with an HTML page that is not the Bot API's JSON at all."""
        with self._lock:
            self._failures.append(Failure(method, status, description, retry_after, html))

    def hold(self, method: str) -> threading.Event:
        """Keep every call of `method` waiting (recorded, unanswered) until the returned
        event is set: a request in flight at a chosen moment."""
        release = threading.Event()
        with self._lock:
            self._held[method] = release
        return release

    # -- serving -----------------------------------------------------------------------------
    async def _api(self, request: Request) -> Response:
        token, method = request.path_params["token"], request.path_params["method"]
        params = _decode(await request.body())
        with self._lock:
            held = self._held.get(method)
        if held is not None:
            self._record(Call(method, params))
            while not held.is_set():
                await asyncio.sleep(0.01)
        if self.reject_token or token != self.token:
            self._record(Call(method, params, ok=False))
            return _error(401, "Unauthorized")
        if (failure := self._scripted_failure(method, params)) is not None:
            self._record(Call(method, params, ok=False))
            if failure.html is not None:  # a proxy's error page, say
                return Response(failure.html, failure.status, media_type="text/html")
            return _error(failure.status, failure.description, failure.retry_after)
        if method == "getUpdates":
            if self.webhook is not None:
                return _error(409, WEBHOOK_CONFLICT)
            return _ok(await self._get_updates(params))
        self._record(Call(method, params))
        handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": lambda p: BOT_USER | {"can_join_groups": True},
            "sendMessage": lambda p: self.make.bot_message(p, None),
            "editMessageText": lambda p: self.make.bot_message(p, int(p["message_id"])),
            "getFile": lambda p: self.make.file(str(p["file_id"])),
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._webhook_info,
        }
        handler = handlers.get(method)
        return _ok(handler(params) if handler else True)

    def _scripted_failure(self, method: str, params: dict[str, Any]) -> Failure | None:
        """The failure scripted for this call, if any (`reject_html`, `fail_next`)."""
        with self._lock:
            html = params.get("parse_mode") == "HTML"
            if html and method in ("sendMessage", "editMessageText") and self.reject_html > 0:
                self.reject_html -= 1
                return Failure(method, 400, "Bad Request: can't parse entities: unsupported tag")
            for index, failure in enumerate(self._failures):
                if failure.method == method:
                    return self._failures.pop(index)
        return None

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Long poll: answer as soon as an update is there, or when `timeout` runs out."""
        if self._arrived is None:
            self._loop, self._arrived = asyncio.get_running_loop(), asyncio.Event()
        offset, timeout = int(params.get("offset", 0)), float(params.get("timeout", 0))
        deadline = time.monotonic() + timeout
        while True:
            self._arrived.clear()  # before looking: an update pushed after it sets it again
            with self._lock:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = self._updates[: int(params.get("limit", 100))]
            left = deadline - time.monotonic()
            if ready or left <= 0 or self._stopping.is_set():
                return ready
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        """From now on, updates go to the webhook; pending ones too, unless dropped."""
        with self._lock:
            self.webhook = params
            pending, self._updates = self._updates, []
        if not params.get("drop_pending_updates"):
            for update in pending:
                self._webhook_sender().send(params["url"], params.get("secret_token"), update)
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        with self._lock:
            self.webhook = None
            if params.get("drop_pending_updates"):
                self._updates = []
        return True

    def _webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        url = self.webhook["url"] if self.webhook else ""
        return {"url": url, "has_custom_certificate": False, "pending_update_count": 0}

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return Response(status_code=401)
        content = self.make.files.get(request.path_params["file_id"])
        return Response(status_code=404) if content is None else Response(content)

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
                Route("/file/bot{token}/documents/{file_id}", self._download, methods=["GET"]),
            ]
        )

    def start(self, port: int = 0) -> FakeTelegramServer:
        """Bind `port` (0: a free one) on 127.0.0.1, serve in a thread, return once it
        accepts. After `stop`, `start(server.port)` ends an outage: the same updates and
        call log, on the same address."""
        self._stopping.clear()
        self._loop = self._arrived = None  # the stopped server's loop is gone
        self._serving.start(port)
        self.port = self._serving.port
        return self

    def stop(self) -> None:
        """Stop serving and join the threads; idempotent."""
        self._stopping.set()
        self._wake()
        if self._sender is not None:
            self._sender.stop()
        self._serving.stop()

    def __enter__(self) -> FakeTelegramServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def _error(code: int, description: str, retry_after: int | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return JSONResponse(body, code)


@pytest.fixture
def telegram_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTelegramServer]:
    """A started `FakeTelegramServer`, stopped at teardown (no proxy for 127.0.0.1).

    Sets PTB_TIMEDELTA as `articlebot telegram` does (else PTB warns on every 429).
    """
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    with FakeTelegramServer() as server:
        yield server
