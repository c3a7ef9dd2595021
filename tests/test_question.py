"""Reading a question once: the kind of answer it seeks, and its time cues."""

from __future__ import annotations

import pytest

from retrieval.search.question import Kind, gives_reason, read, subject_phrase
from retrieval.search.question_kinds import KINDS, shipped
from retrieval.store.embedders import OnnxEmbedder


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who scored twice in the Challenge Cup final?", Kind.PERSON),
        ("When will the Sallow Street Bridge reopen?", Kind.DATE),
        ("Where did the strike happen?", Kind.PLACE),
        ("Why was the reopening delayed?", Kind.REASON),
        ("How many jobs will the plant create?", Kind.NUMBER),
        ("How much will the repair cost?", Kind.AMOUNT),
        ("How did councillors vote on the contract?", Kind.DESCRIPTION),
        ("What collapsed?", Kind.DESCRIPTION),
        ("Is the bridge open?", Kind.YES_NO),
    ],
)
def test_the_wh_word_gives_the_kind(question: str, kind: Kind) -> None:
    assert read(question).kind is kind


@pytest.fixture(scope="module")
def embedder() -> OnnxEmbedder:
    return OnnxEmbedder.minilm()


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Which company won the contract?", Kind.ORGANISATION),
        ("What was the tram's price tag when it was approved?", Kind.AMOUNT),
        ("Which Pike Hill politician campaigned for the tram?", Kind.PERSON),
        ("What year did the plant open?", Kind.DATE),
    ],
)
def test_what_the_grammar_leaves_open_is_read_from_the_meaning(
    embedder: OnnxEmbedder, question: str, kind: Kind
) -> None:
    vector = embedder.embed_array([question])[0]
    asked = read(question, meaning=lambda: shipped().kind(vector))
    assert asked.kind is kind, asked
    assert asked.labels  # a named item of that kind answers it


def test_the_meaning_is_not_asked_where_the_grammar_decides() -> None:
    def never() -> Kind:
        raise AssertionError("asked")

    assert read("Who won the contract?", meaning=never).kind is Kind.PERSON
    assert read("Is the bridge open?", meaning=never).kind is Kind.YES_NO
    assert read("hi", known=lambda _: False, meaning=never).kind is Kind.CHAT


def test_the_shipped_weights_fit_the_embedder(embedder: OnnxEmbedder) -> None:
    assert shipped().weights.shape == (embedder.dimension + 1, len(KINDS))


def test_a_greeting_is_not_a_question_but_a_topic_is() -> None:
    known = {"bridge", "sallow"}.__contains__
    assert read("hi", known=known).kind is Kind.CHAT
    assert read("thanks!", known=known).kind is Kind.CHAT
    assert read("bridge", known=known).kind is Kind.DESCRIPTION
    assert read("hi?", known=known).kind is Kind.DESCRIPTION  # a question mark asks


def test_time_cues_are_read_with_the_kind() -> None:
    assert read("When does the bridge reopen now?").recent
    assert not read("When did the bridge close?").recent
    assert read("What happened with the Hollin Dam?").timeline == "the Hollin Dam"


def test_a_cause_answers_why() -> None:
    assert gives_reason("The bridge closed after engineers found corroded bearings.")
    assert not gives_reason("The bridge carries 11,000 vehicles a day.")


@pytest.mark.parametrize(
    ("question", "subject"),
    [
        ("How much will the recycling plant cost?", "recycling plant"),
        ("Why did the price of the berth go up?", "price of the berth"),
        ("When will the plant open to visitors?", "plant"),
        ("How much did the city council pay Pellwether?", "city council"),
        ("When does the Sallow Street Bridge reopen?", "Sallow Street Bridge"),
        ("Who is the chief executive?", None),  # the copula: the phrase is what is asked
        ("When will it open?", None),
        ("How did councillors vote?", None),
    ],
)
def test_the_subject_is_the_phrase_after_the_inverted_auxiliary(
    question: str, subject: str | None
) -> None:
    assert subject_phrase(question) == subject
