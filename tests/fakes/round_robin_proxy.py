"""A round-robin load balancer on 127.0.0.1: each request to the next upstream in turn.

Stands for whatever balancer a deployment puts in front of several `articlebot telegram
--webhook-url` replicas. Like real balancers' passive health checks, an upstream that
refuses the connection (a replica stopped) is skipped for that request, and the next one
is tried; a 502 only when none accepts. `served` records who answered each request.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from types import TracebackType

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.asgi_server import ThreadedServer

_HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "accept-encoding"}


@dataclass(frozen=True)
class Served:
    """One request: the upstream that answered it (its port) and the status it answered."""

    port: int
    status: int


class RoundRobinProxy:
    """Forward to `http://127.0.0.1:<port>` for each of `ports`, in turn; a context manager."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.served: list[Served] = []
        self._turn = itertools.count()
        self._lock = threading.Lock()
        route = Route("/{path:path}", self._forward, methods=["GET", "POST"])
        self._serving = ThreadedServer(Starlette(routes=[route]), "round-robin-proxy")

    @property
    def port(self) -> int:
        """The balancer's port on 127.0.0.1."""
        return self._serving.port

    def url(self, path: str) -> str:
        """The balancer's URL for `path`."""
        return f"http://127.0.0.1:{self.port}{path}"

    def ports_served(self) -> list[int]:
        """The upstream of each request answered, in order."""
        with self._lock:
            return [s.port for s in self.served]

    def __enter__(self) -> RoundRobinProxy:
        self._serving.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._serving.stop()

    async def _forward(self, request: Request) -> Response:
        body = await request.body()
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        with self._lock:
            first = next(self._turn)
        for step in range(len(self.ports)):
            port = self.ports[(first + step) % len(self.ports)]
            async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
                try:
                    reply = await client.request(
                        request.method,
                        f"http://127.0.0.1:{port}{target}",
                        content=body,
                        headers=headers,
                    )
                except httpx.ConnectError:  # this replica is down: the next one
                    continue
            with self._lock:
                self.served.append(Served(port, reply.status_code))
            kept = {k: v for k, v in reply.headers.items() if k.lower() not in _HOP_BY_HOP}
            kept.pop("content-encoding", None)  # httpx has decoded the body
            return Response(reply.content, status_code=reply.status_code, headers=kept)
        return Response(b"no upstream accepted the connection\n", status_code=502)
