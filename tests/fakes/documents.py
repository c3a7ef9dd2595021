"""PDF and Word files for tests and benches, made on the spot (no binary fixtures in git).

Good files come from the libraries real tools resemble (fpdf2 writes compressed content
streams with standard fonts, python-docx writes what Word writes); hostile ones are
written by hand, byte by byte, because no library will write a broken file on purpose.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from datetime import UTC, datetime
from typing import Any

import docx
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from fpdf import FPDF


class _Paged(FPDF):
    """A report-like PDF: a running header and a page number in the footer."""

    header_text = ""

    def header(self) -> None:
        if self.header_text:
            self.set_font("Helvetica", size=8)
            self.cell(0, 6, self.header_text)
            self.ln(10)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", size=8)
        self.cell(0, 10, f"Page {self.page_no()}", align="C")


def make_pdf(
    pages: list[list[str]],
    *,
    title: str | None = None,
    author: str | None = None,
    created: datetime | None = None,
    header: str = "",
    user_password: str | None = None,
) -> bytes:
    """A PDF with one page per item of `pages`, each a list of paragraphs."""
    pdf = _Paged()
    pdf.header_text = header
    pdf.set_auto_page_break(False)
    if title:
        pdf.set_title(title)
    if author:
        pdf.set_author(author)
    pdf.set_creation_date(created or datetime(2026, 1, 1, tzinfo=UTC))
    if user_password is not None:
        pdf.set_encryption(owner_password="owner", user_password=user_password)
    for paragraphs in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph)
            pdf.ln(4)
    return bytes(pdf.output())


def make_docx(
    paragraphs: list[str],
    *,
    title: str | None = None,
    author: str | None = None,
    created: datetime | None = None,
    heading: str | None = None,
    table: list[list[str]] | None = None,
    content_control: bool = False,
    tracked: tuple[str, str] | None = None,
) -> bytes:
    """A .docx with an optional heading, the paragraphs (inside a content control, as
    templates have them, if asked) and an optional table."""
    document = docx.Document()
    document.add_paragraph("")  # as many documents start: an empty line
    if heading:
        document.add_heading(heading, level=1)
    added = [document.add_paragraph(paragraph) for paragraph in paragraphs]
    if tracked and added:  # a tracked change to the last paragraph: (inserted, deleted)
        added[-1]._p.append(_tracked("w:ins", "w:t", tracked[0]))
        added[-1]._p.append(_tracked("w:del", "w:delText", tracked[1]))
    if content_control and added:
        sdt, content = OxmlElement("w:sdt"), OxmlElement("w:sdtContent")
        added[0]._p.addprevious(sdt)
        sdt.append(content)
        for paragraph in added:
            content.append(paragraph._p)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    props = document.core_properties
    props.title = title or ""
    props.author = author or ""
    if created:
        props.created = created
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _tracked(change: str, text_tag: str, text: str) -> Any:
    element = OxmlElement(change, {qn("w:id"): "1", qn("w:author"): "Editor"})
    run, piece = OxmlElement("w:r"), OxmlElement(text_tag)
    piece.text = text
    piece.set(qn("xml:space"), "preserve")
    run.append(piece)
    element.append(run)
    return element


def raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF built from numbered object bodies ("1 0 obj" is objects[0]), with a true xref."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    trailer = b"/Size %d /Root 1 0 R" % (len(objects) + 1)
    out += b"trailer\n<< " + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def lines_pdf(lines: list[bytes]) -> bytes:
    """One page of Helvetica text lines, one under the other, as given (bytes of the font's
    encoding: StandardEncoding has the "fi" ligature at 0xAE, as TeX and Word PDFs use)."""
    ops = b"BT /F1 11 Tf 14 TL 72 720 Td " + b" ".join(
        b"(" + line.replace(b"(", b"\\(").replace(b")", b"\\)") + b") Tj T*" for line in lines
    )
    text = ops + b" ET"
    stream = b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream"
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [5 0 R] /Count 1 >>",
            stream,
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /StandardEncoding >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R"
            b" /Resources << /Font << /F1 4 0 R >> >> >>",
        ]
    )


def scanned_pdf(n_pages: int = 2) -> bytes:
    """Pages that only draw (a grey box where a scan's image would be): no text layer."""
    drawing = b"0.5 g 50 50 500 700 re f"
    stream = b"<< /Length %d >>\nstream\n" % len(drawing) + drawing + b"\nendstream"
    kids = b" ".join(b"%d 0 R" % (4 + i) for i in range(n_pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % n_pages,
        stream,
    ]
    objects += [
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R >>"
    ] * n_pages
    return raw_pdf(objects)


def many_pages_pdf(n_pages: int) -> bytes:
    """A small file that declares `n_pages` pages (all sharing one content stream)."""
    text = b"BT /F1 12 Tf 72 700 Td (Page text) Tj ET"
    stream = b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream"
    page = 5
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join([b"%d 0 R" % page] * n_pages)
        + b"] /Count %d >>" % n_pages,
        stream,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R"
        b" /Resources << /Font << /F1 4 0 R >> >> >>",
    ]  # fmt: skip
    return raw_pdf(objects)


def slow_pdf(operators: int = 400_000) -> bytes:
    """One page of `operators` tiny text runs: small compressed, seconds of pypdf's time."""
    ops = b"BT /F1 12 Tf 72 700 Td (word) Tj ET\n" * operators
    data = zlib.compress(ops, 9)
    stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [5 0 R] /Count 1 >>",
        stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R"
        b" /Resources << /Font << /F1 4 0 R >> >> >>",
    ]
    return raw_pdf(objects)


def deflate_bomb_pdf(inflated_bytes: int = 200_000_000, *, pages: int = 1) -> bytes:
    """`pages` pages, each with its own content stream that inflates from a few kB to
    `inflated_bytes` of spaces."""
    squeeze = zlib.compressobj(9)
    chunk = b" " * 1_000_000
    data = b"".join(squeeze.compress(chunk) for _ in range(inflated_bytes // len(chunk)))
    data += squeeze.flush()
    stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data
    kids = b" ".join(b"%d 0 R" % (3 + 2 * i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
    ]
    for i in range(pages):
        objects += [
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R >>"
            % (4 + 2 * i),
            stream + b"\nendstream",
        ]
    return raw_pdf(objects)


def docx_zip_bomb(inflated_bytes: int = 200_000_000) -> bytes:
    """A .docx whose document.xml inflates from a few MB to `inflated_bytes`."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(b'<?xml version="1.0"?><w:document xmlns:w="' + _W + b'"><w:body>')
            chunk = b" " * 10_000_000
            for _ in range(inflated_bytes // len(chunk)):
                member.write(chunk)
            member.write(b"</w:body></w:document>")
    return out.getvalue()


def docx_many_paragraphs(paragraphs: int = 1_000_000) -> bytes:
    """A .docx within the zip limits whose parsed tree is still large: tiny paragraphs."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        with archive.open("word/document.xml", "w") as member:
            member.write(b'<?xml version="1.0"?><w:document xmlns:w="' + _W + b'"><w:body>')
            member.write(b"<w:p><w:r><w:t>x</w:t></w:r></w:p>" * paragraphs)
            member.write(b"</w:body></w:document>")
    return out.getvalue()


_W = b"http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_CONTENT_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
    'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
    '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
    "</Relationships>"
)
