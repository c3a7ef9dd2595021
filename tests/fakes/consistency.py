"""The corpus the fault tests ingest, and the check that an index holds it consistently.

`check_index` runs inside a fork of the fork server (`tests/fakes/forkserver.py`), whose
environment holds the settings (`harness.settings_env`): a fresh process, so no Chroma
client of the test process caches what a killed process left on disk.
"""

from __future__ import annotations

from bot.settings import Settings
from retrieval.pipeline import make_answerer
from retrieval.store.index import ArticleIndex
from retrieval.types import Article
from tests.fakes.harness import town_articles, town_fact, town_question

ARTICLES = 120  # two write groups of 64, so failures land between groups too
QUESTION_ABOUT = (3, 17, 95)  # articles whose facts a check asks about
CHECK = "tests.fakes.consistency:check_index"


def version(number: int) -> list[Article]:
    """The corpus at version 1 or 2 (version 2 doubles every third article's text)."""
    articles = town_articles(ARTICLES, prefix="crash")
    if number == 1:
        return articles
    return [
        Article(a.id, a.title, a.text + "\n\nA later report added: " + a.text, a.url, a.site)
        if n % 3 == 0
        else a
        for n, a in enumerate(articles)
    ]


def extra_article() -> Article:
    """An article outside the corpus: a rerun of it alone leaves the rest to `resume`."""
    return town_articles(1, start=ARTICLES, prefix="extra")[0]


def check_index(expected_version: str, extra: str = "") -> None:
    """Assert the index holds the corpus ("1", "2", or "any" mix), each once, and answers.

    Checked: every article (and the extra one, if `extra`) once, indexed, with that
    version's text (with "any": either version's); its vectors are exactly its catalog
    chunks (position and offsets) and its records; no other vector; the lexical index has
    exactly the catalog's chunks; questions are answered from the right article.
    """
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    allowed: dict[str, set[str]] = {}
    for number in (1, 2) if expected_version == "any" else (int(expected_version),):
        for a in [*version(number), *([extra_article()] if extra else [])]:
            allowed.setdefault(a.id, set()).add(a.text)
    index = ArticleIndex(settings, must_exist=True)
    stored = index.articles()
    assert sorted(s.article.id for s in stored) == sorted(allowed), "articles lost or doubled"
    collection = index.vectorstore._collection
    total = 0
    for s in stored:
        assert s.indexed, f"{s.article.id} left pending"
        assert s.article.text in allowed[s.article.id], f"{s.article.id}: wrong text"
        chunks = index.catalog.chunks(s.article.id)
        found = collection.get(where={"article_id": s.article.id}, include=["metadatas"])
        metadatas = found["metadatas"] or []
        positions = sorted((int(m["position"]), int(m["start"]), int(m["end"])) for m in metadatas)  # type: ignore[arg-type]
        assert positions == chunks, f"{s.article.id}: vectors {positions} != catalog {chunks}"
        assert sorted(found["ids"]) == sorted(index.records.list_keys(group_ids=[s.article.id]))
        total += len(chunks)
    assert collection.count() == total, "orphaned vectors"
    keys = sorted(
        (s.article.id, p) for s in stored for p, _, _ in index.catalog.chunks(s.article.id)
    )
    assert sorted(index.lexical().keys) == keys, "the lexical index differs from the catalog"
    answerer = make_answerer(settings, index)
    for n in QUESTION_ABOUT:
        answer = answerer.answer(town_question(n))
        assert town_fact(n) in answer.text, answer.text
        assert answer.citations[0].article.id == f"crash-{n}"
    index.close()
