"""load_sources end to end: files, directories, URLs and feeds, and one clear line per failure."""

from __future__ import annotations

import codecs
from datetime import date
from pathlib import Path

import pytest

from bot.settings import Settings
from ingest.sources import load_path, load_sources, load_url
from retrieval.errors import SourceError
from retrieval.types import Article
from tests.fakes import http_server
from tests.fakes.http_server import ARTICLE_PARAGRAPHS, SECOND_PARAGRAPHS, ArticleServer

article_server = http_server.article_server  # the fixture

Result = Article | SourceError


def shown(results: list[Result]) -> list[str]:
    """Articles by id, errors by their message: one comparable line each."""
    return [r.id if isinstance(r, Article) else f"ERROR {r}" for r in results]


def only_error(results: list[Result]) -> str:
    (result,) = results
    assert isinstance(result, SourceError), result
    return str(result)


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


# --- files and directories --------------------------------------------------------------


def test_directory_is_recursive_sorted_and_skips_hidden(tmp_path: Path, settings: Settings) -> None:
    write(tmp_path / "b.txt", "Bravo\n\nSecond.")
    write(tmp_path / "a.md", "# Alpha\n\nFirst.")
    write(tmp_path / "sub" / "c.json", '{"text": "Charlie."}')
    write(tmp_path / "notes.csv", "ignored,because,unsupported")
    write(tmp_path / ".git" / "x.txt", "hidden dir")
    write(tmp_path / ".draft.txt", "hidden file")
    results = list(load_sources([str(tmp_path)], settings))
    assert [r.title for r in results if isinstance(r, Article)] == ["Alpha", "Bravo", "Charlie."]
    assert len(results) == 3


def test_pattern_filters_directory(tmp_path: Path, settings: Settings) -> None:
    write(tmp_path / "a.md", "# Alpha\n\nFirst.")
    write(tmp_path / "deep" / "b.md", "# Bravo\n\nSecond.")
    write(tmp_path / "c.txt", "Charlie\n\nThird.")
    results = list(load_sources([str(tmp_path)], settings, pattern="*.md"))
    assert [r.title for r in results if isinstance(r, Article)] == ["Alpha", "Bravo"]
    deep_only = list(load_sources([str(tmp_path)], settings, pattern="deep/*"))
    assert [r.title for r in deep_only if isinstance(r, Article)] == ["Bravo"]


def test_directory_without_supported_files(tmp_path: Path, settings: Settings) -> None:
    write(tmp_path / "photo.jpg", b"\xff\xd8\xff")
    assert only_error(list(load_sources([str(tmp_path)], settings))).startswith(
        f"{tmp_path}: no supported files in this directory (.txt, .md"
    )
    write(tmp_path / "a.txt", "A\n\nText.")
    assert only_error(list(load_sources([str(tmp_path)], settings, pattern="*.md"))).startswith(
        f"{tmp_path}: no supported files matching '*.md' in this directory"
    )


def test_bad_file_in_directory_does_not_stop_the_rest(tmp_path: Path, settings: Settings) -> None:
    write(tmp_path / "a.txt", "Alpha\n\nFirst.")
    bad = write(tmp_path / "b.txt", b"\x00\x01binary")
    write(tmp_path / "c.txt", "Charlie\n\nThird.")
    assert shown(list(load_sources([str(tmp_path)], settings))) == [
        (tmp_path / "a.txt").resolve().as_uri(),
        f"ERROR {bad}: binary file, not text",
        (tmp_path / "c.txt").resolve().as_uri(),
    ]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\t\n\n", "empty file"),
        ("nul.txt", b"Title\x00\x00\x00more", "binary file, not text"),
        ("noise.json", bytes(range(1, 32)) * 20, "binary file, not text"),
        ("latin1.txt", "Café society\n\nNaïve text.".encode("latin-1"), "not valid UTF-8"),
        ("latin1.html", "<p>Café</p>".encode("latin-1"), "not valid UTF-8"),
        (
            "lying.html",
            '<meta charset="utf-8"><p>Café</p>'.encode("latin-1"),
            "not valid utf-8, the charset it declares (save it as UTF-8)",
        ),
        ("report.pdf", b"%PDF-1.7", "corrupt or unreadable PDF"),
        ("slides.pptx", b"PK", "unsupported file type '.pptx' (supported: .txt, .md"),
        ("README", b"text", "unsupported file type (no extension)"),
    ],
)
def test_bad_files(tmp_path: Path, settings: Settings, name: str, data: bytes, reason: str) -> None:
    path = write(tmp_path / name, data)
    assert only_error(list(load_sources([str(path)], settings))).startswith(f"{path}: {reason}")


