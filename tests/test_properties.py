"""Property and fuzz tests (hypothesis) for every parser and renderer.

Loaders never raise on any input and whatever they return can be stored; chunks slice back
to the article and cover it; Telegram HTML is valid for Telegram's own (strict) parser;
follow-up rewriting only adds words; citation markers only ever point at real citations.
The Telegram checker is itself tested first, so a lenient checker cannot hide a bug.
"""

from __future__ import annotations

import html
import json
import os
import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.settings import Settings
from bot.telegram.handlers import sources_page_view
from bot.telegram.render import render_html, render_plain, split_plain
from ingest.chunk import Chunker
from ingest.clean import clean_inline, clean_text
from ingest.formats import canonical_url
from ingest.formats_web import html_fragment_to_text
from ingest.sources import load_sources
from retrieval.answer.prompts import MARKER, marker_numbers, renumber_markers
from retrieval.search.followup import follow_up
from retrieval.search.scoring import stems
from retrieval.store.catalog import Catalog, StoredArticle
from retrieval.types import Answer, Article, Citation, Turn
from tests.fakes.telegram_html import TelegramHTMLError, check_html, check_plain
from tests.test_followup import LEXICON

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Characters that break naive code: markup, entities, zero-width, bidi overrides, astral
# emoji, combining marks, lone surrogates, controls, Unicode line breaks.
NASTY = st.sampled_from(
    ["<", ">", "&", "&amp;", "&lt;", "&#0;", '"', "'", "<b>", "</b>", "<script>", "</blockquote>",
     '<a href="javascript:x">', "\u200b", "\u200d", "\ufeff", "\u202e", "\u2066", "\u200f",
     "😀", "𝔘", "e\u0301", "\ud800", "\udce9", "\x00", "\x1b[31m", "\u2028", "\u0085",
     "[7]", "[99]", "[1-3]", "[", "2]", "\n", "\n\n", " ", "\t"]
)  # fmt: skip
WORDS = st.text(alphabet=st.characters(codec="utf-8"), max_size=25)
HOSTILE_TEXT = st.lists(st.one_of(WORDS, NASTY), max_size=40).map("".join)
PROSE = st.lists(
    st.one_of(
        st.sampled_from(["The", "ferry", "sailed", "on", "Monday.", "Costs", "rose", "12%."]),
        st.just("\n\n"),
        st.text(alphabet="abcdefghij .,!?\n", min_size=1, max_size=30),
        st.text(alphabet="x", min_size=50, max_size=700),  # a very long word
        NASTY,
    ),
    max_size=80,
).map(" ".join)


# -- the checker itself -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "plain text",
        "<b>bold</b> &amp; &lt;tag&gt; &quot;q&quot; &#39; &#x1F600;",
        '[1] <a href="https://x.example/a?b=1&amp;c=2">Title</a> — Site, 2026-03-02',
        "<blockquote expandable>quote <i>it</i></blockquote>",
        '<span class="tg-spoiler">s</span> <pre><code class="language-py">x</code></pre>',
    ],
)
def test_checker_accepts_valid_telegram_html(message: str) -> None:
    check_html(message)


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ("a < b", "unescaped '<'"),
        ("a > b", "unescaped '>'"),
        ("Fish & chips", "unescaped '&'"),
        ("&nbsp;", "unescaped '&'"),
        ("<b>open", "unclosed"),
        ("<b><i>x</b></i>", "unbalanced"),
        ("<script>x</script>", "unsupported tag"),
        ("<div>x</div>", "unsupported tag"),
        ('<a href="javascript:alert(1)">x</a>', "not an http"),
        ('<a href="https://x" onclick="y">x</a>', "attribute"),
        ("<blockquote><blockquote>x</blockquote></blockquote>", "inside"),
        ('<a href="https://x"><a href="https://y">x</a></a>', "inside"),
        ("<code><b>x</b></code>", "inside"),
        ("&#xD800;", "not a character"),
        ("<b></b>   ", "empty"),
        ("x" * 4097, "4097"),
        ("\ud800", "surrogate"),
    ],
)
def test_checker_refuses_what_telegram_refuses(message: str, problem: str) -> None:
    with pytest.raises(TelegramHTMLError, match=re.escape(problem)):
        check_html(message)


