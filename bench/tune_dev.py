"""Tune chunking, hybrid fusion, sentence re-scoring, answer selection and refusal on dev.

Run: `.venv/bin/python bench/tune_dev.py [--quick]`. Chunk and sentence vectors are cached
in /tmp/articlebot_tune (keyed by a hash of the embedded texts). Hit = a top-k chunk of the
gold article whose text contains a gold answer (case-insensitive); MRR capped at rank 10.
Containment uses SQuAD normalisation. The pure functions `fuse_*`, `sentence_score`,
`rescore`, `compose_answer` and `refuse` are the recipe; the rest is the harness.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import random
import re
import string
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import Stemmer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from retrieval.store.embedders.onnx import OnnxEmbedder  # noqa: E402
from retrieval.store.lexical import LexicalIndex  # noqa: E402
from retrieval.types import Article, Chunk  # noqa: E402

DATA = Path("/work/shared/data/eval")
CACHE = Path("/tmp/articlebot_tune")
_spec = importlib.util.spec_from_file_location("_chunk", ROOT / "ingest" / "chunk.py")
assert _spec is not None and _spec.loader is not None
_chunk_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_chunk_mod)
Chunker = _chunk_mod.Chunker

_SENT_RE = re.compile(r"(?<=[.!?])[\"'”’)\]]?\s+(?=[\"'“‘(\[]?[A-Z0-9])|\n+")
_WORD_RE = re.compile(r"\w+")
STOP = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then"
    " there these they this to was will with what which who whom whose when where why how did"
    " does do were has have had been being its from than also can could would should about".split()
)
_STEM = Stemmer.Stemmer("english")
SWEEP_CONFIGS = ("800/150", "1000/200", "1200/200", "1500/200", "2000/300")


# ----------------------------------------------------------------------------- recipe
def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of `text` (end punctuation + space + capital)."""
    spans, start = [], 0
    for m in _SENT_RE.finditer(text):
        if text[start : m.start()].strip():
            spans.append((start, m.start() + len(m.group(0).rstrip())))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return spans


def content_terms(text: str) -> list[str]:
    """Lower-cased, stop-word-free, Snowball-stemmed word tokens in order."""
    return _STEM.stemWords([w for w in _WORD_RE.findall(text.lower()) if w not in STOP])


def fuse_rrf(ranks: Sequence[Sequence[int]], weights: Sequence[float], k: int = 60) -> dict:
    """Weighted reciprocal rank fusion: sum_i w_i / (k + rank_i(d)), ranks 1-based."""
    out: dict[int, float] = {}
    for ranking, w in zip(ranks, weights, strict=True):
        for r, d in enumerate(ranking, 1):
            out[d] = out.get(d, 0.0) + w / (k + r)
    return out


def _norm(scores: dict[int, float], how: str) -> dict[int, float]:
    vals = np.fromiter(scores.values(), dtype=float)
    if how == "z":
        mu, sd = vals.mean(), vals.std() or 1.0
        return {d: (s - mu) / sd for d, s in scores.items()}
    lo, span = vals.min(), (vals.max() - vals.min()) or 1.0
    return {d: (s - lo) / span for d, s in scores.items()}


def fuse_convex(dense: dict, lex: dict, alpha: float, how: str = "minmax") -> dict:
    """alpha*norm(dense) + (1-alpha)*norm(lex) over the union of the two pools.

    Each side is normalised over its own pool (min-max or z-score); a chunk missing from
    one pool gets that side's pool minimum (what the service can know without extra I/O).
    """
    nd, nl = _norm(dense, how), _norm(lex, how)
    dmin, lmin = min(nd.values()), min(nl.values())
    return {
        c: alpha * nd.get(c, dmin) + (1 - alpha) * nl.get(c, lmin) for c in set(dense) | set(lex)
    }


