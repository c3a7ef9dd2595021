"""What kind of answer a question wants, and which sentences offer one."""

from __future__ import annotations

import pytest

from retrieval.answer_types import AnswerType, answer_type, counted, counts, offers_new


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When is the bridge expected to reopen?", AnswerType.DATE),
        ("How many jobs will the plant create?", AnswerType.NUMBER),
        ("Who scored twice in the final?", AnswerType.NAME),
        ("Which company won the contract?", AnswerType.NAME),
        ("Why was the reopening delayed?", AnswerType.OTHER),
    ],
)
def test_answer_type(question: str, kind: AnswerType) -> None:
    assert answer_type(question) is kind


@pytest.mark.parametrize(
    ("sentence", "offers"),
    [
        ("Striker Jory Pellam scored twice in the 23rd and 71st minutes.", True),
        # A sentence's first word is capitalised, also inside quotes or brackets.
        ('"To score twice in a cup final is something I will never forget.', False),
        ("“Scoring twice in a cup final is something I will never forget.", False),
        ("(Scoring twice was a first for the club.)", False),
        ('He left. "We won," said the coach. "Then we celebrated.', False),
        ("The final went to extra time, said the coach.", False),
    ],
)
def test_a_name_is_not_a_sentences_first_word(sentence: str, offers: bool) -> None:
    question = "Who scored twice in the final?"
    assert offers_new(AnswerType.NAME, question, sentence) is offers


def test_names_in_the_question_are_not_new() -> None:
    question = "Who did Brackenmouth Rovers beat in the final?"
    assert not offers_new(AnswerType.NAME, question, "It was a win for Brackenmouth Rovers.")
    assert offers_new(AnswerType.NAME, question, "It was a win over Calder Rise Athletic.")


@pytest.mark.parametrize(
    ("question", "units"),
    [
        ("How many permanent jobs will the Corvane plant have?", {"perman", "job"}),
        ("How many people a day used the footbridge?", {"peopl"}),
        ("How many hectares of seagrass did the survey map?", {"hectar"}),
        ("How many were hurt?", set()),
        ("How much will Corvane invest?", set()),
        ("When does the bridge reopen?", set()),
    ],
)
def test_counted_is_what_a_how_many_question_counts(question: str, units: set[str]) -> None:
    assert counted(question) == units


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("The team mapped 31 hectares of seagrass between the harbour and the bar.", True),
        ("Seagrass meadows have more than doubled over the past seven years.", False),
        ("Meadows covered about twelve hectares in 2019.", True),
        ("The survey of hectares of seagrass took 412 images.", False),
    ],
)
def test_counts_needs_the_unit_right_after_a_number(sentence: str, expected: bool) -> None:
    units = counted("How many hectares of seagrass did the survey map?")
    assert counts(units, sentence) is expected
    assert not counts(frozenset(), sentence)
