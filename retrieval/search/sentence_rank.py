"""Sentence evidence: which sentences of the top passages answer the question, and how well.

The retriever and the offline answerer need the same thing: the sentences of the first few
passages, scored first by words (the IDF-weighted share of the question's stems they hold,
the passage's rank, a new item of the asked-for kind) and then, for the few best of them,
by meaning. Embedding every sentence would cost several ms each on two cores; the word
score picks the `embedded` best. Meaning is measured twice from one model run:

* `cosine`: the sentence's pooled vector against the question's;
* `match` (soft coverage): for each content token of the question, its best cosine with a
  token of the sentence, averaged (BERTScore's recall). It sees that "outpost" is said by
  "settlement" while the question's other words are there too. Only local transformers
  expose token states; with a remote embedder `match` stays None.

The retriever uses the best cosine of each passage to re-rank the first `passages` hits
(a passage whose sentence says what the question asks beats one that only shares its
topic); the answerer picks its quotes from the same scored sentences and feeds the best
scores to its refusal model. Measured on the dev set in docs/retrieval.md.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from bm25s.stopwords import STOPWORDS_EN

from retrieval.search import figures
from retrieval.search.question import Kind, Question, gives_reason
from retrieval.search.scoring import QueryTerms, minmax, sentence_score, stems
from retrieval.search.sentences import body_start, sentence_spans
from retrieval.store.embedders import Embedder, TokenStates
from retrieval.store.entities import Entity
from retrieval.types import Hit

#: Bonus for a sentence where a number is followed by what a "how many X" question counts
#: (`figures`: "31 hectares" for "How many hectares...?"), in the word pre-selection and in
#: the answerer's score (docs/retrieval.md).
UNIT_BONUS = 0.3


@dataclass(frozen=True, slots=True)
class SentenceConfig:
    """How many sentences are scored and embedded; tuned on the dev set (docs/retrieval.md)."""

    passages: int = 5  # first passages whose sentences are scored (and re-ranked)
    embedded: int = 8  # best sentences by words that are embedded and compared
    rank_weight: float = 0.5  # weight of the passage's min-max score in the word score
    type_bonus: float = 0.15  # for a sentence holding a new item of the asked-for kind
    unit_bonus: float = UNIT_BONUS  # for a number followed by what "how many X" counts
    rerank_weight: float = 3.5  # weight of a passage's best sentence cosine in its score


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of a retrieved passage, with what it says about the question."""

    hit: Hit
    start: int
    end: int
    coverage: float  # IDF-weighted share of the question's stems (+ bigram bonus)
    offers: float  # names an item of the asked-for kind the question doesn't: 1, 0.5, 0
    words: float  # coverage + passage rank + type and unit bonus: the pre-selection score
    cosine: float | None = None  # embedding similarity with the question (the embedded few)
    match: float | None = None  # soft coverage of the question's tokens (local models only)
    counts: bool = False  # a number followed by what a "how many X" question counts
    entities: tuple[Entity, ...] = ()  # the named entities inside the sentence

    @property
    def text(self) -> str:
        """The sentence, verbatim."""
        return self.hit.article.text[self.start : self.end]


def word_scored(
    question: Question,
    terms: QueryTerms,
    hits: Sequence[Hit],
    config: SentenceConfig,
    entities: dict[str, list[Entity]] | None = None,
) -> list[Sentence]:
    """Every sentence of the first `config.passages` hits, best word score first."""
    counting = figures.asked(question.text)
    if counting is not None and (counting.kind != "count" or counting.focus is None):
        counting = None
    top = list(hits[: config.passages])
    ranks = minmax([h.score for h in top])
    found = []
    for hit, rank in zip(top, ranks, strict=True):
        text = hit.article.text
        tagged = (entities or {}).get(hit.article.id, [])
        for first, end in sentence_spans(text, hit.chunk.start, hit.chunk.end):
            start = body_start(text, first, end)  # a dateline is no part of the story
            sentence = text[start:end]
            coverage = sentence_score(terms, sentence, hit.article.title)
            inside = tuple(e for e in tagged if start <= e.start and e.end <= end)
            offers = offered(question, text, (start, end), inside)
            # "How many hectares...?" is answered by "31 hectares", not by "seven years".
            unit = counting is not None and bool(figures.values(counting, sentence))
            words = (
                coverage
                + config.rank_weight * rank
                + config.type_bonus * offers
                + config.unit_bonus * unit
            )
            found.append(
                Sentence(hit, start, end, coverage, offers, words, counts=unit, entities=inside)
            )
    found.sort(key=lambda s: s.words, reverse=True)
    return found


def offered(
    question: Question, text: str, span: tuple[int, int], entities: Sequence[Entity]
) -> float:
    """1 when one of the entities is of the kind the question seeks first ("who": a
    person) and is not named in the question, 0.5 for a kind that may also answer it
    (an organisation for "who"), else 0. For "why": 1 when the sentence gives a cause."""
    if question.kind is Kind.REASON:
        return 1.0 if gives_reason(text[span[0] : span[1]]) else 0.0
    best = 0.0
    for entity in entities:
        if entity.label not in question.labels or question.names(text[entity.start : entity.end]):
            continue
        best = max(best, 1.0 if entity.label == question.labels[0] else 0.5)
    return best


