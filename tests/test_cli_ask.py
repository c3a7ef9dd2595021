"""`articlebot ask` and `articlebot chat` through the real entry point."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bot.cli.main import main
from bot.cli.render import render_sources
from retrieval.answer.prompts import REFUSAL
from retrieval.types import Answer, Article, Citation
from tests.conftest import SAMPLES_DIR


def run(*args: str, data_dir: Path, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--data-dir", str(data_dir), *args], input=stdin)


def ask_json(data_dir: Path, question: str, *args: str) -> dict[str, Any]:
    result = run("ask", question, *args, "--json", data_dir=data_dir)
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


@pytest.fixture(scope="module")
def data_dir(
    tmp_path_factory: pytest.TempPathFactory, ingested_copy: Callable[[Path, Path], Path]
) -> Path:
    return ingested_copy(SAMPLES_DIR / "articles", tmp_path_factory.mktemp("ask") / "data")


def test_ask_prints_answer_and_sources(data_dir: Path) -> None:
    result = run(
        "ask", "When is the Sallow Street Bridge now expected to reopen?", data_dir=data_dir
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    answer, sources = out.split("\n\nSources:\n")
    assert "May 18" in answer and "[1]" in answer
    assert "[1] Sallow Street Bridge reopening pushed back two weeks to May 18" in sources
    assert "Valley Wire, 2026-03-19" in sources
    assert "https://valleywire.example/stories/2026-03-19-sallow-bridge-delay" in sources


def test_ask_json(data_dir: Path) -> None:
    result = run("ask", "How many jobs will the Corvane plant create?", "--json", data_dir=data_dir)
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert set(payload) >= {"answer", "found", "citations"}
    assert payload["found"] is True
    citation = payload["citations"][0]
    assert set(citation) >= {"n", "title", "site", "published", "url", "quote", "start", "end"}
    assert citation["quote"].strip("… ") in payload["answer"]


def test_a_how_many_question_is_answered_by_the_count_of_that_thing(data_dir: Path) -> None:
    # The story's lead (about the meadows having doubled "over the past seven years")
    # shares more of the question's words; the answer is the sentence that counts hectares.
    payload = ask_json(
        data_dir,
        "How many hectares of seagrass did the University of Fenwold survey map in the Sennet"
        " estuary?",
    )
    assert payload["found"] is True
    assert "31 hectares" in payload["answer"]
    assert any("31 hectares" in c["quote"] for c in payload["citations"])


def test_a_question_that_names_an_outlet_is_answered_from_its_reports(data_dir: Path) -> None:
    # Two outlets disagree (1,500 jobs in the Harbour Ledger, 1,200 in the Evening Post).
    question = (
        "According to the Eastmere Evening Post, how many permanent jobs will the Corvane"
        " plant have?"
    )
    payload = ask_json(data_dir, question)
    assert payload["found"] is True and payload["site"] == "Eastmere Evening Post"
    assert "1,200" in payload["answer"] and "1,500" not in payload["answer"]
    assert {c["site"] for c in payload["citations"]} == {"Eastmere Evening Post"}
    # The Fenwold Gazette never wrote about the bridge: it doesn't say, though others do.
    other = "According to the Fenwold Gazette, when will the Sallow Street Bridge reopen?"
    refused = ask_json(data_dir, other)
    assert (refused["found"], refused["site"]) == (False, "The Fenwold Gazette")
    human = run("ask", other, data_dir=data_dir).stdout
    assert human == f"{REFUSAL}\n(Only the articles of The Fenwold Gazette were searched.)\n"
    assert ask_json(data_dir, "When will the Sallow Street Bridge reopen?")["site"] is None
    # A site set on the command line wins over the one the question names.
    payload = ask_json(data_dir, question, "--site", "The Harbour Ledger")
    assert payload["site"] == "The Harbour Ledger"
    assert {c["site"] for c in payload["citations"]} <= {"The Harbour Ledger"}


def test_and_according_to_another_outlet_asks_the_last_question_of_it(data_dir: Path) -> None:
    script = (
        "How many permanent jobs will the Corvane plant have?\n"
        "And according to The Harbour Ledger?\n"
        "What about according to the Northgate Courier?\n"  # it never wrote about the plant
    )
    result = run("chat", data_dir=data_dir, stdin=script)
    assert result.exit_code == 0, result.output
    first, second, third = result.stdout.split("> ")[1:4]
    assert "1,200" in first
    assert "According to The Harbour Ledger (2026-03-05): " in second and "1,500 jobs" in second
    assert "1,200" not in second
    assert REFUSAL in third and "Sources:" not in third


@pytest.mark.parametrize("news_aware", ["true", "false"])
def test_a_refusal_within_one_site_says_so(data_dir: Path, news_aware: str) -> None:
    args = ["--data-dir", str(data_dir), "ask", "Who won the Eastmere mayoral election?"]
    env = {"ARTICLEBOT_NEWS_AWARE": news_aware}
    result = CliRunner().invoke(main, [*args, "--site", "Valley Wire"], env=env)
    assert result.stdout == f"{REFUSAL}\n(Only the articles of Valley Wire were searched.)\n"
    payload = json.loads(CliRunner().invoke(main, [*args, "--json"], env=env).stdout)
    assert (payload["found"], payload["site"]) == (False, None)


def test_ask_refuses_what_the_articles_do_not_say(data_dir: Path) -> None:
    result = run("ask", "Who won the Eastmere mayoral election?", "--json", data_dir=data_dir)
    payload = json.loads(result.stdout)
    assert payload == {**payload, "answer": REFUSAL, "found": False, "citations": []}
    human = run("ask", "Who won the Eastmere mayoral election?", data_dir=data_dir)
    assert human.exit_code == 0 and human.stdout.strip() == REFUSAL


def test_ask_site_and_date_filters(data_dir: Path) -> None:
    result = run(
        "ask", "Sallow Street Bridge", "--site", "Northgate Courier", "--json", data_dir=data_dir
    )
    payload = json.loads(result.stdout)
    assert {c["site"] for c in payload["citations"]} <= {"Northgate Courier"}
    # No article in the range: one line saying so (tests/test_cli_scope.py), not a refusal.
    nothing = run(
        "ask", "Sallow Street Bridge", "--since", "2027-01-01", "--json", data_dir=data_dir
    )
    assert nothing.exit_code == 1 and nothing.stdout == ""
    assert nothing.stderr.startswith("Error: no articles published on or after 2027-01-01")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "   "], "the question is empty"),
        (["ask", "x", "--since", "yesterday"], "'yesterday' is not a date; use YYYY-MM-DD"),
        (["ask", "x", "--since", "2026-03-10", "--until", "2026-03-01"], "is after --until"),
        (["ask", "x", "--k", "0"], "Invalid value for '--k'"),
    ],
)
def test_bad_arguments_are_usage_errors(data_dir: Path, args: list[str], message: str) -> None:
    result = run(*args, data_dir=data_dir)
    assert result.exit_code == 2
    assert message in result.stderr


def test_ask_without_an_index_says_to_ingest(tmp_path: Path) -> None:
    result = run("ask", "anything?", data_dir=tmp_path / "none")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no index at")
    assert "run `articlebot ingest" in result.stderr


def test_chat_follow_up_sources_and_reset(data_dir: Path) -> None:
    script = "\n".join(
        [
            "When is the Sallow Street Bridge now expected to reopen?",
            "Why was it delayed?",
            "/sources",
            "/reset",
            "/sources",
            "/bogus",
        ]
    )
    result = run("chat", data_dir=data_dir, stdin=script + "\n")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "May 18" in out
    assert "bearings" in out  # the follow-up found the delay's cause
    assert out.count("Sources:") >= 3
    assert "Conversation forgotten." in out
    assert "Nothing asked yet." in out
    assert "Unknown command /bogus" in out


def test_a_second_quote_of_one_article_gets_a_short_source_line() -> None:
    story = Article(
        id="s", title="Bridge shut", text="It shut. Traders worried.", url="https://n.example/s"
    )
    other = Article(id="o", title="Ferry", text="Ferries run.", site="Post")
    answer = Answer(
        "It shut. [1] Traders worried. [2] Ferries run. [3]",
        (
            Citation(1, story, "It shut.", 0, 8),
            Citation(2, story, "Traders worried.", 9, 25),
            Citation(3, other, "Ferries run.", 0, 12),
        ),
        True,
        "q",
    )
    lines = render_sources(answer).splitlines()
    # The answer already quotes every passage: each is shown once, in the answer.
    assert lines[1].startswith("[1] Bridge shut — n.example, no date")
    assert lines[2:4] == ["    https://n.example/s", "[2] the same article as [1]"]
    assert lines[4].startswith("[3] Ferry — Post")
    assert render_sources(answer).count("https://n.example/s") == 1
    assert "Traders worried." not in render_sources(answer)
    quoted_elsewhere = Answer("They shut it. [1] [2] [3]", answer.citations, True, "q")
    lines = render_sources(quoted_elsewhere).splitlines()
    assert lines[4:6] == ["[2] the same article as [1]", '    "Traders worried."']
