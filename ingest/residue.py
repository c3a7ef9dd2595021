"""Drop page residue from an article's text: bylines, photo captions, share and "Related:"
lines that scrapers and copy-paste leave between the paragraphs.

Residue is judged the way jusText judges boilerplate (its paragraph classifier: length,
stop-word density, link density, then the paragraphs around it), over the lines of the
cleaned text, whatever format the article came in. A line is dropped only when jusText
rejects it on its own and in context, and it is not a sentence: a real short paragraph ends
like one ("The names of the dead have not been released."), "Share this article" and
"Rescue teams at the car park. (Photo: J. Brandt/Courier)" don't. Checked on the news dev
set: no gold answer is lost (docs/retrieval.md). The text that remains is stored, so
quotes stay verbatim spans of what is stored.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

import justext

#: What a sentence (or a quotation closing one) ends with.
_SENTENCE_END = frozenset('.!?…"”’')
#: jusText calls a paragraph long (body text, when its stop words say so) from 200
#: characters, a web page's measure; a news paragraph is a sentence or two.
LONG_PARAGRAPH = 120
_BLANK_RUN = re.compile(r"\n{3,}")  # where a dropped line stood between two blank lines


@lru_cache(maxsize=1)
def _stoplist() -> frozenset[str]:
    return frozenset(justext.get_stoplist("English"))  # shipped in the wheel, read once


def drop_residue(text: str) -> str:
    """`text` without its residue lines (unchanged when jusText finds no body in it)."""
    lines = text.split("\n")
    paragraphs = [line for line in lines if line.strip()]
    if len(paragraphs) < 2:
        return text
    page = "".join(f"<p>{html.escape(line)}</p>" for line in paragraphs)
    judged = justext.justext(
        f"<html><body>{page}</body></html>", _stoplist(), length_high=LONG_PARAGRAPH
    )
    if len(judged) != len(paragraphs) or not any(p.class_type == "good" for p in judged):
        return text
    residue = {
        i
        for i, p in enumerate(judged)
        if p.class_type == "bad"
        and p.cf_class in ("bad", "short")
        and paragraphs[i].rstrip()[-1:] not in _SENTENCE_END
    }
    if not residue:
        return text
    kept: list[str] = []
    n = 0
    for line in lines:
        if line.strip():
            n += 1
            if n - 1 in residue:
                continue
        kept.append(line)
    return _BLANK_RUN.sub("\n\n", "\n".join(kept)).strip("\n")
