"""Chunking: split an article into overlapping, sentence-aware passages with offsets.

LangChain's `RecursiveCharacterTextSplitter` does the splitting (paragraphs, then lines,
then sentence ends, then words); each chunk is located by construction (see `split`), so
`article.text[start:end] == chunk.text` always holds, the chunks cover the whole article
in order even where passages repeat, and answers can quote the exact passage later.
"""

from __future__ import annotations

import re

import numpy as np
from langchain_text_splitters import RecursiveCharacterTextSplitter

from retrieval.types import Article, Chunk

# Paragraph, line, sentence end (kept with its sentence), clause, word, character.
_SENTENCE_END = r"(?:(?<=[.!?…])|(?<=[.!?…][\"'”’)\]]))\s+"
_SEPARATORS = [r"\n\n", r"\n", _SENTENCE_END, r"(?<=[;:])\s+", r"\s+", ""]
# Characters a separator (or the splitter's whitespace stripping) can match.
_SEPARATOR_CODES = np.array(
    [ord(c) for c in ".!?…\"'”’)];:"] + [c for c in range(0x3001) if re.match(r"\s", chr(c))],
    dtype=np.uint32,
)
_STAND_IN = 0x4E00  # CJK ideographs: no separator matches them
_SPACES = re.compile(r"\s*")


class Chunker:
    """Split articles into `Chunk`s of about `size` characters sharing `overlap`."""

    def __init__(self, size: int = 600, overlap: int = 100) -> None:
        if overlap >= size:
            raise ValueError(f"chunk overlap ({overlap}) must be smaller than size ({size})")
        self.size = size
        self.overlap = overlap
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=size,
            chunk_overlap=overlap,
            separators=_SEPARATORS,
            is_separator_regex=True,
            keep_separator="end",
            strip_whitespace=True,
        )

    def split(self, article: Article) -> list[Chunk]:
        """Return the article's chunks in order, each a verbatim slice of its text."""
        text = article.text
        # The splitter returns strings, not offsets, and searching for a string finds the
        # first copy of a passage that repeats (which leaves the later text in no chunk).
        # So split a stand-in of the same length in which every character that no
        # separator looks at is unique to its position: the splitter makes the same cuts,
        # and each piece is found exactly where it was cut.
        stand_in = _stand_in(text)
        chunks: list[Chunk] = []
        lowest, previous = 0, (-1, 0)
        for piece in self._splitter.split_text(stand_in):
            if _is_unique(piece):
                start = stand_in.find(piece, lowest)
                if start < 0:  # the splitter changed the text: never store an unquotable chunk
                    raise ValueError(f"chunk {len(chunks)} of {article.id} is not a slice of it")
                lowest = start + 1
            else:  # only punctuation: the copy that leaves no gap after the previous chunk
                gap_end = _SPACES.match(stand_in, previous[1]).end()  # type: ignore[union-attr]
                start = stand_in.rfind(piece, previous[0] + 1, gap_end + len(piece))
                if start < 0:
                    continue
            end = start + len(piece)
            chunks.append(Chunk(article.id, len(chunks), start, end, text[start:end]))
            previous = (start, end)
        return chunks


def _stand_in(text: str) -> str:
    """`text` with every non-separator character replaced by one unique to its position."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).copy()
    replace = ~np.isin(codes, _SEPARATOR_CODES)
    codes[replace] = _STAND_IN + np.flatnonzero(replace) % 20_000
    return codes.tobytes().decode("utf-32-le", "surrogatepass")


def _is_unique(piece: str) -> bool:
    """True when the stand-in piece holds a position-unique character."""
    return any(ord(c) >= _STAND_IN for c in piece)
