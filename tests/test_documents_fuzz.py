"""Damaged PDF and Word files: whatever the bytes, a `Draft` or one `SourceError` line.

Good files (made in the test) are cut short, overwritten and spliced at random places;
pypdf and python-docx must never raise through `ingest.formats_documents`, and a reason
must stay one line (it is printed as one).
"""

from __future__ import annotations

import functools
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.formats import Draft
from ingest.formats_documents import DocumentLimits, docx_draft, pdf_draft
from retrieval.errors import SourceError
from tests.fakes import documents as make

LIMITS = DocumentLimits()
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def good_pdf() -> bytes:
    pages = [["The ferry to Gull Quay runs every twenty minutes from June."] * 3] * 3
    return make.make_pdf(pages, title="Ferry", author="Port desk")


@functools.cache
def good_docx() -> bytes:
    return make.make_docx(
        ["The library keeps its Sunday hours, the council decided."] * 5,
        title="Library",
        table=[["Day", "Hours"], ["Sunday", "10-16"]],
    )


@st.composite
def damaged(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["cut", "overwrite", "insert", "delete"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "cut":
            del data[at:]
        elif kind == "overwrite":
            noise = draw(st.binary(min_size=1, max_size=64))
            data[at : at + len(noise)] = noise
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        else:
            del data[at : at + draw(st.integers(1, 512))]
    return bytes(data)


def check(read: object, data: bytes) -> None:
    started = time.monotonic()
    try:
        draft = read(data, "damaged", LIMITS)  # type: ignore[operator]
    except SourceError as exc:
        assert exc.reason and "\n" not in exc.reason, exc.reason
    else:
        assert isinstance(draft, Draft)
    assert time.monotonic() - started < 20  # the worker's deadline would stop it anyway


@FUZZ
@given(st.data())
def test_damaged_pdfs(data: st.DataObject) -> None:
    check(pdf_draft, data.draw(damaged(good_pdf())))


@FUZZ
@given(st.data())
def test_damaged_docx(data: st.DataObject) -> None:
    check(docx_draft, data.draw(damaged(good_docx())))
