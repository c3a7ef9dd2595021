"""Stories are grouped when articles are stored: reports naming the same things share one."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.settings import Settings
from ingest.chunk import Chunker
from retrieval.store.entities import Entity
from retrieval.store.index import ArticleIndex
from retrieval.types import Article
from tests.fakes.embedder import HashEmbedder

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "articles"
BRIDGE = (
    "https://harbourledger.example/2026/03/02/sallow-street-bridge-closed",
    "https://northgatecourier.example/news/2026/03/10/sallow-street-bridge-contract",
    "vw-20260319-sallow-bridge-delay",
)
CORVANE = (
    "https://harbourledger.example/2026/03/05/corvane-battery-plant-kilnworth",
    "eveningpost-2026-03-06-corvane-jobs",
)
CUP = "eveningpost-2026-03-15-challenge-cup-final"


class CapitalisedNames:
    """A tagger for tests: every run of capitalised words is an organisation's name."""

    model_id = "test-capitalised"

    def tag(self, texts: Sequence[str]) -> list[list[Entity]]:
        pattern = re.compile(r"[A-Z][a-z]+(?: [A-Z][a-z]+)*")
        return [[Entity(m.start(), m.end(), "ORG") for m in pattern.finditer(t)] for t in texts]


def _index(data_dir: Path) -> ArticleIndex:
    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    return ArticleIndex(settings, HashEmbedder(), tagger=CapitalisedNames())


def _store(index: ArticleIndex, articles: Sequence[Article]) -> None:
    chunker = Chunker(size=400, overlap=50)
    index.upsert([(a, chunker.split(a)) for a in articles])


def test_the_samples_reports_are_grouped_into_their_four_stories(
    ingested_copy: Callable[[Path, Path], Path], tmp_path: Path
) -> None:
    data_dir = ingested_copy(SAMPLES, tmp_path / "data")
    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    with ArticleIndex(settings, must_exist=True) as index:
        ids = [s.article.id for s in index.articles()]
        stories = index.stories.of(ids)
        assert sorted(stories) == sorted(ids)  # every article is in a story
        assert len({stories[a] for a in BRIDGE}) == 1
        assert len({stories[a] for a in CORVANE}) == 1
        assert len({stories[a] for a in (BRIDGE[0], CORVANE[0], CUP)}) == 3
        assert index.stories.members(stories[BRIDGE[0]]) == sorted(BRIDGE)
        assert len(set(stories.values())) == 4


def test_a_report_like_one_report_of_a_story_but_not_the_rest_starts_its_own(
    tmp_path: Path,
) -> None:
    """Matching by the story as a whole: one shared minister must not chain a budget vote
    onto a dam's story."""
    dam = Article("dam-1", "Dam", "Hollin Dam Works began at Pellow Ford in Arvonia.")
    dam_again = Article(
        "dam-2",
        "Dam",
        "Hollin Dam Works at Pellow Ford were praised by Mira Kostovan of Brannock Assembly.",
    )
    vote = Article("vote-1", "Vote", "Mira Kostovan asked Brannock Assembly to pass Tessel Budget.")
    with _index(tmp_path / "data") as index:
        _store(index, [dam, dam_again, vote])
        stories = index.stories.of(["dam-1", "dam-2", "vote-1"])
    assert stories["dam-1"] == stories["dam-2"]
    assert stories["vote-1"] not in {stories["dam-1"], stories["dam-2"]}


def test_an_updated_report_is_grouped_again_by_what_it_now_names(tmp_path: Path) -> None:
    first = Article("a", "Mill", "Kestle Mill Fire spread to Ordway Yard, Brannick Crews said.")
    second = Article(
        "b", "Mill", "Kestle Mill Fire is out; Ordway Yard reopens, Brannick Crews say."
    )
    other = Article("c", "Ferry", "Tamsin Ferry Service resumes to Holm Isle on Monday.")
    with _index(tmp_path / "data") as index:
        _store(index, [first, second, other])
        assert index.stories.of(["b"])["b"] == index.stories.of(["a"])["a"]
        rewritten = Article("b", "Ferry", "Tamsin Ferry Service adds a Holm Isle evening run.")
        _store(index, [rewritten])
        stories = index.stories.of(["a", "b", "c"])
    assert stories["b"] == stories["c"] != stories["a"]


def test_articles_stored_before_stories_existed_are_grouped_by_the_next_ingest(
    ingested_copy: Callable[[Path, Path], Path], tmp_path: Path
) -> None:
    data_dir = ingested_copy(SAMPLES, tmp_path / "data")
    with sqlite3.connect(data_dir / "catalog.sqlite3") as conn:  # as schema version 2 left it
        before = dict(conn.execute("SELECT article_id, story FROM stories").fetchall())
        conn.execute("DELETE FROM stories")
        conn.execute("DELETE FROM names")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--data-dir", str(data_dir), "ingest", str(SAMPLES)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(data_dir / "catalog.sqlite3") as conn:
        after = dict(conn.execute("SELECT article_id, story FROM stories").fetchall())
    assert len(before) >= 8
    groups = {frozenset(a for a in before if before[a] == s) for s in before.values()}
    assert {frozenset(a for a in after if after[a] == s) for s in after.values()} == groups
