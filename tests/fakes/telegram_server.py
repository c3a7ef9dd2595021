"""A Telegram Bot API emulator on 127.0.0.1 for tests: the real PTB talks to it over HTTP.

Runs a Starlette app under uvicorn in a background thread (like `openai_server`). Point an
`Application` at it with `.base_url(server.base_url)` and `.base_file_url(server.file_url)`.

It keeps an update queue, filled by helpers (`private_message`, `group_message`, `mention`,
`reply_to_bot`, `callback_query`, `document`) and served by `getUpdates` (long poll with
`offset`/`timeout`), and a call log (`calls`, `sent`, `wait_for`). It answers `getMe`,
`deleteWebhook`, `getUpdates`, `sendMessage`, `editMessageText`, `sendChatAction`,
`setMyCommands`, `answerCallbackQuery`, `getFile` and file downloads. `reject_html` makes the
next N HTML messages fail with "can't parse entities"; `reject_token` answers 401 to all.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.asgi_server import ThreadedServer

TOKEN = "123456789:TEST-token-do-not-echo-SECRET"
BOT_USERNAME = "articlebot_test_bot"
BOT_USER = {"id": 999, "is_bot": True, "first_name": "Articlebot", "username": BOT_USERNAME}
_STRING_KEYS = {"text", "caption", "parse_mode", "callback_query_id", "file_id", "action", "url"}


@dataclass(frozen=True)
class Call:
    """One Bot API request: the method, its decoded parameters, and whether it succeeded."""

    method: str
    params: dict[str, Any]
    ok: bool = True


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
        self.files: dict[str, bytes] = {}
        self._updates: list[dict[str, Any]] = []
        self._chats: dict[int, dict[str, Any]] = {}
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
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
    def _push(self, kind: str, payload: dict[str, Any]) -> int:
        with self._lock:
            update_id = next(self._update_ids)
            self._updates.append({"update_id": update_id, kind: payload})
        return update_id

    def _message(
        self, chat: dict[str, Any], user_id: int, text: str | None, **extra: Any
    ) -> dict[str, Any]:
        self._chats[chat["id"]] = chat
        user = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        message = {"message_id": next(self._message_ids), "date": int(time.time())}
        message |= {"chat": chat, "from": user, **extra}
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                length = len(text.split()[0])
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return message

    def private_message(self, text: str, user_id: int = 42) -> int:
        """A user writes to the bot in a private chat (a "/..." text is a command)."""
        chat = {"id": user_id, "type": "private", "first_name": f"User{user_id}"}
        return self._push("message", self._message(chat, user_id, text))

    def group_message(
        self, text: str, chat_id: int = -1001, user_id: int = 42, **extra: Any
    ) -> int:
        """A user writes in a group the bot is in."""
        chat = {"id": chat_id, "type": "supergroup", "title": "Test group"}
        return self._push("message", self._message(chat, user_id, text, **extra))

    def mention(self, question: str, chat_id: int = -1001, user_id: int = 42) -> int:
        """A group message that @mentions the bot."""
        text = f"@{BOT_USERNAME} {question}"
        entity = {"type": "mention", "offset": 0, "length": len(BOT_USERNAME) + 1}
        return self.group_message(text, chat_id, user_id, entities=[entity])

    def reply_to_bot(
        self, text: str, bot_message_id: int, chat_id: int = -1001, user_id: int = 42
    ) -> int:
        """A group message that replies to one of the bot's messages."""
        chat = self._chats.get(chat_id, {"id": chat_id, "type": "supergroup", "title": "G"})
        replied = {"message_id": bot_message_id, "date": int(time.time()), "chat": chat}
        replied |= {"from": BOT_USER, "text": "an earlier answer"}
        return self.group_message(text, chat_id, user_id, reply_to_message=replied)

    def callback_query(self, data: str, message_id: int, chat_id: int, user_id: int = 42) -> int:
        """A user presses an inline button under the bot's message `message_id`."""
        chat = self._chats.get(chat_id, {"id": chat_id, "type": "private", "first_name": "U"})
        message = {"message_id": message_id, "date": int(time.time()), "chat": chat}
        message |= {"from": BOT_USER, "text": "..."}
        user = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        query = {"id": f"cq{time.monotonic_ns()}", "from": user, "chat_instance": "ci"}
        return self._push("callback_query", query | {"message": message, "data": data})

    def document(self, file_name: str, content: bytes, user_id: int = 42) -> int:
        """A user sends a file to the bot in a private chat."""
        file_id = f"file{len(self.files) + 1}"
        self.files[file_id] = content
        document = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": file_name}
        document["file_size"] = len(content)
        chat = {"id": user_id, "type": "private", "first_name": f"User{user_id}"}
        return self._push("message", self._message(chat, user_id, None, document=document))

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

    # -- serving -----------------------------------------------------------------------------
    async def _api(self, request: Request) -> Response:
        token, method = request.path_params["token"], request.path_params["method"]
        params = _decode(await request.body())
        if self.reject_token or token != self.token:
            self._record(Call(method, params, ok=False))
            return _error(401, "Unauthorized")
        if method in ("sendMessage", "editMessageText") and params.get("parse_mode") == "HTML":
            with self._lock:
                rejected, self.reject_html = self.reject_html > 0, max(0, self.reject_html - 1)
            if rejected:
                self._record(Call(method, params, ok=False))
                return _error(400, "Bad Request: can't parse entities: unsupported start tag")
        if method == "getUpdates":
            return _ok(await self._get_updates(params))
        self._record(Call(method, params))
        handler = {
            "getMe": lambda p: BOT_USER | {"can_join_groups": True},
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message,
            "getFile": self._get_file,
        }.get(method, lambda p: True)
        return _ok(handler(params))

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset, timeout = int(params.get("offset", 0)), float(params.get("timeout", 0))
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = self._updates[: int(params.get("limit", 100))]
            if ready or time.monotonic() >= deadline or self._stopping.is_set():
                return ready
            await asyncio.sleep(0.01)

    def _bot_message(self, params: dict[str, Any], message_id: int) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        chat = self._chats.get(chat_id, {"id": chat_id, "type": "private", "first_name": "U"})
        message = {"message_id": message_id, "date": int(time.time()), "chat": chat}
        return message | {"from": BOT_USER, "text": params.get("text", "")}

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            message_id = 10_000 + next(self._message_ids)
        return self._bot_message(params, message_id)

    def _edit_message(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._bot_message(params, int(params["message_id"]))

    def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params["file_id"])
        size = len(self.files.get(file_id, b""))
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": size} | {
            "file_path": f"documents/{file_id}"
        }

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return Response(status_code=401)
        content = self.files.get(request.path_params["file_id"])
        return Response(status_code=404) if content is None else Response(content)

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
                Route("/file/bot{token}/documents/{file_id}", self._download, methods=["GET"]),
            ]
        )

    def start(self) -> FakeTelegramServer:
        """Bind a free port on 127.0.0.1, serve in a thread, return once it accepts."""
        self._serving.start()
        self.port = self._serving.port
        return self

    def stop(self) -> None:
        """Stop serving and join the thread; idempotent."""
        self._stopping.set()
        self._serving.stop()

    def __enter__(self) -> FakeTelegramServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def _error(code: int, description: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error_code": code, "description": description}, code)


@pytest.fixture
def telegram_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTelegramServer]:
    """A started `FakeTelegramServer`, stopped at teardown (no proxy for 127.0.0.1)."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    with FakeTelegramServer() as server:
        yield server
