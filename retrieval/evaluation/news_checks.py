"""`articlebot eval --news`: check the news-aware behaviours on a small labelled corpus.

The articles (any file or directory `ingest` reads) go into a throwaway index; each line
of the checks file (JSON Lines) states one expectation and is judged on the real answer:

    {"id": "t1", "kind": "timeline", "question": "Hollin Dam", "articles": [ids, oldest first]}
    {"id": "c1", "kind": "conflict", "question": "How many...?", "values": ["2,000", "2,500"]}
    {"id": "s1", "kind": "syndication", "question": "...", "articles": [original, copy]}
    {"id": "r1", "kind": "recency", "question": "What is the latest...?", "articles": [newest]}
    {"id": "f1", "kind": "frame", "history": ["..."], "question": "...then?", "articles": [ok]}

timeline: every listed article is an event, in that order, and the events' dates never go
back; conflict: one conflict holds all the values; syndication: the copies are cited as ONE
source that lists the others; recency: the first citation is the newest article; frame:
the follow-up (after the history) is answered, citing only the listed articles.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

from retrieval.evaluation.qa import EvalDataError, jsonl_records
from retrieval.news.syndication import appearances
from retrieval.pipeline import make_answerer
from retrieval.settings import RetrievalSettings
from retrieval.store.embedders import Embedder
from retrieval.store.index import ArticleIndex
from retrieval.types import Answer, Citation, Turn

S = TypeVar("S", bound=RetrievalSettings)

Kind = Literal["timeline", "conflict", "syndication", "recency", "frame"]
KINDS: tuple[Kind, ...] = get_args(Kind)


@dataclass(frozen=True, slots=True)
class NewsCheck:
    """One expectation about one answer."""

    id: str
    kind: Kind
    question: str
    history: tuple[str, ...] = ()
    articles: tuple[str, ...] = ()
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckResult:
    """A check, whether the answer met it, and why not."""

    check: NewsCheck
    passed: bool
    detail: str


def load_checks(path: Path) -> list[NewsCheck]:
    """Read the checks file, one JSON object per line (errors name the line)."""
    checks = [_check(value, label) for label, value in jsonl_records(path)]
    if not checks:
        raise EvalDataError(f"{path}: holds no checks")
    return checks


def _check(value: dict[str, Any], label: str) -> NewsCheck:
    kind, question = value.get("kind"), value.get("question")
    if kind not in KINDS:
        raise EvalDataError(f"{label}: 'kind' must be one of {', '.join(KINDS)}")
    if not isinstance(question, str) or not question.strip():
        raise EvalDataError(f"{label}: 'question' is missing or empty")
    lists = {name: value.get(name) or [] for name in ("history", "articles", "values")}
    if not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in lists.values()):
        raise EvalDataError(f"{label}: 'history', 'articles' and 'values' are lists of strings")
    needed = "values" if kind == "conflict" else "articles"
    if not lists[needed]:
        raise EvalDataError(f"{label}: a {kind} check needs '{needed}'")
    return NewsCheck(
        str(value.get("id") or label),
        kind,
        question,
        tuple(lists["history"]),
        tuple(lists["articles"]),
        tuple(lists["values"]),
    )


# --- judging (pure) ----------------------------------------------------------------------------
def judge(check: NewsCheck, answer: Answer) -> tuple[bool, str]:
    """Whether the answer meets the check, and a short reason when it does not."""
    if not answer.found:
        return False, "no answer"
    return {
        "timeline": _timeline,
        "conflict": _conflict,
        "syndication": _syndication,
        "recency": _recency,
        "frame": _frame,
    }[check.kind](check, answer)


def _stands_for(citation: Citation) -> set[str]:
    return appearances([citation])


def _timeline(check: NewsCheck, answer: Answer) -> tuple[bool, str]:
    by_n = {c.n: c for c in answer.citations}
    order = [_stands_for(by_n[e.citation]) for e in answer.events if e.citation in by_n]
    positions = []
    for wanted in check.articles:
        where = [i for i, ids in enumerate(order) if wanted in ids]
        if not where:
            return False, f"{wanted} is not an event"
        positions.append(where[0])
    if positions != sorted(positions):
        return False, "events out of order"
    days = [e.when for e in answer.events]
    dated = [d for d in days if d is not None]
    if dated != sorted(dated) or None in days[: len(dated)]:
        return False, "dates go back"
    return True, ""


def _norm(value: str) -> str:
    return "".join(value.lower().replace(",", "").split())


def _conflict(check: NewsCheck, answer: Answer) -> tuple[bool, str]:
    wanted = {_norm(v) for v in check.values}
    for conflict in answer.conflicts:
        if wanted <= {_norm(v.value) for v in conflict.values}:
            return True, ""
    seen = [[v.value for v in c.values] for c in answer.conflicts]
    return False, f"conflicts found: {seen}" if seen else "no conflict found"


def _syndication(check: NewsCheck, answer: Answer) -> tuple[bool, str]:
    story = set(check.articles)
    cited = [c for c in answer.citations if _stands_for(c) & story]
    sources = {c.article.id for c in cited}
    if not sources:
        return False, "the story is not cited"
    if len(sources) > 1:
        return False, f"cited as {len(sources)} sources"
    if not story <= _stands_for(cited[0]):
        return False, "the copies are not listed"
    return True, ""


def _recency(check: NewsCheck, answer: Answer) -> tuple[bool, str]:
    first = answer.citations[0]
    if check.articles[0] in _stands_for(first):
        return True, ""
    return False, f"led with {first.article.id} ({first.article.published})"


def _frame(check: NewsCheck, answer: Answer) -> tuple[bool, str]:
    outside = [c.article.id for c in answer.citations if c.article.id not in check.articles]
    return (False, f"cited {outside}") if outside else (True, "")


# --- running ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NewsReport:
    """Every check's result, and what the run looked like."""

    results: tuple[CheckResult, ...]
    articles: int
    answerer: str
    seconds: float

    def rates(self) -> dict[str, dict[str, Any]]:
        """Per kind (in KINDS order, kinds with checks only): passed, total and rate."""
        out: dict[str, dict[str, Any]] = {}
        for kind in KINDS:
            mine = [r.passed for r in self.results if r.check.kind == kind]
            if mine:
                out[kind] = {"passed": sum(mine), "total": len(mine), "rate": _rate(mine)}
        return out

    def to_dict(self) -> dict[str, Any]:
        """The --json shape of the news mode."""
        passed = [r.passed for r in self.results]
        return {
            "mode": "news",
            "news": self.rates(),
            "passed": sum(passed),
            "total": len(passed),
            "rate": _rate(passed),
            "checks": [
                {"id": r.check.id, "kind": r.check.kind, "passed": r.passed, "detail": r.detail}
                for r in self.results
            ],
            "corpus": {
                "articles": self.articles,
                "answerer": self.answerer,
                "seconds": round(self.seconds, 1),
            },
        }


