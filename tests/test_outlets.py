"""Which outlet a question attributes its answer to, and the question searched for it."""

from __future__ import annotations

import pytest

from retrieval.search.outlets import Outlet, might_name_outlet, named_outlet

SITES = ["The Harbour Ledger", "Eastmere Evening Post", "Valley Wire", "Post", ""]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "According to the Eastmere Evening Post, how many permanent jobs will the plant have?",
            Outlet("Eastmere Evening Post", "How many permanent jobs will the plant have?"),
        ),
        (
            "How many jobs will the plant create, according to The Harbour Ledger?",
            Outlet("The Harbour Ledger", "How many jobs will the plant create?"),
        ),
        (  # without "The", in lower case
            "according to harbour ledger how many jobs?",
            Outlet("The Harbour Ledger", "How many jobs?"),
        ),
        (  # the outlet and its verb are about who said it, not what was said
            "What did the Valley Wire report about the seagrass?",
            Outlet("Valley Wire", "What did about the seagrass?"),
        ),
        (
            "What has Valley Wire reported on the bridge?",
            Outlet("Valley Wire", "What has on the bridge?"),
        ),
        (  # the longest name that is there, not a shorter one inside it
            "What did the Eastmere Evening Post say about the plant?",
            Outlet("Eastmere Evening Post", "What did about the plant?"),
        ),
        ("What did the Post report?", Outlet("Post", "What did?")),
    ],
)
def test_a_named_outlet_is_found_and_taken_out(question: str, expected: Outlet) -> None:
    assert named_outlet(question, SITES) == expected


@pytest.mark.parametrize(
    "question",
    [
        "How many jobs will the plant create?",
        "Who said the bridge would reopen in May?",  # a verb of reporting, no outlet
        "When does the Valley Wire bridge story say it reopens?",  # not what it says
        "According to the council, when will the bridge reopen?",  # not a stored site
        "What did the Daily Planet report?",
    ],
)
def test_no_outlet_is_named(question: str) -> None:
    assert named_outlet(question, SITES) is None


def test_questions_without_a_cue_are_not_looked_at() -> None:
    assert not might_name_outlet("How many jobs will the Valley Wire plant create?")
    assert might_name_outlet("What did they say?")
    assert might_name_outlet("According to the paper, when?")
