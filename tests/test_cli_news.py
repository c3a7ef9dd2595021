"""News-aware answers through the real `articlebot` entry point, on the news test corpus.

Dated and attributed citations, recency, timelines, conflicts, syndicated copies, the
conversation's date window, and the date coverage in `stats` (offline answerer, the real
default embedder).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bot.cli.main import main
from retrieval.answer.prompts import REFUSAL
from tests.news_corpus import (
    ARTICLES,
    EASTBANK,
    HELPLINE,
    HERALD,
    OBSERVER,
    POST,
    TROOPS_Q,
    WIRE,
)


def run(*args: str, data_dir: Path, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--data-dir", str(data_dir), *args], input=stdin)


def ask_json(data_dir: Path, *args: str) -> dict[str, Any]:
    result = run("ask", *args, "--json", data_dir=data_dir)
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("news") / "data"
    assert run("ingest", str(ARTICLES), data_dir=path).exit_code == 0
    return path


def test_citation_lines_show_outlet_and_date_or_no_date(data_dir: Path) -> None:
    result = run("ask", "What number can residents call for flood help?", data_dir=data_dir)
    assert result.exit_code == 0, result.output
    answer, sources = result.stdout.split("\n\nSources:\n")
    assert answer.startswith("According to Lowmere Water Authority (no date): ")
    line = sources.splitlines()[0]
    assert re.fullmatch(
        r"\[1\] Flood helpline and emergency payments for Greywell households"
        r" — Lowmere Water Authority, no date \(added \d{4}-\d{2}-\d{2}\)",
        line,
    )
    payload = ask_json(data_dir, "What number can residents call for flood help?")
    for citation in payload["citations"]:
        assert citation["article_id"] == HELPLINE and citation["published"] is None
        assert citation["ingested_at"]  # kept, but never shown as the publication date


def test_answer_over_several_dates_leads_with_the_newest_and_dates_each(data_dir: Path) -> None:
    payload = ask_json(data_dir, TROOPS_Q)
    text = payload["answer"]
    assert text.startswith("2,500. According to Riverside Post (2026-04-05): Some 2,500 troops")
    assert len(payload["citations"]) == 2
    for c in payload["citations"]:
        assert f"{c['site']} ({c['published']})" in text or f"As of {c['published']}" in text


def test_conflicting_figures_are_all_cited(data_dir: Path) -> None:
    payload = ask_json(data_dir, TROOPS_Q)
    [conflict] = payload["conflicts"]
    assert conflict["what"] == "number of troops"
    by_value = {v["value"]: v["citations"] for v in conflict["values"]}
    assert list(by_value) == ["2,500", "2,000"]  # the newest report's value first
    cited = {c["n"]: c for c in payload["citations"]}
    assert [cited[n]["article_id"] for n in by_value["2,500"]] == [POST]
    assert [cited[n]["article_id"] for n in by_value["2,000"]] == [HERALD]
    assert "2,500 troops" in cited[by_value["2,500"][0]]["quote"]
    assert (
        f"Sources differ on the number of troops: 2,500 according to Riverside Post"
        f" (2026-04-05) [{by_value['2,500'][0]}]; 2,000 according to Lowmere Herald"
        f" (2026-04-03) [{by_value['2,000'][0]}]. The newest report, from 2026-04-05,"
        f" says 2,500."
    ) in payload["answer"]


def test_conflicting_dates_are_shown_newest_first(data_dir: Path) -> None:
    payload = ask_json(data_dir, "When will the last soldiers leave Greywell?")
    [conflict] = payload["conflicts"]
    assert [v["value"] for v in conflict["values"]] == ["April 24", "May 2"]
    assert payload["citations"][0]["article_id"] == EASTBANK


def test_no_conflict_when_the_sources_agree(data_dir: Path) -> None:
    payload = ask_json(data_dir, "How many residents of lower Greywell were told to leave?")
    assert payload["found"] and payload["conflicts"] == []


def test_syndicated_copy_is_one_source_listing_where_it_ran(data_dir: Path) -> None:
    question = "What are the divers using to repair the spillway?"
    payload = ask_json(data_dir, question)
    ids = {c["article_id"] for c in payload["citations"]}
    assert ids == {WIRE}  # never the copy as a second, independent source
    for citation in payload["citations"]:
        [copy] = citation["also_ran"]
        assert copy == {
            "article_id": OBSERVER,
            "title": "Dam repair under way as first families return home",
            "site": "Greywell Observer",
            "url": "https://greywellobserver.example/local/2026/04/10/dam-repair-under-way",
            "published": "2026-04-10",
        }
    human = run("ask", question, data_dir=data_dir).stdout
    assert (
        "    also ran: Greywell Observer, 2026-04-10"
        " (https://greywellobserver.example/local/2026/04/10/dam-repair-under-way)"
    ) in human


def test_recency_cue_prefers_the_newest_report(data_dir: Path) -> None:
    plain = ask_json(data_dir, "Is the Hollin road closed?")
    assert plain["citations"][0]["article_id"] == HERALD  # repeats the words best
    still = ask_json(data_dir, "Is the Hollin road still closed?")
    assert still["citations"][0]["article_id"] == EASTBANK
    assert still["answer"].startswith("As of 2026-04-16, Eastbank Daily reported:")


@pytest.mark.parametrize(
    "question",
    [
        "What is the latest on the Hollin Dam?",
        "Has the Hollin Dam been repaired yet?",
        "How is the Hollin Dam doing currently?",
    ],
)
def test_a_question_in_words_the_articles_never_use_is_still_answered(
    data_dir: Path, question: str
) -> None:
    # None of the articles writes "what", "latest", "yet" or "currently" (all refused
    # before): how a question is put must not make it look like one about something else.
    payload = ask_json(data_dir, question)
    assert payload["found"] is True, payload
    assert payload["citations"][0]["article_id"] == EASTBANK  # the newest report


def test_timeline_lists_dated_events_in_order(data_dir: Path) -> None:
    payload = ask_json(data_dir, "--timeline", "Hollin Dam")
    events = payload["events"]
    cited = {c["n"]: c for c in payload["citations"]}
    assert [cited[e["citation"]]["article_id"] for e in events] == [
        HERALD, POST, WIRE, EASTBANK, HELPLINE
    ]  # fmt: skip
    assert [e["date"] for e in events] == [
        "2026-04-03", "2026-04-05", "2026-04-09", "2026-04-16", None
    ]  # fmt: skip
    assert [e["citation"] for e in events] == [1, 2, 3, 4, 5]
    assert cited[3]["also_ran"][0]["article_id"] == OBSERVER  # the copy is not an event
    assert events[0]["text"] == cited[1]["quote"] and "crack in the spillway" in events[0]["text"]
    lines = payload["answer"].splitlines()
    assert lines[0] == "Timeline of Hollin Dam (5 reports, 2026-04-03 to 2026-04-16, 1 undated):"
    assert lines[1].startswith("2026-04-03 · Lowmere Herald: GREYWELL — About 4,000 residents")
    assert lines[-1].startswith("no date · Lowmere Water Authority: ") and lines[-1].endswith("[5]")


def test_what_happened_question_is_a_timeline(data_dir: Path) -> None:
    asked = ask_json(data_dir, "What happened with the Hollin Dam?")
    flagged = ask_json(data_dir, "--timeline", "the Hollin Dam")
    assert asked["events"] == flagged["events"] and len(asked["events"]) == 5
    human = run("ask", "What happened with the Hollin Dam?", data_dir=data_dir).stdout
    assert human.startswith("Timeline of the Hollin Dam (5 reports")
    assert "\n2026-04-05 · Riverside Post: Some 2,500 troops" in human


def test_timeline_of_an_unknown_topic_is_a_refusal(data_dir: Path) -> None:
    payload = ask_json(data_dir, "--timeline", "the lunar ferry service")
    assert payload["found"] is False and payload["answer"] == REFUSAL
    assert payload["events"] == [] and payload["citations"] == []


def test_follow_up_keeps_the_conversation_date_window(data_dir: Path) -> None:
    alone = ask_json(data_dir, "When would the last soldiers leave Greywell?")
    assert alone["citations"][0]["article_id"] == EASTBANK  # the newest: April 24
    follow_up = "And when would the last soldiers leave then?"
    result = run("chat", data_dir=data_dir, stdin=f"{TROOPS_Q}\n{follow_up}\n")
    assert result.exit_code == 0, result.output
    second = result.stdout.split(f"{follow_up}\n")[1]
    assert second.startswith("May 2. According to Riverside Post (2026-04-05): ")
    assert "before May 2" in second and "April 24" not in second
    assert "Eastbank Daily" not in second  # 04-16 is outside the window around 04-05


def test_stats_shows_the_date_coverage(data_dir: Path) -> None:
    result = run("stats", data_dir=data_dir)
    assert "published  2026-04-03 to 2026-04-16 (1 with no date)" in result.stdout
    payload = json.loads(run("stats", "--json", data_dir=data_dir).stdout)
    assert (payload["oldest"], payload["newest"], payload["undated"]) == (
        "2026-04-03", "2026-04-16", 1
    )  # fmt: skip


def test_plain_answers_when_news_awareness_is_off(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTICLEBOT_NEWS_AWARE", "false")
    payload = ask_json(data_dir, TROOPS_Q)
    assert payload["conflicts"] == [] and not payload["answer"].startswith("As of")
