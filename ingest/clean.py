"""Normalise article text once, so that chunks and quotes index into one stable string.

Downstream chunking splits on blank lines and cites exact character spans of the cleaned
text, so `clean_text` must be deterministic and idempotent: cleaning twice changes nothing.
"""

from __future__ import annotations

import re
import unicodedata

# Line and paragraph separators that are newlines in all but name ("\r\n" must come first).
_NEWLINES = {
    "\r\n": "\n",
    "\r": "\n",
    "\x0b": "\n",
    "\x0c": "\n",
    "\x85": "\n",
    "\u2028": "\n",
    "\u2029": "\n\n",
}
_NEWLINE_RE = re.compile("|".join(map(re.escape, _NEWLINES)))
# The same for a paged text (a PDF's), whose form feeds mark where each page starts.
_PAGE = "\f"
_NEWLINE_KEEP_PAGES_RE = re.compile("|".join(re.escape(nl) for nl in _NEWLINES if nl != _PAGE))
# C0/C1 control characters except \t and \n, zero-width characters (U+200B-U+200D,
# U+2060, U+FEFF), and bidi embeddings, overrides and isolates (U+202A-U+202E,
# U+2066-U+2069): invisible, they only break search and quoting, and an override in a
# quote would reverse how the rest of a reply is displayed. RTL text needs none of them
# (the right-to-left mark U+200F stays).
INVISIBLE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff\u202a-\u202e\u2066-\u2069"
_DROP_RE = re.compile(f"[{INVISIBLE}]")
_DROP_KEEP_PAGES_RE = re.compile(f"(?!{_PAGE})[{INVISIBLE}]")
# Lone surrogates (from JSON "\\ud800" escapes or undecodable file names) cannot be stored
# as UTF-8 at all: they become the replacement character, as undecodable bytes do.
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def replace_surrogates(text: str) -> str:
    """`text` storable as UTF-8: lone surrogates become U+FFFD.

    (Python hands over file names that are not UTF-8 with lone surrogates, and JSON may
    escape them; no UTF-8 output, SQLite included, accepts them.)
    """
    return _SURROGATE_RE.sub("\ufffd", text)


# Spaces, tabs and every other Unicode space separator (category Zs): no-break, em, thin...
_SPACE_RUN_RE = re.compile("[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_RUN_RE = re.compile(r"\n{3,}")


def clean_text(text: str, *, pages: bool = False) -> str:
    """Return `text` normalised for storage and quoting.

    Newlines unified to ``\\n``; control, zero-width and bidi control characters removed;
    lone surrogates replaced by U+FFFD; runs of spaces/tabs (and other Unicode spaces)
    collapsed to one space; lines stripped at both ends; at most one blank line between
    paragraphs; no blank lines around; NFC.

    pages: keep form feeds, the page ends of a paged text (a PDF's), where they are, so
    that a quote's page is the number of form feeds before it, plus one.
    """
    newlines, drop = _NEWLINE_RE, _DROP_RE
    if pages:
        newlines, drop = _NEWLINE_KEEP_PAGES_RE, _DROP_KEEP_PAGES_RE
    text = newlines.sub(lambda m: _NEWLINES[m.group(0)], text)
    text = drop.sub("", replace_surrogates(text))
    lines = (_SPACE_RUN_RE.sub(" ", line).strip(" ") for line in text.split("\n"))
    text = _BLANK_RUN_RE.sub("\n\n", "\n".join(lines)).strip("\n")
    # Last, so that the removals above cannot leave a string that is no longer composed.
    return unicodedata.normalize("NFC", text)


def clean_inline(text: str | None) -> str:
    """Clean a one-line field (title, author, site): all whitespace becomes single spaces."""
    if not text:
        return ""
    return " ".join(clean_text(text).split())