def test_latin1_text_says_how_to_fix_it(tmp_path: Path, settings: Settings) -> None:
    path = write(tmp_path / "old.txt", "Title\n\nline two\nCaf\xe9".encode("latin-1"))
    assert only_error(list(load_sources([str(path)], settings))) == (
        f"{path}: not valid UTF-8 (save it as UTF-8); first bad byte on line 4"
    )


def test_utf8_and_utf16_byte_order_marks(tmp_path: Path, settings: Settings) -> None:
    utf8 = write(tmp_path / "a.txt", codecs.BOM_UTF8 + "Title: Ærø\n\nText.".encode())
    utf16 = write(tmp_path / "b.txt", "Ærø\n\nText.".encode("utf-16"))
    results = list(load_sources([str(utf8), str(utf16)], settings))
    assert [r.title if isinstance(r, Article) else str(r) for r in results] == ["Ærø", "Ærø"]


def test_file_over_the_size_cap(tmp_path: Path, settings: Settings) -> None:
    small = settings.model_copy(update={"max_article_bytes": 1_000})
    path = write(tmp_path / "long.txt", "Long\n\n" + "word " * 400)
    assert only_error(list(load_sources([str(path)], small))) == f"{path}: larger than 1 kB"


def test_missing_paths(tmp_path: Path, settings: Settings) -> None:
    missing = str(tmp_path / "nope.txt")
    results = list(load_sources([missing, "www.gazette.example/ferry", " "], settings))
    assert shown(results) == [
        f"ERROR {missing}: no such file or directory",
        "ERROR www.gazette.example/ferry: no such file or directory "
        "(for a web page write https://www.gazette.example/ferry)",
        "ERROR ' ': empty source (expected a path or a URL)",
    ]


def test_unexpected_failure_becomes_a_source_error_and_the_rest_go_on(
    tmp_path: Path, settings: Settings
) -> None:
    # Nothing of ours expects a NUL in a path: the OS layer raises ValueError, which only
    # the per-source boundary catches (no function of ours is replaced to provoke it).
    broken = f"{tmp_path}/a\x00b.txt"
    good = write(tmp_path / "b.md", "# B\n\nText.")
    results = list(load_sources([broken, str(good)], settings))
    assert shown(results) == [
        f"ERROR {broken}: unexpected error: ValueError: embedded null byte",
        good.resolve().as_uri(),
    ]


# --- URLs ---------------------------------------------------------------------------------


def test_article_url(settings: Settings, article_server: ArticleServer) -> None:
    url = article_server.url("/article/harbor-ferry?utm_source=chat#comments")
    (article,) = load_url(url, settings, allow_private_typed=True)
    assert isinstance(article, Article)
    assert article.id == article_server.url("/article/harbor-ferry")
    assert article.url == article.id
    assert article.title == "Harbor Town Opens New Ferry Line"
    assert article.text == "\n\n".join(ARTICLE_PARAGRAPHS)
    assert (article.site, article.author, article.published) == (
        "The Coastal Gazette",
        "Mara Quill",
        date(2026, 3, 4),
    )
    assert article.source == url


def test_offsite_canonical_is_not_trusted(
    settings: Settings, article_server: ArticleServer
) -> None:
    url = article_server.url("/article/offsite-canonical")
    (article,) = load_url(url, settings, allow_private_typed=True)
    assert isinstance(article, Article)
    assert article.id == url


def test_redirected_url_gets_the_final_id(
    settings: Settings, article_server: ArticleServer
) -> None:
    (article,) = load_url(article_server.url("/redirect/2"), settings, allow_private_typed=True)
    assert isinstance(article, Article)
    assert article.id == article_server.url("/article/harbor-ferry")


def test_charset_from_header(settings: Settings, article_server: ArticleServer) -> None:
    (article,) = load_url(article_server.url("/article/latin1"), settings, allow_private_typed=True)
    assert isinstance(article, Article)
    assert article.title == "Café Owners Celebrate"


def test_plain_text_url(settings: Settings, article_server: ArticleServer) -> None:
    (article,) = load_url(article_server.url("/plain"), settings, allow_private_typed=True)
    assert isinstance(article, Article)
    assert (article.title, article.author, article.text) == (
        "Plain Dispatch",
        "Ivo Lund",
        "A plain text report.",
    )
    assert article.site == "127.0.0.1"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/status/404", "HTTP 404 Not Found"),
        ("/status/500", "HTTP 500 Internal Server Error"),
        ("/nav-only", "no article text found (only 4 characters)"),
        ("/binary", "binary content (application/octet-stream), not text"),
        (
            "/image.png",
            "unsupported content type 'image/png' "
            "(not an HTML page, RSS/Atom feed, PDF or Word file)",
        ),
        ("/report.pdf", "corrupt or unreadable PDF"),  # a PDF header and nothing else
        ("/bad-feed", "malformed feed: no element found (line 1, column"),
    ],
)
def test_bad_urls(
    settings: Settings, article_server: ArticleServer, path: str, reason: str
) -> None:
    url = article_server.url(path)
    assert only_error(list(load_url(url, settings, allow_private_typed=True))).startswith(
        f"{url}: {reason}"
    )


