"""Read the question once: what kind of answer it seeks, and what it says about time.

Everything downstream (sentence scoring, the composer, the news steps) reads this
`Question` instead of the raw text. The closed-class grammar of English questions
(wh-words, auxiliaries) is the one table here; what a "which X" question asks for is read
from the noun X by meaning (`NounTyper`: its embedding against the descriptions of the
entity labels the stored articles are tagged with), not from a list of nouns.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import numpy as np

from retrieval.embedders import Embedder


class Kind(Enum):
    """The kind of answer a question seeks."""

    PERSON = "person"
    ORGANISATION = "organisation"
    PLACE = "place"
    DATE = "date"
    NUMBER = "number"
    AMOUNT = "amount"
    REASON = "reason"
    DESCRIPTION = "description"
    YES_NO = "yes/no"
    CHAT = "not a question"  # "hi", "thanks": a greeting, not something to search


#: The entity labels (OntoNotes, as the stored articles are tagged) that answer each kind,
#: the best first.
LABELS: dict[Kind, tuple[str, ...]] = {
    Kind.PERSON: ("PERSON", "ORG", "NORP"),
    Kind.ORGANISATION: ("ORG", "NORP"),
    Kind.PLACE: ("GPE", "LOC", "FAC"),
    Kind.DATE: ("DATE", "TIME"),
    Kind.NUMBER: ("CARDINAL", "QUANTITY", "PERCENT", "MONEY"),
    Kind.AMOUNT: ("MONEY", "PERCENT", "QUANTITY", "CARDINAL"),
}

#: What each label means: spaCy's own glossary (`spacy.explain`), kept here so questions
#: never import spaCy. `tests/test_question.py` checks it against spaCy.
LABEL_MEANINGS: dict[str, str] = {
    "PERSON": "People, including fictional",
    "NORP": "Nationalities or religious or political groups",
    "FAC": "Buildings, airports, highways, bridges, etc.",
    "ORG": "Companies, agencies, institutions, etc.",
    "GPE": "Countries, cities, states",
    "LOC": "Non-GPE locations, mountain ranges, bodies of water",
    "PRODUCT": "Objects, vehicles, foods, etc. (not services)",
    "EVENT": "Named hurricanes, battles, wars, sports events, etc.",
    "WORK_OF_ART": "Titles of books, songs, etc.",
    "LAW": "Named documents made into laws.",
    "DATE": "Absolute or relative dates or periods",
    "TIME": "Times smaller than a day",
    "PERCENT": 'Percentage, including "%"',
    "MONEY": "Monetary values, including unit",
    "QUANTITY": "Measurements, as of weight or distance",
    "CARDINAL": "Numerals that do not fall under another type",
}
_KIND_OF_LABEL = {
    "PERSON": Kind.PERSON,
    "ORG": Kind.ORGANISATION,
    "NORP": Kind.ORGANISATION,
    "GPE": Kind.PLACE,
    "LOC": Kind.PLACE,
    "FAC": Kind.PLACE,
    "DATE": Kind.DATE,
    "TIME": Kind.DATE,
    "MONEY": Kind.AMOUNT,
    "PERCENT": Kind.NUMBER,
    "QUANTITY": Kind.NUMBER,
    "CARDINAL": Kind.NUMBER,
}

# --- the closed-class grammar of English questions ---------------------------------------
_WH = {
    "who": Kind.PERSON,
    "whom": Kind.PERSON,
    "whose": Kind.PERSON,
    "when": Kind.DATE,
    "where": Kind.PLACE,
    "why": Kind.REASON,
}
_AUXILIARIES = frozenset(
    "is are was were am be been do does did has have had can could will would shall should"
    " may might must".split()
)
_DETERMINERS = frozenset("the a an this that these those its their his her our your".split())
_HOW = {"many": Kind.NUMBER, "much": Kind.AMOUNT, "long": Kind.DATE}
#: Connectives that introduce a cause or a purpose: what answers "why".
_CAUSE = re.compile(
    r"\b(because|since|due to|owing to|thanks to|as a result|caused by|blamed on|after|"
    r"so that|in order to|amid|following)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")

# --- time cues: the present, and the timeline of a topic ---------------------------------
_RECENT = re.compile(
    r"\b(latest|newest|most recent(?:ly)?|recent(?:ly)?|now|nowadays|currently|current|"
    r"still|yet|so far|to date|these days|at the moment|at present|presently|today|"
    r"this week|any (?:news|update)s?|update on|up to date)\b",
    re.IGNORECASE,
)
_TIMELINE = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^\s*(?:and\s+|so\s+)?what(?:'s|’s|\s+has|\s+had|\s+is)?\s+(?:been\s+)?happen(?:ed|ing)"
        r"\s+(?:with|to|at|in|on|about|over|around)\s+(?P<topic>.+?)[\s?.!]*$",
        r"^\s*(?:please\s+)?(?:give me\s+|show me\s+|make\s+)?(?:a\s+|the\s+)?"
        r"(?:timeline|chronology)\s+(?:of|for|on|about)\s+(?P<topic>.+?)[\s?.!]*$",
        r"^\s*how did\s+(?P<topic>.+?)\s+(?:unfold|develop|evolve)[\s?.!]*$",
    )
]

#: Types a noun by meaning: the entity label it names ("company" → ORG), or None.
Typer = Callable[[str], str | None]
#: True for a word the stored articles use (so "hi" is chat, "bridge" a search).
Known = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class Question:
    """One question, read once."""

    text: str
    kind: Kind
    labels: tuple[str, ...] = ()  # entity labels that answer it, best first
    focus: str | None = None  # the noun it asks about: "company" in "Which company...?"
    recent: bool = False  # asks about the present ("now", "latest", "still")
    timeline: str | None = None  # the topic of "What happened with X?"

    @property
    def typed(self) -> bool:
        """True when a named item (a person, a date, an amount...) answers it."""
        return bool(self.labels)


def read(text: str, typer: Typer | None = None, known: Known | None = None) -> Question:
    """Read a question: its kind, the labels that answer it and its time cues."""
    words = _WORD.findall(text)
    lowered = [w.lower() for w in words]
    kind, focus = _kind(lowered, typer)
    labels: tuple[str, ...] = LABELS.get(kind, ())
    if focus is not None and typer is not None and kind is Kind.DESCRIPTION:
        label = typer(focus)
        if label is not None:
            kind = _KIND_OF_LABEL.get(label, Kind.DESCRIPTION)
            labels = (label, *(x for x in LABELS.get(kind, ()) if x != label))
    if kind is Kind.DESCRIPTION and _is_chat(text, lowered, known):
        kind, labels = Kind.CHAT, ()
    return Question(
        text=text,
        kind=kind,
        labels=labels,
        focus=focus,
        recent=_RECENT.search(text) is not None,
        timeline=timeline_topic(text.strip()),
    )


def gives_reason(sentence: str) -> bool:
    """True when the sentence states a cause or a purpose (what a "why" question seeks)."""
    return _CAUSE.search(sentence) is not None


def timeline_topic(text: str) -> str | None:
    """The topic of a question that asks for a timeline ("What happened with X?"), or None."""
    for cue in _TIMELINE:
        if match := cue.match(text):
            return match.group("topic").strip()
    return None


def _kind(words: list[str], typer: Typer | None) -> tuple[Kind, str | None]:
    """The kind by the first wh-word, and the noun a "which/what/how many" asks about."""
    for i, word in enumerate(words):
        following = words[i + 1] if i + 1 < len(words) else ""
        if word in _WH:
            return _WH[word], None
        if word == "how":
            if following in _HOW:
                return _HOW[following], _noun_after(words, i + 2)
            if following and following not in _AUXILIARIES:
                return Kind.NUMBER, None  # how old / far / big: a degree
            return Kind.DESCRIPTION, None
        if word in ("which", "what"):
            return Kind.DESCRIPTION, _noun_after(words, i + 1)
    if words and words[0] in _AUXILIARIES:
        return Kind.YES_NO, None
    return Kind.DESCRIPTION, None


def _noun_after(words: list[str], start: int) -> str | None:
    """The first word after `start` that is not a determiner or an auxiliary."""
    for word in words[start : start + 3]:
        if word in _AUXILIARIES:
            return None  # "what is...", "what did...": no noun is asked for
        if word not in _DETERMINERS:
            return word
    return None


def _is_chat(text: str, words: list[str], known: Known | None) -> bool:
    """No question mark, no wh-word, and no word the articles use: "hi", "thanks!"."""
    if "?" in text or known is None:
        return False
    return not any(known(w) for w in words)


class NounTyper:
    """Which entity label a noun names, by its embedding against the labels' meanings."""

    def __init__(self, embedder: Embedder, min_similarity: float = 0.3) -> None:
        self.embedder = embedder
        self.min_similarity = min_similarity
        self._labels = list(LABEL_MEANINGS)
        self._meanings: np.ndarray | None = None
        self._cache: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def __call__(self, noun: str) -> str | None:
        """The closest label, if it is close enough."""
        with self._lock:
            if noun in self._cache:
                return self._cache[noun]
        if self._meanings is None:
            self._meanings = _unit(self.embedder.embed_documents(list(LABEL_MEANINGS.values())))
        vector = _unit(self.embedder.embed_documents([noun]))[0]
        scores = self._meanings @ vector
        best = int(np.argmax(scores))
        label = self._labels[best] if scores[best] >= self.min_similarity else None
        with self._lock:
            self._cache[noun] = label
        return label


def _unit(matrix: object) -> np.ndarray:
    array = np.asarray(matrix, dtype=np.float32)
    unit: np.ndarray = array / np.maximum(np.linalg.norm(array, axis=1, keepdims=True), 1e-12)
    return unit
