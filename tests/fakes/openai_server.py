"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests: no network, no mocks.

The real `openai` client (retries, timeouts, base64 decoding and all) talks to it over HTTP,
so the tests exercise exactly what production does. It runs a Starlette app under uvicorn in
a background thread on a random free port; the `openai_server` fixture starts one per test
and stops it at teardown (no thread or socket outlives the test).

What it answers:

* ``POST /v1/embeddings``: deterministic vectors (hashed bag of words, `dimension` floats,
  unit length), so similar texts get similar vectors; honours ``encoding_format`` (float or
  the client's default base64) and ``dimensions``.
* ``POST /v1/chat/completions``: the next reply queued with `enqueue_chat(...)` (else
  what `chat_responder(body)` writes, if set, else `DEFAULT_CHAT_REPLY`), as one JSON
  completion, or as SSE chunks ending with
  ``data: [DONE]`` when the request says ``"stream": true``.
* Structured output: a chat request with ``response_format`` (``json_schema``, as LangChain's
  ``with_structured_output`` sends by default) gets the next object queued with
  `enqueue_structured(...)` (else what `structured_responder(body)` gives, else ``{}``) as
  its JSON content; one with ``tools`` gets it as the arguments of a call of the first tool
  (``finish_reason: tool_calls``). A queued string is sent as it is (a malformed reply).
  These requests are `structured_requests`; `chat_requests` are the others.
* Anything scripted with `enqueue(...)`: each request takes the first queued
  `ScriptedResponse` whose `path` matches (or that has none), else gets the normal answer.
  `ScriptedResponse.error(429)`, `.error(500)`, `.error(401)`, `.slow(seconds)`,
  `.held(event)` (answers once the test sets the event), `.malformed()`, or any
  status/body/headers/delay. A scripted response is for a text chat request unless it says
  ``structured=True`` (then only a structured request takes it).
* `stream_delay`: seconds between streamed chunks (a model that writes slowly).

Every request is recorded in `requests` (`RecordedRequest`: path, headers, parsed JSON).

Adding an endpoint (e.g. ``/v1/responses``): write a handler
``(server, body) -> starlette Response`` and register it with `add_route`, or add it to
`FakeOpenAIServer._default_routes`. Scripting, recording, auth and delays then apply to it
unchanged; `sse_response` builds a streaming (``text/event-stream``) reply from chunks.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.asgi_server import ThreadedServer

Handler = Callable[["FakeOpenAIServer", Any], Response | Awaitable[Response]]

_WORD = re.compile(r"\w+")
#: Makes the openai client retry after 1 ms instead of its 0.5 s+ backoff (fast tests).
FAST_RETRY = {"retry-after-ms": "1"}
#: What chat completions answer when no reply is queued: obviously canned.
DEFAULT_CHAT_REPLY = "No scripted reply."


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it (header names lower-case)."""

    method: str
    path: str
    headers: Mapping[str, str]
    json: Any

    @property
    def bearer(self) -> str | None:
        """The token of ``Authorization: Bearer ...``, if any."""
        value = self.headers.get("authorization", "")
        return value[7:] if value.lower().startswith("bearer ") else None


@dataclass(frozen=True)
class ScriptedResponse:
    """One scripted answer; the defaults mean "the normal answer, at once".

    `body` replaces the normal JSON answer, `raw` sends bytes as they are (for malformed
    replies), `delay` waits first (for timeout tests; cut short when the server stops),
    `path` restricts it to one endpoint.
    """

    status: int = 200
    body: Any = None
    raw: bytes | None = None
    delay: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)
    path: str | None = None
    hold: threading.Event | None = None
    structured: bool = False  # for a structured-output chat request (else for the others)

    @classmethod
    def ok(cls, path: str | None = None) -> ScriptedResponse:
        """The normal answer (useful to hold a place in the queue)."""
        return cls(path=path)

    @classmethod
    def error(
        cls,
        status: int,
        message: str = "scripted error",
        *,
        path: str | None = None,
        structured: bool = False,
    ) -> ScriptedResponse:
        """An OpenAI-style error body with `status`; retried by the client after 1 ms."""
        kinds = {401: "invalid_request_error", 429: "rate_limit_exceeded"}
        body = {"error": {"message": message, "type": kinds.get(status, "server_error")}}
        return cls(status, body, headers=FAST_RETRY, path=path, structured=structured)

    @classmethod
    def slow(cls, seconds: float, path: str | None = None) -> ScriptedResponse:
        """The normal answer after `seconds` (longer than the client timeout = a timeout)."""
        return cls(delay=seconds, path=path)

    @classmethod
    def held(cls, release: threading.Event, path: str | None = None) -> ScriptedResponse:
        """The normal answer, once the test sets `release` (or the server stops)."""
        return cls(hold=release, path=path)

    @classmethod
    def malformed(cls, path: str | None = None) -> ScriptedResponse:
        """HTTP 200 with a JSON content type and a body that is not JSON."""
        return cls(raw=b'{"object": "list", "data": [', path=path)


def hashed_embedding(text: str, dimension: int) -> list[float]:
    """Deterministic unit vector: words hashed into `dimension` signed buckets."""
    vector = np.zeros(dimension, dtype=np.float64)
    for word in _WORD.findall(text.lower()):
        digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
        bucket = int.from_bytes(digest[:4], "little") % dimension
        vector[bucket] += 1.0 if digest[4] & 1 else -1.0
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        vector[0], norm = 1.0, 1.0
    return [float(x) for x in vector / norm]


def sse_response(events: Iterable[Any], *, done: bool = True) -> StreamingResponse:
    """A ``text/event-stream`` reply: one ``data: <json>`` event per item, then [DONE]."""

    def lines() -> Iterator[bytes]:
        for event in events:
            yield f"data: {json.dumps(event)}\n\n".encode()
        if done:
            yield b"data: [DONE]\n\n"

    return StreamingResponse(lines(), media_type="text/event-stream")


def _embeddings(server: FakeOpenAIServer, body: Any) -> Response:
    """``POST /v1/embeddings`` as OpenAI answers it."""
    if not isinstance(body, dict) or "input" not in body or "model" not in body:
        return _error_response(400, "'model' and 'input' are required")
    inputs = body["input"]
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, list) or not inputs:
        return _error_response(400, "'input' must be a string or a non-empty list")
    dimension = body.get("dimensions") or server.dimension
    data = []
    for index, item in enumerate(inputs):
        text = item if isinstance(item, str) else " ".join(str(t) for t in item)
        vector = server.embed(text, int(dimension))
        embedding: Any = vector
        if body.get("encoding_format") == "base64":
            embedding = base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(len(_WORD.findall(str(item))) for item in inputs)
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


def is_structured(body: Any) -> bool:
    """True for a chat request that asks for structured output (a schema or tools)."""
    return isinstance(body, dict) and bool(body.get("response_format") or body.get("tools"))


def _chat_completions(server: FakeOpenAIServer, body: Any) -> Response:
    """``POST /v1/chat/completions`` as OpenAI answers it, with the next scripted reply."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return _error_response(400, "'model' and 'messages' are required")
    model = str(body.get("model", "fake-chat"))
    head = {"id": "chatcmpl-fake", "created": int(time.time()), "model": model}
    if is_structured(body):
        return _structured_completion(server, body, head)
    text = server._next_chat_reply(body)
    if not body.get("stream"):
        message = {"role": "assistant", "content": text}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        return JSONResponse(
            {**head, "object": "chat.completion", "choices": [choice], "usage": usage}
        )
    pieces = [{"role": "assistant", "content": ""}]
    pieces += [{"content": p} for p in re.findall(r"\s*\S+", text)]
    chunks: list[dict[str, Any]] = [
        {**head, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": d}]}
        for d in pieces
    ]
    stop = {"index": 0, "delta": {}, "finish_reason": "stop"}
    chunks.append({**head, "object": "chat.completion.chunk", "choices": [stop]})
    if server.stream_delay:
        return _slow_sse(server, chunks)
    return sse_response(chunks)


def _structured_completion(
    server: FakeOpenAIServer, body: dict[str, Any], head: dict[str, Any]
) -> Response:
    """The next structured reply: JSON content, or the arguments of a tool call."""
    reply = server._next_structured_reply(body)
    content = reply if isinstance(reply, str) else json.dumps(reply)
    message: dict[str, Any] = {"role": "assistant", "content": content}
    finish = "stop"
    tools = body.get("tools") or []
    if tools and not body.get("response_format"):
        name = str(tools[0].get("function", {}).get("name", "tool"))
        call = {"id": "call_fake", "type": "function"}
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [{**call, "function": {"name": name, "arguments": content}}],
        }
        finish = "tool_calls"
    choice = {"index": 0, "message": message, "finish_reason": finish}
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    return JSONResponse({**head, "object": "chat.completion", "choices": [choice], "usage": usage})


def _slow_sse(server: FakeOpenAIServer, chunks: list[dict[str, Any]]) -> StreamingResponse:
    """Like `sse_response`, with `server.stream_delay` seconds before each chunk."""

    async def lines() -> AsyncIterator[bytes]:
        for chunk in chunks:
            await server._sleep(server.stream_delay)
            yield f"data: {json.dumps(chunk)}\n\n".encode()
        yield b"data: [DONE]\n\n"

    return StreamingResponse(lines(), media_type="text/event-stream")


def _error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error"}}, status)


class FakeOpenAIServer:
    """An OpenAI-compatible server in a background thread; use as a context manager.

    `api_key`, when set, is required as the bearer token (a wrong one gets OpenAI's 401,
    whose message quotes part of the key, as the real API does). `embed(text, dimension)`
    makes the embedding vectors (default `hashed_embedding`).
    """

    def __init__(
        self,
        *,
        dimension: int = 32,
        api_key: str | None = None,
        embed: Callable[[str, int], list[float]] = hashed_embedding,
    ) -> None:
        self.dimension = dimension
        self.api_key = api_key
        self.stream_delay = 0.0
        self.embed = embed
        #: Writes the reply to a chat request (its JSON body) when none is queued.
        self.chat_responder: Callable[[Any], str] | None = None
        #: Gives the reply to a structured-output request when none is queued.
        self.structured_responder: Callable[[Any], Any] | None = None
        self._structured_replies: list[Any] = []
        self.requests: list[RecordedRequest] = []
        self._queue: list[ScriptedResponse] = []
        self._chat_replies: list[str] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._routes: dict[str, Handler] = self._default_routes()
        self.port = 0
        self._serving = ThreadedServer(self._app(), "fake-openai")

    @staticmethod
    def _default_routes() -> dict[str, Handler]:
        return {"/v1/embeddings": _embeddings, "/v1/chat/completions": _chat_completions}

    def add_route(self, path: str, handler: Handler) -> None:
        """Serve POST `path` with `handler` (before `start`)."""
        if self._serving.started:
            raise RuntimeError("add routes before the server starts")
        self._routes[path] = handler

    @property
    def base_url(self) -> str:
        """What to pass as OPENAI_BASE_URL: ``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def enqueue(self, *responses: ScriptedResponse) -> None:
        """Queue scripted answers; each is used once, in order."""
        with self._lock:
            self._queue.extend(responses)

    def enqueue_chat(self, *replies: str) -> None:
        """Queue the texts that the next chat completions answer with, in order."""
        with self._lock:
            self._chat_replies.extend(replies)

    def enqueue_structured(self, *replies: Any) -> None:
        """Queue what the next structured-output requests answer with, in order: an object
        (sent as JSON) or a string (sent as it is: a malformed reply)."""
        with self._lock:
            self._structured_replies.extend(replies)

    def _next_structured_reply(self, body: Any) -> Any:
        with self._lock:
            if self._structured_replies:
                return self._structured_replies.pop(0)
        return self.structured_responder(body) if self.structured_responder else {}

    def _next_chat_reply(self, body: Any) -> str:
        with self._lock:
            if self._chat_replies:
                return self._chat_replies.pop(0)
        return self.chat_responder(body) if self.chat_responder else DEFAULT_CHAT_REPLY

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The recorded ``/v1/chat/completions`` requests for text, oldest first."""
        return [r for r in self.requests_to("/v1/chat/completions") if not is_structured(r.json)]

    @property
    def structured_requests(self) -> list[RecordedRequest]:
        """The recorded chat requests for structured output (a schema or tools)."""
        return [r for r in self.requests_to("/v1/chat/completions") if is_structured(r.json)]

    @property
    def pending(self) -> int:
        """Scripted answers not used yet."""
        with self._lock:
            return len(self._queue)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """The recorded requests to one path (e.g. ``/v1/embeddings``)."""
        return [r for r in self.requests if r.path == path]

    # -- serving --------------------------------------------------------------------------

    def _next_scripted(self, path: str, structured: bool) -> ScriptedResponse | None:
        with self._lock:
            for index, scripted in enumerate(self._queue):
                if scripted.structured != structured:
                    continue
                if scripted.path is None or scripted.path == path:
                    return self._queue.pop(index)
        return None

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake up when the server is stopping (teardown never waits on it)."""
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 0.02))

    async def _dispatch(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self.requests.append(
            RecordedRequest(request.method, request.url.path, dict(request.headers), body)
        )
        structured = request.url.path == "/v1/chat/completions" and is_structured(body)
        scripted = self._next_scripted(request.url.path, structured) or ScriptedResponse()
        if scripted.delay:
            await self._sleep(scripted.delay)
        while scripted.hold is not None and not scripted.hold.is_set():
            if self._stopping.is_set():
                break
            await asyncio.sleep(0.01)
        if scripted.raw is not None:
            return Response(
                scripted.raw, scripted.status, dict(scripted.headers), "application/json"
            )
        if scripted.body is not None or scripted.status != 200:
            return JSONResponse(scripted.body, scripted.status, dict(scripted.headers))
        if self.api_key is not None:
            token = self.requests[-1].bearer or ""
            if token != self.api_key:
                masked = f"{token[:3]}{'*' * max(0, len(token) - 7)}{token[-4:]}"
                return _error_response(401, f"Incorrect API key provided: {masked}.")
        handler = self._routes.get(request.url.path)
        if handler is None:
            return _error_response(404, f"no fake endpoint {request.url.path}")
        result = handler(self, body)
        if not isinstance(result, Response):
            result = await result
        if scripted.headers:
            result.headers.update(scripted.headers)
        return result

    def _app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self._dispatch, methods=["POST", "GET"])])

    def start(self, port: int = 0) -> FakeOpenAIServer:
        """Bind a free port (or `port`) on 127.0.0.1, serve in a thread, return once it
        accepts."""
        self._serving.start(port)
        self.port = self._serving.port
        return self

    def stop(self) -> None:
        """Stop serving and join the thread; idempotent."""
        self._stopping.set()
        self._serving.stop()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    """A started `FakeOpenAIServer` (dimension 32, any key accepted), stopped at teardown.

    Proxies are bypassed for 127.0.0.1, so a proxy in the environment cannot intercept.
    """
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    with FakeOpenAIServer() as server:
        yield server
