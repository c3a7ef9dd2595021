"""Tests that need `../shared/data` never pass silently without it (tests/conftest.py).

A fresh clone has no `../shared`: there such tests are deselected with one line saying how
many and why; under `CI=true` they fail. Checked by running pytest itself on one such test
and one ordinary test, with `SHARED_DATA_DIR` pointing at a missing directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

TESTS = [
    "tests/test_formats.py::test_real_article_loads",
    "tests/test_formats.py::test_txt_with_header",
]


def pytest_run(tmp_path: Path, *options: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "SHARED_DATA_DIR")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *options, *TESTS],
        cwd=REPO_ROOT,
        env={**base, "SHARED_DATA_DIR": str(tmp_path / "no-shared"), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_without_shared_data_they_are_deselected_with_one_line(tmp_path: Path) -> None:
    run = pytest_run(tmp_path)
    assert run.returncode == 0, run.stdout
    lines = [line for line in run.stdout.splitlines() if "is missing" in line]
    assert lines == [
        f"1 test deselected: {tmp_path / 'no-shared'} is missing (they read real articles"
        " the repository does not ship; with CI=true they fail)"
    ]
    assert "1 passed, 1 deselected" in run.stdout and "skipped" not in run.stdout


def test_with_two_workers_the_line_is_still_printed(tmp_path: Path) -> None:
    """`scripts/test` runs pytest-xdist workers: they deselect, the controller says so."""
    run = pytest_run(tmp_path, "-n", "2")
    assert run.returncode == 0, run.stdout
    lines = [line for line in run.stdout.splitlines() if "is missing" in line]
    assert lines == [
        f"tests that need {tmp_path / 'no-shared'} were deselected: it is missing (they read"
        " real articles the repository does not ship; with CI=true they fail)"
    ]
    assert "1 passed" in run.stdout and "skipped" not in run.stdout


def test_without_shared_data_under_ci_they_fail(tmp_path: Path) -> None:
    run = pytest_run(tmp_path, CI="true")
    assert run.returncode == 1, run.stdout
    assert f"needs the shared data at {tmp_path / 'no-shared'}, which is missing" in run.stdout
    assert "1 passed, 1 error" in run.stdout