# -- cleaning -------------------------------------------------------------------------------------


@FUZZ
@given(HOSTILE_TEXT)
def test_clean_text_leaves_no_invisible_or_unstorable_characters(raw: str) -> None:
    out = clean_text(raw)
    out.encode("utf-8")  # no lone surrogate: SQLite, JSON and Telegram all need UTF-8
    assert not re.search("[\u200b-\u200d\u2060\ufeff\u202a-\u202e\u2066-\u2069]", out)
    assert clean_text(out) == out
    assert "\n" not in clean_inline(raw) and clean_inline(clean_inline(raw)) == clean_inline(raw)


def test_rtl_text_stays_but_overrides_go() -> None:
    assert clean_text("שלום \u200fעולם") == "שלום \u200fעולם"  # a right-to-left mark is kept
    assert clean_text("invoice \u202egpj.exe") == "invoice gpj.exe"  # an override is not


@FUZZ
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["<p>", "</p>", "<br>", "<li>", "<div>", "</div>", "<b>", "</b>"]),
            st.just("<script>SECRETSCRIPT</script>"),
            st.just("<style>SECRETSTYLE</style>"),
            HOSTILE_TEXT.map(html.escape),  # text as it is written in HTML (escaped)
        ),
        max_size=30,
    )
)
def test_html_fragments_become_clean_text_without_hidden_content(parts: list[str]) -> None:
    text = html_fragment_to_text("".join(parts))
    assert clean_text(text) == text
    assert "SECRETSCRIPT" not in text and "SECRETSTYLE" not in text
    for part in parts:  # every visible word is kept
        if not part.startswith("<"):
            for word in clean_text(html.unescape(part)).split():
                assert word in text


@FUZZ
@given(st.one_of(HOSTILE_TEXT, st.builds("https://x.example/{}".format, HOSTILE_TEXT)))
def test_canonical_urls_are_storable_http_urls(raw: str) -> None:
    url = canonical_url(raw)
    if url is not None:
        url.encode("utf-8")
        assert re.match(r"https?://[^\s/]", url)
        assert not re.search(r"[\x00-\x1f\x7f-\x9f\u200b-\u200d\u202a-\u202e\u2066-\u2069]", url)
        assert canonical_url(url) == url


# -- loaders: any bytes in, only Articles or SourceErrors out, and every Article storable ---------


def _record(text: str, title: str, url: str) -> dict[str, str]:
    return {"id": title[:20], "title": title, "text": text, "url": url, "site": title[::-1]}


DOCUMENTS = st.one_of(
    st.binary(max_size=300).map(lambda b: (".txt", b)),
    st.tuples(HOSTILE_TEXT, PROSE).map(lambda t: (".txt", f"Title: {t[0]}\n\n{t[1]}")),
    st.tuples(HOSTILE_TEXT, PROSE).map(lambda t: (".md", f"---\ntitle: {t[0]}\n---\n# H\n{t[1]}")),
    st.tuples(HOSTILE_TEXT, PROSE).map(
        lambda t: (".html", f"<html><head><title>{t[0]}</title></head><body><p>{t[1]}</p>")
    ),
    st.lists(st.builds(_record, PROSE, HOSTILE_TEXT, HOSTILE_TEXT), max_size=3).map(
        lambda rs: (".jsonl", "\n".join(json.dumps(r) for r in rs))
    ),
    st.builds(_record, PROSE, HOSTILE_TEXT, HOSTILE_TEXT).map(lambda r: (".json", json.dumps(r))),
    st.tuples(HOSTILE_TEXT, PROSE).map(
        lambda t: (
            ".rss",
            "<?xml version='1.0'?><rss><channel><title>Feed</title><item>"
            f"<title>{t[0]}</title><link>http://127.0.0.1:9/x</link>"
            f"<description><![CDATA[{t[1]}]]></description></item></channel></rss>",
        )
    ),
)


