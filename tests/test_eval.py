"""`articlebot eval`: the metric functions by hand, then the command on a tiny fictional set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bot.cli.main import main
from ingest.eval_corpus import load_articles
from retrieval.evaluation.qa import (
    EvalDataError,
    EvalQuestion,
    QuestionResult,
    contains_answer,
    first_hit_rank,
    hold_out,
    load_questions,
    mean_reciprocal_rank,
    normalize_answer,
    percentile,
    pick_questions,
    rate,
    recall_at,
    summarize,
    without_markers,
)
from retrieval.types import Answer, Article, Chunk, Citation, Hit
from tests.conftest import SAMPLES_DIR

METRIC_KEYS = {
    "recall_at_1",
    "recall_at_5",
    "recall_at_10",
    "mrr",
    "answer_containment",
    "citation_precision",
    "false_refusal_rate",
    "refusal_rate_out_of_corpus",
    "refusal_rate_unanswerable",
    "p50_ms",
    "p95_ms",
    "mean_answer_chars",
    "n_questions",
}
RATES = METRIC_KEYS - {"p50_ms", "p95_ms", "mean_answer_chars", "n_questions"}

ARTICLES: list[dict[str, Any]] = [
    {
        "id": "ferry",
        "title": "Marlow Point ferry to resume service",
        "url": "https://www.harbourledger.example/ferry",
        "published": "2026-03-02",
        "text": "The Marlow Point ferry will resume service on June 12 after repairs to its"
        " hull, the harbour authority said on Monday. The vessel was damaged in January when"
        " it struck a submerged pier. Repairs cost 380,000 euros and were carried out at the"
        " Dunmore shipyard.",
    },
    {
        "id": "library",
        "title": "Eastbrook library opens new wing",
        "url": "https://eastbrooktimes.example/library",
        "published": "2026-02-14",
        "text": "The Eastbrook Public Library opened a new reading wing on Saturday. The wing is"
        " named after the poet Ada Finch, who grew up in the town. It holds 40,000 books and"
        " a children's theatre, and was designed by the architect Paulo Reyes.",
    },
    {
        "id": "rovers",
        "title": "Riverside Rovers appoint new head coach",
        "url": "https://sportsdesk.example/rovers",
        "published": None,
        "text": "Riverside Rovers have appointed Tomas Bell as their new head coach. Bell, 44,"
        " previously managed the under-21 side of Kingsford Athletic. He signed a three-year"
        " contract and takes charge before the match against Millbrook on Friday.",
    },
    {
        "id": "bread",
        "title": "Kestrel Valley bread festival draws record crowd",
        "url": None,
        "published": "March 8, 2026",
        "text": "The annual Kestrel Valley bread festival drew 12,000 visitors this weekend, a"
        " record. The top prize went to the baker Lena Ortiz for her dark rye loaf. Organisers"
        " plan to move the festival to the old cattle market next year.",
    },
    {
        "id": "storm",
        "title": "Storm Imogen batters Pellworth coast",
        "url": "https://weatherwire.example/imogen",
        "published": "2026-01-20",
        "text": "Storm Imogen brought gusts of 110 km/h to the Pellworth coast overnight. About"
        " 6,500 homes lost power, and the coastal railway between Pellworth and Saltby was"
        " closed after a landslide covered the tracks.",
    },
]
QUESTIONS = [
    ("q1", "When will the Marlow Point ferry resume service?", ["June 12"], "ferry"),
    ("q2", "How much did the ferry hull repairs cost?", ["380,000 euros"], "ferry"),
    ("q3", "Who is the Eastbrook library wing named after?", ["Ada Finch"], "library"),
    ("q4", "Which architect designed the Eastbrook library wing?", ["Paulo Reyes"], "library"),
    ("q5", "Who did Riverside Rovers appoint as head coach?", ["Tomas Bell"], "rovers"),
    ("q6", "Who won the top prize at the Kestrel Valley bread festival?", ["Lena Ortiz"], "bread"),
    ("q7", "How many visitors came to the Kestrel Valley bread festival?", ["12,000"], "bread"),
    ("q8", "How many homes lost power during Storm Imogen?", ["6,500"], "storm"),
    ("q9", "What speed did the gusts of Storm Imogen reach?", ["110 km/h"], "storm"),
    ("q10", "What is Tomas Bell's salary at Riverside Rovers?", [], "rovers"),
    ("q11", "Who won the Pellworth chess championship?", [], None),
]


# --- helpers ------------------------------------------------------------------------------
def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def question_records() -> list[dict[str, Any]]:
    return [
        {"id": i, "question": q, "answers": a, "article_id": aid, "answerable": bool(a)}
        for i, q, a, aid in QUESTIONS
    ]


@pytest.fixture(scope="module")
def eval_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("evalset")
    articles = write_jsonl(folder / "articles.jsonl", ARTICLES)
    return articles, write_jsonl(folder / "questions.jsonl", question_records())


def run(*args: str, data_dir: Path | None = None) -> Result:
    prefix = ["--data-dir", str(data_dir)] if data_dir else []
    return CliRunner().invoke(main, [*prefix, "eval", *args])


def run_json(files: tuple[Path, Path], *args: str) -> dict[str, Any]:
    result = run("--articles", str(files[0]), "--questions", str(files[1]), "--json", *args)
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.stdout)  # exactly one object, nothing else
    return payload


def article(aid: str = "a", text: str = "The ferry resumes on June 12.") -> Article:
    return Article(aid, f"Title {aid}", text)


def hit(aid: str, text: str) -> Hit:
    art = article(aid, text)
    return Hit(art, Chunk(aid, 0, 0, len(text), text), 1.0)


def result(group: Any, found: bool, text: str, citations: tuple[Citation, ...] = ()) -> Any:
    q = EvalQuestion("q", "When?", ("June 12",), "a", group != "unanswerable")
    return QuestionResult(q, group, 1 if found else None, Answer(text, citations, found, "?"), 10.0)


# --- metrics --------------------------------------------------------------------------------
def test_normalize_answer_follows_squad() -> None:
    assert normalize_answer("The  Eiffel-Tower, in PARIS!") == "eiffeltower in paris"
    assert normalize_answer("an apple a day") == "apple day"
    assert normalize_answer("theatre") == "theatre"  # only whole-word articles go


def test_contains_answer_and_markers() -> None:
    assert contains_answer("It reopens on June 12. [1]", ["june 12"])
    assert contains_answer("the Catholic orthodoxy", ["Catholic", "Catholicism"])
    assert not contains_answer("It reopens in May.", ["June 12"])
    assert not contains_answer("anything", ["the"])  # a gold answer normalised away is no match
    assert not contains_answer(without_markers("Nothing here [1]"), ["1"])


def test_first_hit_rank_needs_gold_article_and_answer() -> None:
    hits = [
        hit("other", "The ferry resumes on June 12."),  # right answer, wrong article
        hit("gold", "The ferry was damaged in January."),  # right article, no answer
        hit("gold", "It resumes on JUNE 12 after repairs."),  # case-insensitive
    ]
    assert first_hit_rank(hits, "gold", ["June 12"]) == 3
    assert first_hit_rank(hits, "gold", ["July 1"]) is None
    assert first_hit_rank([], "gold", ["June 12"]) is None


def test_recall_and_mrr_on_hand_made_ranks() -> None:
    ranks = [1, 3, None, 12]
    assert recall_at(ranks, 1) == 0.25
    assert recall_at(ranks, 5) == 0.5
    assert recall_at(ranks, 10) == 0.5
    assert mean_reciprocal_rank(ranks) == pytest.approx((1 + 1 / 3) / 4)
    assert mean_reciprocal_rank(ranks, cutoff=12) == pytest.approx((1 + 1 / 3 + 1 / 12) / 4)
    assert recall_at([], 1) is None and mean_reciprocal_rank([]) is None


def test_percentile_and_rate() -> None:
    assert percentile([5.0], 95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([4.0, 1.0, 3.0, 2.0, 100.0], 95) == pytest.approx(80.8)
    assert percentile([], 50) is None
    assert rate([True, False, False, True]) == 0.5 and rate([]) is None


def test_summarize_counts_each_group() -> None:
    gold = article()
    good = Citation(1, gold, "The ferry resumes on June 12.", 0, 29)
    forged = Citation(2, gold, "The ferry resumes on June 12!", 0, 29)  # not verbatim
    off_topic = Citation(3, gold, "The ferry resumes", 0, 17)  # verbatim, no answer
    results = [
        result("answerable", True, "The ferry resumes on June 12. [1]", (good, forged, off_topic)),
        result("answerable", False, "The articles don't say."),
        result("held_out", False, "The articles don't say."),
        result("held_out", True, "Something else. [1]", (off_topic,)),
        result("unanswerable", False, "The articles don't say."),
    ]
    m = summarize(results)
    assert (m.recall_at_1, m.mrr) == (0.5, 0.5)
    assert m.answer_containment == 0.5 and m.false_refusal_rate == 0.5
    assert m.citation_precision == pytest.approx(1 / 3)  # only answerable in-corpus answers
    assert m.refusal_rate_out_of_corpus == 0.5 and m.refusal_rate_unanswerable == 1.0
    assert m.mean_answer_chars == pytest.approx((33 + 19) / 2)
    assert (m.p50_ms, m.p95_ms, m.n_questions) == (10.0, 10.0, 5)


def test_hold_out_is_seeded_and_keeps_one_article() -> None:
    ids = [f"a{i}" for i in range(10)]
    assert hold_out(ids, 0.2, 0) == hold_out(list(reversed(ids)), 0.2, 0)
    assert len(hold_out(ids, 0.2, 0)) == 2 and hold_out(ids, 0.0, 0) == set()
    assert len(hold_out(["only"], 0.9, 0)) == 0
    questions = [EvalQuestion(str(i), "q?", (), None, False) for i in range(10)]
    picked = pick_questions(questions, 3, 1)
    assert picked == pick_questions(questions, 3, 1) and len(picked) == 3
    assert [int(q.id) for q in picked] == sorted(int(q.id) for q in picked)


def test_loaders_build_typed_records(eval_files: tuple[Path, Path]) -> None:
    articles = load_articles(eval_files[0])
    ferry, bread = articles[0], articles[3]
    assert ferry.site == "harbourledger.example" and str(ferry.published) == "2026-03-02"
    assert bread.site is None and str(bread.published) == "2026-03-08"
    questions = load_questions(eval_files[1], {a.id for a in articles})
    assert questions[-1] == EvalQuestion(
        "q11", "Who won the Pellworth chess championship?", (), None, False
    )
    with pytest.raises(EvalDataError, match="line 1: unknown article_id 'ferry'"):
        load_questions(eval_files[1], {"library"})


# --- the command ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def all_modes(eval_files: tuple[Path, Path]) -> dict[str, Any]:
    return run_json(eval_files, "--retriever", "all")


def check_metrics(metrics: dict[str, Any]) -> None:
    assert set(metrics) >= METRIC_KEYS
    assert metrics["n_questions"] == len(QUESTIONS)
    for key in RATES:
        assert metrics[key] is None or 0.0 <= metrics[key] <= 1.0, key
    assert metrics["recall_at_1"] <= metrics["recall_at_5"] <= metrics["recall_at_10"]
    assert 0 < metrics["p50_ms"] <= metrics["p95_ms"]


def test_all_modes_json(all_modes: dict[str, Any]) -> None:
    assert all_modes["retriever"] == "all"
    assert list(all_modes["modes"]) == ["hybrid", "dense", "lexical"]
    for metrics in all_modes["modes"].values():
        check_metrics(metrics)
    assert {k: all_modes[k] for k in METRIC_KEYS} == all_modes["modes"]["hybrid"]
    assert all_modes["corpus"]["articles"] == 5 and all_modes["corpus"]["held_out"] == 1
    # the held-out article's answerable questions are counted (every article has some)
    assert all_modes["refusal_rate_out_of_corpus"] is not None
    assert all_modes["modes"]["lexical"]["recall_at_10"] > 0.5


def test_one_mode_json_and_determinism(
    eval_files: tuple[Path, Path], all_modes: dict[str, Any]
) -> None:
    first = run_json(eval_files, "--retriever", "lexical")
    assert first["retriever"] == "lexical" and "modes" not in first
    check_metrics(first)
    again = run_json(eval_files, "--retriever", "lexical")
    timing = {"p50_ms", "p95_ms", "corpus", "retriever"}
    same = {k: v for k, v in first.items() if k not in timing}
    assert same == {k: v for k, v in again.items() if k not in timing}
    assert same == {k: v for k, v in all_modes["modes"]["lexical"].items() if k not in timing}


def test_without_hold_out_nothing_is_out_of_corpus(eval_files: tuple[Path, Path]) -> None:
    payload = run_json(eval_files, "--retriever", "lexical", "--out-of-corpus", "0")
    assert payload["corpus"]["held_out"] == 0
    assert payload["refusal_rate_out_of_corpus"] is None
    assert payload["refusal_rate_unanswerable"] is not None


def test_human_table(eval_files: tuple[Path, Path]) -> None:
    result = run(
        "--articles", str(eval_files[0]), "--questions", str(eval_files[1]), "--retriever", "dense"
    )
    assert result.exit_code == 0, result.output
    assert "R@10" in result.stdout and "dense" in result.stdout
    assert "Corpus: 5 articles, 1 held out" in result.stdout


@pytest.mark.parametrize(
    ("articles_text", "questions_text", "message"),
    [
        (None, "", "missing.jsonl: no such file"),
        ('{"id": "a", "text": "x"}\n{"id": "b", "text": \n', "", "articles.jsonl line 2: invalid"),
        ("", "", "articles.jsonl: holds no articles"),
        ('{"id": "a", "text": "x"}\n', "", "questions.jsonl: holds no questions"),
        (
            '{"id": "a", "text": "x"}\n',
            '{"question": "q?", "answers": ["x"], "article_id": "zz"}\n',
            "questions.jsonl line 1: unknown article_id 'zz'",
        ),
        ('{"id": "a", "text": 3}\n', "", "articles.jsonl line 1: 'text'"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(
    tmp_path: Path, articles_text: str | None, questions_text: str, message: str
) -> None:
    articles = tmp_path / ("missing.jsonl" if articles_text is None else "articles.jsonl")
    if articles_text is not None:
        articles.write_text(articles_text, encoding="utf-8")
    questions = tmp_path / "questions.jsonl"
    questions.write_text(questions_text, encoding="utf-8")
    result = run("--articles", str(articles), "--questions", str(questions), "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_any_folder_ingest_reads_is_an_eval_corpus() -> None:
    # The samples: eight articles in five formats; their ids are the ones ingest gives.
    result = run(
        "--articles",
        str(SAMPLES_DIR / "articles"),
        "--questions",
        str(SAMPLES_DIR / "questions.jsonl"),
        "--out-of-corpus",
        "0",
        "--retriever",
        "hybrid",
        "--json",
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["corpus"]["articles"] == 8 and payload["n_questions"] == 16
    assert payload["refusal_rate_unanswerable"] == 1.0
    assert payload["recall_at_5"] >= 0.9
    assert payload["answer_containment"] >= 0.5


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "nowhere", "nowhere: no such file or directory"),
        (lambda p: p / "void", "void: no supported files in this directory"),
        (lambda p: p / "notes.txt", "notes.txt: "),
        (lambda p: p, "empty.txt: empty file"),
    ],
)
def test_a_folder_that_gives_no_articles_is_one_line_and_exit_1(
    tmp_path: Path, make: Any, message: str
) -> None:
    (tmp_path / "void").mkdir()
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "notes.txt").write_bytes(b"\xff\xfe\x00bad")
    questions = tmp_path / "questions.jsonl"
    questions.write_text('{"question": "q?", "answers": ["x"], "article_id": "a"}\n')
    result = run("--articles", str(make(tmp_path)), "--questions", str(questions))
    assert result.exit_code == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_out_of_corpus_range_is_a_usage_error(eval_files: tuple[Path, Path]) -> None:
    args = ["--articles", str(eval_files[0]), "--questions", str(eval_files[1])]
    assert run(*args, "--out-of-corpus", "0.95").exit_code == 2
    assert run(*args, "--out-of-corpus", "-0.1").exit_code == 2
