"""Read the question once: what kind of answer it seeks, and what it says about time.

Everything downstream (sentence scoring, the composer, the news steps) reads this
`Question` instead of the raw text. The closed-class grammar of English questions
(wh-words, auxiliaries, and the pointers back at a conversation: "it", "there", "then",
read by `retrieval/search/followup.py`) is the one table here; what a question the grammar
leaves open asks for ("What was the tram's price tag?", "Which politician...?", "Berth opening
year?") is read from its meaning by a model fitted on questions with known answers
(`question_kinds`), not from a list of nouns.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from retrieval.search.scoring import stem_set
from retrieval.store.lexical import analyze


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

#: The kind of item each entity label is (bench/fit_kinds.py labels gold answers by it).
KIND_OF_LABEL = {
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
_HOW = {"many": Kind.NUMBER, "much": Kind.AMOUNT, "long": Kind.DATE}
#: Auxiliaries that invert with the subject and leave the main verb after it: "When will
#: the plant open?" (not the copula: in "Who is the chief executive?" the phrase is asked for).
_INVERTING = _AUXILIARIES - {"is", "are", "was", "were", "am", "be", "been"}
#: Words that open a noun phrase: articles, demonstratives, possessives.
_DETERMINERS = frozenset("the a an this that these those its their his her our my your".split())
#: Prepositions and particles: the subject and its verb end before them ("go up").
_PREPOSITIONS = frozenset(
    "about above across after against along among around at before behind below beneath"
    " beside between beyond by down during for from in inside into near off on onto out over"
    " past since through throughout to toward towards under until up upon with within"
    " without".split()
)
_JOINING = _DETERMINERS | {"of"}  # what may stand inside a phrase joined by "of"
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’-]*|[^\w\s]")
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

# --- pointers back at the conversation: what a follow-up refers to ----------------------
#: Words that point back at the subject, place or time of the previous turns.
_POINTER = re.compile(
    r"\b(it|its|they|them|their|he|him|his|she|her|this|that|these|those|there|then|"
    r"the same|the other)\b",
    re.IGNORECASE,
)
#: The pointers that stand for the subject itself (not its place or time).
_PRONOUN = re.compile(r"\b(it|its|they|them|their|he|him|his|she|her)\b", re.IGNORECASE)
_POSSESSIVE = frozenset({"its", "their", "his", "her"})
#: Pointers back at the time the conversation was about.
_THEN = re.compile(
    r"\b(then|back then|by then|at (?:the|that) (?:time|point|stage)|that (?:day|week|month)|"
    r"meanwhile|in the meantime|around that time|at that moment)\b",
    re.IGNORECASE,
)

#: The kind a question's meaning suggests (asked lazily: it needs the question's vector).
Meaning = Callable[[], Kind]
#: True for a word the stored articles use (so "hi" is chat, "bridge" a search).
Known = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class Question:
    """One question, read once."""

    text: str
    kind: Kind
    labels: tuple[str, ...] = ()  # entity labels that answer it, best first
    recent: bool = False  # asks about the present ("now", "latest", "still")
    timeline: str | None = None  # the topic of "What happened with X?"

    @property
    def typed(self) -> bool:
        """True when a named item (a person, a date, an amount...) answers it."""
        return bool(self.labels)

    def names(self, item: str) -> bool:
        """True when the question already names this item: most of its words are the
        question's ("the Tarrow Valley Dairies", "Marle Cross Museum of Rural Life" for
        "Who runs the Museum of Rural Life?"), so it is the subject, not the answer."""
        words = analyze(item)
        if not words:
            return item.lower() in self.text.lower()
        asked = stem_set(self.text)
        return 2 * sum(w in asked for w in words) >= len(words)


def read(text: str, known: Known | None = None, meaning: Meaning | None = None) -> Question:
    """Read a question: its kind, the labels that answer it and its time cues.

    `meaning` gives the kind the question's meaning suggests; it is asked only when the
    grammar leaves the kind open (and the question is not chat).
    """
    lowered = [w.lower() for w in _WORD.findall(text)]
    kind = _kind(lowered)
    if kind is Kind.DESCRIPTION and _is_chat(text, lowered, known):
        kind = Kind.CHAT
    elif kind is Kind.DESCRIPTION and meaning is not None:
        kind = meaning()
    return Question(
        text=text,
        kind=kind,
        labels=LABELS.get(kind, ()),
        recent=_RECENT.search(text) is not None,
        timeline=timeline_topic(text.strip()),
    )


def subject_phrase(text: str) -> str | None:
    """The subject of a question with subject-auxiliary inversion, which a follow-up's "it"
    most likely stands for: "recycling plant" of "How much will the recycling plant cost?".

    It is the noun phrase right after the inverted auxiliary (opened by a determiner, joined
    by "of": "the price of the berth"); its last word is the main verb, which is dropped.
    None when the question has no such subject.
    """
    tokens = [t.group() for t in _TOKEN.finditer(text)]
    for i in range(len(tokens) - 2):
        if tokens[i].lower() not in _INVERTING or tokens[i + 1].lower() not in _DETERMINERS:
            continue
        run: list[str] = []
        for token in tokens[i + 2 :]:
            word = token.lower()
            joined = bool(run) and run[-1].lower() in _JOINING
            if joined and word in _DETERMINERS and run[-1] == "of":
                run.append(token)  # "of the berth": a determiner inside a joined phrase
                continue
            starts_name = run and token[0].isupper() and run[-1][0].islower() and not joined
            if word == "of" and run and run[-1] != "of":
                run.append(word)
            elif (
                token[0].isalpha()
                and analyze(token)
                and word not in _AUXILIARIES
                and word not in _PREPOSITIONS
                and not starts_name  # "pay Pellwether": the object, a name, begins
            ):
                run.append(token)
            else:
                break
        phrase = run[:-1]  # the main verb follows the subject
        while phrase and phrase[-1].lower() in _JOINING:
            phrase.pop()
        return " ".join(phrase) or None
    return None


def points_back(text: str) -> bool:
    """True when the question points back at the conversation ("it", "there", "then")."""
    return _POINTER.search(text) is not None


def subject_pronoun(text: str) -> tuple[int, int, bool] | None:
    """The span of the first pronoun standing for the subject ("it", "its", "they"), and
    whether it is possessive; None when there is none."""
    found = _PRONOUN.search(text)
    if found is None:
        return None
    return found.start(), found.end(), found.group().lower() in _POSSESSIVE


def points_to_then(text: str) -> bool:
    """True when the question points back at the time of the conversation ("then")."""
    return _THEN.search(text) is not None


def gives_reason(sentence: str) -> bool:
    """True when the sentence states a cause or a purpose (what a "why" question seeks)."""
    return _CAUSE.search(sentence) is not None


def timeline_topic(text: str) -> str | None:
    """The topic of a question that asks for a timeline ("What happened with X?"), or None."""
    for cue in _TIMELINE:
        if match := cue.match(text):
            return match.group("topic").strip()
    return None


def _kind(words: list[str]) -> Kind:
    """The kind by the first wh-word (DESCRIPTION where it leaves the kind open)."""
    for i, word in enumerate(words):
        following = words[i + 1] if i + 1 < len(words) else ""
        if word in _WH:
            return _WH[word]
        if word == "how":
            if following in _HOW:
                return _HOW[following]
            if following and following not in _AUXILIARIES:
                return Kind.NUMBER  # how old / far / big: a degree
            return Kind.DESCRIPTION
        if word in ("which", "what"):
            return Kind.DESCRIPTION
    if words and words[0] in _AUXILIARIES:
        return Kind.YES_NO
    return Kind.DESCRIPTION


def _is_chat(text: str, words: list[str], known: Known | None) -> bool:
    """No question mark, no wh-word, and no word the articles use: "hi", "thanks!"."""
    if "?" in text or known is None:
        return False
    return not any(known(w) for w in words)