def sentence_score(q: list[str], s: set[str], s_seq: list[str], idf: dict, bonus: float) -> float:
    """IDF-weighted share of question terms in the sentence + bonus * share of q-bigrams found.

    Terms absent from the corpus weigh idf[""] (the df=0 IDF): they can never be covered,
    which is what makes the score an out-of-corpus signal.
    """
    uq, oov = set(q), idf.get("", 0.0)
    total = sum(idf.get(t, oov) for t in uq) or 1.0
    cov = sum(idf.get(t, oov) for t in uq & s) / total
    if bonus and len(q) > 1:
        qb = set(zip(q, q[1:], strict=False))
        cov += bonus * len(qb & set(zip(s_seq, s_seq[1:], strict=False))) / len(qb)
    return cov


def rescore(fused: dict[int, float], best_sent: dict[int, float], beta: float) -> dict:
    """Chunk score = min-max(fused over pool) + beta * best sentence score of the chunk."""
    nf = _norm(fused, "minmax")
    return {c: nf[c] + beta * best_sent.get(c, 0.0) for c in fused}


def compose_answer(cands: list[tuple[float, str]], max_chars: int = 300, n: int = 1) -> str:
    """Best-scoring sentence, plus the next best while under `max_chars` (up to n sentences)."""
    picked: list[str] = []
    for _, text in sorted(cands, key=lambda x: -x[0]):
        if len(picked) >= n:
            break
        if not picked or sum(map(len, picked)) + len(text) + 1 <= max_chars:
            picked.append(text)
    return " ".join(picked)


def refuse(cos: float, cov: float, t_cos: float, t_cov: float) -> bool:
    """Say "the articles don't say" when dense cosine of the top chunk or the best
    sentence's IDF-weighted question coverage is below its threshold."""
    return cos < t_cos or cov < t_cov


# ----------------------------------------------------------------------------- harness
def squad_norm(s: str) -> str:
    s = "".join(ch for ch in s.lower() if ch not in set(string.punctuation))
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", s).split())


@dataclass
class Corpus:
    """Chunks of one config with BM25, vectors, sentences and chunk-level IDF."""

    name: str
    chunks: list[Chunk]
    lex: LexicalIndex
    vecs: np.ndarray
    sents: list[list[tuple[str, set[str], list[str], int]]]  # text, termset, seq, global id
    idf: dict[str, float] = field(default_factory=dict)


def embed_cached(emb: OnnxEmbedder, texts: list[str]) -> np.ndarray:
    key = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    path = CACHE / f"vec_{key}.npy"
    if path.exists():
        return np.load(path)
    CACHE.mkdir(parents=True, exist_ok=True)
    vecs = emb.embed_array(texts)
    np.save(path, vecs)
    return vecs


def sentence_windows(a: Article, n: int) -> list[Chunk]:
    spans = split_sentences(a.text)
    step = max(1, n - 1) if n > 1 else 1
    out = []
    for i in range(0, len(spans), step):
        s, e = spans[i][0], spans[min(i + n, len(spans)) - 1][1]
        out.append(Chunk(a.id, len(out), s, e, a.text[s:e]))
        if i + n >= len(spans):
            break
    return out


def build(name: str, arts: list[Article], emb: OnnxEmbedder, sent_ids: dict) -> Corpus:
    chunks: list[Chunk] = []
    for a in arts:
        if name.startswith("sent"):
            chunks += sentence_windows(a, int(name[4:]))
        else:
            size, ov = map(int, name.split("/"))
            chunks += Chunker(size, ov).split(a)
    title = {a.id: a.title for a in arts}
    texts = [f"{title[c.article_id]}\n\n{c.text}" for c in chunks]
    lex = LexicalIndex.build([(c.article_id, c.position) for c in chunks], texts)
    sents = []
    for c in chunks:
        row = []
        for s, e in split_sentences(c.text):
            t = c.text[s:e]
            seq = content_terms(t)
            row.append((t, set(seq), seq, sent_ids.setdefault(t, len(sent_ids))))
        sents.append(row)
    df = Counter(t for c in chunks for t in set(content_terms(c.text)))
    idf = {t: math.log(1 + (len(chunks) - n + 0.5) / (n + 0.5)) for t, n in df.items()}
    idf[""] = math.log(1 + (len(chunks) + 0.5) / 0.5)
    return Corpus(name, chunks, lex, embed_cached(emb, texts), sents, idf)


