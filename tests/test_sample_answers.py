"""The questions a new user asked of the shipped samples (and of the pages they wrote), with
the answers they should get: the answerer `articlebot ask` builds, news steps on.

Each question here was once answered wrongly. The ones the offline answerer still gets
wrong are marked `xfail(strict=True)` with the reason: they run every time, and the day
one is answered right it fails until its mark is removed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.settings import Settings
from ingest import ingest_articles
from ingest.sources import load_sources
from retrieval.answer.base import Answerer
from retrieval.answer.prompts import GREETING
from retrieval.pipeline import make_answerer
from retrieval.store.index import ArticleIndex
from retrieval.types import Answer, Article, Turn
from tests.conftest import SAMPLES_DIR, SHARED_DATA

NEWCOMER = SHARED_DATA / "newcomer"


def _answerer(data_dir: Path, *sources: Path) -> Iterator[Answerer]:
    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    index = ArticleIndex(settings)
    found = list(load_sources([str(s) for s in sources], settings))
    ingest_articles([a for a in found if isinstance(a, Article)], index, settings)
    yield make_answerer(settings, index)
    index.close()


@pytest.fixture(scope="module")
def samples(
    tmp_path_factory: pytest.TempPathFactory, ingested_copy: Callable[[Path, Path], Path]
) -> Iterator[Answerer]:
    """The sample articles as `ingest` indexes them (this module's copy)."""
    data_dir = ingested_copy(SAMPLES_DIR / "articles", tmp_path_factory.mktemp("samples") / "data")
    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    index = ArticleIndex(settings, must_exist=True)
    yield make_answerer(settings, index)
    index.close()


@pytest.fixture(scope="module")
def with_newcomer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Answerer]:
    yield from _answerer(tmp_path_factory.mktemp("newcomer"), SAMPLES_DIR / "articles", NEWCOMER)


def _reading_model(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"needs a reading model: {reason}")


def _leads_with(answer: Answer, item: str) -> None:
    assert answer.found, answer.text
    first = answer.text.split(". According to")[0].split(". As of")[0]
    assert item.lower() in first.lower(), answer.text


@pytest.mark.parametrize(
    ("question", "item"),
    [
        ("Who is the chief executive of Corvane Materials?", "Linnea Sorvald"),
        ("How many vehicles a day used the bridge?", "11,000"),
        ("When will the Sallow Street Bridge reopen?", "May 18"),  # the newest report
        ("Who scored twice in the Challenge Cup final?", "Jory Pellam"),
        pytest.param(
            "Which company won the contract to repair the Sallow Street Bridge?",
            "Pellwether Civil Works",
            marks=_reading_model("'won the contract' is said as 'voted ... to appoint'"),
        ),
    ],
)
def test_a_question_for_one_item_is_answered_with_it_first(
    samples: Answerer, question: str, item: str
) -> None:
    _leads_with(samples.answer(question), item)


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("Why did the Sallow Street Bridge close?", "corrosion in the steel bearings"),
        # The tally sentence doesn't name the bridge; its headline does.
        ("How did councillors vote on the bridge contract?", "9 to 2"),
        pytest.param(
            "When was the bridge built?",
            "1958",
            marks=_reading_model("'built' is said as 'opened in 1958' in a sentence about traffic"),
        ),
    ],
)
def test_the_answer_holds_what_was_asked(samples: Answerer, question: str, words: str) -> None:
    answer = samples.answer(question)
    assert answer.found, answer.text
    assert words in answer.text, answer.text


def test_the_newest_cost_leads_and_the_older_one_is_noted(samples: Answerer) -> None:
    answer = samples.answer("How much will the bridge repair cost?")
    _leads_with(answer, "$4.6 million")
    assert "$3.8 million" in answer.text  # the older estimate, cited as such


def test_a_quote_is_shown_once(samples: Answerer) -> None:
    answer = samples.answer("What did Tobias Renwick say about the bridge contract?")
    assert answer.found
    for citation in answer.citations:
        core = citation.quote.strip("… ")
        assert answer.text.count(core) <= 1, answer.text


def test_a_follow_up_keeps_the_conversation_s_subject(samples: Answerer) -> None:
    first = "Who is the chief executive of Corvane Materials?"
    history = [Turn(first, samples.answer(first).text)]
    answer = samples.answer("Who is its chief executive?", history)
    _leads_with(answer, "Linnea Sorvald")


@pytest.mark.shared_data
def test_figures_of_other_stories_are_not_called_a_disagreement(with_newcomer: Answerer) -> None:
    answer = with_newcomer.answer("How much will the library repairs cost?")
    _leads_with(answer, "$1.2 million")
    assert "differ" not in answer.text, answer.text


@pytest.mark.shared_data
@_reading_model("'reopen' is answered by the closing date of the same sentence")
def test_the_reopening_not_the_closing_date(with_newcomer: Answerer) -> None:
    answer = with_newcomer.answer("When will the Orley Green library reopen?")
    assert "October" in answer.text.split("\n")[0], answer.text


def test_a_follow_up_naming_a_new_subject_is_about_it(samples: Answerer) -> None:
    first = "Who is the chief executive of Corvane Materials?"
    history = [Turn(first, samples.answer(first).text)]
    answer = samples.answer("What about the bridge?", history)
    assert answer.found, answer.text
    assert "Corvane" not in answer.question and "Sallow Street Bridge" in answer.question
    assert all("Sallow Street Bridge" in c.article.text for c in answer.citations), answer.text


def test_the_topic_is_carried_over_several_turns(samples: Answerer) -> None:
    history: list[Turn] = []
    for question in ("When will the Sallow Street Bridge reopen?", "What about the cost?"):
        history.append(Turn(question, samples.answer(question, history).text))
    answer = samples.answer("How many vehicles a day used it?", history)
    assert "Sallow Street Bridge" in answer.question
    _leads_with(answer, "11,000")


@pytest.mark.parametrize("said", ["hi", "Thanks!", "hello there"])
def test_a_greeting_is_greeted_not_refused(samples: Answerer, said: str) -> None:
    answer = samples.answer(said)
    assert answer.text == GREETING and not answer.found and not answer.citations


def test_a_greeting_with_a_question_is_answered(samples: Answerer) -> None:
    answer = samples.answer("hi, when will the Sallow Street Bridge reopen?")
    assert answer.found and answer.text != GREETING


def test_a_follow_up_s_it_is_the_subject_of_the_question_before(samples: Answerer) -> None:
    first = "How much will the recycling plant cost?"
    history = [Turn(first, samples.answer(first).text)]
    _leads_with(samples.answer("When will it open?", history), "2028")
