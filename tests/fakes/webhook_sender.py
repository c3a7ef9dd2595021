"""Deliver updates to a bot's webhook the way Telegram does, from a background thread.

Telegram POSTs each update as JSON to the URL given to `setWebhook`, with the secret in the
``X-Telegram-Bot-Api-Secret-Token`` header, and retries while the bot is unreachable. The
Bot API emulator hands updates to a `WebhookSender` while a webhook is set; `post_update`
sends one request directly (tests forge requests without or with a wrong secret with it).
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def post_update(url: str, update: dict[str, Any], secret: str | None = None) -> int:
    """POST one update to `url` (no proxy) and return the HTTP status."""
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    with httpx.Client(trust_env=False, timeout=10.0) as client:
        return client.post(url, json=update, headers=headers).status_code


@dataclass(frozen=True)
class Delivery:
    """One update delivered (or given up on: status 0) to a webhook."""

    update_id: int
    status: int


class WebhookSender:
    """One thread that posts queued updates in order, retrying connection errors for a while."""

    def __init__(self, give_up_after: float = 10.0) -> None:
        self.deliveries: list[Delivery] = []
        self._give_up_after = give_up_after
        self._queue: queue.Queue[tuple[str, str | None, dict[str, Any]] | None] = queue.Queue()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-telegram-webhook")
        self._thread.start()

    def send(self, url: str, secret: str | None, update: dict[str, Any]) -> None:
        """Queue `update` for delivery to `url` with `secret`."""
        self._queue.put((url, secret, update))

    def stop(self) -> None:
        """Stop retrying, finish the thread; updates still queued are dropped."""
        self._stopping.set()
        self._queue.put(None)
        self._thread.join(timeout=15)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._stopping.is_set():
                continue
            url, secret, update = item
            self.deliveries.append(
                Delivery(update["update_id"], self._deliver(url, secret, update))
            )

    def _deliver(self, url: str, secret: str | None, update: dict[str, Any]) -> int:
        deadline = time.monotonic() + self._give_up_after
        while not self._stopping.is_set():
            try:
                return post_update(url, update, secret)
            except httpx.TransportError:  # the bot's server is not listening (yet)
                if time.monotonic() > deadline:
                    break
                self._stopping.wait(0.05)
        return 0
