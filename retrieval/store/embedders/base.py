"""What every embedder offers the rest of articlebot.

An `Embedder` names itself: `model_id` is recorded in the Chroma collection and `dimension`
is checked against it, so vectors of two different models never get mixed in one index.
Every embedder returns L2-normalised vectors, so cosine similarity is a dot product.

It has LangChain's `Embeddings` methods but does not inherit the class: importing
`langchain_core.embeddings` pulls in runnables, callbacks and pydantic v1 (~0.2 s of every
`articlebot ask`). Where LangChain needs one (langchain-chroma's vector store, which
ingest writes through), `as_langchain(embedder)` wraps it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

FloatMatrix = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class TokenStates:
    """One text's contextual token vectors (unit rows), with their tokens; no special tokens.

    A local transformer computes them anyway before pooling; comparing them token by token
    (`sentence_rank.soft_coverage`) tells how much of a question a sentence says, synonyms
    included, which a single pooled vector blurs.
    """

    tokens: tuple[str, ...]
    states: FloatMatrix


class Embedder(ABC):
    """An embedding model that knows its own id and vector size.

    `model_id` and `dimension` are read-only properties so that a subclass may work
    them out lazily (an OpenAI-compatible model of unknown size embeds one probe text).
    """

    @property
    @abstractmethod
    def model_id(self) -> str:
        """Stable name of the vector space, e.g. ``all-MiniLM-L6-v2-onnx-int8``."""

    @property
    @abstractmethod
    def dimension(self) -> int:
        """Length of every vector this embedder returns."""

    @abstractmethod
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed many texts (in order); `[]` for no texts. Vectors are unit length."""

    def embed_query(self, text: str) -> list[float]:
        """Embed one search query (same space and model as the documents)."""
        return self.embed_documents([text])[0]

    def embed_with_tokens(self, texts: list[str]) -> tuple[FloatMatrix, list[TokenStates] | None]:
        """Vectors (one row per text) and, when the model exposes them, token states.

        Remote models return no token states (None); local transformers override this.
        """
        vectors = np.array(self.embed_documents(texts), dtype=np.float32)
        return vectors.reshape(len(texts), -1), None

    def close(self) -> None:  # noqa: B027 - an optional hook: most embedders hold nothing
        """Release network connections (a local model has none)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_id={self.model_id!r})"


def l2_normalise(vectors: FloatMatrix) -> FloatMatrix:
    """Scale each row to unit length (a row of zeros stays zero instead of becoming NaN)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalised: FloatMatrix = (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return normalised


def as_langchain(embedder: Embedder) -> Embeddings:
    """The embedder as a LangChain `Embeddings` (same vectors, same calls)."""
    from langchain_core.embeddings import Embeddings

    class LangChainEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_documents(texts)

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed_query(text)

        def __repr__(self) -> str:
            return f"LangChainEmbeddings({embedder!r})"

    return LangChainEmbeddings()
