"""`articlebot eval --news`: the news behaviours scored on a labelled corpus."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli.main import main
from retrieval.evaluation.news_checks import NewsCheck, judge
from retrieval.types import Answer, Article, Citation, Conflict, ConflictValue, Event
from tests.news_corpus import ARTICLES, CHECKS, HERALD


def run(*args: str, data_dir: Path) -> Result:
    return CliRunner().invoke(main, ["--data-dir", str(data_dir), *args])


def news_eval(tmp_path: Path, *extra: str, checks: Path = CHECKS) -> Result:
    return run(
        "eval", "--news", "--articles", str(ARTICLES), "--questions", str(checks), *extra,
        data_dir=tmp_path / "data",
    )  # fmt: skip


def test_news_mode_prints_a_rate_per_behaviour(tmp_path: Path) -> None:
    result = news_eval(tmp_path)
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()[1:6]}
    assert rows == {
        "timeline": ["1", "1", "1.000"],
        "conflict": ["2", "2", "1.000"],
        "syndication": ["1", "1", "1.000"],
        "recency": ["2", "2", "1.000"],
        "frame": ["1", "1", "1.000"],
    }
    assert "Corpus: 8 articles; 7/7 checks passed; offline answerer;" in result.stdout
    assert not (tmp_path / "data").exists()  # a throwaway index: yours is not touched


def test_news_mode_json(tmp_path: Path) -> None:
    payload = json.loads(news_eval(tmp_path, "--json").stdout)
    assert payload["mode"] == "news" and (payload["passed"], payload["total"]) == (7, 7)
    assert set(payload["news"]) == {"timeline", "conflict", "syndication", "recency", "frame"}
    assert payload["news"]["conflict"] == {"passed": 2, "total": 2, "rate": 1.0}
    assert payload["checks"][0] == {
        "id": "timeline-dam", "kind": "timeline", "passed": True, "detail": ""
    }  # fmt: skip
    assert payload["corpus"]["articles"] == 8 and payload["corpus"]["answerer"] == "offline"


def test_plain_answers_fail_the_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTICLEBOT_NEWS_AWARE", "false")
    payload = json.loads(news_eval(tmp_path, "--json").stdout)
    assert payload["passed"] <= 2
    details = {c["id"]: c["detail"] for c in payload["checks"]}
    assert details["conflict-troops"] == "no conflict found"
    assert details["syndicated-repair"] == "the copies are not listed"
    assert details["timeline-dam"] in {"no answer", f"{HERALD} is not an event"}
    human = news_eval(tmp_path)
    assert "failed conflict-troops (conflict): no conflict found" in human.stdout


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"kind": "gossip", "question": "q"}', "'kind' must be one of timeline, conflict,"),
        ('{"kind": "conflict", "question": "q"}', "a conflict check needs 'values'"),
        ('{"kind": "recency", "question": " ", "articles": ["a"]}', "'question' is missing"),
        ('{"kind": "frame", "question": "q", "articles": "a"}', "are lists of strings"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_bad_checks_are_one_line_errors(tmp_path: Path, line: str, message: str) -> None:
    checks = tmp_path / "checks.jsonl"
    checks.write_text(line + "\n", encoding="utf-8")
    result = news_eval(tmp_path, checks=checks)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {checks} line 1: ") and message in result.stderr


def _answer(events: list[tuple[date | None, str]]) -> Answer:
    citations = []
    for n, (day, aid) in enumerate(events, start=1):
        a = Article(aid, aid, "Text.", site="S", published=day)
        citations.append(Citation(n, a, "Text.", 0, 5))
    timeline = tuple(Event(day, "Text.", n) for n, (day, _) in enumerate(events, start=1))
    return Answer("t", tuple(citations), True, "q", events=timeline)


def test_timeline_judge_wants_the_order_and_the_dates_right() -> None:
    check = NewsCheck("t", "timeline", "q", articles=("a", "b"))
    ok = _answer([(date(2026, 1, 1), "a"), (date(2026, 1, 2), "x"), (date(2026, 1, 3), "b")])
    assert judge(check, ok) == (True, "")
    swapped = _answer([(date(2026, 1, 1), "b"), (date(2026, 1, 3), "a")])
    assert judge(check, swapped) == (False, "events out of order")
    back = _answer([(date(2026, 1, 3), "a"), (date(2026, 1, 1), "b")])
    assert judge(check, back) == (False, "dates go back")
    assert judge(check, _answer([(None, "a")])) == (False, "b is not an event")


def test_conflict_judge_compares_values_loosely() -> None:
    check = NewsCheck("c", "conflict", "q", values=("2,000", "2500"))
    found = Conflict("n", (ConflictValue("2000", (1,)), ConflictValue("2,500", (2,))))
    answer = Answer("a", (), True, "q", conflicts=(found,))
    assert judge(check, answer) == (True, "")
    assert judge(check, Answer("a", (), True, "q"))[0] is False
