"""Citations whose quotes are verified verbatim spans of the cited article.

A quote is cut from the stored article text by offsets, never copied from model output,
and checked again before it is shown: a citation that points at the wrong passage is the
most common complaint about RAG apps, so an unverifiable quote is dropped, not shown.

A paged text (a PDF's) holds a form feed after each page: a quote stops at the end of the
page it starts on, so it never shows a form feed and its page (`Citation.page`) is exact.
"""

from __future__ import annotations

from retrieval.types import Article, Citation

ELLIPSIS = "…"
MAX_QUOTE_CHARS = 300
PAGE_BREAK = "\f"


def make_citation(
    n: int, article: Article, start: int, end: int, max_chars: int = MAX_QUOTE_CHARS
) -> Citation | None:
    """Quote `article.text[start:end]`, trimmed at a word to `max_chars`; None if invalid."""
    text = article.text
    if not 0 <= start < end <= len(text):
        return None
    while start < end and text[start].isspace():
        start += 1
    page_end = text.find(PAGE_BREAK, start, end)
    cut_at_page = page_end >= 0 and bool(text[page_end + 1 : end].strip())
    if page_end >= 0:
        end = page_end
    while end > start and text[end - 1].isspace():
        end -= 1
    if end <= start:
        return None
    prefix = ELLIPSIS + " " if start > 0 and not _starts_sentence(text, start) else ""
    suffix = " " + ELLIPSIS if cut_at_page else ""
    if end - start > max_chars:
        cut = text.rfind(" ", start, start + max_chars)
        end = cut if cut > start else start + max_chars
        while end > start and text[end - 1] in " ,;:":
            end -= 1
        suffix = " " + ELLIPSIS
    citation = Citation(n, article, prefix + text[start:end] + suffix, start, end)
    return citation if is_verbatim(citation) else None


def is_verbatim(citation: Citation) -> bool:
    """True when the quote, without its ellipses, is exactly the article at its offsets."""
    core = citation.quote
    if core.startswith(ELLIPSIS + " "):
        core = core[2:]
    if core.endswith(" " + ELLIPSIS):
        core = core[:-2]
    text = citation.article.text
    return bool(core) and text[citation.start : citation.end] == core


def _starts_sentence(text: str, start: int) -> bool:
    before = text[:start].rstrip()
    return not before or before[-1] in ".!?…\n\"'”’:"