def check_storable(article: Article, catalog: Catalog) -> None:
    """The invariants every loaded article must meet, then a real write to the catalog."""
    assert article.id and article.title and article.text.strip()
    assert clean_text(article.text) == article.text
    assert "\n" not in article.title
    assert article.url is None or article.url.startswith(("http://", "https://"))
    chunks = Chunker(300, 50).split(article)
    catalog.put_pending(article, chunks)
    stored = catalog.get(article.id)
    assert stored is not None and stored.article.text == article.text


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=DOCUMENTS)
def test_loaders_never_crash_and_articles_are_storable(
    tmp_path_factory: pytest.TempPathFactory, document: tuple[str, str | bytes]
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    suffix, content = document
    path = folder / f"doc{suffix}"
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8", "surrogatepass"))
    else:
        path.write_bytes(content)
    settings_ = Settings(_env_file=None, data_dir=folder / "data")  # type: ignore[call-arg]
    catalog = Catalog(folder / "catalog.sqlite3")
    try:
        for item in load_sources([str(path)], settings_, allow_private_addresses=False):
            if isinstance(item, Article):
                check_storable(item, catalog)
            else:
                assert not item.reason.startswith("unexpected error"), item
                str(item).encode("utf-8")
    finally:
        catalog.close()


def test_file_names_that_are_not_utf8_are_loaded(tmp_path: Path, settings: Settings) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    Path(os.fsdecode(bytes(folder) + b"/caf\xe9.txt")).write_bytes(b"Title: Cafe\n\nThe cafe.\n")
    [article] = load_sources([str(folder)], settings)
    assert isinstance(article, Article), article
    catalog = Catalog(tmp_path / "c.sqlite3")
    check_storable(article, catalog)
    catalog.close()
    assert article.source is not None and "caf\ufffd.txt" in article.source


# -- chunking ----------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(text=PROSE, size=st.integers(100, 700), share=st.floats(0.0, 0.9))
def test_chunks_slice_back_cover_everything_and_fit(text: str, size: int, share: float) -> None:
    text = clean_text(text)
    if not text:
        return
    article = Article(id="a", title="t", text=text)
    chunker = Chunker(size, int(size * share))
    chunks = chunker.split(article)
    assert [c.position for c in chunks] == list(range(len(chunks)))
    covered = [False] * len(text)
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text  # offsets slice back to the quote
        assert chunk.text.strip() and chunk.text == chunk.text.strip()  # never empty
        assert len(chunk.text) <= size  # never oversized
        covered[chunk.start : chunk.end] = [True] * (chunk.end - chunk.start)
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)
    missed = "".join(ch for ch, hit in zip(text, covered, strict=True) if not hit)
    assert not missed.strip(), f"text outside every chunk: {missed[:80]!r}"


# -- Telegram rendering ------------------------------------------------------------------------

URLS = st.one_of(
    st.none(),
    st.sampled_from(
        ["https://x.example/a?b=1&c=<2>", "javascript:alert(1)", '"x', "tg://resolve", "ftp://a"]
    ),
    st.builds("https://x.example/{}".format, HOSTILE_TEXT),
    st.builds(lambda n: "https://x.example/" + "a&" * n, st.integers(0, 3000)),
)


def make_article(n: int, title: str, text: str, url: str | None, site: str) -> Article:
    return Article(f"a{n}", title, text, url, site, published=date(2026, 3, n % 28 + 1))


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    """An answer whose citations quote hostile article text (as a broken answerer might)."""
    citations = []
    for n in range(1, draw(st.integers(0, 5)) + 1):
        text = draw(st.one_of(HOSTILE_TEXT, PROSE)) or "x"
        title, site, url = draw(HOSTILE_TEXT), draw(HOSTILE_TEXT), draw(URLS)
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, len(text)))
        article = make_article(n, title, text, url, site)
        citations.append(Citation(n, article, text[start:end], start, end))
    text = draw(st.one_of(HOSTILE_TEXT, PROSE, PROSE.map(lambda p: p * 30)))
    return Answer(text, tuple(citations), bool(citations), "q")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer=answers())
