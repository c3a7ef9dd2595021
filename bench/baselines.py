"""Other people's recipes next to the shipped pipeline, on the same split and metrics.

Run: `.venv/bin/python bench/baselines.py [--set dev|news-tune|news-test|real] [--seeds 0]`.

Rows, per hold-out seed (bench/quality.py's `Harness`: the same articles, hold-out,
questions and `retrieval.evaluation.qa` metrics as `articlebot eval --seed N`):

- `shipped hybrid`: `make_answerer`'s pipeline over the shipped chunks (bench/quality.py).
- `tutorial`: the LangChain RAG tutorial's retrieval: LangChain's
  `RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)` over each article's
  text, the chunk text embedded by the shipped MiniLM (`OnnxEmbedder`), cosine top-k
  (the tutorial passes k=4 to its LLM; R@5 is read from the same ranking). With no LLM,
  the answer is the sentence of the top chunk sharing the most words with the question.
- `bm25`: BM25 alone (the shipped `LexicalIndex`, bm25s) over the same chunks.
- `rrf`: plain reciprocal rank fusion (k=60) of the dense and BM25 top-50.
- `... shipped chunks`: BM25 and RRF over the shipped chunks (1,500/200, title + text, as
  indexed), to separate chunking from ranking.

Every baseline answers with the tutorial's sentence rule and never refuses, so its
"falseref" is 0 and its out-of-corpus questions are all answered.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence

import numpy as np
from langchain_text_splitters import RecursiveCharacterTextSplitter
from quality import SETS, Harness, line

from retrieval.evaluation.qa import summarize
from retrieval.search.sentences import sentence_spans
from retrieval.store.index import embedding_text
from retrieval.store.lexical import LexicalIndex
from retrieval.types import Answer, Article, Chunk, Hit, SearchFilters, Turn

POOL = 50  # candidates per side for RRF
RRF_K = 60
_WORD = re.compile(r"\w+")


def tutorial_chunks(articles: Sequence[Article]) -> list[Chunk]:
    """Each article split by LangChain's splitter as the tutorial sets it (1000/200)."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=1000, chunk_overlap=200, add_start_index=True
    )
    chunks = []
    for article in articles:
        for position, doc in enumerate(splitter.create_documents([article.text])):
            start = int(doc.metadata["start_index"])
            end = start + len(doc.page_content)
            assert article.text[start:end] == doc.page_content, article.id
            chunks.append(Chunk(article.id, position, start, end, doc.page_content))
    return chunks


class Ranker:
    """Dense, BM25 or RRF search over a fixed list of chunks (those of one split)."""

    def __init__(
        self,
        mode: str,
        articles: dict[str, Article],
        chunks: list[Chunk],
        texts: list[str],
        vecs: np.ndarray,
        harness: Harness,
    ) -> None:
        self.mode = mode
        self.articles = articles
        self.chunks = chunks
        self.vecs = vecs
        self.embedder = harness.embedder
        self.lexical = LexicalIndex.build([(c.article_id, c.position) for c in chunks], texts)
        self.row = {(c.article_id, c.position): i for i, c in enumerate(chunks)}

    def _dense(self, question: str, k: int) -> list[int]:
        sims = self.vecs @ np.asarray(self.embedder.embed_query(question), dtype=np.float32)
        return [int(i) for i in np.argsort(-sims, kind="stable")[:k]]

    def _bm25(self, question: str, k: int) -> list[int]:
        return [self.row[key] for key, _ in self.lexical.search(question, k)]

    def ranked(self, question: str, k: int) -> list[int]:
        if self.mode == "dense":
            return self._dense(question, k)
        if self.mode == "bm25":
            return self._bm25(question, k)
        fused: dict[int, float] = {}
        for ranking in (self._dense(question, POOL), self._bm25(question, POOL)):
            for rank, row in enumerate(ranking, start=1):
                fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank)
        return sorted(fused, key=lambda row: -fused[row])[:k]

    def search(self, question: str, filters: SearchFilters | None = None) -> list[Hit]:
        k = (filters or SearchFilters()).k
        hits = []
        for row in self.ranked(question, k):
            chunk = self.chunks[row]
            hits.append(Hit(self.articles[chunk.article_id], chunk, 0.0))
        return hits

    def answer(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        filters: SearchFilters | None = None,
    ) -> Answer:
        """The sentence of the top chunk sharing the most words with the question."""
        top = self.search(question, SearchFilters(k=1))
        if not top:
            return Answer("", (), False, question)
        text = top[0].chunk.text
        words = set(_WORD.findall(question.lower()))
        sentences = [text[s:e] for s, e in sentence_spans(text)] or [text]
        best = max(sentences, key=lambda s: len(words & set(_WORD.findall(s.lower()))))
        return Answer(best, (), True, question)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", default="dev", choices=sorted(SETS), help="question set")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = ap.parse_args()
    harness = Harness(name=args.set)
    by_id = {a.id: a for a in harness.articles}
    tutorial = tutorial_chunks(harness.articles)
    tutorial_texts = [c.text for c in tutorial]
    tutorial_vecs = harness.embedder.many(tutorial_texts)
    shipped_texts = [embedding_text(by_id[c.article_id], c) for c in harness.chunks]
    print(
        f"{args.set}: {len(harness.articles)} articles; chunks: shipped {len(harness.chunks)}"
        f" ({harness.settings.chunk_size}/{harness.settings.chunk_overlap}),"
        f" tutorial {len(tutorial)} (1000/200)"
    )
    for seed in args.seeds:
        split = harness.split(seed)
        kept = split.index.catalog.articles
        print(line(f"s{seed} shipped hybrid", summarize(harness.run(seed, "hybrid"))), flush=True)
        variants = (
            ("tutorial", "dense", tutorial, tutorial_texts, tutorial_vecs),
            ("bm25", "bm25", tutorial, tutorial_texts, tutorial_vecs),
            ("rrf", "rrf", tutorial, tutorial_texts, tutorial_vecs),
            ("bm25 shipped chunks", "bm25", harness.chunks, shipped_texts, harness.vecs),
            ("rrf shipped chunks", "rrf", harness.chunks, shipped_texts, harness.vecs),
        )
        for name, mode, chunks, texts, vecs in variants:
            rows = [i for i, c in enumerate(chunks) if c.article_id in kept]
            ranker = Ranker(
                mode,
                kept,
                [chunks[i] for i in rows],
                [texts[i] for i in rows],
                vecs[rows],
                harness,
            )
            results = harness.run(seed, "hybrid", make=lambda _, r=ranker: r, retriever=ranker)
            print(line(f"s{seed} {name}", summarize(results)), flush=True)


if __name__ == "__main__":
    main()
