"""`--site`, `--since`, `--until` of `ask` and `list`, and ids that `list` prints whole."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli.main import main
from retrieval.answer.prompts import REFUSAL
from tests.conftest import SAMPLES_DIR

KNOWN = (
    "known outlets: Eastmere Evening Post, The Fenwold Gazette (fenwoldgazette.example),"
    " The Harbour Ledger (harbourledger.example), Northgate Courier"
    " (northgatecourier.example), Valley Wire (valleywire.example)"
)


def run(*args: str, data_dir: Path, columns: int = 80) -> Result:
    return CliRunner(env={"COLUMNS": str(columns)}).invoke(
        main, ["--data-dir", str(data_dir), *args]
    )


@pytest.fixture(scope="module")
def data_dir(
    tmp_path_factory: pytest.TempPathFactory, ingested_copy: Callable[[Path, Path], Path]
) -> Path:
    return ingested_copy(SAMPLES_DIR / "articles", tmp_path_factory.mktemp("scope") / "data")


@pytest.mark.parametrize("site", ["valleywire.example", "Valley Wire", "the valley wire"])
def test_ask_site_by_domain_or_name_searches_that_outlet(data_dir: Path, site: str) -> None:
    question = "When is the Sallow Street Bridge expected to reopen?"
    result = run("ask", question, "--site", site, "--json", data_dir=data_dir)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["found"] is True and payload["site"] == "Valley Wire"
    assert {c["site"] for c in payload["citations"]} == {"Valley Wire"}
    assert payload["answer"].startswith("May 18."), payload["answer"]  # the reopening date


def test_ask_unknown_outlet_is_one_line_listing_the_known_ones(data_dir: Path) -> None:
    result = run(
        "ask", "What did the council decide?", "--site", "nowhere.example", data_dir=data_dir
    )
    assert result.exit_code == 1
    assert REFUSAL not in result.output
    assert result.stderr.strip().splitlines() == [
        f"Error: no outlet 'nowhere.example' among the stored articles; {KNOWN}"
    ]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--since", "2027-01-01"], "no articles published on or after 2027-01-01"),
        (
            ["--since", "2026-03-01", "--until", "2026-03-04", "--site", "valleywire.example"],
            "no articles by Valley Wire published from 2026-03-01 to 2026-03-04",
        ),
    ],
)
def test_ask_dates_with_no_article_say_so(data_dir: Path, args: list[str], said: str) -> None:
    result = run("ask", "What happened to the bridge?", *args, data_dir=data_dir)
    assert result.exit_code == 1
    assert REFUSAL not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {said}"), lines
    assert "the stored articles run from 2026-03-02 to 2026-03-19" in lines[0]
    assert lines[0].endswith(KNOWN)


def test_chat_resolves_the_site_too(data_dir: Path) -> None:
    result = run("chat", "--site", "nowhere", data_dir=data_dir)
    assert result.exit_code == 1 and "Error: no outlet 'nowhere'" in result.stderr


def test_list_filters_by_site_and_dates(data_dir: Path) -> None:
    by_site = json.loads(
        run("list", "--site", "valleywire.example", "--json", data_dir=data_dir).stdout
    )
    assert [a["id"] for a in by_site] == [
        "vw-20260319-sallow-bridge-delay",
        "vw-20260312-sennet-seagrass",
    ]
    dated = json.loads(
        run(
            "list", "--since", "2026-03-06", "--until", "2026-03-12", "--json", data_dir=data_dir
        ).stdout
    )
    assert [a["published"] for a in dated] == ["2026-03-12", "2026-03-10", "2026-03-06"]
    text = run("list", "--site", "Harbour Ledger", "--until", "2026-03-04", data_dir=data_dir)
    assert text.exit_code == 0 and text.stdout.strip().endswith("1 articles")
    assert "https://harbourledger.example/2026/03/02/sallow-street-bridge-closed" in text.stdout
    unknown = run("list", "--site", "nowhere", data_dir=data_dir)
    assert unknown.exit_code == 1 and unknown.stderr.strip().endswith(KNOWN)


@pytest.mark.parametrize("columns", [80, 200])
def test_list_prints_every_id_whole(data_dir: Path, columns: int) -> None:
    ids = [a["id"] for a in json.loads(run("list", "--json", data_dir=data_dir).stdout)]
    out = run("list", data_dir=data_dir, columns=columns).stdout
    tokens = {token for line in out.splitlines() for token in line.split()}
    assert set(ids) <= tokens
    assert "…" not in out


def test_remove_takes_an_id_copied_from_list_at_80_columns(
    tmp_path: Path, ingested_copy: Callable[[Path, Path], Path]
) -> None:
    data_dir = ingested_copy(SAMPLES_DIR / "articles", tmp_path / "data")
    out = run("list", data_dir=data_dir, columns=80).stdout
    lines = out.splitlines()
    # The line after the Northgate Courier article's, as a person would copy it.
    at = next(i for i, line in enumerate(lines) if "Northgate Courier" in line)
    copied = next(t for line in lines[at:] for t in line.split() if t.startswith("https://"))
    removed = run("remove", copied, data_dir=data_dir)
    assert removed.exit_code == 0, removed.output
    assert removed.stdout.startswith("Removed Council approves $4.6 million contract")
    left = json.loads(run("list", "--json", data_dir=data_dir).stdout)
    assert len(left) == 7 and "Northgate Courier" not in {a["site"] for a in left}
