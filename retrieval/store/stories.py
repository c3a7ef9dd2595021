"""Stories: reports of the same event, told by several outlets or on several days.

Articles are grouped when they are stored, so every reader (the news steps comparing
figures, a chat following a topic) asks the catalog which story an article belongs to and
none recomputes it. Two reports are of one story when they name the same things: of the
smaller report's names (people, organisations, places, events; not dates or figures, which
change as a story develops), the share the other also names is at least `SAME_STORY`, each
name weighted by its rarity among the stored articles (the county every local story names
says little; the bridge's name says a lot). A new report joins the stored story it
matches best as a whole. Measured on the news dev set's 34 stories (`bench/stories.py`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from retrieval.store.catalog import Catalog
from retrieval.store.database import Statements
from retrieval.store.entities import Entity
from retrieval.types import Article

#: Labels that name what a story is about (figures and dates change between reports).
NAMING = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "EVENT", "NORP", "PRODUCT", "LAW"})
SAME_STORY = 0.5  # rarity-weighted share of the smaller set of names the other also names
#: Stored reports compared with a new one: those sharing its rarest names first. A report
#: that shares only common names with it cannot reach `SAME_STORY` anyway.
CANDIDATES = 200
#: A name's rarity is counted as if the collection held this many more articles that do not
#: give it: in a small collection, where no name's commonness is known yet, every name
#: weighs about the same, and the order articles arrive in matters little.
BACKGROUND = 100


def names_of(text: str, entities: Sequence[Entity]) -> frozenset[str]:
    """The things an article names, lower-cased, without a leading "the"."""
    found = set()
    for entity in entities:
        if entity.label in NAMING:
            words = text[entity.start : entity.end].lower().split()
            if words and words[0] == "the":
                words = words[1:]
            if words:
                found.add(" ".join(words))
    return frozenset(found)


class StoryStore:
    """Group stored articles into stories and say which story an article is in."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog  # its schema holds the `names` and `stories` tables

    def assign(self, tagged: Sequence[tuple[Article, Sequence[Entity]]]) -> None:
        """Store the names of these (newly tagged) articles and put each in its story, in
        order, in one transaction: a report stored later can join an earlier one's story."""
        with self.catalog.transaction() as conn:
            # One writer groups at a time (two workers must not each start the same story).
            conn.lock("stories")
            conn.executemany(
                "DELETE FROM names WHERE article_id = :id", [{"id": a.id} for a, _ in tagged]
            )
            # The articles that give names, counted once (a scan), then as each is added.
            total = int(conn.scalar("SELECT COUNT(DISTINCT article_id) FROM names"))
            for article, entities in tagged:
                names = names_of(article.text, entities)
                conn.execute("DELETE FROM stories WHERE article_id = :id", {"id": article.id})
                conn.executemany(
                    "INSERT INTO names (article_id, name) VALUES (:id, :name)",
                    [{"id": article.id, "name": name} for name in sorted(names)],
                )
                total += bool(names)
                _join(conn, article.id, names, BACKGROUND + total)

    def ungrouped(self) -> list[str]:
        """Ids of tagged articles that are in no story (stored before stories existed)."""
        rows = self.catalog.query(
            "SELECT article_id FROM tagged WHERE article_id NOT IN"
            " (SELECT article_id FROM stories) ORDER BY article_id"
        )
        return [str(r[0]) for r in rows]

    def of(self, article_ids: Iterable[str]) -> dict[str, str]:
        """{article id: its story} for those of these articles that are in one."""
        unique = list(dict.fromkeys(article_ids))
        found: dict[str, str] = {}
        for first in range(0, len(unique), 500):
            part = unique[first : first + 500]
            rows = self.catalog.query(
                "SELECT article_id, story FROM stories WHERE article_id IN :ids", {"ids": part}
            )
            found.update((str(a), str(s)) for a, s in rows)
        return found

    def members(self, story: str) -> list[str]:
        """The ids of the articles of one story."""
        rows = self.catalog.query(
            "SELECT article_id FROM stories WHERE story = :story ORDER BY article_id",
            {"story": story},
        )
        return [str(r[0]) for r in rows]


