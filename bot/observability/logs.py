"""Log lines as text or one JSON object each, every one with a request id, no secrets.

The request id lives in a context variable: one per Telegram update (set by the bot's
first handler) or per CLI command (the process default). Worker threads see it because
`Services.run` runs each call in a copy of the caller's context.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import secrets
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Literal

#: The request being handled (None: the process's own id is used).
_REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "articlebot_request_id", default=None
)
_process_id = secrets.token_hex(6)
#: "user:password@" in a URL: the password is replaced, the user name kept.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.\-]*://[^/\s:@]*):[^/\s@]+@", re.IGNORECASE)
#: API keys written like OpenAI's (sk-...), whoever logs them.
_KEYLIKE = re.compile(r"\b(?:sk|pk|key)-[A-Za-z0-9_*.\-]{4,}")
HIDDEN = "<redacted>"


def new_request_id() -> str:
    """A fresh id: short, random, unique enough to find one request's lines."""
    return secrets.token_hex(6)


def request_id() -> str:
    """The current request's id (the process's when no request is being handled)."""
    return _REQUEST_ID.get() or _process_id


def set_request_id(value: str | None = None) -> str:
    """Make `value` (or a new id) the current context's request id; returns it."""
    value = value or new_request_id()
    _REQUEST_ID.set(value)
    return value


@contextlib.contextmanager
def request_scope(value: str | None = None) -> Iterator[str]:
    """Lines logged inside the block carry one (new) request id."""
    token = _REQUEST_ID.set(value or new_request_id())
    try:
        yield request_id()
    finally:
        _REQUEST_ID.reset(token)


class RequestIdFilter(logging.Filter):
    """Put the current request id on every record (as `record.request_id`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id()
        return True


class RedactSecrets(logging.Filter):
    """Replace known secrets (tokens, API keys, passwords) and anything that looks like
    one (a URL's password, an sk-... key) in messages and tracebacks."""

    def __init__(self, hidden: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first: a secret that contains another is replaced whole.
        self._hidden = sorted({h for h in hidden if h and len(h) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """`text` without the secrets."""
        for value in self._hidden:
            text = text.replace(value, HIDDEN)
        text = _URL_PASSWORD.sub(rf"\g<head>:{HIDDEN}@", text)
        return _KEYLIKE.sub(HIDDEN, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:  # already redacted by `RedactSecrets`
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def configure(log_format: Literal["text", "json"], hidden: Iterable[str] = ()) -> None:
    """Give the root logger's handlers the format, the request id and the redaction.

    Called once the settings are known (they say the format and hold the secrets)."""
    redact = RedactSecrets(hidden)
    ids = RequestIdFilter()
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactSecrets | RequestIdFilter)]:
            handler.removeFilter(old)
        handler.addFilter(ids)
        handler.addFilter(redact)
        handler.setFormatter(formatter)
