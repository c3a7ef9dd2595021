"""The bot's HTTP to the Bot API: quiet, patient through outages, short about bad replies.

PTB's own handling logs a ~90-line traceback on every failed poll while Telegram is
unreachable, sleeps between polls in a way a stop signal cannot interrupt (up to 30 s),
and puts a whole HTML error page into one log or error line. Here:

* a long poll (`getUpdates` with a timeout) that cannot reach Telegram waits and tries
  again inside the request, with exponential backoff (`Backoff`): PTB's stop signal
  cancels that wait at once, and the outage is one warning line (`OutageLog`), with one
  info line when Telegram answers again;
* a reply that is not JSON becomes a Bot API error whose description is the HTTP status
  and the first `SUMMARY_CHARS` characters of the body;
* PTB's own log records caused by network errors lose their traceback (`OneLineNetworkErrors`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from telegram.error import NetworkError
from telegram.request import HTTPXRequest, RequestData

log = logging.getLogger(__name__)

#: How much of a reply that is not JSON is shown.
SUMMARY_CHARS = 100
Sleep = Callable[[float], Awaitable[None]]


class Backoff:
    """Delays between attempts: `first`, then times `factor` each time, at most `cap`."""

    def __init__(self, first: float = 1.0, factor: float = 2.0, cap: float = 30.0) -> None:
        self.first, self.factor, self.cap = first, factor, cap
        self._next = first

    def next(self) -> float:
        """The delay before the next attempt (each call grows the following one)."""
        delay = self._next
        self._next = min(self.cap, self._next * self.factor)
        return delay

    def reset(self) -> None:
        """Start again from `first` (after a success)."""
        self._next = self.first


class OutageLog:
    """One warning line when Telegram stops answering, one info line when it answers again.

    clock: seconds, monotonic (injected by tests).
    """

    def __init__(self, where: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.where = where
        self._clock = clock
        self._since: float | None = None

    @property
    def down(self) -> bool:
        """Whether an outage is going on."""
        return self._since is not None

    def failed(self, error: Exception) -> None:
        """A request could not reach Telegram: logged only if it starts an outage."""
        if self._since is None:
            self._since = self._clock()
            log.warning(
                "the Telegram Bot API at %s is unreachable (%s); retrying with backoff, quietly"
                " until it answers",
                self.where,
                _one_line(error),
            )

    def answered(self) -> None:
        """A request reached Telegram: ends an outage."""
        if self._since is not None:
            log.info(
                "the Telegram Bot API answers again (unreachable for %.0f s)",
                self._clock() - self._since,
            )
            self._since = None


class BotApiRequest(HTTPXRequest):
    """PTB's HTTPX transport with a short summary of replies that are not JSON, and (with
    `outage`) long polls that wait out an outage instead of failing."""

    def __init__(
        self,
        *,
        outage: OutageLog | None = None,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._outage = outage
        self._backoff = backoff or Backoff()
        self._sleep = sleep

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        """Send the request; through an outage, a long poll tries again until it answers."""
        patient = self._outage is not None and _is_long_poll(request_data)
        while True:
            try:
                code, payload = await super().do_request(url, method, request_data, *args, **kwargs)
            except NetworkError as exc:
                if not patient or self._outage is None:
                    raise
                self._outage.failed(exc)
                await self._sleep(self._backoff.next())  # a stop signal cancels this wait
                continue
            if method != "POST":  # a file download (PTB's `retrieve`): bytes, as they are
                return code, payload
            code, payload = summarise_non_json(code, payload)
            if patient and self._outage is not None:
                if code >= HTTPStatus.INTERNAL_SERVER_ERROR:  # Telegram's side is down
                    self._outage.failed(NetworkError(_description(payload)))
                    await self._sleep(self._backoff.next())
                    continue
                self._outage.answered()
                self._backoff.reset()
            return code, payload


def _is_long_poll(request_data: RequestData | None) -> bool:
    """A `getUpdates` that waits for updates (not PTB's last call at shutdown, timeout 0)."""
    if request_data is None:
        return False
    timeout = request_data.parameters.get("timeout")
    return isinstance(timeout, int | float) and timeout > 0


def summarise_non_json(code: int, payload: bytes) -> tuple[int, bytes]:
    """The reply as is when it is JSON; else a Bot API error (JSON, and status 502 if it
    claimed success) saying the status and how the body starts, so that PTB raises one
    short error instead of logging the whole page."""
    try:
        json.loads(payload)
        return code, payload
    except ValueError:
        pass
    try:
        status = f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        status = str(code)
    text = " ".join(payload.decode("utf-8", "replace").split())
    start = text[:SUMMARY_CHARS] + ("…" if len(text) > SUMMARY_CHARS else "")
    description = f"Telegram answered {status} with a reply that is not JSON: {start!r}"
    if HTTPStatus.OK <= code < HTTPStatus.MULTIPLE_CHOICES:
        code = HTTPStatus.BAD_GATEWAY
    body = {"ok": False, "error_code": code, "description": description}
    return code, json.dumps(body).encode()


def _description(payload: bytes) -> str:
    try:
        return str(json.loads(payload).get("description") or "server error")
    except (ValueError, AttributeError):
        return "server error"


class OneLineNetworkErrors(logging.Filter):
    """Drop the traceback of log records about network errors: during an outage they say
    nothing the one line does not (PTB logs some itself, e.g. at shutdown)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], NetworkError):
            record.msg = f"{record.getMessage()} ({_one_line(record.exc_info[1])})"
            record.args, record.exc_info, record.exc_text = None, None, None
        return True


def _one_line(error: BaseException) -> str:
    return " ".join(f"{type(error).__name__}: {error}".split())
