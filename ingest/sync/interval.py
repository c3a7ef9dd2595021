"""Intervals as people write them: "90s", "15m", "2h", "1d" (or plain seconds)."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL_RE = re.compile(r"\s*(\d+)\s*([smhd]?)\s*", re.IGNORECASE)
#: Shorter than this would hammer a server (and a folder scan is not free either).
MIN_SECONDS = 60


def parse_interval(text: str) -> int:
    """Seconds in `text`; ValueError with a one-line reason for anything else."""
    match = _INTERVAL_RE.fullmatch(text)
    if match is None:
        raise ValueError(
            f"invalid interval {text!r}: write a number and a unit, e.g. 90s, 15m, 2h or 1d"
        )
    seconds = int(match.group(1)) * _UNITS[(match.group(2) or "s").lower()]
    if seconds < MIN_SECONDS:
        raise ValueError(f"interval {text!r} is too short: at least {MIN_SECONDS // 60}m")
    return seconds


def format_interval(seconds: float) -> str:
    """The shortest exact way to write an interval ("15m", "1h30m" becomes "90m")."""
    whole = int(round(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole >= size and whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"
