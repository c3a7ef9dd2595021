"""One-line, key-free descriptions of failures of an OpenAI-compatible server.

Shared by the chat answerer and the embedder: both talk to the same kind of server through
the `openai` client, and both must never show the key or dump a server's reply.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

OPENAI_HOST = "api.openai.com"
_KEYLIKE = re.compile(r"\b(?:sk|pk|key)-[A-Za-z0-9_*.\-]{4,}")
_MAX_DETAIL = 160


def server_host(base_url: str | None) -> str:
    """Host and port only: a URL's path or user:password must not reach a message."""
    if not base_url:
        return OPENAI_HOST
    parts = urlsplit(base_url)
    host = parts.hostname or "the configured server"
    return f"{host}:{parts.port}" if parts.port else host


def scrub(text: str, secret: str = "") -> str:
    """Remove the key (and anything key-shaped), squeeze to one short line."""
    if secret:
        text = text.replace(secret, "[redacted]")
    text = " ".join(_KEYLIKE.sub("[redacted]", text).split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def describe_failure(
    exc: BaseException,
    *,
    where: str,
    timeout: float,
    retries: int,
    not_found_hint: str,
    malformed: str,
    secret: str = "",
) -> str:
    """Say what went wrong with a request (`where`), safe to show and log."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return (
            f"{where} timed out after {timeout:g} s ({retries} retries);"
            " raise ARTICLEBOT_OPENAI_TIMEOUT or check the server."
        )
    if isinstance(exc, openai.APIConnectionError):
        return f"{where} failed: cannot connect; check OPENAI_BASE_URL and the network."
    if isinstance(exc, openai.APIStatusError):
        hint = {
            401: "check OPENAI_API_KEY",
            403: "the key may not access this model",
            404: not_found_hint,
            429: f"rate limited or out of quota after {retries} retries",
        }.get(exc.status_code, "server error" if exc.status_code >= 500 else "")
        detail = scrub(_server_message(exc), secret)
        detail, hint = (f": {detail}" if detail else ""), (f" ({hint})" if hint else "")
        return f"{where} failed: HTTP {exc.status_code}{detail}{hint}"
    if isinstance(exc, openai.OpenAIError):
        return f"{where} failed: {type(exc).__name__}: {scrub(str(exc), secret)}"
    return malformed


def could_not_connect(exc: BaseException) -> bool:
    """True when no connection to the server was made: refused, unreachable, or not
    accepted within the connect timeout (a slow or failing reply is something else)."""
    import httpx2  # the transport of the openai client

    seen: BaseException | None = exc
    for _ in range(8):  # langchain re-raises the openai error, which wraps the transport's
        if seen is None:
            return False
        if isinstance(seen, httpx2.ConnectError | httpx2.ConnectTimeout | ConnectionError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _server_message(exc: Any) -> str:
    """The ``error.message`` of an OpenAI-style error body: the server's own explanation."""
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    return message if isinstance(message, str) else ""
