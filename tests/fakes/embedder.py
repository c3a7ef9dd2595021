"""A deterministic, instant embedder for index tests (the real one is tested on its own)."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from retrieval.store.embedders.base import Embedder, l2_normalise


class HashEmbedder(Embedder):
    """Bag of hashed word stems: texts sharing words get similar vectors."""

    def __init__(self, dimension: int = 64, name: str = "test-hash") -> None:
        self._dimension = dimension
        self._name = name
        self.calls: list[list[str]] = []

    @property
    def model_id(self) -> str:
        return f"{self._name}-{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        matrix = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                digest = hashlib.blake2b(word[:5].encode(), digest_size=4).digest()
                matrix[row, int.from_bytes(digest, "little") % self._dimension] += 1.0
            matrix[row, 0] += 1e-3  # never a zero vector
        return [list(map(float, v)) for v in l2_normalise(matrix)]
