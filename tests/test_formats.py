"""Per-format parsing and the shared metadata rules (ids, URLs, dates, sites, titles)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from bot.settings import Settings
from ingest.formats import canonical_url, parse_date, title_from_text
from ingest.formats_text import inline_to_text
from ingest.formats_web import html_fragment_to_text
from ingest.sources import load_sources
from retrieval.errors import SourceError
from retrieval.news.scope import domain_of
from retrieval.types import Article
from tests.conftest import SHARED_DATA
from tests.fakes.http_server import ARTICLE_PARAGRAPHS, article_html

REAL_ARTICLE = SHARED_DATA / "articles" / "iraq-pm-us-troops-baghdad-strike.txt"


def load(path: Path, settings: Settings) -> list[Article | SourceError]:
    return list(load_sources([str(path)], settings))


def load_one(path: Path, settings: Settings) -> Article:
    (result,) = load(path, settings)
    assert isinstance(result, Article), str(result)
    return result


def error_of(path: Path, settings: Settings) -> str:
    (result,) = load(path, settings)
    assert isinstance(result, SourceError), result
    return str(result)


# --- metadata rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-04", date(2026, 3, 4)),
        ("2026-03-04T23:10:00+02:00", date(2026, 3, 4)),
        ("2026-03-04T10:00:00Z", date(2026, 3, 4)),
        ("Wed, 04 Mar 2026 23:30:00 -0500", date(2026, 3, 4)),
        ("Wed, 04 Mar 2026 10:00:00 GMT", date(2026, 3, 4)),
        ("March 4, 2026", date(2026, 3, 4)),
        ("Mar. 4, 2026", date(2026, 3, 4)),
        ("4 March 2026", date(2026, 3, 4)),
        (date(2026, 3, 4), date(2026, 3, 4)),
        ("2026-02-30", None),
        ("last Tuesday", None),
        ("", None),
        (None, None),
        (20260304, None),
    ],
)
def test_parse_date(value: object, expected: date | None) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://WWW.Example.COM/News/A?id=3#top", "https://www.example.com/News/A?id=3"),
        (
            "https://example.com/a?utm_source=x&b=2&UTM_Medium=y&fbclid=1&gclid=2",
            "https://example.com/a?b=2",
        ),
        ("http://example.com:80", "http://example.com/"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://user:secret@example.com/a", "https://example.com/a"),
        ("https://example.com/a?q=hello%20world", "https://example.com/a?q=hello%20world"),
        ("ftp://example.com/a", None),
        ("/relative/path", None),
        ("", None),
        (None, None),
    ],
)
def test_canonical_url(url: str | None, expected: str | None) -> None:
    assert canonical_url(url) == expected


def test_site_from_url_drops_www() -> None:
    assert domain_of("https://www.coastal.example/a") == "coastal.example"
    assert domain_of(None) is None


def test_title_from_long_first_line_is_its_first_sentence() -> None:
    line = "The ferry opened on Tuesday. " + "More words follow here. " * 10
    assert title_from_text(line + "\nrest") == "The ferry opened on Tuesday."
    no_stop = "word " * 60
    title = title_from_text(no_stop)
    assert title.endswith("…") and len(title) <= 151


# --- .txt -------------------------------------------------------------------------------


def test_txt_with_header(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "ferry.txt"
    path.write_text(
        "Title: Harbor Ferry Opens\nSite: The Coastal Gazette\nDate: March 4, 2026\n"
        "Author: Mara Quill\nURL: https://WWW.Gazette.example/ferry?utm_source=x#c\n\n"
        "First paragraph.\n\n\n\nSecond   paragraph.\n",
        encoding="utf-8",
    )
    article = load_one(path, settings)
    assert article.title == "Harbor Ferry Opens"
    assert article.text == "First paragraph.\n\nSecond paragraph."
    assert article.url == "https://www.gazette.example/ferry"
    assert article.id == article.url
    assert article.site == "The Coastal Gazette"
    assert article.author == "Mara Quill"
    assert article.published == date(2026, 3, 4)
    assert article.source == str(path.resolve())


def test_txt_without_header_first_line_is_title(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "note.txt"
    path.write_text("\n  Update: the ferry is late\n\nIt left at noon.\n", encoding="utf-8")
    article = load_one(path, settings)
    assert article.title == "Update: the ferry is late"
    assert article.text == "It left at noon."
    assert article.id == path.resolve().as_uri()
    assert article.url is None and article.site is None and article.published is None


@pytest.mark.shared_data
def test_real_article_loads(settings: Settings) -> None:
    article = load_one(REAL_ARTICLE, settings)
    assert article.title.startswith("Iraq’s prime minister seeks to end US troop presence")
    assert "Harakat-al-Nujaba" in article.text
    assert "\n\n" in article.text and "\n\n\n" not in article.text
    assert article.id == REAL_ARTICLE.resolve().as_uri()


# --- Markdown ---------------------------------------------------------------------------


def test_markdown_front_matter_and_plain_text(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "rail.md"
    path.write_text(
        "---\ntitle: Mountain Railway Reaches Alder\npublished: 2026-03-06\n"
        "Author: Pia Stone\nsite: Valley Courier\ntags: [rail, alder]\n---\n"
        "# Mountain Railway Reaches Alder\n\n"
        "The **new** line has *three* tunnels, see [the map](https://x.example/m_(1)).\n"
        "![viaduct](viaduct.jpg)\n\n"
        "## Building it\n\n> It took six years.\n\n* granite\n* snow_fall_totals\n\n"
        "```\nkm  = 12 * 2\n```\n\nEscaped \\*stars\\* and `code **kept**`.\n",
        encoding="utf-8",
    )
    article = load_one(path, settings)
    assert article.title == "Mountain Railway Reaches Alder"
    assert article.published == date(2026, 3, 6)
    assert article.author == "Pia Stone"
    assert article.site == "Valley Courier"
    assert article.text == (
        "The new line has three tunnels, see the map.\n\n"
        "Building it\n\nIt took six years.\n\n- granite\n- snow_fall_totals\n\n"
        "km = 12 * 2\n\nEscaped *stars* and code **kept**."
    )


def test_markdown_title_from_heading_and_setext(tmp_path: Path, settings: Settings) -> None:
    atx = tmp_path / "a.md"
    atx.write_text("# Tide Tables Change\n\nCheck the times.\n", encoding="utf-8")
    assert (load_one(atx, settings).title, load_one(atx, settings).text) == (
        "Tide Tables Change",
        "Check the times.",
    )
    setext = tmp_path / "b.md"
    setext.write_text("Tide Tables Change\n==================\n\nCheck.\n", encoding="utf-8")
    assert load_one(setext, settings).title == "Tide Tables Change"
    assert load_one(setext, settings).text == "Check."


def test_markdown_without_title_uses_first_line(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "c.md"
    path.write_text("Just a *short* note.\n\nMore.\n", encoding="utf-8")
    article = load_one(path, settings)
    assert article.title == "Just a short note."
    assert article.text == "Just a short note.\n\nMore."


def test_markdown_invalid_front_matter(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "bad.md"
    path.write_text("---\ntitle: [unclosed\n---\nBody\n", encoding="utf-8")
    assert error_of(path, settings).startswith(f"{path}: invalid YAML front matter")


def test_markdown_front_matter_ignores_non_scalars(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "alias.md"
    path.write_text(
        "---\na: &a [x, x, x]\nb: &b [*a, *a, *a]\ntitle: *b\n---\nBody text.\n", encoding="utf-8"
    )
    assert load_one(path, settings).title == "Body text."


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        ("[a](u) and [b][ref]", "a and b"),
        ("<https://x.example/a>", "https://x.example/a"),
        ("2*3*4 and a_b_c", "2*3*4 and a_b_c"),
        ("***both***", "both"),
        ("~~gone~~ <sup>1</sup>", "gone 1"),
    ],
)
def test_inline_markdown(markdown: str, text: str) -> None:
    assert inline_to_text(markdown) == text


# --- HTML -------------------------------------------------------------------------------


def test_html_file_metadata(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "ferry.html"
    html = article_html(
        "Harbor Town Opens New Ferry Line",
        ARTICLE_PARAGRAPHS,
        canonical="https://WWW.gazette.example/ferry?utm_campaign=z",
    )
    path.write_text(html, encoding="utf-8")
    article = load_one(path, settings)
    assert article.title == "Harbor Town Opens New Ferry Line"
    assert article.text == "\n\n".join(ARTICLE_PARAGRAPHS)
    assert article.author == "Mara Quill"
    assert article.site == "The Coastal Gazette"
    assert article.published == date(2026, 3, 4)
    assert article.url == "https://www.gazette.example/ferry"
    assert article.id == article.url


def test_html_without_url_gets_file_id(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "ferry.htm"
    path.write_text(article_html("Ferry", ARTICLE_PARAGRAPHS, site=None), encoding="utf-8")
    article = load_one(path, settings)
    assert article.id == path.resolve().as_uri()
    assert article.url is None and article.site is None


def test_html_honours_meta_charset(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "cafe.html"
    html = article_html("Café Owners Celebrate", ARTICLE_PARAGRAPHS)
    path.write_bytes(html.replace("utf-8", "iso-8859-1").encode("latin-1"))
    assert load_one(path, settings).title == "Café Owners Celebrate"


def test_html_without_article_text(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "nav.html"
    path.write_text("<html><body><nav><a href='/'>Home</a></nav></body></html>", encoding="utf-8")
    assert error_of(path, settings).startswith(f"{path}: no article text found")


def test_html_fragment_to_text() -> None:
    fragment = (
        "<p>After <b>thirty</b>\nyears.</p><ul><li>one</li><li>two</li></ul>"
        "x<br>y<script>z</script>"
    )
    assert html_fragment_to_text(fragment) == "After thirty years.\n\n- one\n- two\n\nx\ny"


# --- JSON and JSONL ---------------------------------------------------------------------


def test_jsonl_records_and_bad_lines(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "export.jsonl"
    lines = [
        json.dumps({"title": "One", "text": "First record.", "published": "2026-03-01"}),
        "",
        "{not json",
        json.dumps({"id": "gazette-7", "text": "Has an id. And more."}),
        json.dumps(["a list"]),
        json.dumps({"title": "No text"}),
        json.dumps({"text": 42}),
        json.dumps({"text": "Linked.", "url": "https://www.x.example/a?utm_source=y"}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = load(path, settings)
    shown = [r.id if isinstance(r, Article) else str(r) for r in results]
    assert shown == [
        path.resolve().as_uri() + "#1",
        f"{path} line 3: invalid JSON: Expecting property name enclosed in double quotes"
        " (column 2)",
        "gazette-7",
        f"{path} line 5: expected a JSON object, got a list",
        f"{path} line 6: missing the required field 'text'",
        f"{path} line 7: 'text' must be a string, not a number",
        "https://www.x.example/a",
    ]
    first = results[0]
    assert isinstance(first, Article) and first.published == date(2026, 3, 1)
    third = results[2]
    assert isinstance(third, Article) and third.title == "Has an id. And more."


def test_json_object_and_list(tmp_path: Path, settings: Settings) -> None:
    single = tmp_path / "one.json"
    single.write_text(json.dumps({"title": "Solo", "text": "Alone."}), encoding="utf-8")
    assert load_one(single, settings).id == single.resolve().as_uri()
    many = tmp_path / "many.json"
    records = [{"text": "A."}, {"text": ""}, {"text": "C.", "site": "Gazette"}]
    many.write_text(json.dumps(records), encoding="utf-8")
    results = load(many, settings)
    assert [r.id if isinstance(r, Article) else str(r) for r in results] == [
        many.resolve().as_uri() + "#1",
        f"{many} item 2: 'text' is empty",
        many.resolve().as_uri() + "#3",
    ]


def test_malformed_json(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"text": "a",\n  "title": }', encoding="utf-8")
    assert error_of(path, settings) == (
        f"{path}: invalid JSON: Expecting value (line 2, column 12)"
    )


def test_deeply_nested_json_is_an_error_not_a_crash(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert "invalid JSON" in error_of(path, settings)


# --- feed files (entries without links need no network) --------------------------------


def test_atom_file_entries_without_links(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "courier.atom"
    path.write_text(
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Valley Courier'
        "</title><id>urn:c</id><updated>2026-03-05T10:00:00Z</updated>"
        "<entry><title>Market Day Moves</title><id>urn:market</id>"
        "<updated>2026-03-05T10:00:00Z</updated><author><name>Pia Stone</name></author>"
        '<content type="html">&lt;p&gt;Market day moves.&lt;/p&gt;&lt;p&gt;To Thursday.'
        "&lt;/p&gt;</content></entry>"
        "<entry><title>Empty</title><id>urn:empty</id></entry>"
        "<entry><title>Anonymous</title><summary>No id, no link.</summary></entry></feed>",
        encoding="utf-8",
    )
    market, empty, anonymous = load(path, settings)
    assert isinstance(market, Article)
    assert (market.id, market.title, market.text) == (
        "urn:market",
        "Market Day Moves",
        "Market day moves.\n\nTo Thursday.",
    )
    assert (market.site, market.author, market.published) == (
        "Valley Courier",
        "Pia Stone",
        date(2026, 3, 5),
    )
    assert str(empty) == (
        f'{path} entry 2 "Empty": no link, and the entry has no content or summary'
    )
    assert isinstance(anonymous, Article)
    assert anonymous.id == "sha256:" + anonymous.content_hash[:16]
    assert anonymous.text == "No id, no link."


def test_malformed_feed_file(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "broken.rss"
    path.write_text("this is not <xml", encoding="utf-8")
    assert error_of(path, settings).startswith(f"{path}: malformed feed: ")


def test_xml_that_is_not_a_feed(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "sitemap.xml"
    path.write_text('<?xml version="1.0"?><urlset><url>a</url></urlset>', encoding="utf-8")
    assert error_of(path, settings) == f"{path}: not an RSS or Atom feed"


def test_html_structure_becomes_paragraphs(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "structure.html"
    path.write_text(
        "<html><body><article><h1>Harbor Council Votes</h1>"
        f"<p>{ARTICLE_PARAGRAPHS[0]}</p>"
        "<blockquote><p>We listened.</p><p>We acted.</p></blockquote>"
        "<ul><li>Ferry<br>daily</li><li>Bus</li></ul>"
        "<table><tr><th>Route</th><th>Fare</th></tr><tr><td>Wend</td><td>3</td></tr></table>"
        "<p>Text with <b>bold</b> words.</p></article></body></html>",
        encoding="utf-8",
    )
    article = load_one(path, settings)
    assert article.title == "Harbor Council Votes"
    assert article.text == (
        f"{ARTICLE_PARAGRAPHS[0]}\n\nWe listened.\nWe acted.\n\n- Ferry\ndaily\n- Bus\n\n"
        "Route | Fare\nWend | 3\n\nText with bold words."
    )