@dataclass
class Variant:
    name: str
    fusion: str  # dense | lex | rrf | wrrf | minmax | z
    pool: int = 50
    alpha: float = 0.5
    beta: float = 0.0
    bonus: float = 0.0
    dsent: float = 0.0  # weight of dense sentence cosine in the sentence score
    adense: float = 0.0  # same, for answer selection only (needs index-time sentence vectors)


def run_query(corp: Corpus, qi: int, q: str, qv: np.ndarray, v: Variant, ctx: dict) -> dict:
    """Ranked chunk ids (top 10), sentence candidates and refusal signals for one question."""
    dense_all = corp.vecs @ qv
    top_d = np.argpartition(-dense_all, min(v.pool, len(dense_all) - 1))[: v.pool]
    top_d = top_d[np.argsort(-dense_all[top_d])]
    key_to_i = ctx["key_to_i"]
    lex = [(key_to_i[k], s) for k, s in corp.lex.search(q, v.pool)]
    t0 = time.perf_counter()
    dense = {int(c): float(dense_all[c]) for c in top_d}
    if v.fusion == "dense":
        fused = dense
    elif v.fusion == "lex":
        fused = dict(lex) or {int(top_d[0]): 0.0}
    elif v.fusion in ("rrf", "wrrf"):
        w = (1.0, 1.0) if v.fusion == "rrf" else (v.alpha, 1 - v.alpha)
        fused = fuse_rrf([list(dense), [c for c, _ in lex]], w)
    else:
        fused = fuse_convex(dense, dict(lex) or {int(top_d[0]): 0.0}, v.alpha, v.fusion)
    qt = content_terms(q)
    cands: list[tuple[float, str, float, int]] = []  # score, text, coverage, chunk
    best: dict[int, float] = {}
    rerank = sorted(fused, key=lambda c: -fused[c])[:20]
    svecs = ctx.get("svecs")
    for c in rerank if (v.beta or not ctx.get("no_sent")) else []:
        for t, ts, seq, sid in corp.sents[c]:
            cov = sentence_score(qt, ts, seq, corp.idf, v.bonus)
            sc = cov + (v.dsent * float(svecs[sid] @ qv) if v.dsent and svecs is not None else 0)
            best[c] = max(best.get(c, 0.0), sc)
            cands.append((sc, t, cov, c))
    final = rescore({c: fused[c] for c in rerank}, best, v.beta) if v.beta else fused
    ranked = sorted(final, key=lambda c: -final[c])[:10]
    top3 = set(ranked[:3])
    nf = _norm(final, "minmax")
    sent_c = [
        (
            s + 0.5 * nf[c] + (v.adense * float(svecs[ctx["sid"][t]] @ qv) if v.adense else 0.0),
            t,
            cov,
        )
        for s, t, cov, c in cands
        if c in top3
    ]
    return {
        "ranked": ranked,
        "sents": sent_c,
        "ms": (time.perf_counter() - t0) * 1000,
        "cos": float(dense_all[ranked[0]]),
        "cov": max((x[2] for x in sent_c), default=0.0),
    }


def retrieval_metrics(corp: Corpus, qs: list[dict], outs: list[dict]) -> dict[str, float]:
    r = {1: 0, 5: 0, 10: 0}
    mrr = 0.0
    for q, o in zip(qs, outs, strict=True):
        golds = [g.lower() for g in q["answers"]]
        for rank, c in enumerate(o["ranked"][:10], 1):
            ch = corp.chunks[c]
            if ch.article_id == q["article_id"] and any(g in ch.text.lower() for g in golds):
                mrr += 1 / rank
                for k in r:
                    r[k] += rank <= k
                break
    n = len(qs)
    return {"r@1": r[1] / n, "r@5": r[5] / n, "r@10": r[10] / n, "mrr": mrr / n}


