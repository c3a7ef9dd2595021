"""Sentence spans with offsets: the unit an answer quotes.

A regex splitter, not a model: it must be fast, offline and return exact offsets. It knows
the common abbreviations of news copy ("Gen.", "U.S.", "Jan.") so they don't end sentences.
"""

from __future__ import annotations

import re

_BOUNDARY = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])|\n+")
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "gen", "col", "lt", "sgt", "capt", "maj", "adm", "gov",
    "sen", "rep", "st", "jr", "sr", "no", "vs", "etc", "inc", "ltd", "co", "corp", "jan",
    "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mt",
    "ft", "u.s", "u.k", "e.g", "i.e", "approx", "dept", "est", "fig", "spc", "pvt", "cpl",
}  # fmt: skip


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Return (start, end) offsets of the sentences of `text[start:end]`, whitespace trimmed."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _BOUNDARY.finditer(text, start, end):
        if "\n" not in match.group() and _ends_with_abbreviation(text, cursor, match.start()):
            continue
        _add(text, cursor, match.start(), spans)
        cursor = match.end()
    _add(text, cursor, end, spans)
    return spans


#: A dateline: the city in capitals, perhaps the date and the agency, then a dash
#: ("LUSSA, Jan. 17 (NPA) — ", "BAGHDAD, Iraq (CNN) -- "). It says where and when the
#: report was filed, not what happened, so no answer is read from it.
_DATELINE = re.compile(r"[A-Z][A-Z'.-]+(?: [A-Z][A-Z'.-]+)*(?:,[^\n—–]{1,40}?)?\s+(?:—|–|--)\s+")


def body_start(text: str, start: int, end: int) -> int:
    """Where the sentence `text[start:end]` begins after its dateline, if it opens with one."""
    found = _DATELINE.match(text, start, end)
    return found.end() if found is not None and found.end() < end else start


def _ends_with_abbreviation(text: str, start: int, stop: int) -> bool:
    words = text[start:stop].split()
    if not words:
        return False
    last = words[-1].rstrip(".\"'”’)]").lower()
    return last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())


def _add(text: str, start: int, stop: int, spans: list[tuple[int, int]]) -> None:
    while start < stop and text[start].isspace():
        start += 1
    while stop > start and text[stop - 1].isspace():
        stop -= 1
    if stop > start:
        spans.append((start, stop))
