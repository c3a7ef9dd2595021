"""Embeddings from OpenAI or any OpenAI-compatible server (Ollama, vLLM, llama.cpp...).

Built on `langchain_openai.OpenAIEmbeddings` with ``check_embedding_ctx_length=False``: the
texts go to the server as they are, so nothing needs tiktoken (whose encodings would be a
download); chunks are far below every model's context anyway. The openai client retries
429, 5xx and timeouts itself (``max_retries``) with backoff, honouring ``Retry-After``.

Every failure becomes an `EmbedderError` with one line that names the server and the HTTP
status; it never carries the API key (servers echo a masked key in 401 messages, so the
server's text is scrubbed before it is quoted). `langchain_openai` takes ~1 s to import, so
it is imported only when an OpenAI embedder is made.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np
from pydantic import SecretStr

from retrieval.errors import ConfigError, EmbedderError
from retrieval.openai_errors import describe_failure, server_host
from retrieval.store.embedders.base import Embedder, l2_normalise
from retrieval.store.settings import StoreSettings

#: Vector sizes of OpenAI's own models; any other model is measured with one probe text.
KNOWN_DIMENSIONS: dict[str, int] = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
DEFAULT_MODEL = "text-embedding-3-small"
#: Sent as the bearer token to a compatible server that needs no key (the client wants one).
_NO_KEY = "no-key"
_PROBE_TEXT = "dimension probe"


class OpenAIEmbedder(Embedder):
    """Embeddings over the OpenAI ``/v1/embeddings`` API; vectors are re-normalised to unit
    length because compatible servers do not all return normalised ones."""

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        api_key: SecretStr | None = None,
        base_url: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 2,
        batch_size: int = 64,
        dimension: int | None = None,
    ) -> None:
        if api_key is None and base_url is None:
            raise ConfigError(
                "OPENAI_API_KEY is not set; set it (or OPENAI_BASE_URL for a compatible server"
                " that needs no key), or use the offline embedder: ARTICLEBOT_EMBEDDER=minilm-onnx."
            )
        if api_key is not None and not api_key.get_secret_value().strip():
            raise ConfigError("OPENAI_API_KEY is empty; set it to your API key.")
        self.model = model
        self.base_url = base_url
        self.timeout = timeout
        self.max_retries = max_retries
        self._api_key = api_key if api_key is not None else SecretStr(_NO_KEY)
        self._dimension = dimension if dimension is not None else KNOWN_DIMENSIONS.get(model)
        self._dimension_lock = threading.Lock()
        self._host = server_host(base_url)

        import openai
        from langchain_openai import OpenAIEmbeddings

        # Our own HTTP client (the SDK's defaults), so that `close` can release its
        # connections: an index opened and closed in a long-running process leaks none.
        # Collected without `close`, the finalizer closes it (as the SDK's own would).
        self._http = openai.DefaultHttpxClient()
        self._close = weakref.finalize(self, self._http.close)

        # Every setting is passed explicitly (None included) so that nothing is picked up
        # from OPENAI_* environment variables behind the StoreSettings object's back.
        self._client = OpenAIEmbeddings(
            model=model,
            api_key=self._api_key,
            base_url=base_url,
            organization=None,
            openai_api_type=None,
            openai_proxy=None,
            timeout=timeout,
            max_retries=max_retries,
            chunk_size=batch_size,
            check_embedding_ctx_length=False,
            http_client=self._http,
        )

    @classmethod
    def from_settings(cls, settings: StoreSettings) -> OpenAIEmbedder:
        """The embedder `settings` describe (model, key, base URL, timeout, retries, batch)."""
        return cls(
            model=settings.openai_embedding_model,
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            timeout=settings.openai_timeout,
            max_retries=settings.openai_max_retries,
            batch_size=settings.embed_batch_size,
        )

    def close(self) -> None:
        """Close the HTTP client's connections."""
        self._close()

    @property
    def model_id(self) -> str:
        """``openai:<model>``: the vector space is the model's, whichever server serves it."""
        return f"openai:{self.model}"

    @property
    def dimension(self) -> int:
        """From the table of OpenAI models, else measured once on a probe text."""
        if self._dimension is None:
            with self._dimension_lock:
                if self._dimension is None:
                    self._dimension = len(self._embed([_PROBE_TEXT])[0])
        return self._dimension

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts in order, `batch_size` per request."""
        if not texts:
            return []
        vectors = self._embed(list(texts))
        if self._dimension is not None and len(vectors[0]) != self._dimension:
            raise EmbedderError(
                f"{self._host} returned {len(vectors[0])}-d vectors for {self.model},"
                f" expected {self._dimension}-d; check OPENAI_BASE_URL and the model name."
            )
        return vectors

    def _embed(self, texts: list[str]) -> list[list[float]]:
        try:
            raw = self._client.embed_documents(texts)
            matrix = np.asarray(raw, dtype=np.float32)
        except EmbedderError:
            raise
        except Exception as exc:  # the openai client's errors, or a malformed reply
            raise EmbedderError(self._describe(exc)) from None
        if matrix.ndim != 2 or matrix.shape[0] != len(texts) or matrix.shape[1] == 0:
            raise EmbedderError(
                f"malformed embeddings reply from {self._host}: expected {len(texts)} vectors,"
                f" got shape {matrix.shape}"
            )
        if not np.isfinite(matrix).all():
            raise EmbedderError(f"malformed embeddings reply from {self._host}: non-finite values")
        normalised: list[list[float]] = l2_normalise(matrix).tolist()
        return normalised

    def _describe(self, exc: BaseException) -> str:
        """One line saying what went wrong, safe to show and log (no key, no server dump)."""
        secret = self._api_key.get_secret_value()
        return describe_failure(
            exc,
            where=f"embeddings request to {self._host} ({self.model})",
            timeout=self.timeout,
            retries=self.max_retries,
            not_found_hint="check the model name and OPENAI_BASE_URL",
            malformed=f"malformed embeddings reply from {self._host}: {type(exc).__name__}",
            secret="" if secret == _NO_KEY else secret,
        )
