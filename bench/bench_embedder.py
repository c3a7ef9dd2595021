"""How fast is the default ONNX embedder, and would another onnxruntime set-up be faster?

Bulk embedding is the ingest bottleneck, so this measures, on ~2,000 chunk texts cut from
the dev set the way ingest cuts articles (RecursiveCharacterTextSplitter, chunk sizes 400 to
800 characters; the default is 600):

* load time of the default embedder (checksums, tokenizer, session) and the cold import;
* texts/s of the shipped int8 model at each graph-optimisation level (`graph`);
* texts/s of onnxruntime dynamic quantisation (`quant`: MatMulInteger with int8 activations,
  from the constant-folded fp32 graph, weights per tensor or per channel; and per channel
  after onnxruntime's BERT fusions);
* texts/s for batch sizes 16/32/64/128 with and without length sorting (`batch`), and for
  1 vs 2 threads (`threads`); the other sections run `SESSION_BATCH` texts per run;
* recall@1/@5 on the dev set for every model variant (`recall`), and whether a text's vector
  depends on the other texts of its batch (dynamic quantisation scales per batch).

Speeds are medians of `--runs` runs, interleaved across variants so that load from other
processes on the machine hits every variant alike. Needs the ``onnx`` package for the
quantisation variants (and ``sympy`` for the fused one); they are skipped without it.

    .venv/bin/python bench/bench_embedder.py                 # everything (~30 min, 2 cores)
    .venv/bin/python bench/bench_embedder.py --sections load,recall --texts 500
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from retrieval.store.embedders.onnx import (  # noqa: E402 - after the path set-up
    DEFAULT_GRAPH_OPTIMIZATION,
    SESSION_BATCH,
    GraphOptimization,
    OnnxEmbedder,
)

EVAL_DIR = REPO.parent / "shared" / "data" / "eval"
SECTIONS = ("load", "graph", "quant", "batch", "threads", "recall")


@dataclass(frozen=True)
class Variant:
    """One way to run the model: a file plus session settings."""

    name: str
    model: Path
    graph_optimization: GraphOptimization = DEFAULT_GRAPH_OPTIMIZATION

    def embedder(self, tokenizer: Path, threads: int | None = None) -> OnnxEmbedder:
        return OnnxEmbedder(
            self.model, tokenizer, graph_optimization=self.graph_optimization, threads=threads
        )


def load_articles() -> list[dict[str, str]]:
    with (EVAL_DIR / "articles.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_questions() -> list[dict[str, object]]:
    with (EVAL_DIR / "questions.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def chunk_texts(count: int) -> list[str]:
    """`count` chunk texts, fixed for a given count (seeded sample)."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    chunks: list[str] = []
    for size in (400, 500, 600, 700, 800):
        splitter = RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=100)
        for article in load_articles():
            chunks.extend(splitter.split_text(article["text"]))
    random.Random(20240601).shuffle(chunks)
    while len(chunks) < count:
        chunks = chunks + chunks
    return chunks[:count]


