"""PDF and Word files as a user meets them: `articlebot ingest` of files, a directory and
URLs (a real server on 127.0.0.1), `ask` citing the page, and every bad file one line.

The documents are made in the test (tests/fakes/documents.py): fpdf2 and python-docx for
good ones, hand-written bytes for hostile ones.
"""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bot.cli.main import main
from bot.settings import Settings
from ingest.clean import clean_text
from ingest.extract import Extractor
from ingest.formats import Draft, Origin, finish_article
from ingest.formats_documents import DocumentLimits
from ingest.formats_web import DOCX_TYPE
from ingest.sources import load_sources
from retrieval.answer.citations import make_citation
from retrieval.errors import SourceError
from retrieval.types import Article
from tests.conftest import REPO_ROOT
from tests.fakes import documents as make
from tests.fakes import http_server
from tests.fakes.http_server import ArticleServer, Response

article_server = http_server.article_server  # the fixture

PAGES = [
    [
        "The Merrow Port Authority handled more cargo in 2025 than in any year before, "
        "its chair told the board on Monday. Container traffic rose by a fifth.",
        "Dredging of the outer channel finished in October, two months late.",
    ],
    [
        "The new ferry terminal at Gull Quay will open on 12 June, the port authority said. "
        "It replaces the wooden pier that storms damaged in 2024.",
        "Tickets for the first crossing go on sale in May.",
    ],
    [
        "Harbour dues stay unchanged for a third year. The authority expects a small "
        "surplus, which it will spend on the breakwater.",
    ],
]
REPORT_TITLE = "Merrow Port Authority annual report"
DOCX_PARAGRAPHS = [
    "The town council voted on Tuesday to keep the Sallow Street library open on Sundays.",
    "The extra hours cost 40,000 crowns a year, paid from the culture budget.",
]


def run(*args: str, data_dir: Path) -> Result:
    return CliRunner().invoke(main, ["--data-dir", str(data_dir), *args])


def report_pdf(**metadata: Any) -> bytes:
    values = {
        "title": REPORT_TITLE,
        "author": "Mara Quill",
        "created": datetime(2026, 3, 4, 9, 30, tzinfo=UTC),
        **metadata,
    }
    return make.make_pdf(PAGES, **values)


def listed(data_dir: Path) -> dict[str, dict[str, Any]]:
    result = run("list", "--json", data_dir=data_dir)
    assert result.exit_code == 0, result.output
    return {item["title"]: item for item in json.loads(result.stdout)}


# -- good files ---------------------------------------------------------------------------------


def test_ingest_a_pdf_then_ask_cites_the_page(tmp_path: Path) -> None:
    pdf = tmp_path / "annual-report.pdf"
    pdf.write_bytes(report_pdf())
    data = tmp_path / "d"
    result = run("ingest", str(pdf), "--json", data_dir=data)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["added"] == 1

    item = listed(data)[REPORT_TITLE]  # metadata: /Title, /Author, /CreationDate
    assert (item["author"], item["published"]) == ("Mara Quill", "2026-03-04")
    assert item["id"] == pdf.resolve().as_uri()

    question = "When will the new ferry terminal at Gull Quay open?"
    shown = run("ask", question, data_dir=data)
    assert shown.exit_code == 0, shown.output
    answer, sources = shown.stdout.split("\n\nSources:\n")
    assert "12 June" in answer
    assert f"[1] {REPORT_TITLE} — " in sources and ", p. 2" in sources.split("\n")[0]
    assert "\f" not in shown.stdout

    payload = json.loads(run("ask", question, "--json", data_dir=data).stdout)
    first = payload["citations"][0]
    assert first["page"] == 2 and "12 June" in first["quote"] and "\f" not in first["quote"]


