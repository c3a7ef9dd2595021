"""A fetcher whose client can reach 127.0.0.0/8 (and ::1, localhost) and nothing else.

The guard tests aim the fetcher at metadata, private and public addresses on purpose. If
the guard ever failed (or its default were switched off), the request would go out to the
network; with `loopback_fetcher` it reaches this transport instead, which refuses it and
fails the test. Use it for every fetch whose URL is not on loopback.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from bot.settings import Settings
from ingest.fetch import Fetcher


class LoopbackOnly(httpx.HTTPTransport):
    """An HTTP transport that connects only to loopback and records what it refused."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            self.refused.append(str(request.url))
            raise AssertionError(f"a test tried to connect to {host} ({request.url})")
        return super().handle_request(request)


@contextmanager
def loopback_fetcher(settings: Settings, **options: Any) -> Iterator[Fetcher]:
    """A Fetcher (with these options) whose every connection must stay on loopback."""
    transport = LoopbackOnly()
    with (
        httpx.Client(transport=transport) as client,
        Fetcher(settings, client=client, **options) as fetcher,
    ):
        yield fetcher
    assert not transport.refused, f"requests that left loopback: {transport.refused}"
