"""Reading a question once: the kind of answer it seeks, and its time cues."""

from __future__ import annotations

import pytest
import spacy.glossary

from retrieval.embedders import OnnxEmbedder
from retrieval.question import LABEL_MEANINGS, Kind, NounTyper, gives_reason, read


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


def test_a_which_noun_is_typed_by_meaning() -> None:
    typer = NounTyper(OnnxEmbedder.minilm())
    asked = read("Which company won the contract?", typer=typer)
    assert asked.kind is Kind.ORGANISATION and asked.labels[0] == "ORG"
    assert asked.focus == "company"
    assert read("What percentage of voters backed it?", typer=typer).labels[0] == "PERCENT"
    assert read("What collapsed?", typer=typer).labels == ()  # a verb names no kind


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


def test_label_meanings_are_spacys_own() -> None:
    for label, meaning in LABEL_MEANINGS.items():
        assert spacy.glossary.explain(label) == meaning
