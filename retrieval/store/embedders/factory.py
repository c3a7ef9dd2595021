"""Pick the embedder the settings name; the only place that maps names to classes."""

from __future__ import annotations

from retrieval.errors import ConfigError
from retrieval.store.embedders.base import Embedder
from retrieval.store.embedders.onnx import SESSION_BATCH, OnnxEmbedder
from retrieval.store.settings import StoreSettings


def make_embedder(settings: StoreSettings) -> Embedder:
    """Build (not load) the embedder of `settings.embedder`.

    Construction is cheap for every kind: models load on first use, so commands that only
    need `model_id` (listing, status) stay fast. Raises `ConfigError` for a missing setting
    and `EmbedderError` for missing model files.
    """
    kind = settings.embedder
    batch_size = settings.embed_batch_size
    # embed_batch_size is how many texts ingest hands over per call (and per OpenAI
    # request); onnxruntime runs them sorted by length in runs of at most SESSION_BATCH,
    # which measured ~1.5x faster than runs of 64 on CPU.
    session_batch = min(batch_size, SESSION_BATCH)
    if kind == "minilm-onnx":
        return OnnxEmbedder.minilm(batch_size=session_batch)
    if kind == "onnx-dir":
        if settings.onnx_model_dir is None:
            raise ConfigError(
                "ARTICLEBOT_ONNX_MODEL_DIR is not set; embedder=onnx-dir needs a directory"
                " with model.onnx and tokenizer.json."
            )
        return OnnxEmbedder.from_dir(settings.onnx_model_dir, batch_size=session_batch)
    if kind == "openai":
        from retrieval.store.embedders.openai import OpenAIEmbedder

        return OpenAIEmbedder.from_settings(settings)
    if kind == "sentence-transformers":
        from retrieval.store.embedders.sentence_transformers import SentenceTransformersEmbedder

        return SentenceTransformersEmbedder(
            settings.sentence_transformers_model, batch_size=batch_size
        )
    raise ConfigError(  # pragma: no cover - StoreSettings validates the name
        f"unknown embedder {kind!r}; use minilm-onnx, onnx-dir, openai or sentence-transformers"
    )