@dataclass(frozen=True, slots=True)
class Encoded:
    """A text's unit vector, and the unit states of its content word pieces with the word
    each piece belongs to (both None when the embedder exposes no token states)."""

    vector: np.ndarray
    tokens: np.ndarray | None = None
    words: tuple[str, ...] | None = None


_STOP = frozenset(STOPWORDS_EN)


def _content(states: TokenStates) -> tuple[np.ndarray, tuple[str, ...]]:
    """Rows of the word pieces that carry meaning (no stop word, no punctuation), and the
    whole word of each ("east" and "##mere" both belong to "eastmere")."""
    words: list[tuple[str, list[int]]] = []
    for i, token in enumerate(states.tokens):
        if token.startswith("##") and words:
            words[-1] = (words[-1][0] + token[2:], [*words[-1][1], i])
        else:
            words.append((token, [i]))
    keep = [(w, i) for w, rows in words for i in rows if w.isalnum() and w.lower() not in _STOP]
    return states.states[[i for _, i in keep]], tuple(w.lower() for w, _ in keep)


def question_weights(question: Encoded, terms: QueryTerms) -> np.ndarray | None:
    """Each question piece's share of the question's IDF mass (its word's, split evenly
    between the word's pieces), so that rare words count most, as in `coverage`."""
    if question.words is None or not question.words:
        return None
    pieces = {w: question.words.count(w) for w in set(question.words)}
    weights = []
    for word in question.words:
        stem = stems(word)
        weights.append(terms.weights.get(stem[0], 0.0) / pieces[word] if stem else 0.0)
    total = sum(weights)
    return np.array(weights, dtype=np.float32) / total if total > 0 else None


def soft_coverage(
    question: np.ndarray | None, sentence: np.ndarray | None, weights: np.ndarray | None = None
) -> float | None:
    """Weighted mean over the question's pieces of their best cosine with a sentence piece."""
    if question is None or sentence is None:
        return None
    if len(question) == 0 or len(sentence) == 0:
        return 0.0
    best = (question @ sentence.T).max(axis=1)
    return float(best @ weights) if weights is not None else float(best.mean())


class SentenceEmbeddings:
    """Question and sentence encodings from the index's embedder, sentences cached."""

    def __init__(self, embedder: Embedder, cache_size: int = 4096) -> None:
        self.embedder = embedder
        self.cache_size = cache_size
        self._cache: OrderedDict[str, Encoded] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], cache: bool = True) -> list[Encoded]:
        """Encode texts (cached ones are not run again)."""
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if not cache or t not in self._cache]
        fresh: dict[str, Encoded] = {}
        if missing:
            vectors, states = self.embedder.embed_with_tokens(missing)
            for i, text in enumerate(missing):
                vector = np.asarray(vectors[i], dtype=np.float32)
                fresh[text] = Encoded(vector, *_content(states[i])) if states else Encoded(vector)
        if not cache:
            return [fresh[t] for t in texts]
        with self._lock:
            self._cache.update(fresh)
            found = [self._cache[t] for t in texts]
            for text in texts:
                self._cache.move_to_end(text)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return found


def with_meaning(
    sentences: Sequence[Sentence],
    question: Encoded,
    terms: QueryTerms,
    vectors: SentenceEmbeddings,
    count: int,
) -> list[Sentence]:
    """All sentences; the `count` best by words now carry their cosine and match."""
    chosen = list(sentences[:count])
    if not chosen:
        return list(sentences)
    encoded = vectors.encode([s.text for s in chosen])
    titles = list(dict.fromkeys(s.hit.article.title for s in chosen))
    headline = dict(zip(titles, vectors.encode(titles), strict=True))
    weights = question_weights(question, terms)
    embedded = [
        replace(
            s,
            cosine=float(e.vector @ question.vector),
            match=soft_coverage(
                question.tokens, _with(e.tokens, headline[s.hit.article.title].tokens), weights
            ),
        )
        for s, e in zip(chosen, encoded, strict=True)
    ]
    return embedded + list(sentences[count:])


def _with(tokens: np.ndarray | None, context: np.ndarray | None) -> np.ndarray | None:
    """A sentence's token states read with its headline's."""
    if tokens is None or context is None or len(context) == 0:
        return tokens
    return np.vstack([tokens, context])


def rerank(hits: Sequence[Hit], sentences: Sequence[Sentence], config: SentenceConfig) -> list[Hit]:
    """Re-order the first passages by score + weight * their best sentence cosine.

    A passage none of whose sentences was embedded gets the lowest bonus seen. The rest
    of the hits keep their order behind them. (Adding the soft coverage here as well was
    measured: +0.003 recall@1, not kept.)
    """
    scored = [s for s in sentences if s.cosine is not None]
    if not scored or config.rerank_weight <= 0:
        return list(hits)
    best: dict[tuple[str, int], float] = {}
    for s in scored:
        key = (s.hit.article.id, s.hit.chunk.position)
        best[key] = max(best.get(key, -100.0), config.rerank_weight * float(s.cosine or 0.0))
    floor = min(best.values())
    head = list(hits[: config.passages])
    boosted = [
        Hit(
            h.article,
            h.chunk,
            h.score + best.get((h.article.id, h.chunk.position), floor),
            h.dense,
            h.lexical,
        )
        for h in head
    ]
    boosted.sort(key=lambda h: h.score, reverse=True)
    return boosted + list(hits[config.passages :])