def answer_metrics(qs: list[dict], outs: list[dict], n_sent: int, cap: int = 300) -> dict:
    hits, chars = 0, 0
    for q, o in zip(qs, outs, strict=True):
        ans = compose_answer([(s, t) for s, t, _ in o["sents"]], cap, n_sent)
        hits += any(squad_norm(g) in squad_norm(ans) for g in q["answers"])
        chars += len(ans)
    return {"contain": hits / len(qs), "chars": chars / len(qs)}


def baseline_answer(corp: Corpus, q: str, c: int) -> str:
    """LangChain-tutorial baseline: sentence of the top chunk with the most shared words."""
    words = set(_WORD_RE.findall(q.lower()))
    sents = [t for t, *_ in corp.sents[c]] or [corp.chunks[c].text]
    return max(sents, key=lambda t: len(words & set(_WORD_RE.findall(t.lower()))))


def fmt(name: str, m: dict[str, float]) -> str:
    return f"{name:<44}" + " ".join(f"{k}={v:.3f}" for k, v in m.items())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer chunk configs and variants")
    args = ap.parse_args()
    arts = [
        Article(**{k: v for k, v in json.loads(line).items() if k != "published"})
        for line in (DATA / "articles.jsonl").open()
    ]
    allq = [json.loads(line) for line in (DATA / "questions.jsonl").open()]
    ans = [q for q in allq if q["answerable"]]
    emb = OnnxEmbedder.minilm()
    qvecs = {
        q["id"]: v
        for q, v in zip(allq, embed_cached(emb, [q["question"] for q in allq]), strict=True)
    }
    configs = ["1000/200", "1500/200"]
    if not args.quick:
        configs = ["300/60", "400/80", "600/100", "800/150", "1000/200", "1200/200"]
        configs += ["1500/200", "2000/300", "sent1", "sent3"]
    sent_ids: dict[str, int] = {}
    corpora = {name: build(name, arts, emb, sent_ids) for name in configs}
    svecs = embed_cached(emb, list(sent_ids))

    def run(corp: Corpus, v: Variant, qs: list[dict], **extra: object) -> list[dict]:
        ctx = {
            "key_to_i": {(c.article_id, c.position): i for i, c in enumerate(corp.chunks)},
            "svecs": svecs,
            "sid": sent_ids,
            **extra,
        }
        return [run_query(corp, i, q["question"], qvecs[q["id"]], v, ctx) for i, q in enumerate(qs)]

    print("## 0. Baselines (dense / BM25 / RRF, chunk 1000/200)")
    base = corpora["1000/200"]
    for v in (Variant("dense", "dense"), Variant("lex", "lex"), Variant("rrf", "rrf")):
        outs = run(base, v, ans)
        m = retrieval_metrics(base, ans, outs)
        if v.fusion == "dense":
            hit = sum(
                any(
                    squad_norm(g)
                    in squad_norm(baseline_answer(base, q["question"], o["ranked"][0]))
                    for g in q["answers"]
                )
                for q, o in zip(ans, outs, strict=True)
            )
            m["contain"] = hit / len(ans)
        print(fmt(f"1000/200 {v.name}", m))

    print("\n## 1. Chunk configs x fusion (pool 50 each side, no re-scoring)")
    fusions = [
        Variant("dense", "dense"),
        Variant("lex", "lex"),
        Variant("rrf", "rrf"),
        Variant("wrrf a=.3", "wrrf", alpha=0.3),
        Variant("minmax a=.3", "minmax", alpha=0.3),
        Variant("minmax a=.5", "minmax", alpha=0.5),
        Variant("z a=.3", "z", alpha=0.3),
        Variant("z a=.5", "z", alpha=0.5),
    ]
    if args.quick:
        fusions = fusions[:3] + fusions[5:6] + fusions[7:]
    for name, corp in corpora.items():
        for v in fusions:
            print(
                fmt(
                    f"{name} {v.name}",
                    retrieval_metrics(corp, ans, run(corp, v, ans, no_sent=True)),
                )
            )

    print("\n## 2. Sentence re-scoring of the fused top-20 (contain = best 1 sentence)")
    chosen = Variant("z a=.5 +sent b=1.5 bi=.3", "z", alpha=0.5, beta=1.5, bonus=0.3)
    sweeps = [
        Variant("z a=.5", "z", alpha=0.5),
        Variant("z a=.5 +sent b=1.5", "z", alpha=0.5, beta=1.5),
        chosen,
    ]
    sweeps += [
        Variant("z a=.5 +sent b=1.5 bi=.3 pool20", "z", pool=20, alpha=0.5, beta=1.5, bonus=0.3),
        Variant("z a=.4 +sent b=1.5 bi=.3", "z", alpha=0.4, beta=1.5, bonus=0.3),
    ]
    sweeps += [
        Variant("z a=.6 +sent b=1.5 bi=.3", "z", alpha=0.6, beta=1.5, bonus=0.3),
        Variant("z a=.5 +sent b=1 bi=.3", "z", alpha=0.5, beta=1.0, bonus=0.3),
        Variant("minmax a=.5 +sent b=1.5 bi=.3", "minmax", alpha=0.5, beta=1.5, bonus=0.3),
        Variant("rrf +sent b=1.5 bi=.3", "rrf", beta=1.5, bonus=0.3),
        Variant(
            "z a=.5 +sent+dsent(index-time) b=1.5", "z", alpha=0.5, beta=1.5, bonus=0.3, dsent=0.5
        ),
    ]
    if args.quick:
        sweeps = sweeps[:3]
    results: dict[tuple[str, str], tuple[dict, list[dict]]] = {}
    for name in [c for c in configs if c in SWEEP_CONFIGS]:
        corp = corpora[name]
        for v in sweeps:
            outs = run(corp, v, ans)
            m = retrieval_metrics(corp, ans, outs)
            m |= answer_metrics(ans, outs, 1)
            m["ms"] = float(np.median([o["ms"] for o in outs]))
            results[(name, v.name)] = (m, outs)
            print(fmt(f"{name} {v.name}", m))

    cfg, v = "1500/200", chosen
    corp, (_, outs) = corpora[cfg], results[(cfg, v.name)]
    print(f"\n## 3. Chosen: {cfg} {v.name}; answer composition")
    for n, cap in ((1, 300), (2, 250), (2, 300)):
        print(fmt(f"best {n} sentence(s) <= {cap} chars", answer_metrics(ans, outs, n, cap)))
    vd = Variant(v.name, v.fusion, v.pool, v.alpha, v.beta, v.bonus, adense=1.0)
    outs_d = run(corp, vd, ans)
    for n in (1, 2):
        print(fmt(f"+index-time sentence cosine, best {n} <= 300", answer_metrics(ans, outs_d, n)))
    for half in (0, 1):
        sub = [
            i
            for i, q in enumerate(ans)
            if int(hashlib.md5(q["id"].encode()).hexdigest(), 16) % 2 == half
        ]
        qs, os_ = [ans[i] for i in sub], [outs[i] for i in sub]
        print(
            fmt(
                f"half {half} (n={len(sub)}), answer = 2 sents <= 300",
                retrieval_metrics(corp, qs, os_) | answer_metrics(qs, os_, 2),
            )
        )
    for name in ("dense", "lex"):
        m = retrieval_metrics(corp, ans, run(corp, Variant(name, name), ans, no_sent=True))
        print(fmt(f"{cfg} {name} (same chunks)", m))

    print("\n## 4. Refusal (20% of articles held out, random.Random(0))")
    held = set(random.Random(0).sample(sorted(a.id for a in arts), round(0.2 * len(arts))))
    sub_corp = build(cfg, [a for a in arts if a.id not in held], emb, sent_ids)
    inq = [q for q in ans if q["article_id"] not in held]
    outq = [q for q in allq if q["article_id"] in held]
    sig_in = [(o["cos"], o["cov"]) for o in run(sub_corp, v, inq)]
    sig_out = [(o["cos"], o["cov"]) for o in run(sub_corp, v, outq)]
    sig_un = [(o["cos"], o["cov"]) for o in run(corp, v, [q for q in allq if not q["answerable"]])]
    sig_full = [(o["cos"], o["cov"]) for o in outs]
    best_rule = (0.0, 0.0, -1.0)
    for tc in np.arange(0.0, 0.8, 0.02):
        for tv in np.arange(0.0, 1.0, 0.02):
            fr = np.mean([refuse(c, s, tc, tv) for c, s in sig_in])
            ok = np.mean([refuse(c, s, tc, tv) for c, s in sig_out])
            if fr <= 0.10 and ok > best_rule[2]:
                best_rule = (float(tc), float(tv), float(ok))
    tc, tv, _ = best_rule

    def rate(sig: list[tuple[float, float]]) -> float:
        return float(np.mean([refuse(c, s, tc, tv) for c, s in sig]))

    print(f"rule: refuse if top-chunk cosine < {tc:.2f} or best-sentence coverage < {tv:.2f}")
    print(f"  false refusals, in-index answerable (holdout index): {rate(sig_in):.3f}")
    print(f"  false refusals, answerable (full index):              {rate(sig_full):.3f}")
    print(f"  refused, held-out-article questions (n={len(sig_out)}):      {rate(sig_out):.3f}")
    print(f"  refused, answerable=false (full index, n={len(sig_un)}):     {rate(sig_un):.3f}")
    for w in (0.5, 1.0, 2.0):  # alternative: one linear evidence score
        lin_in = sorted(c + w * s for c, s in sig_in)
        t = lin_in[int(0.10 * len(lin_in))]
        print(
            f"  linear cos+{w}*cov < {t:.3f}: refused held-out "
            f"{np.mean([c + w * s < t for c, s in sig_out]):.3f}, answerable=false "
            f"{np.mean([c + w * s < t for c, s in sig_un]):.3f}"
        )

    print("\n## 5. Latency (ms per query)")
    qtexts = [q["question"] for q in ans[:100]]
    t0 = time.perf_counter()
    for t in qtexts:
        emb.embed_array([t])
    print(f"query embedding (mean): {(time.perf_counter() - t0) * 10:.2f}")
    t0 = time.perf_counter()
    for t in qtexts:
        corp.lex.search(t, 50)
    ms = (time.perf_counter() - t0) * 10
    print(f"BM25 top-50 on dev ({len(corp.chunks)} chunks, mean): {ms:.2f}")
    big = np.random.default_rng(0).standard_normal((100_000, 384)).astype(np.float32)
    t0 = time.perf_counter()
    for q in ans[:20]:
        np.argpartition(-(big @ qvecs[q["id"]]), 50)[:50]
    print(f"dense brute force top-50 @100k chunks (mean): {(time.perf_counter() - t0) * 50:.2f}")
    print(f"fusion + re-scoring + answer (dev, median): {results[(cfg, v.name)][0]['ms']:.2f}")
    for k in (8, 24):
        t0 = time.perf_counter()
        for o in outs[:30]:
            emb.embed_array([t for _, t, _ in sorted(o["sents"], key=lambda x: -x[0])][:k])
        print(
            f"query-time embedding of top-{k} sentences (mean): "
            f"{(time.perf_counter() - t0) / 0.03:.1f}"
        )


if __name__ == "__main__":
    main()
