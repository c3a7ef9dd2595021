"""Fit the offline answerer's refusal model (retrieval/answer/refusal.py) on the dev set and
the news dev set's tune part, and check it.

Run: `.venv/bin/python bench/fit_refusal.py [--sets dev news-tune] [--seeds 0 1 2 3 4]
[--target 0.08]`.

For every hold-out seed, every question goes through the real retriever (bench/quality.py's
in-memory index); its `Evidence` is recorded with its label: 1 = answerable and its article
is in the index (must be answered), 0 = its article was held out (must be refused).
Questions SQuAD marks unanswerable are not used for fitting (most are near-misses that
only a reading model could tell apart); their refusal rate is reported.

A logistic regression (Newton's method, small L2) is fitted on the raw features, so the
coefficients can be pasted into retrieval/answer/refusal.py as they are (the printed bias already
holds the threshold). Three models: all five signals and the four without `match` on the
hybrid retriever's evidence, coverage and lead on the lexical retriever's. Cross-validation holds
out whole articles (5 folds over article ids, pooled over seeds), so no question is scored
by a model that saw it; the threshold of each fold is the `--target` quantile of its
training answerables' probabilities. Printed: per seed, false refusals, out-of-corpus
refusals and containment (refusals count as misses), cross-validated and in-sample.
"""

from __future__ import annotations

import argparse
import pickle
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import Harness  # noqa: E402

from retrieval.answer.base import SearchFilters  # noqa: E402
from retrieval.answer.offline import OfflineComposer  # noqa: E402
from retrieval.answer.refusal import Evidence, RefusalModel, evidence_of  # noqa: E402
from retrieval.evaluation.qa import contains_answer, without_markers  # noqa: E402
from retrieval.news.retriever import NewsRetriever  # noqa: E402
from retrieval.pipeline import Pipeline  # noqa: E402
from retrieval.search.retriever import Mode  # noqa: E402

FULL = ("top_cosine", "coverage", "sentence_cosine", "lead", "match")
DENSE = ("top_cosine", "coverage", "sentence_cosine", "lead")
LEXICAL = ("coverage", "lead")


@dataclass(frozen=True)
class Row:
    set: str
    seed: int
    article: str
    group: str
    evidence: Evidence
    contained: bool  # the answer (never refused) contains a gold answer


def collect(harness: Harness, name: str, seeds: list[int], mode: Mode) -> list[Row]:
    never = RefusalModel(min_probability=0.0)
    rows = []
    for seed in seeds:
        split = harness.split(seed)
        retriever = NewsRetriever(split.index, mode)  # type: ignore[arg-type]
        answerer = Pipeline(retriever, OfflineComposer(refusal=never))
        filters = SearchFilters(k=harness.settings.top_k)
        for q, group in split.questions:
            if q.history:  # a follow-up is judged on its condensed form: not a fitting row
                continue
            evidence = evidence_of(retriever.retrieve(q.question, filters))
            text = without_markers(answerer.answer(q.question, filters=filters).text)
            ok = bool(q.answers) and contains_answer(text, q.answers)
            rows.append(Row(name, seed, f"{name}:{q.article_id}", group, evidence, ok))
    return rows


def matrix(rows: list[Row], names: tuple[str, ...]) -> np.ndarray:
    return np.array([[float(getattr(r.evidence, n) or 0.0) for n in names] for r in rows])


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1e-3) -> np.ndarray:
    """Logistic regression weights (last = bias) by Newton's method."""
    x1 = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(x1.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-x1 @ w))
        hessian = x1.T @ (x1 * (p * (1 - p))[:, None]) + l2 * np.eye(len(w))
        w += np.linalg.solve(hessian, x1.T @ (y - p) - l2 * w)
    return w


