"""PDF and Word (.docx) files: bytes to a `Draft`, with every failure one `SourceError` line.

PDFs are read with pypdf (pure Python; in bench/bench_documents.py as accurate as
pdfminer.six on words and 6-10 times faster). Its lines are joined back into
paragraphs here, because the chunker and the residue filter work paragraph by paragraph.
Each page ends with a form feed on a line of its own (`PAGE_BREAK`; `finish_article` keeps
them when called with paged=True), so a citation can name the page its quote starts on
without any change to what is stored.

Both formats are hostile input: these functions run in the extraction worker
(`ingest.extract`), which is killed past its deadline. A PDF's page count is checked before
its pages are read and the inflated size of its page contents as they are; a .docx's zip
directory is checked before anything is inflated.
"""

from __future__ import annotations

import io
import logging
import re
import statistics
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ingest.formats import Draft, title_from_text
from retrieval.errors import SourceError

if TYPE_CHECKING:
    from ingest.settings import IngestSettings

#: After the text of each page, the last one too (cleaning keeps it:
#: `finish_article(..., paged=True)`); a quote's page is 1 + the form feeds before it.
PAGE_BREAK = "\n\f\n"
#: Fewer letters than this in a whole PDF: it has no text layer worth storing.
_MIN_LETTERS = 20
_HEADER_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"[^\W\d_]+")
_LAST_WORD = re.compile(r"[^\W\d_]+$")
# Typographic ligatures (TeX and Word PDFs): "ﬁnancial" must match "financial".
_LIGATURES = str.maketrans(
    {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
     "\ufb05": "st", "\ufb06": "st"}
)  # fmt: skip
_ENCRYPTED = "encrypted PDF (password-protected); save an unlocked copy"
_RUNS = "w:r | w:hyperlink | w:ins/w:r | w:sdt/w:sdtContent/w:r | w:smartTag/w:r | w:fldSimple/w:r"
# The creation date in python-docx's blank template, kept by files made from it.
_TEMPLATE_CREATED = datetime(2013, 12, 23, 23, 15, tzinfo=UTC)
_TOO_BIG = "needs more memory to read than allowed (a {} bomb?)"
# Titles that tools write for you, not the author: "Microsoft Word - report.docx".
_TOOL_TITLE = re.compile(
    r"^(?:microsoft (?:word|powerpoint) - |untitled\b)|\.(?:docx?|pdf|odt|rtf|txt)$", re.I
)

# pypdf logs every oddity of a file, some as errors ("Advanced encoding ... not implemented
# yet, using [...256 characters...]"), and the worker's stderr is the user's terminal; the
# one line we yield says what matters.
logging.getLogger("pypdf").setLevel(logging.CRITICAL)


class _ContentsTooLarge(Exception):
    """All pages' contents together inflate past `DocumentLimits.max_page_contents_bytes`."""


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    """How much of a document is read before it is refused as a bomb."""

    max_pages: int = 1000
    max_unzipped_bytes: int = 50_000_000
    max_zip_entries: int = 2000
    #: All of a PDF's page contents, inflated (pypdf caps each stream at 75 MB; many such
    #: streams would still fill the memory). Real pages take kilobytes each.
    max_page_contents_bytes: int = 150_000_000
    #: How much the extraction worker may grow while it reads one file (`memory_bounded`).
    max_memory_bytes: int = 1_500_000_000

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> DocumentLimits:
        return cls(
            max_pages=settings.max_document_pages,
            max_unzipped_bytes=settings.max_unzipped_bytes,
        )


def document_draft(kind: str, data: bytes, source: str, limits: DocumentLimits) -> Draft:
    """The draft of a "pdf" or "docx" file (the worker's entry point)."""
    if kind == "pdf":
        return pdf_draft(data, source, limits)
    if kind == "docx":
        return docx_draft(data, source, limits)
    raise ValueError(f"not a document kind: {kind}")


