"""What kind of answer a question wants, and which sentences offer one."""

from __future__ import annotations

import pytest

from retrieval.answer_types import AnswerType, answer_type, offers_new


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
