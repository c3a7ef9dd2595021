"""Optional embedder on sentence-transformers (PyTorch), for models with no ONNX export.

sentence-transformers is an extra (``articlebot[sentence-transformers]``) because it pulls
PyTorch, which the default ONNX embedder does without. It is located at construction (so a
missing install is reported at once) but imported, and the model loaded, only on first use:
importing torch takes seconds. Models are loaded with ``local_files_only=True``: articlebot
never downloads weights at run time, so the setting must name a local path or a model that
is already in the Hugging Face cache.
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Any

import numpy as np

from retrieval.errors import ConfigError, EmbedderError
from retrieval.store.embedders.base import Embedder, l2_normalise

INSTALL_HINT = (
    "sentence-transformers is not installed; on a CPU-only machine run"
    " `pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu` first,"
    " then `pip install 'articlebot[sentence-transformers]'`"
    " (or use the default offline embedder: ARTICLEBOT_EMBEDDER=minilm-onnx)."
)


def sentence_transformers_installed() -> bool:
    """Whether the package can be imported, without importing it (and torch)."""
    try:
        return importlib.util.find_spec("sentence_transformers") is not None
    except (ImportError, ValueError):  # ValueError: blocked in sys.modules (tests)
        return False


class SentenceTransformersEmbedder(Embedder):
    """A sentence-transformers model on CPU; vectors normalised like the other embedders."""

    def __init__(self, model_name: str, *, batch_size: int = 64, device: str = "cpu") -> None:
        if not sentence_transformers_installed():
            raise ConfigError(INSTALL_HINT)
        self.model_name = model_name
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """``sentence-transformers:<model name or path>`` as configured."""
        return f"sentence-transformers:{self.model_name}"

    @property
    def dimension(self) -> int:
        """As the loaded model reports it."""
        size = self._load().get_sentence_embedding_dimension()
        if not isinstance(size, int):
            raise EmbedderError(f"{self.model_name} does not report its embedding size")
        return size

    def _load(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    try:
                        from sentence_transformers import SentenceTransformer
                    except ImportError as exc:
                        raise ConfigError(f"{INSTALL_HINT} ({exc})") from exc
                    try:
                        self._model = SentenceTransformer(
                            self.model_name, device=self.device, local_files_only=True
                        )
                    except Exception as exc:
                        raise EmbedderError(
                            f"cannot load sentence-transformers model {self.model_name!r}"
                            f" (a local path or an already cached model is needed): {exc}"
                        ) from exc
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts in order, `batch_size` at a time."""
        if not texts:
            return []
        model = self._load()
        try:
            matrix = model.encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True)
        except Exception as exc:
            raise EmbedderError(f"sentence-transformers model failed: {exc}") from exc
        vectors: list[list[float]] = l2_normalise(np.asarray(matrix, dtype=np.float32)).tolist()
        return vectors
