"""Serve an ASGI app with uvicorn in a background thread on a free 127.0.0.1 port.

The fakes (OpenAI-compatible server, Telegram Bot API emulator) share this so that each
starts fast, reports a startup failure, and stops without leaving a thread behind.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


class ThreadedServer:
    """One uvicorn server in one daemon thread; `start` returns once it accepts."""

    def __init__(self, app: Any, name: str) -> None:
        self.name = name
        self.port = 0
        self._app = app
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def started(self) -> bool:
        """Whether `start` has been called (and `stop` not yet)."""
        return self._thread is not None

    def start(self, port: int = 0) -> None:
        """Bind a free port (or `port`) on 127.0.0.1, serve in a thread, return once it
        accepts. A given port lets a test bring back a server that was unreachable."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            log_level="error",
            access_log=False,
            lifespan="off",
            ws="none",
            http="h11",
            timeout_graceful_shutdown=2,
            # Real front ends (nginx: 75 s) keep idle connections open longer than httpx's
            # clients do (5 s), so the client always closes first. Uvicorn's own 5 s
            # would race httpx's 5 s: a request sent on a connection the server is just
            # closing fails with ReadError (seen in test_load under a busy CPU).
            timeout_keep_alive=75,
        )
        self._socket, self._server = sock, uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=self.name, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not start")
            time.sleep(0.005)

    def stop(self) -> None:
        """Stop serving and join the thread; idempotent."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            if self._thread.is_alive():  # pragma: no cover - would be a bug here
                raise RuntimeError(f"{self.name} did not stop")
        if self._socket is not None:
            self._socket.close()
        self._server, self._thread, self._socket = None, None, None
