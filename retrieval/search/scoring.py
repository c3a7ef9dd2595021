"""Small pure scoring functions shared by the retriever and the offline answerer."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from retrieval.store.lexical import ChunkKey, LexicalIndex
from retrieval.store.lexical import analyze as stems
from retrieval.types import Article

__all__ = [
    "FUNCTION_WORDS",
    "NEAR_DUPLICATE",
    "QueryTerms",
    "containment",
    "fuse",
    "minmax",
    "recency_boost",
    "sentence_score",
    "shared_words",
    "shingles",
    "stem_set",
    "stems",
]


# Words that say how a question is asked rather than what it is about: interrogatives,
# auxiliaries, pronouns, "latest", "now", "happened". They count as terms only where the
# corpus uses them. A small corpus may never write "what" or "latest"; left in, such a
# word gets the highest IDF and a question about something the corpus does cover looks
# unanswered. (Dropping them everywhere cost the dev set 0.04 out-of-corpus refusals, and
# "now expected to reopen" is a phrase worth matching.)
FUNCTION_WORDS = frozenset(
    """what which who whom whose when where why how many much
    do does did done doing have has had having can could would should shall might must
    were been being am i me my we us our you your he him his she her its them those
    any anything about tell know please
    latest newest now nowadays currently still recently yet today
    happen happened happening news update updates""".split()
)


@dataclass(frozen=True, slots=True)
class QueryTerms:
    """The question's content stems, weighted by rarity (IDF), and its stem bigrams."""

    weights: dict[str, float]
    bigrams: frozenset[tuple[str, str]] = frozenset()

    @property
    def total(self) -> float:
        """Sum of the weights: what a sentence covering every term would score."""
        return sum(self.weights.values())

    @classmethod
    def of(
        cls, question: str, lexical: LexicalIndex | None = None, *, function_words: bool = True
    ) -> QueryTerms:
        """Weigh the question's stems by IDF (all 1.0 when no index is given), leaving out
        the function words that the index never uses (all of them, without
        `function_words`: for telling what a sentence is about, not whether one is)."""
        content = stems(question, FUNCTION_WORDS)
        sequence = stems(question) if function_words else content
        if lexical is not None and function_words:
            kept = set(content)
            sequence = [s for s in sequence if s in kept or lexical.document_frequency(s) > 0]
        unique = dict.fromkeys(sequence)
        bigrams = frozenset(zip(sequence, sequence[1:], strict=False))
        if lexical is None:
            return cls({s: 1.0 for s in unique}, bigrams)
        return cls({s: lexical.idf(s) for s in unique}, bigrams)


BIGRAM_BONUS = 0.3  # tuned on the dev set: phrases ("prime minister") count a little extra


#: Weight of the question's words that only the headline above a sentence holds (tuned on
#: the dev and news dev sets: 0.15 / 0.3 / 0.45 gave news containment 0.712 / 0.724 / 0.720,
#: the dev set unchanged).
HEADLINE_WEIGHT = 0.3


def sentence_score(terms: QueryTerms, sentence: str, headline: str = "") -> float:
    """Share of the question's IDF mass in the sentence, plus a bonus for shared bigrams.

    In [0, 1 + BIGRAM_BONUS]. Words the corpus never uses weigh the most and can't be
    covered, which makes this an out-of-corpus signal too. The question's words that only
    the `headline` above the sentence holds count `HEADLINE_WEIGHT`: a sentence is read
    under its headline ("Members voted 31 to 24", under "Assembly backs Pike Hill tram
    extension", answers "How did the assembly vote on the tram extension?").
    """
    total = terms.total
    if total <= 0:
        return 0.0
    sequence = stems(sentence)
    present = set(sequence)
    score = sum(w for s, w in terms.weights.items() if s in present) / total
    if headline:
        above = stem_set(headline) - present
        score += HEADLINE_WEIGHT * sum(w for s, w in terms.weights.items() if s in above) / total
    if terms.bigrams:
        shared = terms.bigrams & set(zip(sequence, sequence[1:], strict=False))
        score += BIGRAM_BONUS * len(shared) / len(terms.bigrams)
    return score


@lru_cache(maxsize=1024)
def stem_set(text: str) -> frozenset[str]:
    """The text's stems as a set, cached: a headline is read under each of its sentences,
    a question by each entity it is compared with."""
    return frozenset(stems(text))


_QUESTION_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def shared_words(question: str, text: str, start: int = 0, end: int | None = None) -> list[int]:
    """Offsets of the words of `text[start:end]` whose stems the question's content uses:
    where a sentence talks about what was asked (an answer's item sits near them)."""
    wanted = set(stems(question, FUNCTION_WORDS))
    stop = len(text) if end is None else end
    return [
        m.start()
        for m in _QUESTION_WORD.finditer(text, start, stop)
        if set(stems(m.group())) & wanted
    ]


def minmax(values: Sequence[float]) -> list[float]:
    """Scale to [0, 1] (all zeros when the values are equal)."""
    if not values:
        return []
    low, high = min(values), max(values)
    span = high - low
    return [(v - low) / span if span > 1e-12 else 0.0 for v in values]


def _zscores(values: Sequence[float]) -> list[float]:
    if not values:
        return []
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return [(v - mean) / std if std > 1e-9 else 0.0 for v in values]


def fuse(
    dense: Sequence[tuple[ChunkKey, float]],
    lexical: Sequence[tuple[ChunkKey, float]],
    alpha: float,
) -> list[tuple[ChunkKey, float]]:
    """Mix z-normalised dense and lexical scores: alpha * dense + (1 - alpha) * lexical.

    A candidate found by one side only gets the other side's lowest pool score, a
    conservative stand-in for "not in its top N".
    """
    dz = dict(zip([k for k, _ in dense], _zscores([s for _, s in dense]), strict=True))
    lz = dict(zip([k for k, _ in lexical], _zscores([s for _, s in lexical]), strict=True))
    d_floor = min(dz.values(), default=0.0)
    l_floor = min(lz.values(), default=0.0)
    keys = list(dict.fromkeys([k for k, _ in dense] + [k for k, _ in lexical]))
    scored = [(k, alpha * dz.get(k, d_floor) + (1 - alpha) * lz.get(k, l_floor)) for k in keys]
    scored.sort(key=lambda pair: pair[1], reverse=True)
    return scored


def recency_boost(article: Article, newest: date, half_life_days: float = 14) -> float:
    """A bonus in [0, 1] that halves for every `half_life_days` older than `newest`."""
    if article.published is None:
        return 0.0
    age = max((newest - article.published).days, 0)
    return float(0.5 ** (age / half_life_days))


NEAR_DUPLICATE = 0.6  # share of the smaller text's word 3-grams found in the other


def shingles(text: str) -> set[str]:
    """The text's word 3-grams, lower-cased: what near-duplicate checks compare."""
    words = text.lower().split()
    return {" ".join(words[i : i + 3]) for i in range(max(len(words) - 2, 1))}


def containment(a: set[str], b: set[str]) -> float:
    """Share of the smaller set found in the other."""
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0
