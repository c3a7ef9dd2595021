"""Shared fixtures: a hermetic environment and settings pointed at a temporary data dir."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from retrieval.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = REPO_ROOT / "samples"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

_PREFIXES = ("ARTICLEBOT_", "OPENAI_", "CHROMA_", "TELEGRAM_")


@pytest.fixture(autouse=True)
def clean_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Drop our settings from the environment and run each test in a temporary cwd."""
    for name in list(os.environ):
        if name.upper().startswith(_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ARTICLEBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for an isolated index under the test's temporary directory."""
    return Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]


# -- reliability measurements: printed at the end of the run ---------------------------------

_MEASUREMENTS: list[str] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak-seconds",
        type=float,
        default=None,
        help="Run the Telegram soak test this long (default: its bounded CI length).",
    )


@pytest.fixture
def report_measurement(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record one line (latency, RSS...) for the "reliability measurements" summary."""

    def record(line: str) -> None:
        _MEASUREMENTS.append(f"{request.node.name}: {line}")

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _MEASUREMENTS:
        terminalreporter.section("reliability measurements")
        for line in _MEASUREMENTS:
            terminalreporter.write_line(line)
