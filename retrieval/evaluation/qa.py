"""The logic of `articlebot eval`: load a labelled question set, index it, measure every mode.

A seeded share of the articles is held out of the throwaway index, so that questions
about them test refusal. Metrics are small pure functions over per-question results;
`run_eval` does the I/O (indexing, searching, answering) and returns an `EvalReport`.
"""

from __future__ import annotations

import json
import random
import re
import string
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from retrieval.answer.citations import is_verbatim
from retrieval.errors import ArticlebotError
from retrieval.pipeline import make_answerer
from retrieval.search.retriever import HybridRetriever, Mode
from retrieval.settings import RetrievalSettings
from retrieval.store.embedders import Embedder
from retrieval.store.index import ArticleIndex
from retrieval.types import Answer, Article, Citation, Hit, Progress, SearchFilters, Turn

S = TypeVar("S", bound=RetrievalSettings)

MODES: tuple[Mode, ...] = ("hybrid", "dense", "lexical")
Group = Literal["answerable", "held_out", "unanswerable", "other"]
_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES_RE = re.compile(r"\b(a|an|the)\b")
_MARKER_RE = re.compile(r"\[\d+\]")


class EvalDataError(ArticlebotError):
    """An eval file is missing, empty or malformed (the message names file and line)."""


@dataclass(frozen=True, slots=True)
class EvalQuestion:
    """One labelled question; `article_id` is None for questions about no article."""

    id: str
    question: str
    answers: tuple[str, ...]
    article_id: str | None
    answerable: bool
    history: tuple[str, ...] = ()  # questions asked before it in the same conversation


# --- loading -------------------------------------------------------------------------------
def jsonl_records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (label, object) per non-blank line, so every error can name file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EvalDataError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalDataError(f"{path}: cannot read it ({exc})") from None
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        label = f"{path} line {number}"
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise EvalDataError(f"{label}: invalid JSON ({exc})") from None
        if not isinstance(value, dict):
            raise EvalDataError(f"{label}: expected a JSON object")
        yield label, value


def field_of(value: dict[str, Any], name: str, kind: Any, label: str, required: bool) -> Any:
    item = value.get(name)
    if (item is None and required) or (item is not None and not isinstance(item, kind)):
        raise EvalDataError(f"{label}: '{name}' is missing or has the wrong type")
    return item


def load_questions(path: Path, article_ids: set[str]) -> list[EvalQuestion]:
    """Read the eval questions file, checking each refers to a known article.

    An `article_id` may also be a file's name ("story.txt" for the article ingest calls
    "file:///.../story.txt"), so a question file works wherever its articles are.
    """
    questions = []
    for label, value in jsonl_records(path):
        text = field_of(value, "question", str, label, True)
        answers = field_of(value, "answers", list, label, True)
        article_id = field_of(value, "article_id", str, label, False)
        answerable = field_of(value, "answerable", bool, label, False)
        answerable = bool(answers) if answerable is None else answerable
        history = field_of(value, "history", list, label, False) or []
        if not text.strip() or not all(isinstance(a, str) and a.strip() for a in answers):
            raise EvalDataError(f"{label}: empty question or answer")
        if not all(isinstance(h, str) and h.strip() for h in history):
            raise EvalDataError(f"{label}: 'history' must be a list of questions")
        if article_id is not None and article_id not in article_ids:
            article_id = _by_file_name(article_id, article_ids, label)
        if answerable and (not answers or article_id is None):
            raise EvalDataError(f"{label}: an answerable question needs answers and article_id")
        qid = str(value.get("id") or label)
        questions.append(
            EvalQuestion(qid, text, tuple(answers), article_id, answerable, tuple(history))
        )
    if not questions:
        raise EvalDataError(f"{path}: holds no questions")
    return questions


def _by_file_name(name: str, article_ids: set[str], label: str) -> str:
    """The one article id that is a file URI ending in `name`."""
    found = [i for i in article_ids if i.startswith("file://") and i.endswith("/" + name)]
    if len(found) != 1:
        raise EvalDataError(f"{label}: unknown article_id {name!r}")
    return found[0]


def load_stories(path: Path, article_ids: set[str]) -> list[set[str]]:
    """Read a stories file ({story, articles: [ids]} per line): articles held out together."""
    stories = []
    for label, value in jsonl_records(path):
        members = field_of(value, "articles", list, label, True)
        resolved = set()
        for member in members:
            if not isinstance(member, str):
                raise EvalDataError(f"{label}: 'articles' must be a list of ids")
            known = member in article_ids
            resolved.add(member if known else _by_file_name(member, article_ids, label))
        stories.append(resolved)
    return stories


