"""Stories: reports of the same event, told by several outlets or on several days.

Two reports belong to one story when they name the same things: the share of the named
entities (people, organisations, places, events; not dates or figures, which change as a
story develops) of the shorter list that the other also names, each name weighted by its
rarity in the collection (the county every local story names says little; the bridge's
name says a lot). Conflicting figures and
the newest report's value are only compared within one story: a library's repair cost is
no rival figure for a bridge's.
"""

from __future__ import annotations

from collections.abc import Sequence

from retrieval.search.scoring import NEAR_DUPLICATE, containment, shingles, stems
from retrieval.store.entities import Entity
from retrieval.store.entity_store import EntityStore
from retrieval.store.lexical import LexicalIndex
from retrieval.types import Article

#: Labels that name what a story is about (figures and dates change between reports).
NAMING = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "EVENT", "NORP", "PRODUCT", "LAW"})
SAME_STORY = 0.5  # rarity-weighted share of the smaller set of names the other also names


def names(article: Article, entities: Sequence[Entity]) -> frozenset[str]:
    """The things an article names, lower-cased, without a leading "the"."""
    found = set()
    for entity in entities:
        if entity.label in NAMING:
            words = article.text[entity.start : entity.end].lower().split()
            if words and words[0] == "the":
                words = words[1:]
            if words:
                found.add(" ".join(words))
    return frozenset(found)


class Stories:
    """Tells whether two stored articles report the same story (names cached per article)."""

    def __init__(self, entities: EntityStore, lexical: LexicalIndex) -> None:
        self.entities = entities
        self.lexical = lexical
        self._names: dict[str, frozenset[str]] = {}
        self._weights: dict[str, float] = {}
        self._texts: dict[str, set[str]] = {}

    def same(self, a: Article, b: Article) -> bool:
        """True for two reports of one story (or near-copies of one text)."""
        if a.id == b.id:
            return True
        self._load([a, b])
        first, second = self._names[a.id], self._names[b.id]
        if first and second:
            smaller = min(self._mass(first), self._mass(second))
            if smaller > 0 and self._mass(first & second) / smaller >= SAME_STORY:
                return True
        return containment(self._shingles(a), self._shingles(b)) >= NEAR_DUPLICATE

    def _shingles(self, article: Article) -> set[str]:
        """An article's word 3-grams, made once per answer (one article is compared with
        every other report found)."""
        if article.id not in self._texts:
            self._texts[article.id] = shingles(article.text)
        return self._texts[article.id]

    def _mass(self, found: frozenset[str]) -> float:
        return sum(self._weight(name) for name in found)

    def _weight(self, name: str) -> float:
        """A name's rarity: the mean IDF of its stems in the lexical index."""
        if name not in self._weights:
            idfs = [self.lexical.idf(s) for s in stems(name)]
            self._weights[name] = sum(idfs) / len(idfs) if idfs else 0.0
        return self._weights[name]

    def _load(self, articles: Sequence[Article]) -> None:
        missing = [a for a in articles if a.id not in self._names]
        if missing:
            found = self.entities.of([a.id for a in missing])
            for article in missing:
                self._names[article.id] = names(article, found.get(article.id, []))
