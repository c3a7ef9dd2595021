"""Follow-ups: what a question asked in a conversation refers to, read once.

`follow_up(question, history, lexicon)` gives the question to search (`FollowUp`):

* A follow-up that names its own subject replaces the conversation's topic: "What about
  the bridge?" after a question about Corvane Materials is about the bridge. A subject is
  a run of words that the stored articles use in names (the spans their named entities
  hold: "bridge" of "the Sallow Street Bridge"), or a capitalised word the articles never
  use (a name they don't know: the answer will say so).
* One that only points back ("it", "its", "they", "there", "then") or names nothing
  ("What about the cost?") carries the topic: the subjects of the earlier questions, newest
  first, back to the last question that named its own. A pronoun standing for the subject
  gives way to it ("Who is its chief executive?" → "Who is Corvane Materials's chief
  executive?"); otherwise the topic is added at the end.
* "then" carries the conversation's dates (`window`): the first date the latest dated
  answer names, `WINDOW_SLACK_DAYS` either side.

With an LLM, the model may read the question as well (`Analysis`, structured output): its
standalone question (a follow-up rewritten, a question in another language put in
English), the outlet it names, the dates it sets and whether it asks about the present.
`with_analysis` merges that into the offline reading, checking each part (an outlet must be
one the index knows, dates must be dates); when the model fails, the offline reading stands.
The closed-class pointers ("it", "then") are `retrieval/search/question.py`'s grammar.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from retrieval.search.outlets import site_named
from retrieval.search.question import (
    points_back,
    points_to_then,
    subject_phrase,
    subject_pronoun,
)
from retrieval.search.scoring import FUNCTION_WORDS, stems
from retrieval.store.entity_store import Names
from retrieval.types import SearchFilters, Turn

if TYPE_CHECKING:
    from retrieval.store.index import ArticleIndex

WINDOW_SLACK_DAYS = 4  # the window reaches this far either side of the answer's lead date
MAX_TOPIC = 3  # subjects carried into one question at most
MAX_QUESTION = 500  # a longer "standalone question" from a model is a chatty model: ignored

# A word (letters, then letters, digits, apostrophes, dots or hyphens) or a number.
_WORD = re.compile(r"[^\W\d_][\w'’.-]*|\d[\d,.]*")
_JOINER = frozenset({"of"})  # English names join their parts with "of": "Bank of England"
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


@dataclass(frozen=True, slots=True)
class Lexicon:
    """What the stored articles know, for telling a subject from a pointer."""

    names: Names = field(default_factory=lambda: Names({}))  # the stored names
    known: Callable[[str], bool] | None = None  # True for a word the articles use
    sites: tuple[str, ...] = ()  # outlets: named in answers, never a topic

    @classmethod
    def of(cls, index: ArticleIndex) -> Lexicon:
        """The index's names, vocabulary and outlets (each looked up once per generation)."""
        lexical = index.lexical()
        return cls(
            names=index.names(),
            known=lambda word: any(lexical.document_frequency(s) > 0 for s in stems(word)),
            sites=tuple(index.sites()),
        )


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A question read in the light of the conversation."""

    question: str  # as asked (trimmed)
    standalone: str  # what to search: the question with the topic it leaves implicit
    topic: tuple[str, ...] = ()  # the conversation's subjects it carries, newest first
    window: tuple[date, date] | None = None  # the dates "then" refers to


def follow_up(question: str, history: Sequence[Turn], lexicon: Lexicon | None = None) -> FollowUp:
    """Read `question` as the next turn of `history` (oldest turn first)."""
    lexicon = lexicon or Lexicon()
    asked = question.strip()
    window = date_window(asked, history)
    if not history:
        return FollowUp(asked, asked, (), window)
    # Parts of names stand for the names the conversation (or most articles) use:
    # "the bridge" is the Sallow Street Bridge.
    context = " ".join(f"{t.question} {t.answer}" for t in history)
    spans = _subject_spans(asked, lexicon)
    named = asked
    for start, end in reversed(spans):
        named = named[:start] + resolve(asked[start:end], lexicon, context) + named[end:]
    if spans and not points_back(asked):  # it names its own subject: the topic changes
        return FollowUp(asked, named, (), window)
    topic = conversation_topic(history, lexicon)
    lowered = named.lower()
    missing = [t for t in topic if t.lower() not in lowered]
    if not missing:
        return FollowUp(asked, named, topic, window)
    pronoun = subject_pronoun(named)
    if pronoun is None:
        return FollowUp(asked, f"{named} {' '.join(missing)}".strip(), topic, window)
    # The subject takes the pronoun's place, so the question reads as it was meant:
    # "Who is its chief executive?" is "Who is Corvane Materials's chief executive?".
    start, end, possessive = pronoun
    subject = missing[0] + ("'s" if possessive else "")
    rest = " ".join(missing[1:])
    standalone = f"{named[:start]}{subject}{named[end:]} {rest}".strip()
    return FollowUp(asked, standalone, topic, window)


def subjects(text: str, lexicon: Lexicon) -> list[str]:
    """The phrases of `text` that name a subject, in order: runs of words the articles use
    in names ("Sallow Street Bridge", "bridge"), and capitalised words they never use."""
    return list(dict.fromkeys(text[s:e] for s, e in _subject_spans(text, lexicon)))


def _subject_spans(text: str, lexicon: Lexicon) -> list[tuple[int, int]]:
    """Where `subjects` are in `text` (outlets left out: they are not topics)."""
    found: list[tuple[int, int]] = []
    run: list[re.Match[str]] = []
    sites = {s.lower() for s in lexicon.sites}

    def close() -> None:
        while run and run[-1].group().lower() in _JOINER:
            run.pop()
        if run:
            start, end = run[0].start(), run[-1].end()
            end -= len(text[start:end]) - len(text[start:end].rstrip("."))
            if not _is_site(text[start:end], sites):
                found.append((start, end))
        run.clear()

    for word in _WORD.finditer(text):
        if run and text[run[-1].end() : word.start()].strip():
            close()  # punctuation between the words: "Valley Wire: Corvane" is two names
        if _names(word.group(), lexicon) or (run and word.group().lower() in _JOINER):
            run.append(word)
        else:
            close()
    close()
    return found


def resolve(phrase: str, lexicon: Lexicon, context: str = "") -> str:
    """The stored name that a part of a name stands for ("Sallow Street Bridge" for
    "bridge"): the one the conversation (`context`) has named, else the one most articles
    name; the phrase itself when it is a name or part of none."""
    counts: dict[str, int] = {}
    for name, count in lexicon.names.fuller(phrase):
        bare = re.sub(r"^the\s+", "", name.strip(), flags=re.IGNORECASE)
        counts[bare] = counts.get(bare, 0) + count
    if not counts:
        return phrase
    lowered = context.lower()
    return max(counts, key=lambda n: (n.lower() in lowered, counts[n], -len(n)))


def conversation_topic(history: Sequence[Turn], lexicon: Lexicon) -> tuple[str, ...]:
    """The subjects of the conversation, newest first: those of each earlier question (its
    subject, "recycling plant" of "How much will the recycling plant cost?", and the names it
    gives) back to the last one that named its own without pointing back (it set the topic);
    the names of the latest answer when no question named a subject."""
    context = " ".join(f"{t.question} {t.answer}" for t in history)
    topic: list[str] = []
    known = lexicon.known
    for turn in reversed(history):
        phrase = subject_phrase(turn.question)
        if phrase and (known is None or any(known(word) for word in phrase.split())):
            # "the bridge" stands for the name it ends; "the price" for no Price-Lisle
            last = phrase.split()[-1]
            named = _names(last, lexicon)
            topic.append(resolve(phrase, lexicon, context) if named else phrase)
        own = subjects(turn.question, lexicon)
        topic += [resolve(t, lexicon, context) for t in own]
        if own and not points_back(turn.question):  # a phrase may be an attribute: go on
            break
    if not topic and history:
        topic = [resolve(t, lexicon, context) for t in subjects(history[-1].answer, lexicon)]
    unique = {t.lower(): t for t in reversed(topic)}  # the newest spelling, once
    ordered = list(dict.fromkeys(t.lower() for t in topic))
    return tuple(unique[t] for t in ordered)[:MAX_TOPIC]


def date_window(question: str, history: Sequence[Turn]) -> tuple[date, date] | None:
    """The publication window a follow-up that says "then" refers to, or None.

    It is centred on the first date the latest dated answer names (answers lead with their
    main source, "According to X (2026-03-10)"), `WINDOW_SLACK_DAYS` either side, so
    "then" keeps meaning the time the conversation was about.
    """
    if not history or not points_to_then(question):
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


def _names(word: str, lexicon: Lexicon) -> bool:
    """True when the word is part of a name: a capitalised word the articles use in names
    (or never use at all), or a lower-case one that ends a name (its head noun)."""
    content = stems(word, FUNCTION_WORDS)
    if not content:
        return False
    if word[:1].isupper() and all(lexicon.names.has_word(s) for s in content):
        return True
    if word[:1].islower() and all(lexicon.names.has_head(s) for s in content):
        return True  # "the bridge": the head of a name the articles use
    known = lexicon.known
    return known is not None and word[:1].isupper() and not known(word)


def _is_site(phrase: str, sites: set[str]) -> bool:
    """True when the phrase is an outlet's name or its last words: "The Harbour Ledger",
    "Harbour Ledger", "Ledger" (an answer's "According to The Harbour Ledger" is no topic,
    however the words of the name split into runs)."""
    lowered = phrase.lower()
    return any(site == lowered or site.endswith(f" {lowered}") for site in sites)


# --- the LLM's reading -------------------------------------------------------------------------


class Analysis(BaseModel):
    """How to search the news articles for the user's question."""

    question: str | None = Field(
        default=None,
        description="The question as one standalone question in English: pronouns and vague"
        " references replaced by what they stand for in the conversation, translated into"
        " English if it is in another language. Null when it cannot be made standalone.",
    )
    outlet: str | None = Field(
        default=None,
        description="The news outlet whose reports the question asks about (as in"
        ' "according to the Valley Wire"), as the question names it; else null.',
    )
    since: str | None = Field(
        default=None,
        description="The earliest publication date the question asks about (YYYY-MM-DD),"
        " only if it says so; else null.",
    )
    until: str | None = Field(
        default=None,
        description="The latest publication date the question asks about (YYYY-MM-DD), only"
        " if it says so; else null.",
    )
    recent: bool | None = Field(
        default=None,
        description="True when the question asks about the latest or current state of things"
        ' ("now", "still", "latest"); else false.',
    )


