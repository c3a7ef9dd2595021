"""The catalog's record of each article's named entities (`retrieval/store/entities.py`).

Spans live beside the article rows and go with them (a replaced or removed article loses
its spans by cascade); `tagged` says which model tagged which article, so articles stored
before entities existed, or tagged by another model, are found and tagged again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from retrieval.store.catalog import Catalog
from retrieval.store.entities import Entity
from retrieval.store.lexical import analyze


class EntityStore:
    """Read and write the entity spans of stored articles."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog  # its schema holds the `entities` and `tagged` tables

    def put(self, model: str, tagged: Sequence[tuple[str, Sequence[Entity]]]) -> None:
        """Replace the spans of these articles (id, entities) in one transaction."""
        with self.catalog.transaction() as conn:
            for article_id, entities in tagged:
                one = {"id": article_id, "model": model}
                conn.execute("DELETE FROM entities WHERE article_id = :id", one)
                conn.executemany(
                    'INSERT INTO entities (article_id, start, "end", label)'
                    " VALUES (:id, :start, :end, :label)",
                    [
                        {"id": article_id, "start": e.start, "end": e.end, "label": e.label}
                        for e in entities
                    ],
                )
                conn.execute(
                    "INSERT INTO tagged (article_id, model) VALUES (:id, :model)"
                    " ON CONFLICT (article_id) DO UPDATE SET model = excluded.model",
                    one,
                )

    def tagged(self, article_ids: Sequence[str], model: str) -> set[str]:
        """Which of these articles this model has tagged."""
        found: set[str] = set()
        for first in range(0, len(article_ids), 500):
            rows = self.catalog.query(
                "SELECT article_id FROM tagged WHERE model = :model AND article_id IN :ids",
                {"model": model, "ids": list(article_ids[first : first + 500])},
            )
            found.update(str(r[0]) for r in rows)
        return found

    def untagged(self, model: str) -> list[str]:
        """Ids of stored articles that this model has not tagged."""
        rows = self.catalog.query(
            "SELECT id FROM articles WHERE id NOT IN (SELECT article_id FROM tagged"
            " WHERE model = :model)",
            {"model": model},
        )
        return [str(r[0]) for r in rows]

    def of(self, article_ids: Sequence[str]) -> dict[str, list[Entity]]:
        """{article id: its entities in text order}, in one query per 500 articles."""
        found: dict[str, list[Entity]] = {}
        unique = list(dict.fromkeys(article_ids))
        for first in range(0, len(unique), 500):
            part = unique[first : first + 500]
            rows = self.catalog.query(
                'SELECT article_id, start, "end", label FROM entities'
                " WHERE article_id IN :ids ORDER BY article_id, start",
                {"ids": part},
            )
            for article_id, start, end, label in rows:
                found.setdefault(str(article_id), []).append(
                    Entity(int(str(start)), int(str(end)), str(label))
                )
        return found

    def names(self, labels: Sequence[str]) -> Names:
        """The names the stored spans with these labels hold ("Sallow Street Bridge",
        "Linnea Sorvald"), each with the number of articles naming it: cut from the articles
        in the catalog in one query, when first used."""

        def counts() -> dict[str, int]:
            rows = self.catalog.query(
                'SELECT substr(a.text, e.start + 1, e."end" - e.start), COUNT(DISTINCT a.id)'
                " FROM entities e JOIN articles a ON a.id = e.article_id"
                " WHERE e.label IN :labels GROUP BY 1",
                {"labels": list(labels)},
            )
            return {str(name): int(str(n)) for name, n in rows if name}

        return Names(counts)


class Names:
    """The names of the stored articles, by the stems of their words. Given as a function,
    they are looked up when first used (a question with no conversation needs none)."""

    def __init__(self, counts: Mapping[str, int] | Callable[[], Mapping[str, int]]) -> None:
        self._counts = counts
        self._index: tuple[dict[str, list[_Name]], set[frozenset[str]]] | None = None
        self._heads: set[str] | None = None

    def _names(self) -> Mapping[str, int]:
        return self._counts() if callable(self._counts) else self._counts

    def _indexed(self) -> tuple[dict[str, list[_Name]], set[frozenset[str]]]:
        if self._index is None:
            counts = self._names()
            by_stem: dict[str, list[_Name]] = {}
            exact: set[frozenset[str]] = set()
            for name, count in counts.items():
                words = frozenset(analyze(name))
                if not words:
                    continue
                exact.add(words)
                for stem in words:
                    by_stem.setdefault(stem, []).append((name, count, words))
            self._index = (by_stem, exact)
        return self._index

    def has_word(self, stem: str) -> bool:
        """True when some name has a word with this stem."""
        return stem in self._indexed()[0]

    def has_head(self, stem: str) -> bool:
        """True when some name ends in a word with this stem: an English name's last word
        is its head ("bridge" of "Sallow Street Bridge"), so a common noun that only
        begins a name ("price" of "Price-Lisle") does not stand for it."""
        if self._heads is None:
            self._heads = {words[-1] for words in map(analyze, self._names()) if words}
        return stem in self._heads

    def fuller(self, phrase: str) -> list[tuple[str, int]]:
        """The names that hold every word of `phrase` and more ("Sallow Street Bridge" for
        "bridge"), with their article counts; none when the phrase is a name itself."""
        by_stem, exact = self._indexed()
        words = frozenset(analyze(phrase))
        if not words or words in exact or not words <= by_stem.keys():
            return []
        rarest = min(words, key=lambda w: len(by_stem[w]))
        return [(n, c) for n, c, w in by_stem[rarest] if words < w]


_Name = tuple[str, int, frozenset[str]]  # a name, its article count, the stems of its words
