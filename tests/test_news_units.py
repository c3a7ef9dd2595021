"""The news layer's pure parts: figures, cues, topics, date windows, datelines, spreading."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from retrieval.answer.citations import make_citation
from retrieval.news import conflicts
from retrieval.news.datelines import attributed, dateline, outlet, with_as_of
from retrieval.news.retriever import spread
from retrieval.news.timeline import timeline_question
from retrieval.search.figures import asked, pick, values
from retrieval.search.followup import date_window
from retrieval.search.question import read, timeline_topic
from retrieval.store.lexical import LexicalIndex
from retrieval.types import Answer, Article, Chunk, Citation, Hit, Turn


def article(
    aid: str, text: str, site: str | None, day: date | None, url: str | None = None
) -> Article:
    return Article(aid, f"Title {aid}", text, url, site, published=day)


def cite(n: int, a: Article) -> Citation:
    citation = make_citation(n, a, 0, len(a.text))
    assert citation is not None
    return citation


# -- figures ----------------------------------------------------------------------------------


def test_counts_need_the_counted_noun() -> None:
    kind = asked("How many troops were sent to Greywell?")
    assert kind is not None and (kind.kind, kind.focus, kind.what) == (
        "count", "troop", "number of troops"
    )  # fmt: skip
    sentence = "Officials sent 12 buses and about 2,000 troops, then 2,500 army troops."
    assert [v.text for v in values(kind, sentence)] == ["2,000", "2,500"]
    assert pick(kind, sentence, "How many troops were sent?").text == "2,000"  # type: ignore[union-attr]
    assert pick(kind, "It took 12 buses.", "How many troops were sent?") is None


def test_dates_pick_the_one_after_the_question_words() -> None:
    question = "When will the bridge reopen?"
    kind = asked(question)
    assert kind is not None and kind.kind == "date"
    sentence = "It is now expected to reopen on May 18, rather than the May 4 date set on March 2."
    assert pick(kind, sentence, question).text == "May 18"  # type: ignore[union-attr]
    same = [v.key for v in values(kind, "on 4 May 2026 or May 4th")]
    assert len(set(same)) == 1  # "4 May 2026" and "May 4th" are one date
    assert pick(kind, "Nothing relevant happened on May 4.", question) is None


def test_a_date_of_another_event_is_no_conflict() -> None:
    # "when" in "...when the bridge was closed on March 2" names another event; the
    # Courier's date for reopening is May 4.
    wire = article(
        "w", "The bridge is now expected to reopen on May 18.", "Wire", date(2026, 3, 19)
    )
    courier = article(
        "c",
        "Officers estimated the cost when the bridge was closed on March 2. "
        "They are aiming to reopen the bridge on May 4.",
        "Courier",
        date(2026, 3, 10),
    )
    other = article("o", "The ferry runs every hour.", "Post", date(2026, 3, 1))
    found_articles = ((wire, 2.0), (courier, 1.9), (other, 0.0))
    hits = [Hit(a, Chunk(a.id, 0, 0, len(a.text), a.text), score) for a, score in found_articles]
    lexical = LexicalIndex.build(
        [(a.id, 0) for a, _ in found_articles], [a.text for a, _ in found_articles]
    )
    found = conflicts.find("When does the bridge reopen?", hits, lexical)
    assert found is not None
    assert [group[0].value for group in found.groups] == ["May 18", "May 4"]


def test_amounts_and_unasked_questions() -> None:
    kind = asked("How much will the repair cost?")
    assert kind is not None and kind.kind == "amount"
    found = values(kind, "an estimated $3.8 million, later $4,600,000, or €2bn")
    assert [v.key[2] for v in found] == [3_800_000, 4_600_000, 2_000_000_000]
    assert asked("Who leads the council?") is None
    assert asked("Why was the bridge closed?") is None


# -- cues and topics --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "recent"),
    [
        ("What is the latest on the dam?", True),
        ("Is the Hollin road still closed?", True),
        ("When will the soldiers now leave?", True),
        ("Who is currently in charge?", True),
        ("Has the bridge reopened yet?", True),
        ("When did the dam crack?", False),
        ("How many troops were sent?", False),
    ],
)
def test_recency_cues(question: str, recent: bool) -> None:
    assert read(question).recent is recent


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("What happened with the Hollin Dam?", "the Hollin Dam"),
        ("what has happened to Greywell", "Greywell"),
        ("So what's been happening with the bridge?", "the bridge"),
        ("Give me a timeline of the dam repair", "the dam repair"),
        ("How did the evacuation unfold?", "the evacuation"),
        ("When did the dam crack?", None),
        ("What happens next?", None),
    ],
)
def test_timeline_topics(question: str, topic: str | None) -> None:
    assert timeline_topic(question) == topic


def test_timeline_question_round_trips() -> None:
    assert timeline_topic(timeline_question("Hollin Dam?")) == "Hollin Dam"


# -- the conversation's date window -----------------------------------------------------------


def test_then_carries_the_lead_date_of_the_last_dated_answer() -> None:
    history = [
        Turn("How many troops?", "As of 2026-04-03, Lowmere Herald reported: ... 2026-04-16 ..."),
        Turn("And the cost?", "The articles don't say."),
    ]
    assert date_window("And what did the ministry say then?", history) == (
        date(2026, 3, 30), date(2026, 4, 7)
    )  # fmt: skip
    assert date_window("What did the ministry say at the time?", history) is not None
    assert date_window("What did the ministry say?", history) is None  # no pointer to a time
    assert date_window("And then?", []) is None
    assert date_window("And then?", [Turn("Q?", "Undated answer.")]) is None


# -- datelines --------------------------------------------------------------------------------


def test_outlet_falls_back_to_host_then_says_unnamed() -> None:
    assert outlet(article("a", "x", " Valley  Wire ", None)) == "Valley Wire"
    assert outlet(article("a", "x", None, None, "https://news.example/a")) == "news.example"
    assert outlet(article("a", "x", None, None)) == "an unnamed source"
    assert dateline(article("a", "x", "V", None)) == "V, no date"


def test_attribution_dates_each_claim() -> None:
    older = article("o", "The bridge closes.", "Ledger", date(2026, 3, 2))
    newer = article("n", "The bridge stays shut.", "Wire", date(2026, 3, 19))
    assert attributed([cite(1, newer)]) == (
        "According to Wire (2026-03-19): The bridge stays shut. [1]"
    )
    assert attributed([cite(1, newer), cite(2, older)]) == (
        "As of 2026-03-19, Wire reported: The bridge stays shut. [1]"
        " As of 2026-03-02, Ledger reported: The bridge closes. [2]"
    )
    undated = article("u", "A notice.", None, None)
    assert (
        attributed([cite(1, undated)]) == "According to an unnamed source (no date): A notice. [1]"
    )


def test_written_answers_over_several_dates_get_as_of() -> None:
    older = article("o", "The bridge closes.", "Ledger", date(2026, 3, 2))
    newer = article("n", "The bridge stays shut.", "Wire", date(2026, 3, 19))
    answer = Answer("It is shut [1][2].", (cite(1, newer), cite(2, older)), True, "q")
    noted = with_as_of(answer)
    assert noted.text.endswith(
        "(As of 2026-03-19, the date of the newest cited report; the oldest is from 2026-03-02.)"
    )
    said = Answer("As of 2026-03-19 it is shut [1][2].", answer.citations, True, "q")
    assert with_as_of(said) == said
    dated = Answer("On 2026-03-19 the Wire said it is shut [1][2].", answer.citations, True, "q")
    assert with_as_of(dated) == dated
    single = Answer("It is shut [1].", (cite(1, newer),), True, "q")
    assert with_as_of(single) == single


# -- spreading across outlets -----------------------------------------------------------------


def test_one_outlet_gets_about_half_of_the_results() -> None:
    def hit(aid: str, site: str, score: float) -> Hit:
        a = article(aid, "text", site, None)
        return Hit(a, Chunk(aid, 0, 0, 4, "text"), score)

    hits = [hit(f"a{i}", "A", 10 - i) for i in range(5)] + [hit("b", "B", 1), hit("c", "C", 0)]
    assert [h.article.id for h in spread(hits, 5)] == ["a0", "a1", "a2", "b", "c"]
    alone = [hit(f"a{i}", "A", 10 - i) for i in range(6)]
    assert [h.article.id for h in spread(alone, 5)] == ["a0", "a1", "a2", "a3", "a4"]


def test_ingest_date_is_not_a_publication_date() -> None:
    a = Article("x", "T", "text", ingested_at=datetime(2026, 5, 1, tzinfo=UTC))
    payload = cite(1, a).to_dict()
    assert payload["published"] is None and payload["ingested_at"].startswith("2026-05-01")