# --- PDF ---------------------------------------------------------------------------------


def pdf_draft(data: bytes, source: str, limits: DocumentLimits) -> Draft:
    """Text (each page followed by `PAGE_BREAK`), title, author and creation date of a PDF."""
    from pypdf import PdfReader  # imported here: only the worker reads documents
    from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError

    if b"%PDF-" not in data[:1024]:  # where readers look for the header
        raise SourceError(source, "not a PDF file (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not _opened_without_password(reader):
            raise SourceError(source, _ENCRYPTED)
        declared = _declared_pages(reader)
        if declared > limits.max_pages:
            raise _too_many_pages(source, declared, limits)
        pages = reader.pages
        if len(pages) > limits.max_pages:
            raise _too_many_pages(source, len(pages), limits)
        budget = [limits.max_page_contents_bytes]
        texts = [_page_text(page, budget) for page in pages]
        title, author, published = _pdf_metadata(reader)
    except SourceError:
        raise
    except FileNotDecryptedError:
        raise SourceError(source, _ENCRYPTED) from None
    except DependencyError as exc:  # AES encryption needs the optional `cryptography`
        raise SourceError(source, f"cannot be read without an optional package: {exc}") from None
    except (LimitReachedError, _ContentsTooLarge):
        raise SourceError(
            source, "its contents inflate past the decompression limit (a PDF bomb?); not read"
        ) from None
    except RecursionError:
        raise SourceError(source, "objects nested too deeply (a PDF bomb?); not read") from None
    except Exception as exc:  # pypdf raises many types on a damaged file
        if _out_of_memory(exc):
            raise SourceError(source, _TOO_BIG.format("PDF")) from None
        raise SourceError(source, f"corrupt or unreadable PDF ({_brief(exc)})") from None
    if sum(ch.isalpha() for text in texts for ch in text) < _MIN_LETTERS:
        raise SourceError(source, "PDF has no text layer (scanned?); OCR it first")
    pages_text = _drop_running_lines([_page_lines(text) for text in texts])
    vocabulary = _vocabulary(pages_text)
    pages_paragraphs = [_paragraphs(lines, vocabulary) for lines in pages_text]
    first = next((page for page in pages_paragraphs if page), [])
    if not title and first:  # taken before the residue filter can drop a short headline
        title = title_from_text(first[0])
    if title and first and _same_words(first[0], title):
        del first[0]  # the title again as the first line: it is the title
    body = PAGE_BREAK.join("\n\n".join(page) for page in pages_paragraphs)
    # Every page ends with a break, the last one too: a one-page PDF is cited as "p. 1".
    return Draft(
        text=body + PAGE_BREAK.rstrip("\n"), title=title, author=author, published=published
    )


def _same_words(a: str, b: str) -> bool:
    return a.split() == b.split() or a.casefold().split() == b.casefold().split()


def _opened_without_password(reader: Any) -> bool:
    """Many PDFs are "encrypted" with an empty user password: anyone may read them."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # an unsupported or broken security handler: it stays locked
        return False


def _declared_pages(reader: Any) -> int:
    """The page count the file claims (/Count), read before the page tree is walked."""
    try:
        count = reader.trailer["/Root"]["/Pages"].get("/Count", 0)
        return int(count)
    except Exception:  # a missing or odd count: walking the tree will tell
        return 0


def _too_many_pages(source: str, pages: int, limits: DocumentLimits) -> SourceError:
    return SourceError(
        source,
        f"{pages:,} pages, more than the limit of {limits.max_pages:,} "
        "(ARTICLEBOT_MAX_DOCUMENT_PAGES)",
    )


def _page_text(page: Any, budget: list[int]) -> str:
    """A page's text; `budget` holds the inflated bytes the pages left may still take."""
    contents = page.get_contents()  # decoded here first: extract_text hides a bomb's error
    if contents is not None:
        budget[0] -= len(contents.get_data())
        if budget[0] < 0:
            raise _ContentsTooLarge
    text = page.extract_text() or ""
    # Form feeds only ever end pages; ligatures are letters a reader would type.
    return text.replace("\f", "\n").translate(_LIGATURES)


def _page_lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines()]