def hold_out(
    article_ids: Sequence[str],
    fraction: float,
    seed: int,
    stories: Sequence[frozenset[str]] = (),
) -> set[str]:
    """Pick round(fraction * n) stories to keep out of the index (at least one stays).

    A story is held out whole: another outlet's report of it would still answer its
    questions. Articles in no story are stories of their own.
    """
    grouped = {a for story in stories for a in story}
    units = [sorted(story) for story in stories if story]
    units += [[a] for a in sorted(article_ids) if a not in grouped]
    units.sort()
    count = min(round(fraction * len(units)), len(units) - 1)
    picked = random.Random(seed).sample(range(len(units)), max(count, 0))
    return {a for i in picked for a in units[i]}


def pick_questions(
    questions: list[EvalQuestion], limit: int | None, seed: int
) -> list[EvalQuestion]:
    """A seeded sample of `limit` questions, in file order (all of them without a limit)."""
    if limit is None or limit >= len(questions):
        return questions
    chosen = set(random.Random(seed).sample(range(len(questions)), limit))
    return [q for i, q in enumerate(questions) if i in chosen]


def group_of(question: EvalQuestion, held_out: set[str]) -> Group:
    """Which metric a question's answer counts towards."""
    outside = question.article_id in held_out
    if question.answerable:
        return "held_out" if outside else "answerable"
    return "other" if outside else "unanswerable"


# --- metrics (pure) --------------------------------------------------------------------------
def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lowercase, no punctuation, no a/an/the, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES_RE.sub(" ", text).split())


def contains_answer(text: str, answers: Sequence[str]) -> bool:
    """True when the normalised text contains any normalised gold answer."""
    haystack = normalize_answer(text)
    return any(gold and gold in haystack for gold in map(normalize_answer, answers))


def without_markers(text: str) -> str:
    """Answer text without its [n] citation markers, so a gold "1" can't match "[1]"."""
    return _MARKER_RE.sub(" ", text)


def first_hit_rank(
    hits: Sequence[Hit], article_id: str | None, answers: Sequence[str]
) -> int | None:
    """1-based rank of the first chunk of the gold article holding a gold answer (any case)."""
    golds = [a.lower() for a in answers]
    for rank, hit in enumerate(hits, start=1):
        text = hit.chunk.text.lower()
        if hit.article.id == article_id and any(g in text for g in golds):
            return rank
    return None


def recall_at(ranks: Sequence[int | None], k: int) -> float | None:
    """Share of questions with a hit at rank k or better (None when there are none)."""
    return rate([r is not None and r <= k for r in ranks])


def mean_reciprocal_rank(ranks: Sequence[int | None], cutoff: int = 10) -> float | None:
    """Mean of 1/rank over ranks 1..cutoff, 0 for a miss (None when there are no questions)."""
    if not ranks:
        return None
    return sum(1.0 / r for r in ranks if r is not None and r <= cutoff) / len(ranks)


def rate(flags: Sequence[bool]) -> float | None:
    """Share of True (None for an empty list: the metric is undefined, not 0)."""
    return sum(flags) / len(flags) if flags else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile with linear interpolation (numpy's default); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def citation_ok(citation: Citation, answers: Sequence[str]) -> bool:
    """A citation counts when its quote is verbatim and contains a gold answer."""
    return is_verbatim(citation) and contains_answer(citation.quote, answers)


# --- per mode --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class QuestionResult:
    """What one question got from one mode: its retrieval rank, answer and latency."""

    question: EvalQuestion
    group: Group
    rank: int | None
    answer: Answer
    ms: float


@dataclass(frozen=True, slots=True)
class ModeMetrics:
    """The metrics of one retriever mode (None = undefined: no question of that kind)."""

    recall_at_1: float | None
    recall_at_5: float | None
    recall_at_10: float | None
    mrr: float | None
    answer_containment: float | None
    citation_precision: float | None
    false_refusal_rate: float | None
    refusal_rate_out_of_corpus: float | None
    refusal_rate_unanswerable: float | None
    p50_ms: float | None
    p95_ms: float | None
    mean_answer_chars: float | None
    n_questions: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready metrics, rounded to 4 decimals (milliseconds to 0.1)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float):
                out[key] = round(value, 1 if key.endswith(("_ms", "_chars")) else 4)
        return out


