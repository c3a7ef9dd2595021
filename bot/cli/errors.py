"""The command line's error boundary: expected failures as one line, never a traceback.

A full disk, a catalog another process holds locked, a read-only data directory or a
question that is not UTF-8 are things a user meets and can fix; a traceback hides the fix.
Each becomes `Error: <what> (<hint>)` and exit status 1. Anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

import errno
import functools
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from bot.settings import Settings
from retrieval.errors import ArticlebotError
from retrieval.store.database import Location, sqlite_error
from retrieval.store.fs import is_writable

F = TypeVar("F", bound=Callable[..., Any])

_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_DENIED = {errno.EROFS, errno.EACCES, errno.EPERM}
#: SQLite's names for "a write did not reach the disk" (a full disk is SQLITE_FULL; a file
#: over the size limit, or a failing disk, an I/O error).
_SQLITE_FULL = ("SQLITE_FULL", "SQLITE_IOERR")
_SQLITE_DENIED = ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")
_SQLITE_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")
_RETRY = "run the same command again: nothing stored is lost"


def boundary(settings: Callable[[], Settings | None]) -> Callable[[F], F]:
    """Decorate a command: our errors and expected OS/database failures become one line.

    settings: returns the command's settings if they were built (the messages name the
    data directory and the busy timeout from them).
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except ArticlebotError as exc:
                raise click.ClickException(str(exc)) from None
            except (OSError, sqlite3.Error, SQLAlchemyError, UnicodeError) as exc:
                message = describe(exc, settings())
                if message is None:
                    raise
                raise click.ClickException(message) from None

        return wrapper  # type: ignore[return-value]

    return decorate


def describe(exc: BaseException, settings: Settings | None) -> str | None:
    """The one line for an expected failure, or None when it is not one (a bug)."""
    where = str(settings.data_dir) if settings else "the data directory"
    if isinstance(exc, UnicodeError):
        return (
            "the text given is not valid UTF-8 (check the terminal's or the file's encoding,"
            " e.g. LANG=C.UTF-8)"
        )
    found = sqlite_error(exc)
    if found is not None:
        return _describe_sqlite(found, settings, where)
    if isinstance(exc, SQLAlchemyError):  # the shared database (PostgreSQL)
        database = str(Location.of(settings.catalog_location)) if settings else "database"
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
        return f"the article database {database} failed: {reason} ({_RETRY})"
    if isinstance(exc, OSError):
        return _describe_os(exc, where)
    return None


def _describe_sqlite(exc: sqlite3.Error, settings: Settings | None, where: str) -> str | None:
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    text = str(exc)
    catalog = str(settings.catalog_path) if settings else "the article catalog"
    if name.startswith(_SQLITE_BUSY) or "locked" in text:
        waited = f" for more than {settings.busy_timeout:g} s" if settings else ""
        return (
            f"the article catalog {catalog} is locked by another process{waited} (wait for"
            " the other articlebot command to finish, then run this one again; or raise"
            " ARTICLEBOT_BUSY_TIMEOUT)"
        )
    if name.startswith(_SQLITE_FULL) or "disk is full" in text or "disk I/O" in text:
        return f"could not write the article catalog {catalog}: {text} ({_full_hint(where)})"
    if name.startswith(_SQLITE_DENIED) or "readonly" in text:
        return f"cannot write the article catalog {catalog}: {text} ({_read_only_hint(where)})"
    if isinstance(exc, sqlite3.OperationalError):
        return f"the article catalog {catalog} failed: {text} ({_RETRY})"
    return None


def _describe_os(exc: OSError, where: str) -> str | None:
    what = exc.strerror or str(exc)
    name = f" {exc.filename}" if exc.filename else ""
    if exc.errno in _FULL:
        return f"could not write{name}: {what} ({_full_hint(where)})"
    if exc.errno in _DENIED:
        return f"cannot write{name}: {what} ({_read_only_hint(where)})"
    if exc.filename:  # another failure on a named file: say which
        return f"{what}:{name} (check the path and its permissions)"
    return None  # not about a file: unexpected here, so it keeps its traceback


def _full_hint(where: str) -> str:
    return f"is the disk full? free some space for {where}, then {_RETRY}"


def _read_only_hint(where: str) -> str:
    return f"{where} is read-only here: use a writable --data-dir or ARTICLEBOT_DATA_DIR"


def require_writable(settings: Settings, command: str) -> None:
    """Refuse, before any work, a command that writes the index in a read-only directory."""
    if not is_writable(settings.data_dir):
        raise click.ClickException(
            f"the data directory {settings.data_dir} is read-only: `articlebot {command}`"
            " needs to write there (ask, list and stats work; use a writable --data-dir or"
            " ARTICLEBOT_DATA_DIR to change the index)"
        )


def require_utf8(text: str, what: str) -> str:
    """Refuse text that cannot be encoded (command-line bytes that were not UTF-8 arrive
    as lone surrogates and would fail deep inside the tokenizers)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise click.ClickException(
            f"the {what} is not valid UTF-8 text (check the terminal's encoding, e.g. LANG=C.UTF-8)"
        ) from None
    return text
