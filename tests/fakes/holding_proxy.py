"""A forwarding HTTP proxy on 127.0.0.1 that can keep a reply back from its client.

Put between a client and a real server (e.g. `chroma run`), it forwards every request
and its reply unchanged, except the requests the test chose to hold (`hold`): with
`carry_out` (the default) those reach the server and are carried out, then their reply
waits until the test sets `release`; without it, they wait before reaching the server and
are never sent (the client gets a 502 once released). `caught` is set when a request is
held. A client killed meanwhile is in exactly the state a crash just after (or just
before) that request leaves.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from types import TracebackType

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.asgi_server import ThreadedServer

_HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "accept-encoding"}
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]


class HoldingProxy:
    """Forward to `upstream` (``http://host:port``); use as a context manager."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        #: (method, path) -> whether to keep this request's reply back.
        self.hold: Callable[[str, str], bool] = lambda method, path: False
        self.carry_out = True
        self.caught = threading.Event()
        self.release = threading.Event()
        self.held: list[str] = []
        route = Route("/{path:path}", self._forward, methods=_METHODS)
        self._serving = ThreadedServer(Starlette(routes=[route]), "holding-proxy")

    @property
    def port(self) -> int:
        """The proxy's port on 127.0.0.1."""
        return self._serving.port

    def __enter__(self) -> HoldingProxy:
        self._serving.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release.set()
        self._serving.stop()

    async def _forward(self, request: Request) -> Response:
        held = self.hold(request.method, request.url.path)
        if held and not self.carry_out:
            await self._wait(request)
            return Response(b"held and dropped by the test proxy", status_code=502)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        async with httpx.AsyncClient(base_url=self.upstream, timeout=60) as client:
            reply = await client.request(
                request.method, target, content=await request.body(), headers=headers
            )
        if held:
            await self._wait(request)
        kept = {k: v for k, v in reply.headers.items() if k.lower() not in _HOP_BY_HOP}
        kept.pop("content-encoding", None)  # httpx has decoded the body
        return Response(reply.content, status_code=reply.status_code, headers=kept)

    async def _wait(self, request: Request) -> None:
        self.held.append(f"{request.method} {request.url.path}")
        self.caught.set()
        while not self.release.is_set():
            await asyncio.sleep(0.01)