def test_rendered_answers_are_valid_telegram_html(answer: Answer) -> None:
    messages = render_html(answer)
    assert messages
    for message in messages:
        check_html(message)
    for message in render_plain(answer):
        check_plain(message)


@FUZZ
@given(text=st.one_of(HOSTILE_TEXT, PROSE.map(lambda p: p * 40)))
def test_plain_text_splits_into_sendable_messages(text: str) -> None:
    if not text.strip():
        return
    for message in split_plain(text):
        check_plain(message)


@FUZZ
@given(
    rows=st.lists(st.tuples(HOSTILE_TEXT, HOSTILE_TEXT, URLS), min_size=1, max_size=12),
    page=st.integers(-1, 3),
)
def test_sources_pages_are_valid_telegram_html(
    rows: list[tuple[str, str, str | None]], page: int
) -> None:
    stored = [
        StoredArticle(make_article(n, t or "t", "x", u, s), "h", True, 1)
        for n, (t, s, u) in enumerate(rows)
    ]
    text, _ = sources_page_view(stored, page)
    check_html(text)


# -- follow-up rewriting and citation markers ------------------------------------------------------

QUESTIONS = st.one_of(
    HOSTILE_TEXT,
    st.sampled_from(["How much did it cost?", "When?", "And the Corvane plant?", "Who said that"]),
)


@FUZZ
@given(
    question=QUESTIONS,
    history=st.lists(st.builds(Turn, QUESTIONS, st.one_of(HOSTILE_TEXT, PROSE)), max_size=4),
)
def test_follow_up_keeps_the_users_words_and_is_stable(question: str, history: list[Turn]) -> None:
    standalone = follow_up(question, history, LEXICON).standalone
    # The user's words stay (a pronoun may give way to the subject, a part of a name to
    # the name); reading the result again changes nothing.
    assert set(stems(question)) <= set(stems(standalone)), (question, standalone)
    if not history:
        assert standalone == question.strip()
    assert follow_up(standalone, history, LEXICON).standalone == standalone
    names = 3 * max(len(n) for n in ("Sallow Street Bridge", "Eastmere County Council"))
    told = sum(len(t.question) + len(t.answer) for t in history)
    assert len(standalone) <= len(question) + told + names


MARKERS = st.builds(
    lambda numbers, sep, space: f"{space}[{sep.join(numbers)}]",
    st.lists(
        st.one_of(
            st.integers(0, 120).map(str),
            st.tuples(st.integers(0, 9), st.integers(0, 40)).map(lambda r: f"{r[0]}-{r[1]}"),
        ),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from([",", ", ", ";", " ; "]),
    st.sampled_from(["", " ", "\n"]),
)


@FUZZ
@given(
    text=st.lists(st.one_of(HOSTILE_TEXT, MARKERS), max_size=20).map("".join),
    mapping=st.dictionaries(st.integers(0, 30), st.integers(1, 5), max_size=6),
)
def test_renumbered_markers_only_name_kept_citations(text: str, mapping: dict[int, int]) -> None:
    out = renumber_markers(text, mapping)
    for match in MARKER.finditer(out):
        numbers = marker_numbers(match.group(2))
        assert set(numbers) <= set(mapping.values()), (match.group(0), out)


@FUZZ
@given(MARKERS)
def test_marker_numbers_are_bounded(marker: str) -> None:
    match = MARKER.fullmatch(marker.strip())
    assert match is not None
    numbers = marker_numbers(match.group(2))
    assert 0 < len(numbers) <= 21 * (marker.count(",") + marker.count(";") + 1)
    assert len(set(numbers)) == len(numbers)


@pytest.mark.parametrize(
    ("text", "numbers", "expected"),
    [
        ("See [[9]2] now [2].", {2: 1}, "See (2) now [1]."),
        ("x [[9] 7]", {}, "x ( 7)"),
        ("A [3][1] and [1-2].", {1: 1, 3: 2}, "A [2][1] and [1]."),
    ],
)
def test_dropping_a_marker_never_glues_a_new_one(
    text: str, numbers: dict[int, int], expected: str
) -> None:
    assert renumber_markers(text, numbers) == expected