def _rate(flags: Sequence[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0


#: Stores the sources' articles in an index, raising `EvalDataError` when one fails (the
#: command line passes ingest's).
IndexSources = Callable[[Sequence[str], ArticleIndex, S], None]


def run_news_eval(
    settings: S,
    sources: Sequence[str],
    checks: Sequence[NewsCheck],
    index_sources: IndexSources[S],
    embedder: Embedder | None = None,
) -> NewsReport:
    """Index the sources in a temporary index and judge every check's answer."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="articlebot-news-eval-") as tmp:
        scratch = settings.model_copy(update={"data_dir": Path(tmp), "chroma_host": None})
        with ArticleIndex(scratch, embedder) as index:
            index_sources(sources, index, scratch)
            answerer = make_answerer(scratch, index)
            results = []
            for check in checks:
                history: list[Turn] = []
                for earlier in check.history:
                    history.append(Turn(earlier, answerer.answer(earlier, history).text))
                ask = answerer.timeline if check.kind == "timeline" else answerer.answer
                passed, detail = judge(check, ask(check.question, history))
                results.append(CheckResult(check, passed, detail))
            count = len(index.articles())
    return NewsReport(
        tuple(results),
        count,
        "llm" if settings.use_llm else "offline",
        time.perf_counter() - started,
    )