def logit(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.hstack([x, np.ones((len(x), 1))]) @ w


def report(name: str, rows: list[Row], answered: np.ndarray) -> None:
    for part, seed in sorted({(r.set, r.seed) for r in rows}):
        idx = [i for i, r in enumerate(rows) if r.seed == seed and r.set == part]
        inside = [i for i in idx if rows[i].group == "answerable"]
        held = [i for i in idx if rows[i].group == "held_out"]
        unans = [i for i in idx if rows[i].group == "unanswerable"]
        fr = np.mean([not answered[i] for i in inside])
        ooc = np.mean([not answered[i] for i in held])
        un = np.mean([not answered[i] for i in unans])
        contain = np.mean([answered[i] and rows[i].contained for i in inside])
        print(
            f"  {name:<10} {part:<9} seed {seed}: false refusals {fr:.3f}"
            f"  out-of-corpus refused {ooc:.3f}  unanswerable refused {un:.3f}"
            f"  containment {contain:.3f}"
        )


def curve(rows: list[Row], logits: np.ndarray, answerable: np.ndarray) -> None:
    """The trade-off: each set's false refusals and out-of-corpus refusals as the threshold
    moves (in-sample; the threshold named by the share of all answerables it refuses)."""
    parts = sorted({r.set for r in rows})
    print("  trade-off (in-sample): target | " + " | ".join(f"{p} FR / OOC" for p in parts))
    for target in (0.02, 0.04, 0.06, 0.08, 0.10, 0.12, 0.15, 0.20):
        threshold = np.quantile(answerable, target)
        cells = []
        for part in parts:
            inside = [i for i, r in enumerate(rows) if r.set == part and r.group == "answerable"]
            held = [i for i, r in enumerate(rows) if r.set == part and r.group == "held_out"]
            fr = np.mean([logits[i] < threshold for i in inside])
            ooc = np.mean([logits[i] < threshold for i in held])
            cells.append(f"{fr:.3f} / {ooc:.3f}")
        print(f"  {target:.2f} | " + " | ".join(cells))


def evaluate(rows: list[Row], names: tuple[str, ...], target: float) -> None:
    train = [r for r in rows if r.group in ("answerable", "held_out")]
    x, y = matrix(train, names), np.array([r.group == "answerable" for r in train], float)
    articles = sorted({r.article for r in rows})
    random.Random(7).shuffle(articles)
    folds = [set(articles[i::5]) for i in range(5)]
    margin = np.zeros(len(rows))  # logit minus the fold's threshold
    for fold in folds:
        inside = np.array([r.article not in fold for r in train])
        fitted = fit(x[inside], y[inside])
        threshold = np.quantile(logit(x[inside & (y == 1)], fitted), target)
        test = [i for i, r in enumerate(rows) if r.article in fold]
        margin[test] = logit(matrix([rows[i] for i in test], names), fitted) - threshold
    report("CV", rows, margin >= 0)
    w = fit(x, y)
    threshold = float(np.quantile(logit(x[y == 1], w), target))
    report("in-sample", rows, logit(matrix(rows, names), w) >= threshold)
    coefficients = ", ".join(f"{n} {v:.3f}" for n, v in zip(names, w[:-1], strict=True))
    print(f"  weights: {coefficients}; bias {w[-1]:.3f}")
    print(f"  threshold (logit) {threshold:.3f}: bias with the threshold {w[-1] - threshold:.3f}")
    curve(rows, logit(matrix(rows, names), w), logit(x[y == 1], w))
    weights = ", ".join(f"{v:.3f}" for v in w[:-1])
    print(f"  LogisticModel(({weights}), {w[-1] - threshold:.3f})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", nargs="+", default=["dev", "news-tune"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--target", type=float, default=0.08, help="false-refusal quantile")
    ap.add_argument("--rows", type=Path, help="pickle of collected rows: reused if it exists")
    args = ap.parse_args()
    if args.rows and args.rows.exists():
        hybrid, lexical = pickle.loads(args.rows.read_bytes())
    else:
        hybrid, lexical = [], []
        for name in args.sets:
            harness = Harness(name=name)
            hybrid += collect(harness, name, args.seeds, "hybrid")
            lexical += collect(harness, name, args.seeds, "lexical")
        if args.rows:
            args.rows.write_bytes(pickle.dumps((hybrid, lexical)))
    for names, rows in ((FULL, hybrid), (DENSE, hybrid), (LEXICAL, lexical)):
        print(f"## features: {', '.join(names)}")
        evaluate(rows, names, args.target)


if __name__ == "__main__":
    main()
