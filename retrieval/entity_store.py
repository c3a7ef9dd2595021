"""The catalog's record of each article's named entities (`retrieval/entities.py`).

Spans live beside the article rows and go with them (a replaced or removed article loses
its spans by cascade); `tagged` says which model tagged which article, so articles stored
before entities existed, or tagged by another model, are found and tagged again.
"""

from __future__ import annotations

from collections.abc import Sequence

from retrieval.catalog import Catalog
from retrieval.entities import Entity
from retrieval.lexical import analyze


class EntityStore:
    """Read and write the entity spans of stored articles."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog  # its schema holds the `entities` and `tagged` tables

    def put(self, model: str, tagged: Sequence[tuple[str, Sequence[Entity]]]) -> None:
        """Replace the spans of these articles (id, entities) in one transaction."""
        with self.catalog.transaction() as conn:
            for article_id, entities in tagged:
                conn.execute("DELETE FROM entities WHERE article_id = ?", (article_id,))
                conn.executemany(
                    'INSERT INTO entities (article_id, start, "end", label) VALUES (?, ?, ?, ?)',
                    [(article_id, e.start, e.end, e.label) for e in entities],
                )
                conn.execute(
                    "INSERT OR REPLACE INTO tagged (article_id, model) VALUES (?, ?)",
                    (article_id, model),
                )

    def tagged(self, article_ids: Sequence[str], model: str) -> set[str]:
        """Which of these articles this model has tagged."""
        found: set[str] = set()
        for first in range(0, len(article_ids), 500):
            part = list(article_ids[first : first + 500])
            rows = self.catalog.query(
                f"SELECT article_id FROM tagged WHERE model = ? AND article_id IN"
                f" ({','.join('?' * len(part))})",
                [model, *part],
            )
            found.update(str(r[0]) for r in rows)
        return found

    def untagged(self, model: str) -> list[str]:
        """Ids of stored articles that this model has not tagged."""
        rows = self.catalog.query(
            "SELECT id FROM articles WHERE id NOT IN (SELECT article_id FROM tagged"
            " WHERE model = ?)",
            (model,),
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
                f" WHERE article_id IN ({','.join('?' * len(part))}) ORDER BY article_id, start",
                part,
            )
            for article_id, start, end, label in rows:
                found.setdefault(str(article_id), []).append(
                    Entity(int(str(start)), int(str(end)), str(label))
                )
        return found

    def names(self, labels: Sequence[str]) -> Names:
        """The names the stored spans with these labels hold ("Sallow Street Bridge",
        "Linnea Sorvald"), each with the number of articles naming it: cut from the articles
        in the catalog in one query."""
        rows = self.catalog.query(
            'SELECT substr(a.text, e.start + 1, e."end" - e.start), COUNT(DISTINCT a.id)'
            " FROM entities e JOIN articles a ON a.id = e.article_id"
            f" WHERE e.label IN ({','.join('?' * len(labels))}) GROUP BY 1",
            list(labels),
        )
        return Names({str(name): int(str(n)) for name, n in rows if name})


class Names:
    """The names of the stored articles, by the stems of their words."""

    def __init__(self, counts: dict[str, int]) -> None:
        self._by_stem: dict[str, list[tuple[str, int, frozenset[str]]]] = {}
        self._exact: set[frozenset[str]] = set()
        for name, count in counts.items():
            words = frozenset(analyze(name))
            if not words:
                continue
            self._exact.add(words)
            for stem in words:
                self._by_stem.setdefault(stem, []).append((name, count, words))
        #: The stems of every word of every name.
        self.words = frozenset(self._by_stem)

    def fuller(self, phrase: str) -> list[tuple[str, int]]:
        """The names that hold every word of `phrase` and more ("Sallow Street Bridge" for
        "bridge"), with their article counts; none when the phrase is a name itself."""
        words = frozenset(analyze(phrase))
        if not words or words in self._exact or not words <= self._by_stem.keys():
            return []
        rarest = min(words, key=lambda w: len(self._by_stem[w]))
        return [(n, c) for n, c, w in self._by_stem[rarest] if words < w]