def median_time(function: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass(frozen=True)
class Rate:
    """Median throughput: by the wall clock, and per CPU-second of this process."""

    wall: float
    cpu: float


def interleaved_rates(
    embedders: dict[str, OnnxEmbedder], texts: list[str], runs: int
) -> dict[str, Rate]:
    """texts/s per embedder: median of `runs`, each run going round all embedders.

    The CPU-time rate is the one to compare variants by when other processes share the
    machine (their load slows the wall clock, not our CPU time); it counts every thread,
    so with more than one intra-op thread it also counts their spinning.
    """
    for embedder in embedders.values():
        embedder.load()
        embedder.embed_array(texts[:16])  # warm-up: first-run allocations
    wall: dict[str, list[float]] = {name: [] for name in embedders}
    cpu: dict[str, list[float]] = {name: [] for name in embedders}
    for run in range(runs):
        for name, embedder in embedders.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            embedder.embed_array(texts)
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
            print(
                f"    run {run + 1}: {name:<44} {len(texts) / wall[name][-1]:7.1f} texts/s,"
                f" {len(texts) / cpu[name][-1]:7.1f} per CPU-s",
                flush=True,
            )
    return {
        name: Rate(
            len(texts) / statistics.median(wall[name]), len(texts) / statistics.median(cpu[name])
        )
        for name in embedders
    }


def batch_dependence(embedder: OnnxEmbedder, texts: list[str]) -> float:
    """Largest change of a vector between embedding it in a batch and alone."""
    batched = embedder.embed_array(texts)
    single = np.vstack([embedder.embed_array([t]) for t in texts])
    return float(np.abs(batched - single).max())


def token_stats(embedder: OnnxEmbedder, texts: list[str]) -> str:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(embedder.tokenizer_path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    lengths = np.array([len(e.ids) for e in tokenizer.encode_batch(texts)])
    return (
        f"{len(texts)} texts, {np.mean([len(t) for t in texts]):.0f} chars and"
        f" {lengths.mean():.0f} tokens on average (median {np.median(lengths):.0f},"
        f" max {lengths.max()}); {np.mean(lengths > 128):.0%} over 128 tokens,"
        f" {np.mean(lengths > 256):.1%} over 256"
    )


# -- model variants ----------------------------------------------------------------------------


def make_variants(shipped: Path, work: Path, with_quant: bool) -> Iterator[Variant]:
    """The shipped file at each optimisation level, then the quantised files if possible."""
    yield Variant("shipped int8, ORT_ENABLE_BASIC (default)", shipped, "basic")
    yield Variant("shipped int8, ORT_ENABLE_ALL", shipped, "all")
    yield Variant("shipped int8, ORT_DISABLE_ALL", shipped, "disable")
    if not with_quant:
        return
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:  # pragma: no cover - onnx missing
        print(f"  (quantisation variants skipped: {exc}; `pip install onnx`)")
        return
    import onnxruntime as ort

    # The shipped graph stores int8 weights and dequantises them with Cast+Mul, which
    # onnxruntime constant-folds at load: saving the BASIC-optimised graph gives the
    # fp32 model that quantize_dynamic needs.
    fp32 = work / "fp32.onnx"
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(fp32)
    options.log_severity_level = 3
    ort.InferenceSession(str(shipped), options, providers=["CPUExecutionProvider"])
    start = time.perf_counter()
    per_tensor = work / "dynamic-int8.onnx"
    quantize_dynamic(fp32, per_tensor, weight_type=QuantType.QInt8)
    print(f"  quantize_dynamic took {time.perf_counter() - start:.1f} s")
    yield Variant("quantize_dynamic QInt8 per-tensor", per_tensor, "all")
    per_channel = work / "dynamic-int8-per-channel.onnx"
    quantize_dynamic(fp32, per_channel, weight_type=QuantType.QInt8, per_channel=True)
    yield Variant("quantize_dynamic QInt8 per-channel", per_channel, "all")
    try:
        from onnxruntime.transformers import optimizer

        fused_fp32 = work / "fused-fp32.onnx"
        model = optimizer.optimize_model(
            str(fp32), model_type="bert", num_heads=12, hidden_size=384, opt_level=0
        )
        model.save_model_to_file(str(fused_fp32))
        fused = work / "fused-dynamic-int8-per-channel.onnx"
        quantize_dynamic(fused_fp32, fused, weight_type=QuantType.QInt8, per_channel=True)
        yield Variant("BERT fusions + quantize_dynamic per-channel", fused, "all")
    except ImportError as exc:
        print(f"  (fused variant skipped: {exc})")


def export_quantized(directory: Path) -> None:
    """Write model.onnx (per-channel dynamic int8), tokenizer.json and the 256-token limit.

    The result is used with ARTICLEBOT_EMBEDDER=onnx-dir and ARTICLEBOT_ONNX_MODEL_DIR=DIR:
    a faster embedder for whoever accepts its trade-offs, without changing the default.
    """
    import shutil

    default = OnnxEmbedder.minilm()
    default.load()  # verifies both checksums first
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-embedder-") as work:
        variants = {v.name: v for v in make_variants(default.model_path, Path(work), True)}
        shutil.copyfile(
            variants["quantize_dynamic QInt8 per-channel"].model, directory / "model.onnx"
        )
    shutil.copyfile(default.tokenizer_path, directory / "tokenizer.json")
    (directory / "sentence_bert_config.json").write_text('{"max_seq_length": 256}\n')
    print(
        f"wrote {directory}: use ARTICLEBOT_EMBEDDER=onnx-dir ARTICLEBOT_ONNX_MODEL_DIR={directory}"
    )


# -- sections ---------------------------------------------------------------------------------


def section_load(runs: int) -> None:
    print("\n== load time ==")

    def load() -> None:
        OnnxEmbedder.minilm().load()

    load()  # the file cache is warm from here on, as on a second run of the CLI
    print(f"  construct + load (sha256 x2, tokenizer, session): {median_time(load, runs):.3f} s")
    code = (
        "import time; t = time.perf_counter(); import onnxruntime, tokenizers;"
        " print(time.perf_counter() - t)"
    )
    cold = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)
        for _ in range(runs)
    ]
    print(f"  import onnxruntime + tokenizers in a new process: {statistics.median(cold):.3f} s")
    embedder = OnnxEmbedder.minilm()
    embedder.load()
    first = median_time(lambda: embedder.embed_query("When was the bridge opened?"), runs)
    print(f"  one query after load: {first * 1000:.1f} ms")