def summarize(results: Sequence[QuestionResult]) -> ModeMetrics:
    """Turn one mode's per-question results into its metrics."""
    inside = [r for r in results if r.group == "answerable"]
    ranks = [r.rank for r in inside if not r.question.history]
    answered = [r for r in inside if r.answer.found]
    cited = [citation_ok(c, r.question.answers) for r in answered for c in r.answer.citations]
    found = [r.answer for r in results if r.answer.found]
    ms = [r.ms for r in results]
    return ModeMetrics(
        recall_at_1=recall_at(ranks, 1),
        recall_at_5=recall_at(ranks, 5),
        recall_at_10=recall_at(ranks, 10),
        mrr=mean_reciprocal_rank(ranks),
        answer_containment=rate([_contains(r) for r in inside]),
        citation_precision=rate(cited),
        false_refusal_rate=rate([not r.answer.found for r in inside]),
        refusal_rate_out_of_corpus=_refused(results, "held_out"),
        refusal_rate_unanswerable=_refused(results, "unanswerable"),
        p50_ms=percentile(ms, 50),
        p95_ms=percentile(ms, 95),
        mean_answer_chars=sum(len(a.text) for a in found) / len(found) if found else None,
        n_questions=len(results),
    )


def _contains(result: QuestionResult) -> bool:
    return contains_answer(without_markers(result.answer.text), result.question.answers)


def _refused(results: Sequence[QuestionResult], group: Group) -> float | None:
    return rate([not r.answer.found for r in results if r.group == group])


def evaluate_mode(
    index: ArticleIndex,
    settings: RetrievalSettings,
    mode: Mode,
    questions: Sequence[tuple[EvalQuestion, Group]],
    k: int,
    progress: Progress | None = None,
) -> list[QuestionResult]:
    """Search and answer every question with one retriever mode."""
    retriever = HybridRetriever(index, mode)
    answerer = make_answerer(settings, index, mode)
    answer_filters = SearchFilters(k=settings.top_k)
    results = []
    for question, group in questions:
        rank = None
        if group == "answerable" and not question.history:  # a follow-up needs its history
            hits = retriever.search(question.question, SearchFilters(k=k))
            rank = first_hit_rank(hits, question.article_id, question.answers)
        history = [
            Turn(earlier, answerer.answer(earlier, filters=answer_filters).text)
            for earlier in question.history
        ]
        started = time.perf_counter()
        answer = answerer.answer(question.question, history, filters=answer_filters)
        ms = (time.perf_counter() - started) * 1000
        results.append(QuestionResult(question, group, rank, answer, ms))
        if progress is not None:
            progress.advance(f"{mode}: {question.question}")
    return results


# --- the whole run ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EvalOptions:
    """How to run: which modes, how much to hold out, the seed, a sample size, search depth."""

    modes: tuple[Mode, ...] = MODES
    out_of_corpus: float = 0.2
    seed: int = 0
    limit: int | None = None
    k: int = 10
    stories: tuple[frozenset[str], ...] = ()  # articles held out together


@dataclass(frozen=True, slots=True)
class EvalReport:
    """Metrics per mode (in MODES order) plus what the corpus and the run looked like."""

    modes: dict[str, ModeMetrics]
    options: EvalOptions
    articles: int
    held_out: int
    answerer: str
    seconds: float


#: Stores articles in an index (the command line passes ingest's `ingest_articles`).
#: (Generic in the settings: the caller's settings also hold what its indexing reads.)
IndexArticles = Callable[[Sequence[Article], ArticleIndex, S, Progress | None], object]


def run_eval(
    settings: S,
    articles: Sequence[Article],
    questions: list[EvalQuestion],
    options: EvalOptions,
    index_articles: IndexArticles[S],
    progress: Progress | None = None,
    embedder: Embedder | None = None,
) -> EvalReport:
    """Index the kept articles in a temporary directory and evaluate each mode on it."""
    started = time.perf_counter()
    held_out = hold_out(
        [a.id for a in articles], options.out_of_corpus, options.seed, options.stories
    )
    chosen = pick_questions(questions, options.limit, options.seed)
    picked = [(q, group_of(q, held_out)) for q in chosen]
    with tempfile.TemporaryDirectory(prefix="articlebot-eval-") as tmp:
        # Embedded Chroma always: an eval must never write into a configured server.
        scratch = settings.model_copy(update={"data_dir": Path(tmp), "chroma_host": None})
        with ArticleIndex(scratch, embedder) as index:
            kept = [a for a in articles if a.id not in held_out]
            index_articles(kept, index, scratch, progress)
            results = {
                mode: evaluate_mode(index, scratch, mode, picked, options.k, progress)
                for mode in MODES
                if mode in options.modes
            }
    return EvalReport(
        modes={mode: summarize(found) for mode, found in results.items()},
        options=options,
        articles=len(articles),
        held_out=len(held_out),
        answerer="llm" if settings.use_llm else "offline",
        seconds=time.perf_counter() - started,
    )
