"""Offline follow-up rewriting: carry the previous turn's entities into a short question.

"How much will it cost?" after "When does the Sallow Street Bridge reopen?" is searched
as "How much will Sallow Street Bridge cost?": the subject takes the pronoun's place (other
pointers, "there" or "then", keep the question and the subject is added). A heuristic, not
a model: a question that already names its subject is left as it is.

The conversation's date window is carried too (`date_window`): "and what did the ministry
say then?" is searched among articles published around the dates of the previous answer's
sources (answers name them as YYYY-MM-DD), not in the whole collection.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta

from retrieval.types import Turn

# Capitalised runs ("Sallow Street Bridge", "U.S. Army"), acronyms and numbers.
_ENTITY = re.compile(
    r"\b(?:[A-Z][\w'’.-]*(?:\s+(?:of|the|de|al|for|and)?\s*[A-Z][\w'’.-]*)*|\d[\d,.]*%?)"
)
# Words that point back at the previous turn's subject.
_POINTERS = re.compile(
    r"\b(it|its|they|them|their|he|him|his|she|her|this|that|these|those|there|then|"
    r"the same|the other)\b",
    re.IGNORECASE,
)
# The pointers that stand for the subject itself (not its place or time).
_PRONOUN = re.compile(r"\b(it|its|they|them|their|he|him|his|she|her)\b", re.IGNORECASE)
_POSSESSIVE = frozenset({"its", "their", "his", "her"})
_QUESTION_WORDS = {
    "What", "When", "Where", "Who", "Whom", "Whose", "Why", "How", "Which", "Is", "Are",
    "Was", "Were", "Did", "Do", "Does", "Can", "Could", "Will", "Would", "Should", "And",
    "But", "So", "Has", "Have", "Had", "The", "A", "An", "In", "On", "At", "I", "Tell",
}  # fmt: skip


def entities(text: str) -> list[str]:
    """Names and numbers in `text`, in order, without question words."""
    found = []
    for match in _ENTITY.finditer(text):
        words = match.group().strip(" .").split()
        while words and words[0] in _QUESTION_WORDS:
            words = words[1:]
        if words:
            found.append(" ".join(words))
    return list(dict.fromkeys(found))


def condense(question: str, history: Sequence[Turn]) -> str:
    """Return a standalone question: the follow-up plus the entities it leaves implicit."""
    question = question.strip()
    if not history:
        return question
    if entities(question) and not _POINTERS.search(question):
        return question  # it names its own subject
    previous = history[-1]
    carried = entities(previous.question) or entities(previous.answer)[:3]
    lowered = question.lower()
    missing = [e for e in carried if e.lower() not in lowered]
    if not missing:
        return question
    pronoun = _PRONOUN.search(question)
    if pronoun is None:
        return f"{question} {' '.join(missing)}".strip()
    # The subject takes the pronoun's place, so the question reads as it was meant:
    # "Who is its chief executive?" is "Who is Corvane Materials's chief executive?".
    subject = missing[0] + ("'s" if pronoun.group().lower() in _POSSESSIVE else "")
    rest = " ".join(missing[1:])
    standalone = question[: pronoun.start()] + subject + question[pronoun.end() :]
    return f"{standalone} {rest}".strip()


# Words that point back at the time the conversation was about.
_THEN = re.compile(
    r"\b(then|back then|by then|at (?:the|that) (?:time|point|stage)|that (?:day|week|month)|"
    r"meanwhile|in the meantime|around that time|at that moment)\b",
    re.IGNORECASE,
)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
WINDOW_SLACK_DAYS = 4  # the window reaches this far either side of the answer's lead date


def date_window(question: str, history: Sequence[Turn]) -> tuple[date, date] | None:
    """The publication window a follow-up that says "then" refers to, or None.

    It is centred on the first date the latest dated answer names (answers lead with their
    main source, "According to X (2026-03-10)"), `WINDOW_SLACK_DAYS` either side, so
    "then" keeps meaning the time the conversation was about.
    """
    if not history or not _THEN.search(question):
        return None
    for turn in reversed(history):
        for year, month, day in _ISO_DATE.findall(turn.answer):
            try:
                lead = date(int(year), int(month), int(day))
            except ValueError:
                continue
            slack = timedelta(days=WINDOW_SLACK_DAYS)
            return lead - slack, lead + slack
    return None