def section_speed(
    title: str, embedders: dict[str, OnnxEmbedder], texts: list[str], runs: int
) -> dict[str, Rate]:
    print(f"\n== {title} ==")
    rates = interleaved_rates(embedders, texts, runs)
    base = next(iter(rates.values()))
    print(f"  {'variant':<46} {'texts/s':>8} {'per CPU-s':>10} {'CPU vs first':>13}")
    for name, rate in rates.items():
        print(f"  {name:<46} {rate.wall:8.1f} {rate.cpu:10.1f} {rate.cpu / base.cpu:12.2f}x")
    return rates


def section_recall(variants: list[Variant], tokenizer: Path) -> None:
    print("\n== dev-set retrieval (paragraphs of all articles; answerable questions) ==")
    paragraphs: list[tuple[str, str]] = []
    for article in load_articles():
        for paragraph in article["text"].split("\n\n"):
            if paragraph.strip():
                paragraphs.append((article["id"], paragraph))
    questions = [q for q in load_questions() if q["answerable"]]
    print(f"  {len(paragraphs)} paragraphs, {len(questions)} answerable questions")
    relevant = [
        np.array(
            [
                article_id == q["article_id"]
                and any(str(answer) in text for answer in q["answers"])  # type: ignore[attr-defined]
                for article_id, text in paragraphs
            ]
        )
        for q in questions
    ]
    reference: np.ndarray | None = None
    print(f"  {'variant':<46} {'R@1':>6} {'R@5':>6} {'cos to default':>15} {'batch dep.':>11}")
    for variant in variants:
        embedder = variant.embedder(tokenizer)
        docs = embedder.embed_array([text for _, text in paragraphs])
        queries = embedder.embed_array([str(q["question"]) for q in questions])
        ranks = np.argsort(-(queries @ docs.T), axis=1)
        at1 = np.mean([hits[order[:1]].any() for hits, order in zip(relevant, ranks, strict=True)])
        at5 = np.mean([hits[order[:5]].any() for hits, order in zip(relevant, ranks, strict=True)])
        if reference is None:
            reference = docs
        agreement = float(np.mean(np.sum(docs * reference, axis=1)))
        dependence = batch_dependence(embedder, [text for _, text in paragraphs[:24]])
        print(
            f"  {variant.name:<46} {at1:6.3f} {at5:6.3f} {agreement:15.4f} {dependence:11.1e}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=2000, help="chunk texts to embed")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=",".join(SECTIONS))
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="intra-op threads for the graph, quant and batch comparisons (1 = robust CPU time)",
    )
    parser.add_argument(
        "--export-quantized",
        type=Path,
        metavar="DIR",
        help="only write the per-channel dynamic-int8 model as an embedder=onnx-dir directory",
    )
    args = parser.parse_args()
    if args.export_quantized:
        export_quantized(args.export_quantized)
        return
    sections = set(args.sections.split(","))
    unknown = sections - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")

    default = OnnxEmbedder.minilm()
    tokenizer = default.tokenizer_path
    texts = chunk_texts(args.texts)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    print(f"texts: {token_stats(default, texts)}")

    if "load" in sections:
        section_load(args.runs)
    with tempfile.TemporaryDirectory(prefix="bench-embedder-") as work:
        variants = list(
            make_variants(
                default.model_path, Path(work), "quant" in sections or "recall" in sections
            )
        )
        graph = [v for v in variants if v.model == default.model_path]
        quant = [variants[0], *(v for v in variants if v.model != default.model_path)]
        if "graph" in sections:
            section_speed(
                f"graph optimisation (batch {SESSION_BATCH}, sorted, {args.threads} thread(s))",
                {v.name: v.embedder(tokenizer, args.threads) for v in graph},
                texts,
                args.runs,
            )
        if "quant" in sections and len(quant) > 1:
            section_speed(
                f"dynamic quantisation (batch {SESSION_BATCH}, sorted, {args.threads} thread(s))",
                {v.name: v.embedder(tokenizer, args.threads) for v in quant},
                texts,
                args.runs,
            )
        if "batch" in sections:
            section_speed(
                f"batch size and length sorting (shipped model, {args.threads} thread(s))",
                {
                    f"batch {size:>3}, {'sorted' if ordered else 'input order'}": (
                        OnnxEmbedder.minilm(
                            batch_size=size, sort_by_length=ordered, threads=args.threads
                        )
                    )
                    for ordered in (True, False)
                    for size in (16, 32, 64, 128)
                },
                texts,
                args.runs,
            )
        if "threads" in sections:
            section_speed(
                f"intra-op threads (batch {SESSION_BATCH}, sorted)",
                {f"{n} thread(s)": OnnxEmbedder.minilm(threads=n) for n in (2, 1)},
                texts,
                args.runs,
            )
        if "recall" in sections:
            section_recall(variants, tokenizer)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
