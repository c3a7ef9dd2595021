"""Shared fixtures: a hermetic environment and settings pointed at a temporary data dir."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

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