def test_a_directory_of_mixed_files(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    (folder / "sub").mkdir(parents=True)
    (folder / "report.pdf").write_bytes(report_pdf())
    (folder / "untitled.pdf").write_bytes(make.make_pdf(PAGES[1:], title="Untitled"))
    # Encrypted against copying only (no password to open it), as many published PDFs are.
    (folder / "protected.pdf").write_bytes(
        make.make_pdf(PAGES[2:], title="Harbour dues unchanged", user_password="")
    )
    (folder / "library.docx").write_bytes(
        make.make_docx(
            DOCX_PARAGRAPHS,
            title="Library keeps Sunday hours",
            author="Ivo Brandt",
            created=datetime(2026, 2, 17, tzinfo=UTC),
            table=[["Day", "Hours"], ["Sunday", "10-16"]],
        )
    )
    (folder / "sub" / "headed.docx").write_bytes(
        make.make_docx(DOCX_PARAGRAPHS[1:], heading="Culture budget pays for the hours")
    )
    (folder / "sub" / "story.txt").write_text("Title: Ferry\n\nThe ferry ran late again.\n")
    (folder / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0 legacy Word, not supported")
    data = tmp_path / "d"
    result = run("ingest", str(folder), "--json", data_dir=data)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["added"], report["failed"]) == (6, 0)

    items = listed(data)
    library = items["Library keeps Sunday hours"]  # docx core properties
    assert (library["author"], library["published"]) == ("Ivo Brandt", "2026-02-17")
    # No usable title in the metadata ("Untitled"): the first line, as for text files.
    assert any(title.startswith("The new ferry terminal at Gull Quay") for title in items)
    assert "Culture budget pays for the hours" in items  # a .docx's leading heading
    assert {REPORT_TITLE, "Ferry", "Harbour dues unchanged"} <= set(items)


def test_word_paragraphs_in_content_controls_and_tables_are_stored(tmp_path: Path) -> None:
    doc = tmp_path / "library.docx"
    table = [["Day", "Hours"], ["Sun", "10"]]
    # In a content control, as templates have them (python-docx's own list skips them).
    # ... and with a tracked change: the text as it reads now (" from May" inserted).
    doc.write_bytes(
        make.make_docx(
            DOCX_PARAGRAPHS,
            title="Library",
            table=table,
            content_control=True,
            tracked=(" from May", " from April"),
        )
    )
    data = tmp_path / "d"
    assert run("ingest", str(doc), data_dir=data).exit_code == 0
    # Made from python-docx's blank template, never given a date: its 2013 date is not one.
    assert listed(data)["Library"]["published"] is None
    shown = run("ask", "How much do the extra library hours cost?", "--json", data_dir=data)
    payload = json.loads(shown.stdout)
    assert "40,000 crowns" in payload["answer"]
    [article] = list(load_sources([str(doc)], Settings(_env_file=None)))  # type: ignore[call-arg]
    assert isinstance(article, Article)
    assert article.text.endswith("culture budget. from May\n\nDay | Hours\nSun | 10")
    assert "April" not in article.text
    assert payload["citations"][0]["page"] is None  # Word has no fixed pages


def test_urls_by_content_type_with_the_suffix_as_fallback(
    tmp_path: Path, article_server: ArticleServer
) -> None:
    docx_bytes = make.make_docx(DOCX_PARAGRAPHS, title="Library keeps Sunday hours")
    urls = [
        article_server.serve(
            "/reports/annual", Response(body=report_pdf(), content_type="application/pdf")
        ),
        article_server.serve(
            "/files/library.docx",
            Response(body=docx_bytes, content_type="application/octet-stream"),
        ),
        article_server.serve(
            "/download/7",
            Response(body=make.make_pdf(PAGES[2:], title="Harbour dues"), content_type=None),
        ),
        article_server.serve(
            "/minutes/2026-03",
            Response(body=make.make_docx(PAGES[0], title="Board minutes"), content_type=DOCX_TYPE),
        ),
    ]
    data = tmp_path / "d"
    result = run("ingest", "--allow-private", *urls, "--json", data_dir=data)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["added"] == 4
    items = listed(data)
    assert items[REPORT_TITLE]["url"] == urls[0]
    assert items["Library keeps Sunday hours"]["url"] == urls[1]
    assert "Harbour dues" in items  # no content type: "%PDF-" tells
    assert items["Board minutes"]["url"] == urls[3]  # the Word content type


def test_a_pdf_served_as_html_is_still_a_pdf_and_a_page_named_pdf_is_a_page(
    tmp_path: Path, article_server: ArticleServer
) -> None:
    mislabelled = article_server.serve(
        "/mislabelled", Response(body=report_pdf(), content_type="text/html")
    )
    page = article_server.serve("/story.pdf", article_server.route("/article/harbor-ferry", {}))
    data = tmp_path / "d"
    result = run("ingest", "--allow-private", mislabelled, page, "--json", data_dir=data)
    assert result.exit_code == 0, result.output
    items = listed(data)
    assert items[REPORT_TITLE]["url"] == mislabelled
    assert len(items) == 2  # the HTML page: its content type wins over its name


def test_a_watched_folder_syncs_pdf_and_word_files(
    tmp_path: Path, article_server: ArticleServer
) -> None:
    folder = tmp_path / "desk"
    folder.mkdir()
    (folder / "report.pdf").write_bytes(report_pdf())
    (folder / "library.docx").write_bytes(make.make_docx(DOCX_PARAGRAPHS, title="Library"))
    (folder / "locked.pdf").write_bytes(make.make_pdf(PAGES, user_password="pw"))
    url = article_server.serve(
        "/filings/dues.pdf", Response(body=make.make_pdf(PAGES[2:], title="Harbour dues"))
    )
    data = tmp_path / "d"
    assert run("sources", "add", str(folder), data_dir=data).exit_code == 0
    added = run("sources", "add", url, "--allow-private", data_dir=data)
    assert added.exit_code == 0, added.output
    first = json.loads(run("watch", "--once", "--json", data_dir=data).stdout)["sources"]
    assert sorted(s["added"] for s in first) == [1, 2]
    [failure] = [e for s in first for e in s["errors"]]
    assert failure["reason"] == "encrypted PDF (password-protected); save an unlocked copy"

    (folder / "report.pdf").write_bytes(report_pdf(title="Annual report, corrected"))
    second = json.loads(run("watch", "--once", "--all", "--json", data_dir=data).stdout)
    assert sum(s["updated"] for s in second["sources"]) == 1
    assert set(listed(data)) == {"Annual report, corrected", "Library", "Harbour dues"}


# -- bad files: one line each, the rest stored ---------------------------------------------------


@functools.cache
def _bad_files() -> dict[str, tuple[bytes, str]]:
    good = report_pdf()
    return {
        "encrypted.pdf": (
            make.make_pdf(PAGES, user_password="secret"),
            "encrypted PDF (password-protected); save an unlocked copy",
        ),
        "scanned.pdf": (make.scanned_pdf(), "PDF has no text layer (scanned?); OCR it first"),
        "truncated.pdf": (good[: len(good) // 3], "corrupt or unreadable PDF"),
        "renamed.pdf": (b"Just some text saved with the wrong name.", "not a PDF file"),
        "page-bomb.pdf": (
            make.many_pages_pdf(5000),
            "5,000 pages, more than the limit of 1,000 (ARTICLEBOT_MAX_DOCUMENT_PAGES)",
        ),
        "deflate-bomb.pdf": (
            make.deflate_bomb_pdf(),
            "its contents inflate past the decompression limit (a PDF bomb?); not read",
        ),
        "many-streams-bomb.pdf": (  # each stream under pypdf's own cap, together 280 MB
            make.deflate_bomb_pdf(70_000_000, pages=4),
            "its contents inflate past the decompression limit (a PDF bomb?); not read",
        ),
        "slow.pdf": (make.slow_pdf(), "file too complex to extract (took more than 2 s)"),
        "zip-bomb.docx": (make.docx_zip_bomb(), "(ARTICLEBOT_MAX_UNZIPPED_BYTES; a zip bomb?)"),
        "broken.docx": (b"PK\x03\x04 not really a zip", "corrupt or unreadable Word file"),
        "not-word.docx": (
            _zip_without_document(),
            "corrupt or unreadable Word file",
        ),
    }


def _zip_without_document() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "a zip, but no Word document in it")
    return out.getvalue()


@pytest.fixture(scope="module")
def bad_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`articlebot ingest` of a folder of bad files and two good ones, as a user runs it."""
    root = tmp_path_factory.mktemp("bad")
    folder = root / "inbox"
    folder.mkdir()
    (folder / "good.pdf").write_bytes(report_pdf())
    (folder / "good.docx").write_bytes(make.make_docx(DOCX_PARAGRAPHS, title="Library"))
    for name, (content, _) in _bad_files().items():
        (folder / name).write_bytes(content)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLEBOT_", "OPENAI_"))}
    env |= {"XDG_CONFIG_HOME": str(root / "config"), "ARTICLEBOT_EXTRACT_TIMEOUT": "2"}
    data = root / "data"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--data-dir", str(data), "ingest", str(folder)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done, data


@pytest.mark.parametrize("name", sorted(_bad_files()))
def test_a_bad_file_costs_one_line(
    name: str, bad_run: tuple[subprocess.CompletedProcess[str], Path]
) -> None:
    done, _ = bad_run
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if name in line]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("  failed    ") and _bad_files()[name][1] in lines[0], lines[0]


def test_bad_files_do_not_cost_the_good_ones(
    bad_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, data = bad_run
    assert f"Added 2, updated 0, unchanged 0, failed {len(_bad_files())}" in done.stdout
    noise = [ln for ln in done.stderr.splitlines() if ln and not ln.startswith("  failed    ")]
    assert not noise  # nothing from the libraries reaches the terminal
    assert set(listed(data)) == {REPORT_TITLE, "Library"}


def test_a_title_repeated_as_the_first_line_is_not_stored_twice(
    tmp_path: Path, settings: Settings
) -> None:
    title = "Harbour dues unchanged"
    pdf = write(tmp_path / "dues.pdf", make.make_pdf([[title, *PAGES[2]]], title=title))
    docx = write(tmp_path / "dues.docx", make.make_docx(PAGES[2], title=title, heading=title))
    heading = "What the budget means for the harbour."
    other = write(tmp_path / "other.docx", make.make_docx(PAGES[2], title=title, heading=heading))
    # No title in the metadata: a short first line is the title (the residue filter, which
    # drops short lines without a full stop, must not get to it first).
    bare = write(tmp_path / "bare.pdf", make.make_pdf([["Quay works", *PAGES[2]]]))
    loaded = list(load_sources([str(pdf), str(docx), str(other), str(bare)], settings))
    assert all(isinstance(a, Article) for a in loaded), loaded
    articles = [a for a in loaded if isinstance(a, Article)]
    assert [a.title for a in articles] == [title, title, title, "Quay works"]
    texts = [a.text for a in articles]
    assert [t.startswith("Harbour dues stay unchanged") for t in texts] == [True, True, False, True]
    # A heading that is not the title stays in the text.
    assert texts[2].startswith(f"{heading}\n\nHarbour dues stay")


def test_a_one_page_pdf_is_cited_as_page_one(tmp_path: Path, settings: Settings) -> None:
    path = write(tmp_path / "one.pdf", make.make_pdf(PAGES[:1], title="One page"))
    [article] = list(load_sources([str(path)], settings))
    assert isinstance(article, Article) and article.text.endswith("\n\f")
    citation = make_citation(1, article, 0, len(article.text))
    assert citation is not None and citation.page == 1 and "\f" not in citation.quote


def test_pdf_lines_are_rejoined_with_words_whole_and_ligatures_spelled_out(
    tmp_path: Path, settings: Settings
) -> None:
    lines = [
        b"The harbour board selected a new chair on Monday, and the council se-",
        b"lected a new treasurer for the \xaenancial year on Tuesday after a long vote.",
        b"The well-known ferry operator had asked the board for a twenty-year long-",
        b"term lease of the north quay, the harbour board said on Wednesday night.",
        b"Short last line.",
    ]
    path = write(tmp_path / "minutes.pdf", make.lines_pdf(lines))
    [article] = list(load_sources([str(path)], settings))
    assert isinstance(article, Article)
    text = article.text
    assert "the council selected a new treasurer for the financial year" in text
    assert "a twenty-year long-term lease" in text  # no "longterm" in it: a compound
    assert "\ufb01" not in text and "\n" not in text.rstrip("\n\f")  # one paragraph


def test_memory_is_bounded_while_a_file_is_read_and_the_worker_goes_on() -> None:
    # 100 kB that parse into millions of XML nodes: within the zip limits, not the memory's.
    limits = DocumentLimits(max_memory_bytes=200_000_000)
    with Extractor(60) as extractor:
        with pytest.raises(SourceError) as failed:
            extractor.document("docx", make.docx_many_paragraphs(), "big.docx", limits)
        assert failed.value.reason == "needs more memory to read than allowed (a zip bomb?)"
        draft = extractor.document("pdf", report_pdf(), "after.pdf", limits)
    assert "12 June" in draft.text


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- pages in the stored text ----------------------------------------------------------------------


def test_page_breaks_survive_cleaning_and_residue_and_quotes_stop_at_them() -> None:
    text = (
        "Page one ends here with a sentence.\n\f\nShare this\n\f\nPage three starts.  Two  spaces."
    )
    origin = Origin(source="x.pdf", file_uri="file:///x.pdf")
    article = finish_article(Draft(text=text, title="Paged"), origin, paged=True)
    assert article.text.count("\f") == 2
    assert clean_text(article.text, pages=True) == article.text  # idempotent
    assert "\f" not in clean_text(text)  # only paged texts keep them

    start = article.text.index("ends here")
    citation = make_citation(1, article, start, len(article.text))
    assert citation is not None and citation.page == 1
    assert citation.quote == "… ends here with a sentence. …"
    third = article.text.index("Page three")
    later = make_citation(2, article, third, len(article.text))
    assert later is not None and later.page == 3 and "Page three starts. Two spaces." in later.quote

    # A quote that ends with its page: no ellipsis, nothing was left out.
    whole = make_citation(3, article, 0, article.text.index("Share") - 1)
    assert whole is not None and whole.quote == "Page one ends here with a sentence."

    plain = Article(id="a", title="t", text="No pages here.\n\nAt all.")
    unpaged = make_citation(1, plain, 0, len(plain.text))
    assert unpaged is not None and unpaged.page is None
