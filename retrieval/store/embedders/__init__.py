"""Embedding models behind one interface: `make_embedder(settings)` returns an `Embedder`.

The default, `OnnxEmbedder.minilm()`, runs offline on onnxruntime. The OpenAI and
sentence-transformers embedders live in their own modules, imported only when chosen
(langchain-openai and torch are slow to import).
"""

from retrieval.store.embedders.base import Embedder, TokenStates
from retrieval.store.embedders.factory import make_embedder
from retrieval.store.embedders.onnx import OnnxEmbedder

__all__ = ["Embedder", "OnnxEmbedder", "TokenStates", "make_embedder"]
