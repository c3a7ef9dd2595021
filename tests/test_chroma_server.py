"""Server mode: the same ingest, list, stats and remove against a real `chroma run`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli.main import main
from tests.conftest import SAMPLES_DIR
from tests.fakes.chroma_server import ChromaServer, chroma_server, free_port

__all__ = ["chroma_server"]


def run(*args: str, data_dir: Path) -> Result:
    return CliRunner().invoke(main, ["--data-dir", str(data_dir), *args])


@pytest.fixture
def server_env(
    chroma_server: ChromaServer, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> ChromaServer:
    monkeypatch.setenv("CHROMA_HOST", chroma_server.host)
    monkeypatch.setenv("CHROMA_PORT", str(chroma_server.port))
    monkeypatch.setenv("ARTICLEBOT_COLLECTION", f"t-{request.node.name[-40:].strip('_[]')}x")
    return chroma_server


def test_ingest_and_stats_against_a_chroma_server(server_env: ChromaServer, tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    report = json.loads(
        run("ingest", str(SAMPLES_DIR / "articles"), "--json", data_dir=data_dir).stdout
    )
    assert report["added"] == 8 and report["failed"] == 0
    stats = json.loads(run("stats", "--json", data_dir=data_dir).stdout)
    assert stats["location"] == f"chroma server http://127.0.0.1:{server_env.port}"
    assert stats["chunks"] == report["chunks"]
    assert not (data_dir / "chroma").exists()  # the vectors live on the server

    again = json.loads(
        run("ingest", str(SAMPLES_DIR / "articles"), "--json", data_dir=data_dir).stdout
    )
    assert again["unchanged"] == 8 and again["chunks"] == 0

    listed = json.loads(run("list", "--json", data_dir=data_dir).stdout)
    removed = listed[0]
    assert run("remove", removed["id"], data_dir=data_dir).exit_code == 0
    after = json.loads(run("stats", "--json", data_dir=data_dir).stdout)
    assert after["articles"] == 7
    assert after["chunks"] == stats["chunks"] - removed["chunks"]


def test_unreachable_server_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()  # nothing listens there
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(port))
    story = tmp_path / "story.txt"
    story.write_text("Title: Ferry\n\nThe ferry returned on Monday after repairs.\n")
    result = run("ingest", str(story), data_dir=tmp_path / "d")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: cannot reach the Chroma server at 127.0.0.1:{port}")
    assert "start it with `chroma run` or unset CHROMA_HOST" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
