"""Chunking: split an article into overlapping, sentence-aware passages with offsets.

LangChain's `RecursiveCharacterTextSplitter` does the splitting (paragraphs, then lines,
then sentence ends, then words); `add_start_index` gives each chunk its offset, which we
verify, so `article.text[start:end] == chunk.text` always holds and answers can quote
the exact passage later.
"""

from __future__ import annotations

from langchain_text_splitters import RecursiveCharacterTextSplitter

from retrieval.types import Article, Chunk

# Paragraph, line, sentence end (kept with its sentence), clause, word, character.
_SENTENCE_END = r"(?:(?<=[.!?…])|(?<=[.!?…][\"'”’)\]]))\s+"
_SEPARATORS = [r"\n\n", r"\n", _SENTENCE_END, r"(?<=[;:])\s+", r"\s+", ""]


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
            add_start_index=True,
            strip_whitespace=True,
        )

    def split(self, article: Article) -> list[Chunk]:
        """Return the article's chunks in order, each a verbatim slice of its text."""
        text = article.text
        chunks: list[Chunk] = []
        search_from = 0
        for doc in self._splitter.create_documents([text]):
            piece = doc.page_content
            if not piece.strip():
                continue
            start = int(doc.metadata.get("start_index", -1))
            if start < 0 or text[start : start + len(piece)] != piece:
                start = text.find(piece, search_from)
            if start < 0:  # the splitter changed the text: never store an unquotable chunk
                raise ValueError(f"chunk {len(chunks)} of {article.id} is not a slice of it")
            chunks.append(Chunk(article.id, len(chunks), start, start + len(piece), piece))
            search_from = start + 1
        return chunks
