"""A fast stand-in for `articlebot eval`: the real retriever and answerer over an in-memory index.

Run: `.venv/bin/python bench/quality.py [--seeds 0 1 2] [--modes hybrid dense lexical]`.

`articlebot eval` re-embeds the corpus into a throwaway Chroma index for every run (~1-2
minutes on 2 cores). This harness embeds every chunk once (cached in /tmp/articlebot_quality,
keyed by a hash of the texts), then, per hold-out seed, serves the kept chunks from numpy
(exact cosine search: Chroma's HNSW is exact at this size) and a fresh bm25s index. The
hold-out, the question groups and the metrics are `retrieval.evaluation.qa`'s own functions, so the
numbers match `articlebot eval --seed N` (checked: docs/retrieval.md).

Other scripts import `Harness` to sweep answerer settings or to collect refusal signals.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bot.settings import Settings  # noqa: E402
from ingest.chunk import Chunker  # noqa: E402
from ingest.eval_corpus import load_any_articles  # noqa: E402
from retrieval.answer.base import Answerer, Turn  # noqa: E402
from retrieval.evaluation.qa import (  # noqa: E402
    EvalQuestion,
    Group,
    ModeMetrics,
    QuestionResult,
    contains_answer,
    first_hit_rank,
    group_of,
    hold_out,
    load_questions,
    load_stories,
    summarize,
    without_markers,
)
from retrieval.pipeline import make_answerer  # noqa: E402
from retrieval.search.retriever import HybridRetriever, Mode  # noqa: E402
from retrieval.store.catalog import Catalog  # noqa: E402
from retrieval.store.embedders import TokenStates  # noqa: E402
from retrieval.store.embedders.onnx import OnnxEmbedder  # noqa: E402
from retrieval.store.entities import NAME_LABELS, Entity, SpacyTagger  # noqa: E402
from retrieval.store.entity_store import Names  # noqa: E402
from retrieval.store.index import embedding_text  # noqa: E402
from retrieval.store.lexical import LexicalIndex  # noqa: E402
from retrieval.store.stories import StoryStore  # noqa: E402
from retrieval.types import Article, Chunk, SearchFilters  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "eval"
NEWS = ROOT / "samples" / "news-dev"
REAL = ROOT.parent / "shared" / "data" / "articles"
#: The question sets this harness knows: (article sources, questions, stories or None).
#: The real article is asked among the news dev set's articles, as a user's would be.
SETS: dict[str, tuple[tuple[Path, ...], Path, Path | None]] = {
    "dev": ((DATA / "articles.jsonl",), DATA / "questions.jsonl", None),
    "news-tune": ((NEWS / "articles",), NEWS / "questions-tune.jsonl", NEWS / "stories.jsonl"),
    "news-test": ((NEWS / "articles",), NEWS / "questions-test.jsonl", NEWS / "stories.jsonl"),
    "real": ((REAL, NEWS / "articles"), NEWS / "real-article.jsonl", NEWS / "stories.jsonl"),
}
CACHE = Path("/tmp/articlebot_quality")
MODES: tuple[Mode, ...] = ("hybrid", "dense", "lexical")


class CachedEmbedder:
    """The default embedder with every vector cached on disk and in memory."""

    def __init__(self) -> None:
        self.model = OnnxEmbedder.minilm()
        self.memory: dict[str, np.ndarray] = {}
        self.model_id = self.model.model_id

    def many(self, texts: list[str]) -> np.ndarray:
        key = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:20]
        path = CACHE / f"vec_{key}.npy"
        if path.exists():
            vecs = np.load(path)
        else:
            CACHE.mkdir(parents=True, exist_ok=True)
            vecs = self.model.embed_array(texts)
            np.save(path, vecs)
        self.memory.update(zip(texts, vecs, strict=True))
        return vecs

    def embed_query(self, text: str) -> list[float]:
        if text not in self.memory:
            self.memory[text] = self.model.embed_array([text])[0]
        return [float(x) for x in self.memory[text]]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if t not in self.memory]
        if missing:
            self.memory.update(zip(missing, self.model.embed_array(missing), strict=True))
        return [[float(x) for x in self.memory[t]] for t in texts]

    def embed_with_tokens(self, texts: list[str]) -> tuple[np.ndarray, list[TokenStates] | None]:
        return self.model.embed_with_tokens(texts)

    def embed_array(self, texts: list[str]) -> np.ndarray:
        self.embed_documents(texts)
        return np.array([self.memory[t] for t in texts], dtype=np.float32)


class _Collection:
    """Exact cosine search with the shape of Chroma's `query()`."""

    def __init__(self, chunks: list[Chunk], vecs: np.ndarray) -> None:
        self.chunks = chunks
        self.vecs = vecs

    def count(self) -> int:
        return len(self.chunks)

    def query(self, query_embeddings: np.ndarray, n_results: int, **_: Any) -> dict[str, Any]:
        sims = self.vecs @ np.asarray(query_embeddings, dtype=np.float32)[0]
        top = np.argsort(-sims, kind="stable")[:n_results]
        metas = [
            {"article_id": self.chunks[i].article_id, "position": self.chunks[i].position}
            for i in top
        ]
        return {"metadatas": [metas], "distances": [[1.0 - float(sims[i]) for i in top]]}