def _join(conn: Statements, article_id: str, names: frozenset[str], total: int) -> None:
    """Put one article in the stored story it matches best, or in a new story of its own.

    A story is matched by the mean share over all its reports (a report that shares the
    region's names with one member of a long story does not join it): single-link
    grouping chains neighbouring stories into one. `total`: the articles a name's rarity is
    counted among."""
    counts = _counts(conn, names)
    weight = {name: _rarity(total, counts.get(name, 1)) for name in names}
    mass = sum(weight.values())
    shares: dict[str, float] = {}
    for other, theirs in _candidates(conn, article_id, names, counts).items():
        their_mass = sum(_rarity(total, n) for n in theirs.values())
        shared = sum(weight[name] for name in theirs if name in weight)
        smaller = min(mass, their_mass)
        shares[other] = shared / smaller if smaller > 0 else 0.0
    best: tuple[float, str] | None = None
    for story, members in _stories_of(conn, shares).items():
        mean = sum(shares.get(m, 0.0) for m in members) / len(members)
        if mean >= SAME_STORY and (best is None or (mean, story) > best):
            best = (mean, story)
    story = best[1] if best is not None else article_id
    conn.execute(
        "INSERT INTO stories (article_id, story) VALUES (:id, :story)",
        {"id": article_id, "story": story},
    )


def _stories_of(conn: Statements, article_ids: Iterable[str]) -> dict[str, list[str]]:
    """{story: all its reports} for the stories these articles are in."""
    listed = sorted(article_ids)
    if not listed:
        return {}
    rows = conn.rows(
        "SELECT s.story, m.article_id FROM stories s JOIN stories m ON m.story = s.story"
        " WHERE s.article_id IN :ids",
        {"ids": listed},
    )
    found: dict[str, set[str]] = {}
    for story, member in rows:
        found.setdefault(str(story), set()).add(str(member))
    return {story: sorted(members) for story, members in found.items()}


def _counts(conn: Statements, names: Iterable[str]) -> dict[str, int]:
    """How many stored articles give each of these names."""
    listed = sorted(names)
    found: dict[str, int] = {}
    for first in range(0, len(listed), 500):
        part = listed[first : first + 500]
        rows = conn.rows(
            "SELECT name, COUNT(*) FROM names WHERE name IN :names GROUP BY name",
            {"names": part},
        )
        found.update((str(name), int(n)) for name, n in rows)
    return found


def _candidates(
    conn: Statements, article_id: str, names: frozenset[str], counts: Mapping[str, int]
) -> dict[str, dict[str, int]]:
    """{stored report: {each name it gives: how many articles give that name}} for the
    reports sharing this article's rarest names."""
    rarest = sorted(names, key=lambda name: (counts.get(name, 1), name))[:50]
    if not rarest:
        return {}
    others = [
        str(r[0])
        for r in conn.rows(
            "SELECT n.article_id FROM names n"
            " WHERE n.name IN :names AND n.article_id != :id"
            " GROUP BY n.article_id ORDER BY COUNT(*) DESC, n.article_id LIMIT :limit",
            {"names": rarest, "id": article_id, "limit": CANDIDATES},
        )
    ]
    if not others:
        return {}
    found: dict[str, dict[str, int]] = {other: {} for other in others}
    rows = conn.rows(
        "SELECT n.article_id, n.name, (SELECT COUNT(*) FROM names m WHERE m.name = n.name)"
        " FROM names n WHERE n.article_id IN :ids",
        {"ids": others},
    )
    for other, name, count in rows:
        found[str(other)][str(name)] = int(count)
    return found


def _rarity(total: int, count: int) -> float:
    """A name's weight: its inverse document frequency among the stored articles (BM25's
    form, positive however common the name)."""
    return math.log(1 + (total - count + 0.5) / (count + 0.5))
