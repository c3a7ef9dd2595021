"""The ingest progress display: shown on a terminal, silent otherwise."""

from __future__ import annotations

import io
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console

from bot.cli.main import main
from bot.cli.progress import TerminalProgress
from tests.conftest import SAMPLES_DIR


def test_progress_counts_articles_on_a_terminal() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with TerminalProgress(console) as progress:
        progress.advance("First [article]")
        progress.advance("Second article")
        console.file.flush()
    text = out.getvalue()
    assert "2 done" in text and "Second article" in text


def test_no_progress_when_output_is_not_a_terminal(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["--data-dir", str(tmp_path / "d"), "ingest", str(SAMPLES_DIR / "articles")]
    )
    assert result.exit_code == 0
    assert "done" not in result.stderr