def test_url_timeout_message(settings: Settings, article_server: ArticleServer) -> None:
    quick = settings.model_copy(update={"fetch_timeout": 0.3})
    url = article_server.url("/slow")
    assert (
        only_error(list(load_url(url, quick, allow_private_typed=True)))
        == f"{url}: timed out after 0.3 s"
    )


def test_unsupported_scheme(settings: Settings) -> None:
    results = list(load_sources(["ftp://files.example/a.txt"], settings))
    assert only_error(results) == "ftp://files.example/a.txt: unsupported scheme 'ftp'"


def test_private_addresses_are_refused_by_default(
    settings: Settings, article_server: ArticleServer
) -> None:
    url = article_server.url("/feed.rss")
    results = list(load_sources([url], settings))
    assert only_error(results) == (
        f"{url}: refused: '127.0.0.1' is a private or reserved address (127.0.0.1)"
    )


# --- feeds --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/feed.rss", "/feed-as-xml", "/feed-octet"])
def test_rss_feed(settings: Settings, article_server: ArticleServer, path: str) -> None:
    feed_url = article_server.url(path)
    harbor, lighthouse, vanished, tides = load_url(feed_url, settings, allow_private_typed=True)
    assert isinstance(harbor, Article)
    assert harbor.id == article_server.url("/article/harbor-ferry")
    assert harbor.text == "\n\n".join(ARTICLE_PARAGRAPHS)  # the page, not the teaser
    assert harbor.published == date(2026, 3, 4)  # the feed's date, in its own time zone
    assert harbor.source == feed_url

    assert isinstance(lighthouse, Article)  # page 404: the entry's summary instead
    assert lighthouse.id == article_server.url("/missing/lighthouse")
    assert lighthouse.text == (
        "After thirty years the keeper of the north light retires.\n\nA party is planned."
    )
    assert (lighthouse.site, lighthouse.author, lighthouse.published) == (
        "The Coastal Gazette",
        "Ola Berg",
        date(2026, 3, 3),
    )

    vanished_url = article_server.url("/missing/vanished")
    assert str(vanished) == (
        f"{vanished_url}: HTTP 404 Not Found, and the entry has no content or summary"
    )

    assert isinstance(tides, Article)  # no link: its own content, id from the guid
    assert (tides.id, tides.title, tides.url) == (
        "gazette-tides-2026",
        "Tide Table Changes",
        None,
    )
    assert (
        tides.text
        == "The spring tide tables change on Monday.\n\nCheck the new times before sailing."
    )


def test_atom_feed(settings: Settings, article_server: ArticleServer) -> None:
    rail, market = load_url(article_server.url("/atom.xml"), settings, allow_private_typed=True)
    assert isinstance(rail, Article) and isinstance(market, Article)
    assert rail.id == article_server.url("/article/mountain-rail")
    assert rail.text == "\n\n".join(SECOND_PARAGRAPHS)
    assert (rail.site, rail.author, rail.published) == (
        "Valley Courier",  # the page names no site: the feed's title
        "Mara Quill",  # the page's author wins over the entry's
        date(2026, 3, 6),
    )
    assert (market.id, market.text) == ("urn:market", "Market day moves to Thursday this spring.")


def test_feed_file_fetches_linked_pages(
    tmp_path: Path, settings: Settings, article_server: ArticleServer
) -> None:
    feed = write(tmp_path / "saved.rss", article_server.rss_feed())
    results = list(load_path(feed, settings, allow_private_addresses=True))
    assert shown(results)[0] == article_server.url("/article/harbor-ferry")
    assert len(results) == 4
    assert all(r.source == str(feed.resolve()) for r in results if isinstance(r, Article))


def test_sources_keep_going_after_failures(
    tmp_path: Path, settings: Settings, article_server: ArticleServer
) -> None:
    good = write(tmp_path / "good.txt", "Good\n\nText.")
    results = list(
        load_sources(
            [
                str(tmp_path / "missing.md"),
                article_server.url("/status/404"),
                str(good),
                article_server.url("/article/harbor-ferry"),
            ],
            settings,
            allow_private_typed=True,
        )
    )
    assert [type(r).__name__ for r in results] == [
        "SourceError",
        "SourceError",
        "Article",
        "Article",
    ]
