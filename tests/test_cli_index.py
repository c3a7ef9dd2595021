"""The ingest/list/remove/stats commands through the real `articlebot` entry point."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli.main import main
from tests.conftest import SAMPLES_DIR

ARTICLES = SAMPLES_DIR / "articles"
SAMPLE_COUNT = 8


def run(*args: str, data_dir: Path) -> Result:
    return CliRunner().invoke(main, ["--data-dir", str(data_dir), *args])


@pytest.fixture(scope="module")
def sample_index(
    tmp_path_factory: pytest.TempPathFactory, ingested_copy: Callable[[Path, Path], Path]
) -> Path:
    """One index of the sample articles, shared by the read-only tests."""
    return ingested_copy(ARTICLES, tmp_path_factory.mktemp("samples") / "data")


def test_ingest_samples_reports_every_article(tmp_path: Path) -> None:
    result = run("ingest", str(ARTICLES), "--json", data_dir=tmp_path / "d")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"added", "updated", "unchanged", "failed", "chunks", "seconds", "errors"} <= set(report)
    assert report["added"] == SAMPLE_COUNT and report["failed"] == 0
    assert report["chunks"] >= SAMPLE_COUNT

    again = json.loads(run("ingest", str(ARTICLES), "--json", data_dir=tmp_path / "d").stdout)
    assert (again["added"], again["unchanged"], again["chunks"]) == (0, SAMPLE_COUNT, 0)


def test_ingest_human_summary(tmp_path: Path) -> None:
    result = run("ingest", str(ARTICLES), data_dir=tmp_path / "d")
    assert result.exit_code == 0
    assert f"Added {SAMPLE_COUNT}, updated 0, unchanged 0, failed 0" in result.stdout


def test_changed_file_is_updated(tmp_path: Path) -> None:
    story = tmp_path / "story.txt"
    story.write_text("Title: Ferry returns\n\nThe ferry returned on Monday.\n", encoding="utf-8")
    assert run("ingest", str(story), data_dir=tmp_path / "d").exit_code == 0
    story.write_text("Title: Ferry returns\n\nThe ferry returned on Tuesday.\n", encoding="utf-8")
    report = json.loads(run("ingest", str(story), "--json", data_dir=tmp_path / "d").stdout)
    assert (report["added"], report["updated"]) == (0, 1)
    listed = json.loads(run("list", "--json", data_dir=tmp_path / "d").stdout)
    assert len(listed) == 1


def test_failed_source_exits_1_and_keeps_the_rest(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("Title: Good\n\nA perfectly fine article about the harbour.\n")
    missing = tmp_path / "missing.txt"
    result = run("ingest", str(good), str(missing), "--json", data_dir=tmp_path / "d")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["added"] == 1 and report["failed"] == 1
    assert report["errors"][0]["source"].endswith("missing.txt")
    human = run("ingest", str(missing), data_dir=tmp_path / "d")
    assert human.exit_code == 1
    assert "missing.txt:" in human.stderr


def test_ingest_without_sources_is_a_usage_error(tmp_path: Path) -> None:
    result = run("ingest", data_dir=tmp_path / "d")
    assert result.exit_code == 2
    assert "give at least one file" in result.stderr


def test_list_and_stats(sample_index: Path) -> None:
    listed = json.loads(run("list", "--json", data_dir=sample_index).stdout)
    assert len(listed) == SAMPLE_COUNT
    assert listed[0]["published"] >= listed[-1]["published"]  # newest first
    stats = json.loads(run("stats", "--json", data_dir=sample_index).stdout)
    assert stats["articles"] == SAMPLE_COUNT
    assert stats["embedder"] == "all-MiniLM-L6-v2-onnx-int8" and stats["dimension"] == 384
    assert (stats["oldest"], stats["newest"]) == ("2026-03-02", "2026-03-19")
    human = run("stats", data_dir=sample_index).stdout
    assert "2026-03-02 to 2026-03-19" in human and "chunks" in human


def test_remove_by_url(tmp_path: Path, ingested_copy: Callable[[Path, Path], Path]) -> None:
    data_dir = ingested_copy(ARTICLES, tmp_path / "d")
    url = "https://northgatecourier.example/news/2026/03/10/sallow-street-bridge-contract"
    listed = json.loads(run("list", "--json", data_dir=data_dir).stdout)
    assert url in {a["url"] for a in listed}
    result = run("remove", url, data_dir=data_dir)
    assert result.exit_code == 0 and "Removed" in result.stdout
    after = json.loads(run("list", "--json", data_dir=data_dir).stdout)
    assert len(after) == SAMPLE_COUNT - 1 and url not in {a["url"] for a in after}
    again = run("remove", url, data_dir=data_dir)
    assert again.exit_code == 1
    assert again.stderr.strip().startswith("Error: no article with id or URL")


@pytest.mark.parametrize("command", ["list", "stats", "remove x"])
def test_commands_on_a_missing_index_say_to_ingest(tmp_path: Path, command: str) -> None:
    result = run(*command.split(), data_dir=tmp_path / "nothing")
    assert result.exit_code == 1
    assert "run `articlebot ingest" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_invalid_setting_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTICLEBOT_CHUNK_SIZE", "tiny")
    result = run("stats", data_dir=tmp_path / "d")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: invalid setting chunk_size")


def test_every_command_has_help_with_an_example() -> None:
    for name in ["ingest", "list", "remove", "stats"]:
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0
        assert "Example usage:" in result.stdout and f"articlebot {name}" in result.stdout