class _Catalog:
    def __init__(self, articles: dict[str, Article], chunks: list[Chunk]) -> None:
        self.articles = articles
        self.offsets: dict[str, dict[int, tuple[int, int]]] = {}
        for c in chunks:
            self.offsets.setdefault(c.article_id, {})[c.position] = (c.start, c.end)

    def get_many(self, ids: Sequence[str]) -> dict[str, Article]:
        return {i: self.articles[i] for i in ids if i in self.articles}

    def spans(self, article_ids: Sequence[str]) -> dict[str, dict[int, tuple[int, int]]]:
        return {i: self.offsets[i] for i in article_ids if i in self.offsets}

    def filter_fields(self) -> list[tuple[str, str | None, date | None]]:
        return [(a.id, a.site, a.published) for a in self.articles.values()]


class _Entities:
    """The articles' named entities, tagged once per run by the shipped tagger."""

    def __init__(self, articles: dict[str, Article]) -> None:
        ids = list(articles)
        found = SpacyTagger().tag([articles[i].text for i in ids])
        self.spans: dict[str, list[Entity]] = dict(zip(ids, found, strict=True))

    def of(self, article_ids: Sequence[str]) -> dict[str, list[Entity]]:
        return {i: self.spans[i] for i in article_ids if i in self.spans}

    def names(self, labels: Sequence[str], articles: dict[str, Article]) -> Names:
        """As `EntityStore.names`: each name with the number of articles naming it."""
        named: dict[str, set[str]] = {}
        for article_id, spans in self.spans.items():
            text = articles[article_id].text
            for e in spans:
                if e.label in labels:
                    named.setdefault(text[e.start : e.end], set()).add(article_id)
        return Names({name: len(ids) for name, ids in named.items()})


def _stories(articles: dict[str, Article], entities: _Entities) -> StoryStore:
    """The shipped grouping into stories, over a scratch catalog holding these articles."""
    catalog = Catalog(Path(tempfile.mkdtemp(prefix="articlebot-stories-")) / "catalog.sqlite3")
    for article in articles.values():
        catalog.put_pending(article, [])
    store = StoryStore(catalog)
    store.assign([(a, entities.spans[a.id]) for a in articles.values()])
    return store


class MemIndex:
    """What the retriever needs of an `ArticleIndex`, held in memory."""

    def __init__(
        self,
        articles: dict[str, Article],
        chunks: list[Chunk],
        vecs: np.ndarray,
        embedder: CachedEmbedder,
        delta: float = 0.0,
    ) -> None:
        self.embedder = embedder
        self.catalog = _Catalog(articles, chunks)
        self.entities = _Entities(articles)
        self.stories = _stories(articles, self.entities)
        self._collection = _Collection(chunks, vecs)
        self._lexical = _lexical(articles, chunks, delta)

    def collection(self) -> _Collection:
        return self._collection

    def searchable(self) -> tuple[_Collection, int]:
        return self._collection, self._collection.count()

    def lexical(self) -> LexicalIndex:
        return self._lexical

    def generation(self) -> int:
        return 0

    def names(self) -> Names:
        return self.entities.names(NAME_LABELS, self.catalog.articles)

    def sites(self) -> list[str]:
        return sorted({a.site for a in self.catalog.articles.values() if a.site})

    def removing(self) -> frozenset[str]:
        return frozenset()  # nothing is being removed from an in-memory split


def _lexical(articles: dict[str, Article], chunks: list[Chunk], delta: float) -> LexicalIndex:
    """The BM25 index of these chunks: one base, or (`delta` > 0) a base of the first
    articles plus a delta segment over the last `delta` share of them, as a worker holds
    it between merges."""
    seqs = {article_id: seq for seq, article_id in enumerate(articles)}
    in_base = set(list(articles)[: round(len(articles) * (1 - delta))])
    base = [c for c in chunks if c.article_id in in_base]
    index = LexicalIndex.build(
        [(c.article_id, c.position) for c in base],
        [embedding_text(articles[c.article_id], c) for c in base],
        {a: seqs[a] for a in in_base},
    )
    if len(in_base) == len(articles):
        return index

    def read(ids: Sequence[str]) -> list[tuple[str, int, list[tuple[int, str]]]]:
        wanted = set(ids)
        found: dict[str, list[tuple[int, str]]] = {}
        for c in chunks:
            if c.article_id in wanted:
                text = embedding_text(articles[c.article_id], c)
                found.setdefault(c.article_id, []).append((c.position, text))
        return [(a, seqs[a], found[a]) for a in found]

    return index.extended(seqs, read)


AnswererFactory = Callable[[HybridRetriever], Answerer]


@dataclass
class Split:
    """One hold-out seed: its index and its questions with their groups."""

    seed: int
    index: MemIndex
    questions: list[tuple[EvalQuestion, Group]]