def with_analysis(
    reading: FollowUp, analysis: Analysis | None, filters: SearchFilters, sites: Sequence[str]
) -> tuple[FollowUp, SearchFilters]:
    """The offline reading and filters with what the model's `analysis` adds, each part
    checked: a standalone question of a sane length, an outlet the index knows (a site set
    already wins), valid dates within the filters' own, recency. None changes nothing."""
    if analysis is None:
        return reading, filters
    rewritten = (analysis.question or "").strip().strip("\"'“”").strip()
    if rewritten and len(rewritten) <= MAX_QUESTION:
        reading = replace(reading, standalone=rewritten)
    if filters.site is None and analysis.outlet:
        site = site_named(analysis.outlet, sites)
        if site is not None:
            filters = replace(filters, site=site)
    since, until = _day(analysis.since), _day(analysis.until)
    since = max(since, filters.since) if since and filters.since else since or filters.since
    until = min(until, filters.until) if until and filters.until else until or filters.until
    if since is None or until is None or since <= until:
        filters = replace(filters, since=since, until=until)
    if analysis.recent:
        filters = replace(filters, prefer_recent=True)
    return reading, filters


def _day(text: str | None) -> date | None:
    """The date of a YYYY-MM-DD string, or None for anything else."""
    try:
        return date.fromisoformat(text.strip()) if text else None
    except ValueError:
        return None
