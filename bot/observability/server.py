"""The monitoring listener: `/healthz`, `/readyz` and `/metrics` over plain HTTP.

The webhook port faces Telegram (through a load balancer); the probes and the metrics
should not, so both polling and webhook mode use this small listener on an address of its
own, in a thread of its own: a slow probe never holds up the bot's event loop, and
`articlebot watch` (no event loop) serves it the same way.
"""

from __future__ import annotations

import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.observability.health import Readiness
from bot.observability.metrics import CONTENT_TYPE, Metrics
from bot.observability.settings import ObservabilitySettings
from retrieval.errors import ConfigError

log = logging.getLogger(__name__)


class MonitorServer:
    """Serves the probes and the metrics on `host:port` until `close()`."""

    def __init__(self, host: str, port: int, readiness: Readiness, metrics: Metrics) -> None:
        self.readiness = readiness
        self.metrics = metrics
        monitor = self

        class Handler(_Handler):
            server_monitor = monitor

        try:
            self._server = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port} (ARTICLEBOT_MONITOR_HOST/PORT) for the"
                f" monitoring listener: {exc.strerror or exc}"
            ) from exc
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="articlebot-monitor", daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        """The host and port listened on (the port the system chose if 0 was asked)."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> MonitorServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MonitorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Handler(BaseHTTPRequestHandler):
    server_monitor: MonitorServer

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        path = self.path.split("?", 1)[0]
        monitor = self.server_monitor
        if path == "/healthz":
            self._send(HTTPStatus.OK, b"ok\n")
        elif path == "/readyz":
            verdict = monitor.readiness.verdict()
            status = HTTPStatus.OK if verdict.ready else HTTPStatus.SERVICE_UNAVAILABLE
            self._send(status, verdict.line.encode() + b"\n")
        elif path == "/metrics":
            self._send(HTTPStatus.OK, monitor.metrics.exposition(), CONTENT_TYPE)
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found: /healthz, /readyz, /metrics\n")

    def _send(
        self, status: HTTPStatus, body: bytes, content_type: str = "text/plain; charset=utf-8"
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Probes every few seconds would flood the log: debug level only."""
        log.debug("monitor %s", format % args)


def start_monitor(
    settings: ObservabilitySettings, readiness: Readiness, metrics: Metrics
) -> MonitorServer | None:
    """The listener `ARTICLEBOT_MONITOR_PORT` asks for, serving; None when it is unset."""
    if settings.monitor_port is None:
        return None
    server = MonitorServer(settings.monitor_host, settings.monitor_port, readiness, metrics)
    host, port = server.address
    log.info("serving /healthz, /readyz and /metrics on http://%s:%s", host, port)
    return server.start()
