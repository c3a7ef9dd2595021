"""Telegram HTML rendering: escaped, balanced, split under the limit (hypothesis properties)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.telegram.render import LIMIT, render_html, render_plain, split_plain, utf16_len
from retrieval.types import Answer, Article, Citation
from tests.fakes.telegram_html import TelegramHTMLError, check_html

ALLOWED_TAGS = {"a", "b", "i", "blockquote"}
HOSTILE = st.sampled_from(["<script>alert(1)</script>", "&", "&amp;", "<b>", "</a>", "<", ">", '"'])
TEXT = st.lists(
    st.one_of(st.text(min_size=0, max_size=40), HOSTILE, st.just("\n\n"), st.just(" ")),
    max_size=60,
).map("".join)
LONG_TEXT = st.one_of(TEXT, st.builds(lambda t, n: t * n, TEXT, st.integers(1, 200)))


class Checker(HTMLParser):
    """Collects the text and checks that every tag is allowed and closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.data: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED_TAGS, tag
        if tag == "a":
            assert [name for name, _ in attrs] == ["href"]
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag, tag

    def handle_data(self, data: str) -> None:
        self.data.append(data)


def check_message(message: str) -> str:
    """Assert one message is well-formed Telegram HTML within the limit; return its text."""
    assert 0 < utf16_len(message) <= LIMIT
    checker = Checker()
    checker.feed(message)
    checker.close()
    assert checker.stack == []
    # Every "<", ">" and "&" of the text is escaped where it stands (an escaped one
    # elsewhere in the message once let a bare "<" pass): the strict checker's view.
    assert check_html(message) == "".join(checker.data), message
    return "".join(checker.data)


def test_check_message_refuses_a_bare_angle_bracket_next_to_an_escaped_one() -> None:
    assert check_message("<b>1 &lt; 2</b>") == "1 < 2"
    for bad in ("a < b &lt; c", "a &lt; b > c", "x & y &amp; z"):
        with pytest.raises(TelegramHTMLError):
            check_message(bad)


def make_answer(text: str, titles: list[str], quotes: list[str], url: str | None) -> Answer:
    citations = tuple(
        Citation(
            n=n,
            article=Article(
                id=f"a{n}",
                title=title,
                text=quote,
                url=url,
                site="Site & <Co>",
                published=date(2026, 3, n % 28 + 1),
            ),
            quote=quote,
            start=0,
            end=len(quote),
        )
        for n, (title, quote) in enumerate(zip(titles, quotes, strict=False), start=1)
    )
    return Answer(text=text, citations=citations, found=bool(citations), question="q")


@settings(max_examples=150, deadline=None)
@given(
    text=LONG_TEXT,
    titles=st.lists(TEXT, min_size=0, max_size=4),
    quotes=st.lists(LONG_TEXT, min_size=4, max_size=4),
    url=st.sampled_from([None, "https://x.example/a?b=1&c=<2>", "javascript:alert(1)", '"x']),
)
def test_messages_are_balanced_escaped_and_short(
    text: str, titles: list[str], quotes: list[str], url: str | None
) -> None:
    messages = render_html(make_answer(text, titles, quotes, url))
    shown = "".join(check_message(m) for m in messages)
    # nothing of the answer is lost: its visible characters come first, in order
    assert "".join(shown.split()).startswith("".join(text.split()))
    assert 'href="javascript' not in "".join(messages) and 'href="&quot;' not in "".join(messages)


@settings(max_examples=100, deadline=None)
@given(text=LONG_TEXT)
def test_plain_split_keeps_every_character_under_the_limit(text: str) -> None:
    parts = split_plain(text)
    assert all(0 < utf16_len(p) <= LIMIT for p in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())


def test_hostile_article_text_is_escaped() -> None:
    answer = make_answer("Fine [1].", ["<script>alert('x')</script> & Co"], ["a < b & </b>"], None)
    [message] = render_html(answer)
    assert "<script>" not in message and "&lt;script&gt;" in message
    assert "a &lt; b &amp; &lt;/b&gt;" in message
    assert "<blockquote expandable>a &lt; b" in message
    check_message(message)


def test_link_title_site_and_date() -> None:
    answer = make_answer(
        "It reopens [1].", ["Bridge"], ["It reopens in May."], "https://n.example/b"
    )
    [message] = render_html(answer)
    assert message.startswith("It reopens [1].\n\n<b>Sources:</b>\n\n")
    assert (
        '[1] <a href="https://n.example/b">Bridge</a> — Site &amp; &lt;Co&gt;, 2026-03-02'
        in message
    )
    assert message.endswith("\n<blockquote expandable>It reopens in May.</blockquote>")


def test_a_second_quote_of_one_article_does_not_repeat_its_source_line() -> None:
    one = make_answer("A [1]. B [2].", ["Bridge", "Bridge"], ["A.", "B."], "https://n.example/b")
    same = replace(one.citations[1], article=one.citations[0].article)
    [message] = render_html(replace(one, citations=(one.citations[0], same)))
    assert message.count("https://n.example/b") == 1
    assert "[2] <i>the same article as [1]</i>\n<blockquote expandable>B.</blockquote>" in message
    check_message(message)


def test_long_answer_splits_on_paragraphs() -> None:
    paragraphs = [f"Paragraph {i} " + "word " * 150 for i in range(12)]
    messages = render_html(make_answer("\n\n".join(paragraphs), [], [], None))
    assert len(messages) > 1
    for message in messages:
        check_message(message)
        assert message.startswith("Paragraph ")  # every message starts a paragraph


def test_one_huge_quote_with_entities_is_cut_between_entities() -> None:
    quote = "&<>" * 5000
    messages = render_html(make_answer("Yes [1].", ["T"], [quote], None))
    assert len(messages) >= 4
    for message in messages:
        check_message(message)


def test_plain_fallback_has_the_sources() -> None:
    answer = make_answer("It reopens [1].", ["<Bridge>"], ["In May."], "https://n.example/b")
    [text] = render_plain(answer)
    assert "[1] <Bridge> — Site & <Co>, 2026-03-02" in text and "https://n.example/b" in text


def test_a_refusal_from_one_outlet_says_only_it_was_searched() -> None:
    refusal = Answer("The articles don't say.", (), False, "When?", site="Harbour <Ledger>")
    [message] = render_html(refusal)
    assert message == (
        "The articles don't say.\n<i>(Only the articles of Harbour &lt;Ledger&gt; were"
        " searched.)</i>"
    )
    check_message(message)
    [text] = render_plain(refusal)
    assert text.endswith("(Only the articles of Harbour <Ledger> were searched.)")
    [unscoped] = render_html(replace(refusal, site=None))
    assert unscoped == "The articles don't say."
