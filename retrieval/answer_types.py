"""What kind of thing a question asks for, and whether a sentence offers a new one.

"How much will Corvane invest?" wants an amount; a sentence that repeats the question's
words but holds no number it didn't already have is not the answer. The offline composer
adds a small bonus to sentences that contain a new item of the expected kind (and a larger
one to a sentence that counts what a "how many X" question counts: `figures`).
"""

from __future__ import annotations

import re
from enum import Enum


class AnswerType(Enum):
    """The expected kind of answer."""

    NUMBER = "number"
    DATE = "date"
    NAME = "name"
    OTHER = "other"


_NUMBER_Q = re.compile(
    r"\bhow (many|much|long|far|old|big|large|tall|high|often)\b|\bwhat (percentage|"
    r"share|number|amount|proportion|fraction)\b|\bhow many\b",
    re.IGNORECASE,
)
_DATE_Q = re.compile(
    r"^\s*when\b|\bwhat (date|day|year|month|time)\b|\bwhich (date|day|year|month)\b|"
    r"\bby when\b|\bsince when\b",
    re.IGNORECASE,
)
_NAME_Q = re.compile(
    r"^\s*(who|whom|whose|where)\b|\b(who|whom|whose|where)\b|\bwhich (company|firm|team|"
    r"club|country|city|town|person|group|party|organi[sz]ation|outlet|newspaper|agency)\b|"
    r"\bwhat (company|firm|team|club|country|city|town|is the name)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"(?:[$€£]\s?)?\b\d[\d,.]*\b(?:\s?(?:%|percent|per cent|million|billion|thousand))?|"
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundred|thousand|dozen|half|third|quarter)\b",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b|"
    r"\b\d{1,2}\s+(?:january|february|march|april|may|june|july|august|september|october|"
    r"november|december)\b|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"yesterday|today|tomorrow)\b|\b(?:1[5-9]|20)\d{2}s?\b|\b\d{1,2}(?::\d{2})?\s?[ap]\.?m\.?",
    re.IGNORECASE,
)
#: A capitalised run of words, except a sentence's first word, also after an opening quote
#: or bracket (`"To score twice..."` names no one).
_NAME = re.compile(
    r"(?<![.!?]\s)(?<![.!?][\"”’)]\s)(?<!^)(?<!^[\"“‘'(\[])(?<![.!?:]\s[\"“‘'(\[])"
    r"\b[A-Z][a-z’'\-]+(?:\s+[A-Z][a-z’'\-]+)*"
)


def answer_type(question: str) -> AnswerType:
    """Guess the kind of answer the question wants."""
    if _DATE_Q.search(question):
        return AnswerType.DATE
    if _NUMBER_Q.search(question):
        return AnswerType.NUMBER
    if _NAME_Q.search(question):
        return AnswerType.NAME
    return AnswerType.OTHER


def offers_new(kind: AnswerType, question: str, sentence: str) -> bool:
    """True when the sentence holds an item of that kind that the question doesn't."""
    pattern = {AnswerType.NUMBER: _NUMBER, AnswerType.DATE: _DATE, AnswerType.NAME: _NAME}.get(kind)
    if pattern is None:
        return False
    asked = {m.group().lower() for m in pattern.finditer(question)}
    return any(m.group().lower() not in asked for m in pattern.finditer(sentence))
