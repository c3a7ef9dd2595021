"""The `--since`/`--until` options shared by `ask`, `chat` and `list`."""

from __future__ import annotations

from datetime import date

import click


def parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    """Read YYYY-MM-DD (a usage error, exit status 2, otherwise)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD") from None


def check_dates(since: date | None, until: date | None) -> None:
    """Refuse a range that ends before it starts (a usage error, exit status 2)."""
    if since and until and since > until:
        raise click.UsageError(f"--since {since} is after --until {until}")
