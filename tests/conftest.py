"""Shared fixtures: a hermetic environment and settings pointed at a temporary data dir.

Tests marked `shared_data` read `../shared/data` (real articles the repository does not
ship; `SHARED_DATA_DIR` names another place). Where it is missing they are deselected, with
one line in the summary saying how many and why; under `CI=true` they run and fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from tests.fakes.postgres_server import (
    PostgresServer,
    PostgresUnavailable,
    database_name,
    start_postgres,
    stop_postgres,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = REPO_ROOT / "samples"
SHARED_DATA = Path(os.environ.get("SHARED_DATA_DIR") or REPO_ROOT.parent / "shared" / "data")

_PREFIXES = ("ARTICLEBOT_", "OPENAI_", "CHROMA_", "TELEGRAM_")


@pytest.fixture(autouse=True)
def clean_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Drop our settings from the environment and run each test in a temporary cwd, with
    a temporary per-user config directory."""
    for name in list(os.environ):
        if name.upper().startswith(_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ARTICLEBOT_DATA_DIR", str(tmp_path / "data"))
    # Never the developer's own ~/.config/articlebot/.env (a real token, a real server).
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    yield


#: The bot's shared state in the catalog (conversation memory, leases, rate limits).
BOT_STATE_TABLES = (
    "conversation_turns",
    "chat_turn_leases",
    "question_log",
    "telegram_sends",
    "group_sends",
)


@pytest.fixture(autouse=True)
def fresh_bot_state(request: pytest.FixtureRequest) -> None:
    """A test that uses a module's shared `index` starts with no conversation memory and no
    counted questions: the bot keeps them in the index's catalog, which outlives the test."""
    if "index" not in request.fixturenames:
        return
    from retrieval.store.index import ArticleIndex

    index = request.getfixturevalue("index")
    if isinstance(index, ArticleIndex) and not index.catalog.read_only:
        with index.catalog.transaction() as conn:
            for table in BOT_STATE_TABLES:
                conn.execute(f"DELETE FROM {table}")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for an isolated index under the test's temporary directory."""
    return Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]


def _ingested(root: Path, source: Path) -> Path:
    """A data directory as `articlebot ingest SOURCE` leaves it: the real command in a child
    process, default settings, a clean environment."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_PREFIXES)}
    env["XDG_CONFIG_HOME"] = str(root / "config")
    data_dir = root / "data"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--data-dir", str(data_dir), "ingest", str(source)]
        + ["--json"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["failed"] == 0 and report["added"] > 0, report
    return data_dir


@pytest.fixture(scope="session")
def ingested_copy(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path, Path], Path]:
    """`ingested_copy(SOURCE, DATA_DIR)` makes DATA_DIR a data directory as `articlebot
    ingest SOURCE` leaves it, and returns it.

    Each SOURCE is ingested once per session, into a template no test uses in place; every
    caller gets its own copy (even `ask` may write, its BM25 index), so none sees another's
    changes. Copying takes milliseconds, ingesting again seconds. Tests of `ingest` itself
    still run it."""
    templates: dict[Path, Path] = {}

    def copy(source: Path, data_dir: Path) -> Path:
        if source not in templates:
            templates[source] = _ingested(tmp_path_factory.mktemp("ingested"), source)
        shutil.copytree(templates[source], data_dir, symlinks=True)
        return data_dir

    return copy


# -- a real PostgreSQL server (shared mode) ---------------------------------------------------


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """This test process's PostgreSQL server (each pytest-xdist worker starts its own),
    stopped at the end. Where it cannot start, the tests that need it fail, saying why:
    a missing server must not pass for a green run."""
    # Not under pytest's temporary directory: under root the server runs as another
    # account, which cannot enter root's /tmp/pytest-of-root.
    root = Path(tempfile.mkdtemp(prefix="articlebot-postgres-"))
    try:
        server = start_postgres(root)
    except PostgresUnavailable as error:
        with contextlib.suppress(OSError):
            root.rmdir()  # empty: nothing was started; otherwise its logs are named above
        pytest.fail(f"cannot start PostgreSQL for the tests: {error}", pytrace=False)
    try:
        yield server
    finally:
        stop_postgres(server)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """The SQLAlchemy URL of a fresh, empty database on `postgres`, dropped after the test
    (connections it left open are ended)."""
    name = database_name(request.node.name)
    postgres.create_database(name)
    try:
        yield postgres.url(name)
    finally:
        postgres.drop_database(name)


# -- tests that need ../shared/data ------------------------------------------------------------

_DESELECTED_SHARED: list[str] = []


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "shared_data: reads ../shared/data (deselected when missing, unless CI=true)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the `shared_data` tests when the data is missing (not under CI)."""
    if SHARED_DATA.is_dir() or _in_ci():
        return
    needing = [item for item in items if item.get_closest_marker("shared_data")]
    if needing:
        config.hook.pytest_deselected(items=needing)
        items[:] = [item for item in items if not item.get_closest_marker("shared_data")]
        _DESELECTED_SHARED.extend(item.nodeid for item in needing)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Under CI, a `shared_data` test whose data is missing fails, saying why."""
    if item.get_closest_marker("shared_data") and not SHARED_DATA.is_dir():
        pytest.fail(f"this test needs the shared data at {SHARED_DATA}, which is missing")


# -- reliability measurements: printed at the end of the run ---------------------------------

_MEASUREMENTS: list[str] = []
_MEASUREMENT = "articlebot-measurement"


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
        # Through the test's report: a pytest-xdist worker's lines reach the controller.
        request.node.user_properties.append((_MEASUREMENT, f"{request.node.name}: {line}"))

    return record


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        _MEASUREMENTS.extend(str(v) for k, v in report.user_properties if k == _MEASUREMENT)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    why = "they read real articles the repository does not ship; with CI=true they fail"
    if _DESELECTED_SHARED:
        count = len(_DESELECTED_SHARED)
        terminalreporter.write_line(
            f"{count} test{'s' if count > 1 else ''} deselected: {SHARED_DATA} is missing ({why})"
        )
    elif _distributed(terminalreporter.config) and not SHARED_DATA.is_dir() and not _in_ci():
        # pytest-xdist's workers deselected them (the controller collects nothing)
        terminalreporter.write_line(
            f"tests that need {SHARED_DATA} were deselected: it is missing ({why})"
        )
    if _MEASUREMENTS:
        terminalreporter.section("reliability measurements")
        for line in _MEASUREMENTS:
            terminalreporter.write_line(line)


def _distributed(config: pytest.Config) -> bool:
    """True in a pytest-xdist controller (its workers run the tests)."""
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave without the interpreter's teardown once pytest has reported, keeping its status.

    The test process holds every native library at once (Chroma's Rust core, onnxruntime,
    spaCy, lxml, PTB's threads); in 2 of 5 full runs one of them crashed while the
    interpreter tore them down, after all tests had passed (exit 139, no test affected,
    not reproduced with faulthandler on). The commands themselves exit cleanly (every CLI
    test checks its process's exit status). ARTICLEBOT_TEST_FULL_TEARDOWN=1 keeps the
    teardown, to look for the crash."""
    if os.environ.get("ARTICLEBOT_TEST_FULL_TEARDOWN") == "1" or not _EXIT_STATUS:
        return
    if hasattr(config, "workerinput"):
        return  # a pytest-xdist worker: its last messages to the controller must go out
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_EXIT_STATUS[-1])