def _drop_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Drop running headers and footers: a first or last line that (digits aside) repeats
    on more than half of the pages ("Annual report 2026", "Page 3 of 12")."""
    if len(pages) < 3:
        return pages

    def key(line: str) -> str:
        return _HEADER_DIGITS.sub("#", line)

    counts: dict[str, int] = {}
    for lines in pages:
        edges = {key(line) for line in _edge_lines(lines)}
        for k in edges:
            counts[k] = counts.get(k, 0) + 1
    running = {k for k, n in counts.items() if n > len(pages) / 2}
    if not running:
        return pages
    kept = []
    for lines in pages:
        content = [i for i, line in enumerate(lines) if line]
        at_edge = set(content[:2] + content[-2:])
        kept.append([ln for i, ln in enumerate(lines) if not (i in at_edge and key(ln) in running)])
    return kept


def _edge_lines(lines: list[str]) -> list[str]:
    content = [line for line in lines if line]
    return content[:2] + content[-2:]


def _vocabulary(pages: list[list[str]]) -> frozenset[str]:
    """The document's own words (lower case), to tell a hyphenated word from a compound."""
    return frozenset(
        word.casefold() for lines in pages for line in lines for word in _WORD.findall(line)
    )


def _paragraphs(lines: list[str], vocabulary: frozenset[str] = frozenset()) -> list[str]:
    """Rejoin a page's lines into paragraphs.

    A line as wide as the page's full lines continues on the next; a shorter one ends its
    paragraph (the last line of a paragraph, a heading, a list item). A word broken at the
    end of a line loses its hyphen when the document uses it whole elsewhere ("se-" +
    "lected"), and keeps it otherwise ("well-" + "known").
    """
    widths = [len(line) for line in lines if len(line) > 20]
    full = 0.0
    if len(widths) >= 2:
        full = 0.8 * statistics.quantiles(widths, n=10, method="inclusive")[-1]
    paragraphs: list[str] = []
    current = ""
    for line in lines:
        if not line:
            if current:
                paragraphs.append(current)
            current = ""
            continue
        if not current:
            current = line
        elif current.endswith("-") and current[-2:-1].isalpha():
            current = _join_hyphenated(current, line, vocabulary)
        else:
            current += " " + line
        if len(line) < full or not full:
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return paragraphs


def _join_hyphenated(current: str, line: str, vocabulary: frozenset[str]) -> str:
    head = _LAST_WORD.search(current[:-1])
    tail = _WORD.match(line)
    if head and tail and (head.group() + tail.group()).casefold() in vocabulary:
        return current[:-1] + line
    return current + line


def _pdf_metadata(reader: Any) -> tuple[str | None, str | None, datetime | None]:
    try:
        info = reader.metadata
    except Exception:  # a damaged /Info dictionary only costs the metadata
        return None, None, None
    if info is None:
        return None, None, None
    published: datetime | None
    try:
        published = info.creation_date
    except Exception:  # an unparsable /CreationDate
        published = None
    return _title(_string(info.get("/Title"))), _string(info.get("/Author")), published


def _string(value: object) -> str | None:
    return str(value) if isinstance(value, str) and value.strip() else None


def _title(value: str | None) -> str | None:
    """The document's own title, unless a tool wrote it (a file name, "Untitled")."""
    if value is None or _TOOL_TITLE.search(value.strip()):
        return None
    return value


# --- Word --------------------------------------------------------------------------------


