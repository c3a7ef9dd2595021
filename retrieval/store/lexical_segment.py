"""One bm25s index over some chunks, and the corpus statistics its scores were made with.

bm25s precomputes every (chunk, term) score at indexing time, as idf(df, N) times a term
frequency part that normalises by the average chunk length (`bm25s/scoring.py`). A base
segment is made by `bm25s.BM25.index` over its own chunks. A delta segment (chunks stored
after the base) is made by the same bm25s functions (`_calculate_doc_freqs`,
`_build_idf_array`, `_build_scores_and_indices_for_matrix`, `BM25._np_csc`), but with the
base's statistics added in: df = base df + delta df, N = base chunks + delta chunks, and
the base's average chunk length, so that a delta chunk scores as it would beside the base
chunks (`retrieval/store/lexical.py` says what this leaves approximate).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cached_property

import bm25s
import numpy as np
from bm25s.scoring import (
    _build_idf_array,
    _build_scores_and_indices_for_matrix,
    _calculate_doc_freqs,
    _select_idf_scorer,
)

ChunkKey = tuple[str, int]  # (article id, chunk position)
#: Token ids are held per chunk as compact arrays of C ints, not lists of Python ints: a
#: tenth of the memory while building (an int object is 28 bytes, a list slot 8 more); bm25s
#: iterates them as it does lists (numpy arrays would cost it 35% more time).
_TOKEN_ID = "i"


@dataclass(frozen=True, slots=True)
class Statistics:
    """What BM25 scores depend on besides the chunk itself."""

    chunks: int  # N
    average_length: float  # tokens per chunk
    frequency: Callable[[str], int]  # df of a stem


def token_ids(
    chunks: Iterable[Sequence[str]], vocabulary: dict[str, int] | None = None
) -> tuple[list[array[int]], dict[str, int], int]:
    """Each chunk's stems as ids (the vocabulary grows as new stems are met), and the total
    number of stems."""
    vocabulary = {} if vocabulary is None else vocabulary
    ids: list[array[int]] = []
    total = 0
    for stems in chunks:
        row = array(_TOKEN_ID, [vocabulary.setdefault(stem, len(vocabulary)) for stem in stems])
        ids.append(row)
        total += len(row)
    return ids, vocabulary, total


class Segment:
    """A bm25s index over `keys` (keys[i] names document i) and the totals it was made with."""

    def __init__(self, keys: Sequence[ChunkKey], retriever: bm25s.BM25 | None, tokens: int) -> None:
        self.keys = list(keys)
        self.retriever = retriever
        self.tokens = tokens  # stems in all its chunks

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def average_length(self) -> float:
        return self.tokens / len(self.keys) if self.keys else 0.0

    def chunks_of(self, articles: AbstractSet[str]) -> np.ndarray:
        """The document numbers of these articles' chunks."""
        if not articles:
            return np.zeros(0, dtype=np.int64)
        found = [self._by_article[a] for a in articles if a in self._by_article]
        return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)

    @cached_property
    def _by_article(self) -> dict[str, np.ndarray]:
        """Each article's document numbers (made once per segment, on first use)."""
        found: dict[str, list[int]] = {}
        for number, (article, _) in enumerate(self.keys):
            found.setdefault(article, []).append(number)
        return {a: np.array(numbers, dtype=np.int64) for a, numbers in found.items()}

    def statistics(self) -> Statistics:
        """This segment's own statistics: what its scores were made with, as a base."""
        return Statistics(len(self.keys), self.average_length, self.frequency)

    @classmethod
    def build(
        cls,
        keys: Sequence[ChunkKey],
        chunks: Iterable[Sequence[str]],
        base: Statistics | None = None,
    ) -> Segment:
        """Index these chunks' stems: scored with their own statistics, or, given `base`,
        with the base's added in (a delta)."""
        ids, vocabulary, total = token_ids(chunks)
        if not ids:
            return cls([], None, 0)
        retriever = bm25s.BM25()
        if base is None:
            retriever.index((ids, vocabulary), show_progress=False, create_empty_token=False)
        else:
            _score_beside(retriever, ids, vocabulary, base)
        return cls(keys, retriever, total)

    def frequency(self, stem: str) -> int:
        """How many of its chunks hold the stem."""
        column = self._column(stem)
        return 0 if column is None else int(column.size)

    def frequency_among(self, stem: str, kept: np.ndarray) -> int:
        """How many of its chunks whose `kept` entry is non-zero hold the stem."""
        column = self._column(stem)
        return 0 if column is None else int(np.count_nonzero(kept[column]))

    def _column(self, stem: str) -> np.ndarray | None:
        """The documents that hold the stem (a column of bm25s's sparse score matrix)."""
        if self.retriever is None or (token := self.retriever.vocab_dict.get(stem)) is None:
            return None
        scores = self.retriever.scores
        indptr = scores["indptr"]
        column: np.ndarray = scores["indices"][indptr[token] : indptr[token + 1]]
        return column

    def term_scores(self, stem: str, weights: np.ndarray | None = None) -> np.ndarray:
        """Every document's bm25s score for this one stem, times `weights` (bm25s's
        `weight_mask`: 0 leaves a document out); zeros if none holds it."""
        token = None if self.retriever is None else self.retriever.vocab_dict.get(stem)
        if token is None or self.retriever is None:
            return np.zeros(len(self.keys), dtype=np.float32)
        scores: np.ndarray = self.retriever.get_scores_from_ids([token], weight_mask=weights)
        return scores


def _score_beside(
    retriever: bm25s.BM25, ids: list[array[int]], vocabulary: dict[str, int], base: Statistics
) -> None:
    """Fill `retriever` as `BM25.index` would, with the base's statistics added in."""
    own = _calculate_doc_freqs(ids, range(len(vocabulary)), show_progress=False)
    stems = {i: stem for stem, i in vocabulary.items()}
    frequencies = {i: df + base.frequency(stems[i]) for i, df in own.items()}
    chunks = base.chunks + len(ids)
    idf = _build_idf_array(
        doc_frequencies=frequencies,
        n_docs=chunks,
        compute_idf_fn=_select_idf_scorer(retriever.idf_method),
        dtype=retriever.dtype,
    )
    average = base.average_length if base.chunks else sum(map(len, ids)) / len(ids)
    scores, docs, tokens = _build_scores_and_indices_for_matrix(
        corpus_token_ids=ids,
        idf_array=idf,
        avg_doc_len=average,
        doc_frequencies=own,
        k1=retriever.k1,
        b=retriever.b,
        delta=retriever.delta,
        nonoccurrence_array=None,
        method=retriever.method,
        dtype=retriever.dtype,
        int_dtype=retriever.int_dtype,
        show_progress=False,
    )
    data, indices, indptr = retriever._np_csc(
        data=scores, rows=docs, cols=tokens, shape=(len(ids), len(vocabulary))
    )
    retriever.scores = {
        "data": data.astype(retriever.dtype),
        "indices": indices,
        "indptr": indptr,
        "num_docs": len(ids),
    }
    retriever.vocab_dict = vocabulary
    retriever.unique_token_ids_set = set(vocabulary.values())
    retriever.nonoccurrence_array = None
