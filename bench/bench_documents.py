"""PDF text extraction: pypdf against pdfminer.six on speed and quality; docx speed.

    .venv/bin/pip install -c constraints.txt -e ".[dev,bench]"   # pdfminer.six, fpdf2
    .venv/bin/python bench/bench_documents.py --docs 12 --pages 10 --repeat 5

Generates report-like PDFs (seeded paragraphs, a running header, page-number footers)
with fpdf2, then extracts them with each library. Prints, per library, pages/s (median over
the repeats), word accuracy (difflib ratio of the extracted words to the true body words,
headers and footers counted as noise) and paragraph recall (true paragraphs that start a
blank-line-separated block of the extraction: the chunker splits on blank lines). The last
line times `ingest.formats_documents` end to end (the library chosen, plus cleaning).
"""

from __future__ import annotations

import argparse
import difflib
import io
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.fakes.documents

from pypdf import PdfReader  # noqa: E402

from ingest.formats_documents import DocumentLimits, docx_draft, pdf_draft  # noqa: E402
from tests.fakes.documents import make_docx, make_pdf  # noqa: E402

WORDS = (
    "council harbour bridge ferry budget river school mayor contract repair storm flood "
    "police station hospital election vote plan road rail port factory jobs workers union "
    "strike price market energy wind solar grid water survey estuary report minister court "
    "judge appeal museum festival team match season coach league players fans stadium the "
    "of and to a in said on for with that was by"
).split()


def paragraph(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(2, 5)):
        words = [rng.choice(WORDS) for _ in range(rng.randint(8, 20))]
        sentences.append(" ".join(words).capitalize() + ".")
    return " ".join(sentences)


def corpus(n_docs: int, n_pages: int, seed: int = 11) -> list[tuple[bytes, list[str]]]:
    rng = random.Random(seed)
    docs = []
    for _ in range(n_docs):
        pages = [[paragraph(rng) for _ in range(4)] for _ in range(n_pages)]
        pdf = make_pdf(pages, title="Quarterly report", header="Harbour Authority")
        docs.append((pdf, [p for page in pages for p in page]))
    return docs


def with_pypdf(data: bytes) -> str:
    return "\n\f\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def with_pdfminer(data: bytes) -> str:
    from pdfminer.high_level import extract_text  # the bench extra: pip install -e ".[bench]"

    return str(extract_text(io.BytesIO(data)))


def quality(text: str, paragraphs: list[str]) -> tuple[float, float, float]:
    """Word accuracy, paragraph recall and paragraph precision of an extraction."""
    truth = " ".join(paragraphs).split()
    got = text.split()
    accuracy = difflib.SequenceMatcher(None, truth, got, autojunk=False).ratio()
    pieces = text.replace("\f", "\n\n").split("\n\n")
    blocks = [" ".join(b.split()[:6]) for b in pieces if b.strip()]
    starts = {" ".join(p.split()[:6]) for p in paragraphs}
    recall = len(starts & set(blocks)) / len(starts)
    precision = sum(b in starts for b in blocks) / max(1, len(blocks))
    return accuracy, recall, precision


def report(name: str, pages_per_s: float, scores: list[tuple[float, float, float]]) -> None:
    accuracy, recall, precision = (statistics.mean(s[i] for s in scores) for i in range(3))
    print(
        f"{name:15} {pages_per_s:7.1f} pages/s  word accuracy {accuracy:.3f}  "
        f"paragraphs: recall {recall:.2f}, precision {precision:.2f}"
    )


def timed(extract: Callable[[bytes], object], docs: list[bytes], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        for data in docs:
            extract(data)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--docs", type=int, default=12)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    docs = corpus(args.docs, args.pages)
    pages = args.docs * args.pages
    print(f"{args.docs} PDFs x {args.pages} pages, median of {args.repeat} runs")
    for name, extract in (("pypdf", with_pypdf), ("pdfminer.six", with_pdfminer)):
        seconds = timed(extract, [d for d, _ in docs], args.repeat)
        report(name, pages / seconds, [quality(extract(d), truth) for d, truth in docs])
    limits = DocumentLimits()
    seconds = timed(lambda d: pdf_draft(d, "bench.pdf", limits), [d for d, _ in docs], args.repeat)
    scores = [quality(pdf_draft(d, "bench.pdf", limits).text, truth) for d, truth in docs]
    report("articlebot pdf", pages / seconds, scores)
    rng = random.Random(5)
    docx_files = [make_docx([paragraph(rng) for _ in range(40)]) for _ in range(args.docs)]
    seconds = timed(lambda d: docx_draft(d, "bench.docx", limits), docx_files, args.repeat)
    print(f"{'articlebot docx':15} {args.docs / seconds:7.1f} files/s (40 paragraphs each)")


if __name__ == "__main__":
    main()