def docx_draft(data: bytes, source: str, limits: DocumentLimits) -> Draft:
    """Body paragraphs and tables (one row a line) of a .docx, with its core properties."""
    import docx  # imported here: only the worker reads documents
    from docx.table import Table

    _check_zip(data, source, limits)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks: list[str] = []
        heading: str | None = None
        for item in _body_items(document.element.body, document):
            if isinstance(item, Table):
                rows = [" | ".join(_cells(row)) for row in item.rows]
                if table := "\n".join(row for row in rows if row.strip(" |")):
                    blocks.append(table)
                continue
            text = _paragraph_text(item)
            if not text.strip():
                continue
            style = item.style.name if item.style is not None else ""
            if heading is None and not blocks and style in ("Title", "Heading 1"):
                heading = text
            blocks.append(text)
        props = document.core_properties
        title = _title(props.title or None) or heading
        if not title and blocks:  # taken before the residue filter can drop it
            title = title_from_text(blocks[0])
        if blocks and title and _same_words(blocks[0], title):
            del blocks[0]  # the document's heading is its title
        author, created = props.author, props.created
        if created == _TEMPLATE_CREATED:
            created = None  # python-docx's blank template's date, not the document's
    except SourceError:
        raise
    except Exception as exc:  # python-docx and lxml raise many types on a damaged file
        if _out_of_memory(exc):
            raise SourceError(source, _TOO_BIG.format("zip")) from None
        raise SourceError(source, f"corrupt or unreadable Word file ({_brief(exc)})") from None
    return Draft(
        text="\n\n".join(blocks),
        title=title,
        author=author or None,
        published=created,
    )


def _body_items(element: Any, parent: Any) -> Iterator[Any]:
    """The body's paragraphs and tables in order, also those inside content controls
    (`w:sdt`, which templates wrap whole sections in and python-docx does not enter)."""
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in element.iterchildren():
        if child.tag == qn("w:p"):
            yield Paragraph(child, parent)
        elif child.tag == qn("w:tbl"):
            yield Table(child, parent)
        elif child.tag == qn("w:sdt"):
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _body_items(content, parent)


def _paragraph_text(paragraph: Any) -> str:
    """A paragraph's text with its tracked insertions (the text as it now reads), inline
    content controls, smart tags and simple fields, which `Paragraph.text` leaves out.
    Deleted text (`w:delText`) is in none of these."""
    runs = paragraph._p.xpath(_RUNS)
    return "".join(run.text for run in runs)


def _cells(row: Any) -> list[str]:
    seen: list[str] = []
    for cell in row.cells:  # a merged cell is repeated once per grid column it spans
        text = " ".join(cell.text.split())
        if not seen or seen[-1] != text:
            seen.append(text)
    return seen


def _check_zip(data: bytes, source: str, limits: DocumentLimits) -> None:
    """Refuse a .docx whose zip directory promises more than the limits, before inflating.

    zipfile never returns more than an entry's declared size (it fails the CRC check
    instead), so the declared sizes bound what python-docx can inflate.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise SourceError(source, "corrupt or unreadable Word file (not a zip archive)") from None
    if len(entries) > limits.max_zip_entries:
        raise SourceError(source, f"{len(entries):,} parts in one file, too many (a zip bomb?)")
    total = sum(entry.file_size for entry in entries)
    if total > limits.max_unzipped_bytes:
        raise SourceError(
            source,
            f"unpacks to {total:,} bytes, more than the limit of "
            f"{limits.max_unzipped_bytes:,} (ARTICLEBOT_MAX_UNZIPPED_BYTES; a zip bomb?)",
        )


def _out_of_memory(exc: BaseException) -> bool:
    """MemoryError, or libxml2's own out-of-memory failure (lxml reports it as a syntax
    error, "unknown error", with ERR_NO_MEMORY in its log)."""
    return isinstance(exc, MemoryError) or "ERR_NO_MEMORY" in str(getattr(exc, "error_log", ""))


def _brief(exc: BaseException) -> str:
    message = str(exc).split("\n", 1)[0][:120]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
