"""clean_text: the one normalisation every article goes through before chunking and quoting."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.clean import clean_inline, clean_text

# Text made of the characters that clean_text treats specially, plus ordinary ones.
_tricky = st.lists(
    st.sampled_from(
        list("ab é\t\n\r\x00\x07\x0b\x0c\x1b\x7f\x85\x9f\u00a0\u2028\u2029\u3000")
        + ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u0301", "e\u0301", "\r\n"]
    ),
    max_size=60,
).map("".join)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Hello  \t world", "Hello world"),
        ("line one   \nline two\t", "line one\nline two"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("p1\n\n\n\n\np2", "p1\n\np2"),
        ("p1\n \t \n\t\np2", "p1\n\np2"),
        ("\n\n  title\n", "title"),
        ("zero\u200bwidth\u200c\u200d\u2060\ufeff", "zerowidth"),
        ("bell\x07 and nul\x00 and del\x7f", "bell and nul and del"),
        ("no\u00a0break\u2003em", "no break em"),
        ("e\u0301", "\u00e9"),  # NFC
        ("para\u2029next", "para\n\nnext"),
        ("", ""),
    ],
)
def test_clean_text_examples(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_zero_width_between_base_and_accent_still_composes() -> None:
    assert clean_text("e\u200b\u0301") == "\u00e9"


def test_clean_inline_is_one_line() -> None:
    assert clean_inline("  A\n\ntitle\twith   gaps ") == "A title with gaps"
    assert clean_inline(None) == ""


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), _tricky))
def test_clean_text_is_idempotent(raw: str) -> None:
    once = clean_text(raw)
    assert clean_text(once) == once


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), _tricky))
def test_clean_text_output_invariants(raw: str) -> None:
    out = clean_text(raw)
    assert unicodedata.is_normalized("NFC", out)
    assert "\n\n\n" not in out
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff]", out)
    assert "\t" not in out and "  " not in out
    assert all(line == line.strip(" ") for line in out.split("\n"))
    assert out == out.strip("\n")
