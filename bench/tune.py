"""Sweep the shipped answering pipeline's knobs on the dev set and the news dev set.

Run, e.g.:

    .venv/bin/python bench/tune.py --sets dev news-tune \\
        --vary answer.match_weight=4,6,8 --vary sentences.embedded=8,12
    .venv/bin/python bench/tune.py --sets dev --vary chunk.size=1000,1500 \\
        --vary chunk.overlap=100,200

Every combination of the `--vary` values is one variant; each variant answers every
question of every set through the same answerer `articlebot ask` builds
(`retrieval.pipeline.make_answerer`'s news-aware offline path), with only the named fields
of `OfflineConfig` (`answer.`), `SentenceConfig` (`sentences.`) or `RetrievalConfig`
(`retrieval.`) changed, or with the articles chunked by the shipped `Chunker` at another
size or overlap (`chunk.size`, `chunk.overlap`: `Settings.chunk_size`/`chunk_overlap`; one
`Harness`, i.e. one chunking and embedding of each set, per chunk setting). Prints one line
of metrics per variant and set (bench/quality.py's columns), hybrid retriever, hold-out
seed 0 unless `--seeds` says otherwise.
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import replace
from typing import Any

from quality import Harness, line

from bot.settings import Settings
from retrieval.answer.offline import OfflineComposer, OfflineConfig
from retrieval.evaluation.qa import summarize
from retrieval.news.retriever import NewsRetriever
from retrieval.pipeline import Pipeline
from retrieval.search.retriever import RetrievalConfig
from retrieval.search.sentence_rank import SentenceConfig

PARTS = ("answer", "sentences", "retrieval", "chunk")
#: `chunk.` names and the `Settings` fields they set.
CHUNK = {"chunk.size": "chunk_size", "chunk.overlap": "chunk_overlap"}


def parse_vary(items: list[str]) -> dict[str, list[float]]:
    """`part.field=v1,v2` pairs as {part.field: [v1, v2]}."""
    grid: dict[str, list[float]] = {}
    for item in items:
        name, _, values = item.partition("=")
        part = name.split(".", 1)[0]
        if part not in PARTS or not values or name.startswith("chunk.") and name not in CHUNK:
            raise SystemExit(
                f"--vary {item}: expected answer|sentences|retrieval.FIELD=V1,V2"
                " or chunk.size|chunk.overlap=V1,V2"
            )
        grid[name] = [float(v) for v in values.split(",")]
    return grid


def configs(setting: dict[str, float]) -> tuple[OfflineConfig, RetrievalConfig]:
    """The shipped configs with the named fields changed."""
    fields: dict[str, dict[str, Any]] = {"answer": {}, "sentences": {}, "retrieval": {}}
    for name, value in setting.items():
        part, field = name.split(".", 1)
        if part == "chunk":
            continue
        fields[part][field] = int(value) if value.is_integer() and field in _INTS else value
    sentences = replace(SentenceConfig(), **fields["sentences"])
    retrieval = replace(RetrievalConfig(), sentences=sentences, **fields["retrieval"])
    return replace(OfflineConfig(), **fields["answer"]), retrieval


_INTS = {"passages", "embedded", "max_chars", "max_sentences", "typed_sentences", "pool"}
_INTS |= {"rescore_top", "per_article"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["dev", "news-tune"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--vary", action="append", default=[], help="part.field=v1,v2,...")
    args = ap.parse_args()
    grid = parse_vary(args.vary)
    names = list(grid)
    harnesses: dict[tuple[str, tuple[tuple[str, int], ...]], Harness] = {}
    for values in itertools.product(*grid.values()):
        setting = dict(zip(names, values, strict=True))
        answer_config, retrieval_config = configs(setting)
        label = " ".join(f"{k}={v:g}" for k, v in setting.items()) or "shipped"
        chunking = tuple((CHUNK[k], int(v)) for k, v in setting.items() if k in CHUNK)
        for set_name in args.sets:
            if (set_name, chunking) not in harnesses:
                settings = Settings(_env_file=None, **dict(chunking))  # type: ignore[call-arg]
                harnesses[set_name, chunking] = Harness(settings, name=set_name)
            harness = harnesses[set_name, chunking]
            for seed in args.seeds:
                index = harness.split(seed).index
                retriever = NewsRetriever(index, "hybrid", retrieval_config)  # type: ignore[arg-type]
                turns = harness.settings.history_turns
                composer = OfflineComposer(
                    answer_config, passages=retrieval_config.sentences.passages
                )
                answerer = Pipeline(
                    retriever, composer, top_k=harness.settings.top_k, history_turns=turns
                )
                results = harness.run(
                    seed, "hybrid", make=lambda _, a=answerer: a, retriever=retriever
                )
                print(f"{label}  " + line(f"{set_name} s{seed}", summarize(results)), flush=True)


if __name__ == "__main__":
    main()
