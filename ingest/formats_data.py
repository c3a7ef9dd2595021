"""JSON and JSON Lines: many articles per file, one record each, checked field by field.

A bad record (or JSONL line) becomes its own SourceError naming the line or item, so one
typo in a large export does not cost the other records.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ingest.formats import Draft, Origin, finish_article
from retrieval.errors import SourceError
from retrieval.types import Article

_STRING_FIELDS = ("title", "url", "site", "author")


def parse_jsonl(text: str, origin: Origin) -> Iterator[Article | SourceError]:
    """One JSON object per line; blank lines are skipped; ids fall back to "<file>#<line>"."""
    # Split on "\n" only: JSON strings may legally hold U+2028 and friends, which
    # str.splitlines() would treat as line breaks.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        label = f"{origin.source} line {number}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield SourceError(label, f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        except (ValueError, RecursionError) as exc:
            yield SourceError(label, f"invalid JSON: {_brief(exc)}")
            continue
        yield record_article(value, origin, record=number, label=label)


def parse_json(text: str, origin: Origin) -> Iterator[Article | SourceError]:
    """One JSON object, or a list of them (ids fall back to "<file>#<position>", from 1)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        yield SourceError(
            origin.source, f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        )
        return
    except (ValueError, RecursionError) as exc:
        yield SourceError(origin.source, f"invalid JSON: {_brief(exc)}")
        return
    if isinstance(value, dict):
        yield record_article(value, origin, record=None, label=origin.source)
    elif isinstance(value, list):
        if not value:
            yield SourceError(origin.source, "the JSON list holds no records")
        for position, item in enumerate(value, start=1):
            label = f"{origin.source} item {position}"
            yield record_article(item, origin, record=position, label=label)
    else:
        yield SourceError(origin.source, f"expected a JSON object or list, got {_kind(value)}")


def record_article(
    value: Any, origin: Origin, *, record: int | None, label: str
) -> Article | SourceError:
    """Check one record's fields and build its Article, or the SourceError saying why not."""
    if not isinstance(value, dict):
        return SourceError(label, f"expected a JSON object, got {_kind(value)}")
    text = value.get("text")
    if text is None:
        return SourceError(label, "missing the required field 'text'")
    if not isinstance(text, str):
        return SourceError(label, f"'text' must be a string, not {_kind(text)}")
    if not text.strip():
        return SourceError(label, "'text' is empty")
    for name in _STRING_FIELDS:
        if not isinstance(value.get(name), str | None):
            return SourceError(label, f"'{name}' must be a string, not {_kind(value[name])}")
    record_id = value.get("id")
    if not isinstance(record_id, str | int | None) or isinstance(record_id, bool):
        return SourceError(label, f"'id' must be a string or a number, not {_kind(record_id)}")
    published = value.get("published", value.get("date"))
    draft = Draft(
        text=text,
        title=value.get("title"),
        id=record_id if record_id != "" else None,
        url=value.get("url"),
        site=value.get("site"),
        author=value.get("author"),
        published=published if isinstance(published, str) else None,
    )
    try:
        return finish_article(draft, origin, record=record, label=label)
    except SourceError as exc:
        return exc


def _kind(value: object) -> str:
    """JSON's name for a Python value's type, for error messages."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def _brief(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc).split("\n", 1)[0]
