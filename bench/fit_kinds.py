"""Fit the answer-kind model of `retrieval/search/question_kinds.py` and check it on held-out news.

Run: `.venv/bin/python bench/fit_kinds.py [--write]`.

What kind of item a question seeks ("What was the tram's price tag?": an amount) is learnt
from questions whose answers are known: each answerable question of the dev set and of the
news dev set's tune part is labelled by the named entity (as the stored articles are
tagged) that covers most of its gold answer in the gold article, or "description" when none
covers half of it. A softmax regression over the question's embedding (the default
embedder, the vector dense search already computes) is fitted to those labels.

Printed: accuracy on the news dev set's test part (never fitted on), for the questions the
grammar of `retrieval/search/question.py` leaves open (what/which/how + auxiliary, terse ones) —
the only ones the model decides — against the baseline of calling them all "description".
With --write, the weights are written into retrieval/search/question_kinds.py.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import ROOT, Harness  # noqa: E402

from retrieval.search.question import KIND_OF_LABEL, Kind, read  # noqa: E402
from retrieval.search.question_kinds import KINDS  # noqa: E402

TARGET = ROOT / "retrieval" / "search" / "question_kinds.py"


def labelled(name: str) -> tuple[list[str], list[int], np.ndarray]:
    """Questions, their kind (an index into KINDS) and their embeddings."""
    harness = Harness(name=name)
    split = harness.split(0, out_of_corpus=0.0)
    articles = split.index.catalog.articles
    spans = split.index.entities.spans
    texts, kinds = [], []
    for q, _group in split.questions:
        if not q.answerable or q.history or q.article_id not in articles:
            continue
        text = articles[q.article_id].text
        best: tuple[float, str] | None = None
        for answer in q.answers:
            at = text.find(answer)
            if at < 0:
                continue
            for e in spans.get(q.article_id, []):
                shared = min(e.end, at + len(answer)) - max(e.start, at)
                if shared > 0 and e.label in KIND_OF_LABEL:
                    share = shared / max(len(answer), e.end - e.start)
                    if best is None or share > best[0]:
                        best = (share, e.label)
        kind = KIND_OF_LABEL[best[1]] if best and best[0] >= 0.5 else Kind.DESCRIPTION
        texts.append(q.question)
        kinds.append(KINDS.index(kind))
    vectors = np.array([harness.embedder.embed_query(t) for t in texts], dtype=np.float32)
    return texts, kinds, vectors


def fit(x: np.ndarray, y: np.ndarray, classes: int, l2: float = 1e-2) -> np.ndarray:
    """Softmax regression weights ((dim + 1) x classes, last row the bias), gradient descent."""
    x1 = np.hstack([x, np.ones((len(x), 1), dtype=np.float32)])
    w = np.zeros((x1.shape[1], classes))
    onehot = np.eye(classes)[y]
    for _ in range(3000):
        z = x1 @ w
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        w -= 2.0 * (x1.T @ (p - onehot) / len(x1) + l2 * w)
    return w


def open_by_grammar(question: str) -> bool:
    """True when the grammar alone calls the question a description (the model decides)."""
    return read(question).kind is Kind.DESCRIPTION


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="write retrieval/search/question_kinds.py")
    ap.add_argument("--l2", type=float, default=1e-2)
    args = ap.parse_args()
    x_parts, y_parts = [], []
    for name in ("dev", "news-tune"):
        _texts, kinds, vectors = labelled(name)
        x_parts.append(vectors)
        y_parts += kinds
        print(f"{name}: {len(kinds)} questions, {dict(Counter(KINDS[k].value for k in kinds))}")
    x, y = np.vstack(x_parts), np.array(y_parts)
    w = fit(x, y, len(KINDS), args.l2)
    texts, kinds, vectors = labelled("news-test")
    open_ = [i for i, t in enumerate(texts) if open_by_grammar(t)]
    predicted = np.argmax(np.hstack([vectors, np.ones((len(vectors), 1))]) @ w, axis=1)
    description = KINDS.index(Kind.DESCRIPTION)
    model = np.mean([predicted[i] == kinds[i] for i in open_])
    baseline = np.mean([kinds[i] == description for i in open_])
    print(f"news-test, {len(open_)} questions the grammar leaves open:")
    print(f"  accuracy: model {model:.3f}, all 'description' {baseline:.3f}")
    for i in open_:
        if predicted[i] != kinds[i]:
            print(f"  - {texts[i]}  want {KINDS[kinds[i]].value}, got {KINDS[predicted[i]].value}")
    if args.write:
        write(w.astype(np.float16))


def write(w: np.ndarray) -> None:
    """Replace the weights in retrieval/search/question_kinds.py (shape, base64, sha256)."""
    raw = w.tobytes()
    encoded = base64.b64encode(raw).decode()
    lines = [encoded[i : i + 92] for i in range(0, len(encoded), 92)]
    body = "\n".join(f'    "{line}"' for line in lines)
    source = TARGET.read_text(encoding="utf-8")
    head, _, rest = source.partition("# --- weights (bench/fit_kinds.py --write) ---\n")
    _, _, tail = rest.partition("# --- end of weights ---\n")
    block = (
        "# --- weights (bench/fit_kinds.py --write) ---\n"
        f"_SHAPE = {w.shape}\n"
        f'_SHA256 = "{hashlib.sha256(raw).hexdigest()}"\n'
        f"_WEIGHTS = (\n{body}\n)\n"
        "# --- end of weights ---\n"
    )
    TARGET.write_text(head + block + tail, encoding="utf-8")
    print(f"wrote {TARGET} ({w.shape})")


if __name__ == "__main__":
    main()
