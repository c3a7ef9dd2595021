"""The figure a question asks for (a count, an amount of money, a date) and where a
sentence gives one.

"How many troops were sent?" counts troops: a sentence's value is a number followed
within three words by "troops" ("about 2,000 troops", "2,500 army troops"). "How much..."
wants an amount of money, "When..." a calendar date. Regexes, not a model: they read
digits and English month names only, which is what conflict detection can trust.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from retrieval.search.scoring import shared_words, stems

Kind = Literal["count", "amount", "date"]


@dataclass(frozen=True, slots=True)
class Asked:
    """What the question asks for: its kind, the counted noun's stem, and its name."""

    kind: Kind
    focus: str | None  # stem of the counted noun ("troop"), for counts
    what: str  # how an answer names it: "number of troops", "amount", "date"


@dataclass(frozen=True, slots=True)
class Value:
    """A figure found in a sentence: offsets into the sentence, text as written, a key."""

    start: int
    end: int
    text: str
    key: tuple[object, ...]  # equal keys mean the same value ("May 4" == "4 May")


_WHEN = re.compile(
    r"^\s*(?:and\s+|so\s+|but\s+)?when\b|\b(?:what|which)\s+(?:date|day)\b|\bby when\b", re.I
)
_HOW_MANY = re.compile(r"\bhow many\s+(?:more\s+|new\s+|extra\s+|of the\s+)?([a-z][a-z'-]+)", re.I)
_HOW_MUCH = re.compile(
    r"\bhow much\b|\bwhat\s+(?:is|was|will be|would be)\s+the\s+(?:cost|price|bill|budget)\b", re.I
)
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec"
)
_MONTH_DAY = re.compile(rf"\b({_MONTHS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}})?", re.I)
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTHS})\b\.?(?:,?\s+\d{{4}})?", re.I)
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_YEAR = re.compile(r"\b(1[6-9]\d{2}|20\d{2})\b")
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?!\d)")
_AMOUNT = re.compile(
    r"([$€£])\s?(\d[\d,]*(?:\.\d+)?)(?:\s?(million|billion|thousand|bn|m)\b)?", re.IGNORECASE
)
_SCALE = {"thousand": 1e3, "m": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9}
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def asked(question: str) -> Asked | None:
    """The figure the question asks for, or None when it asks for something else."""
    if _WHEN.search(question):
        return Asked("date", None, "date")
    if match := _HOW_MANY.search(question):
        noun = match.group(1).lower()
        focus = stems(noun)
        return Asked("count", focus[0] if focus else None, f"number of {noun}")
    if _HOW_MUCH.search(question):
        return Asked("amount", None, "amount")
    return None


def values(kind: Asked, sentence: str) -> list[Value]:
    """The sentence's figures of the asked-for kind, in order."""
    if kind.kind == "date":
        return _dates(sentence)
    if kind.kind == "amount":
        return [_amount(m) for m in _AMOUNT.finditer(sentence)]
    return _counts(sentence, kind.focus)


def _counts(sentence: str, focus: str | None) -> list[Value]:
    found = []
    for match in _NUMBER.finditer(sentence):
        following = " ".join(_WORD.findall(sentence[match.end() : match.end() + 60])[:3])
        if focus is not None and focus not in stems(following):
            continue
        number = float(match.group(1).replace(",", "") + "." + (match.group(2) or "0"))
        found.append(Value(match.start(), match.end(), match.group(), ("count", number)))
    return found


def _amount(match: re.Match[str]) -> Value:
    number = float(match.group(2).replace(",", "").rstrip("."))
    scale = _SCALE.get((match.group(3) or "").lower(), 1.0)
    key = ("amount", match.group(1), round(number * scale, 2))
    return Value(match.start(), match.end(), match.group().strip(), key)


def _dates(sentence: str) -> list[Value]:
    found = [
        Value(m.start(), m.end(), m.group().strip(), ("date", _month(m.group(1)), int(m.group(2))))
        for m in _MONTH_DAY.finditer(sentence)
    ]
    found += [
        Value(m.start(), m.end(), m.group().strip(), ("date", _month(m.group(2)), int(m.group(1))))
        for m in _DAY_MONTH.finditer(sentence)
    ]
    found += [
        Value(m.start(), m.end(), m.group(), ("date", int(m.group(2)), int(m.group(3))))
        for m in _ISO.finditer(sentence)
    ]
    if not found:  # a bare year only counts when the sentence has no calendar date
        found = [
            Value(m.start(), m.end(), m.group(), ("year", int(m.group())))
            for m in _YEAR.finditer(sentence)
        ]
    return sorted(found, key=lambda v: v.start)


def _month(name: str) -> int:
    prefix = name.lower()[:3]
    return 1 + [m[:3] for m in _MONTHS.split("|")[:12]].index(prefix)


def pick(kind: Asked, sentence: str, question: str) -> Value | None:
    """The figure the sentence gives for the question, or None.

    A count is the first number followed by the counted noun. A date or an amount is the
    first one after the first word of the question that the sentence uses ("...expected to
    reopen on May 18, rather than the May 4 date..." answers "when will it reopen" with
    May 18), else the first one; a sentence with none of the question's words gives none.
    Figures the question itself names are skipped.
    """
    asked_keys = {v.key for v in values(kind, question)}
    found = [v for v in values(kind, sentence) if v.key not in asked_keys]
    if not found:
        return None
    if kind.kind == "count":
        return found[0]
    anchors = shared_words(question, sentence)
    if not anchors:
        return None
    anchor = anchors[0]
    return next((v for v in found if v.start >= anchor), found[0])