class Harness:
    """The dev set, chunked and embedded once, split by seed on demand."""

    def __init__(
        self, settings: Settings | None = None, name: str = "dev", delta: float = 0.0
    ) -> None:
        self.delta = delta  # the BM25 index's share in a delta segment (`_lexical`)
        self.settings = settings or Settings(_env_file=None)  # type: ignore[call-arg]
        articles, questions, stories = SETS[name]
        self.articles = [a for path in articles for a in load_any_articles(path, self.settings)]
        ids = {a.id for a in self.articles}
        self.questions = load_questions(questions, ids)
        self.stories = tuple(frozenset(s) for s in load_stories(stories, ids)) if stories else ()
        chunker = Chunker(self.settings.chunk_size, self.settings.chunk_overlap)
        self.chunks = [c for a in self.articles for c in chunker.split(a)]
        by_id = {a.id: a for a in self.articles}
        self.embedder = CachedEmbedder()
        texts = [embedding_text(by_id[c.article_id], c) for c in self.chunks]
        self.vecs = self.embedder.many(texts)
        self.embedder.many([q.question for q in self.questions])
        self._splits: dict[int, Split] = {}

    def split(self, seed: int, out_of_corpus: float = 0.2) -> Split:
        if seed not in self._splits:
            ids = [a.id for a in self.articles]
            held = hold_out(ids, out_of_corpus, seed, self.stories)
            kept = {a.id: a for a in self.articles if a.id not in held}
            rows = [i for i, c in enumerate(self.chunks) if c.article_id in kept]
            index = MemIndex(
                kept, [self.chunks[i] for i in rows], self.vecs[rows], self.embedder, self.delta
            )
            picked = [(q, group_of(q, held)) for q in self.questions]
            self._splits[seed] = Split(seed, index, picked)
        return self._splits[seed]

    def run(
        self,
        seed: int,
        mode: Mode,
        make: AnswererFactory | None = None,
        retriever: HybridRetriever | None = None,
        k: int = 10,
    ) -> list[QuestionResult]:
        """Every question of the split through retrieval (for recall) and the answerer."""
        split = self.split(seed)
        retriever = retriever or HybridRetriever(split.index, mode)  # type: ignore[arg-type]
        answerer = make(retriever) if make else make_answerer(self.settings, split.index, mode)  # type: ignore[arg-type]
        filters = SearchFilters(k=self.settings.top_k)
        results = []
        for question, group in split.questions:
            rank = None
            if group == "answerable" and not question.history:
                hits = retriever.search(question.question, SearchFilters(k=k))
                rank = first_hit_rank(hits, question.article_id, question.answers)
            history = [
                Turn(earlier, answerer.answer(earlier, filters=filters).text)
                for earlier in question.history
            ]
            started = time.perf_counter()
            answer = answerer.answer(question.question, history, filters=filters)
            ms = (time.perf_counter() - started) * 1000
            results.append(QuestionResult(question, group, rank, answer, ms))
        return results


KEYS = (
    "recall_at_1",
    "recall_at_5",
    "mrr",
    "answer_containment",
    "mean_answer_chars",
    "false_refusal_rate",
    "refusal_rate_out_of_corpus",
    "refusal_rate_unanswerable",
    "citation_precision",
)
SHORT = ("R@1", "R@5", "MRR", "contain", "chars", "falseref", "ooc_ref", "unans_ref", "cit_prec")


def line(name: str, m: ModeMetrics) -> str:
    d = m.to_dict()
    cells = [
        f"{s}={d[k]:.3f}" if k != "mean_answer_chars" else f"{s}={d[k]:.0f}"
        for k, s in zip(KEYS, SHORT, strict=True)
        if d[k] is not None
    ]
    return f"{name:<24}" + " ".join(cells)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    ap.add_argument("--set", default="dev", choices=sorted(SETS), help="question set")
    ap.add_argument("--json", action="store_true", help="print one JSON object per run")
    ap.add_argument("--misses", action="store_true", help="print every wrong answer")
    ap.add_argument(
        "--delta",
        type=float,
        default=0.0,
        help="share of the articles in the BM25 index's delta segment (0: one base)",
    )
    args = ap.parse_args()
    harness = Harness(name=args.set, delta=args.delta)
    for seed in args.seeds:
        for mode in args.modes:
            results = harness.run(seed, mode)
            metrics = summarize(results)
            if args.json:
                print(json.dumps({"seed": seed, "mode": mode, **metrics.to_dict()}))
            else:
                print(line(f"{args.set} seed {seed} {mode}", metrics))
            if args.misses:
                print_misses(results)


def print_misses(results: list[QuestionResult]) -> None:
    """Each answerable question answered without its gold span, and each wrong refusal."""
    for r in results:
        text = without_markers(r.answer.text)
        if r.group == "answerable" and not contains_answer(text, r.question.answers):
            verdict = "REFUSED" if not r.answer.found else "MISSED"
        elif r.group == "held_out" and r.answer.found:
            verdict = "ANSWERED-OOC"
        else:
            continue
        print(f"- {verdict} {r.question.id}: {r.question.question}")
        print(f"    gold: {' | '.join(r.question.answers)}")
        print(f"    got:  {' '.join(text.split())[:300]}")


if __name__ == "__main__":
    main()
