"""The CLI's error boundary, met for real: a full disk, a locked catalog, bytes that are not
UTF-8, a read-only data directory. Each is one `Error: ...` line and exit status 1.

The disk fills through RLIMIT_FSIZE (the kernel refuses writes past a size: EFBIG, which
SQLite reports as "disk I/O error"; Python ignores SIGXFSZ, so writes fail rather than
kill). The read-only directory is real for root too: the command runs without
CAP_DAC_OVERRIDE (dropped from its bounding set before exec), so the kernel refuses writes
to a directory without write bits, as it does for everyone else.
"""

from __future__ import annotations

import ctypes
import os
import random
import resource
import sqlite3
import stat
import string
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.cli.errors import describe
from bot.settings import Settings
from retrieval.store.fs import is_writable
from tests.conftest import SAMPLES_DIR

BRIDGE_FILE = SAMPLES_DIR / "articles" / "2026-03-02-harbour-ledger-sallow-bridge-closed.txt"
BRIDGE_Q = "Why was the Sallow Street Bridge shut?"
BRIDGE_URL = "https://harbourledger.example/2026/03/02/sallow-street-bridge-closed"
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE = 1


def articlebot(
    data_dir: Path,
    *args: str | bytes,
    env: dict[str, str] | None = None,
    preexec: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real command in a child process (its own limits and rights)."""
    environ = os.environ | {"ARTICLEBOT_DATA_DIR": str(data_dir)} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=environ,
        preexec_fn=preexec,
        capture_output=True,
        text=True,
        timeout=300,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single `Error: ...` line of a failed run (and nothing else on stderr)."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def random_words(count: int, seed: int) -> str:
    """Text of distinct made-up words (a large BM25 vocabulary, few chunks)."""
    rng = random.Random(seed)
    words = {
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(6, 12))) for _ in range(count)
    }
    return " ".join(sorted(words)) + "."


@pytest.fixture(scope="module")
def bridge_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of one sample article, with a vocabulary big enough that saving its BM25
    index writes files of more than 64 KB (a 40,000-word council report in 6 chunks)."""
    data_dir = tmp_path_factory.mktemp("errors") / "data"
    report = data_dir.parent / "report.txt"
    report.write_text("Title: Council word list\n\n" + random_words(8000, 1), encoding="utf-8")
    env = {"ARTICLEBOT_CHUNK_SIZE": "8000", "ARTICLEBOT_CHUNK_OVERLAP": "0"}
    result = articlebot(data_dir, "ingest", str(BRIDGE_FILE), str(report), env=env)
    assert result.returncode == 0, result.stderr
    return data_dir


def copy_index(source: Path, target: Path) -> Path:
    subprocess.run(["cp", "-a", str(source), str(target)], check=True)
    return target


def test_a_full_disk_during_ingest_is_one_line_and_loses_nothing(
    bridge_index: Path, tmp_path: Path
) -> None:
    data_dir = copy_index(bridge_index, tmp_path / "data")
    largest = max(p.stat().st_size for p in data_dir.rglob("*") if p.is_file())
    limit = largest + 64_000
    big = tmp_path / "big.txt"
    big.write_text("Title: Budget annex\n\n" + random_words(3 * limit // 8, 2), encoding="utf-8")
    result = articlebot(data_dir, "ingest", str(big), preexec=file_size_limit(limit))
    line = one_error_line(result)
    assert line.startswith(f"Error: could not write the article catalog {data_dir}")
    assert "is the disk full?" in line and "nothing stored is lost" in line
    listed = articlebot(data_dir, "list")  # no limit: what was stored is still there
    assert listed.returncode == 0 and "2 articles" in listed.stdout


def test_a_full_disk_while_ask_saves_a_stale_bm25_index_warns_and_still_answers(
    bridge_index: Path, tmp_path: Path
) -> None:
    data_dir = copy_index(bridge_index, tmp_path / "data")
    subprocess.run(["rm", "-r", str(data_dir / "lexical")], check=True)  # stale: rebuilt
    result = articlebot(data_dir, "ask", BRIDGE_Q, preexec=file_size_limit(64 * 1024))
    assert result.returncode == 0, result.stderr
    assert "According to The Harbour Ledger" in result.stdout and BRIDGE_URL in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "WARNING" in lines[0] and f"could not save the BM25 index in {data_dir}" in lines[0]


def test_a_catalog_locked_longer_than_the_busy_timeout_is_one_line(
    bridge_index: Path, tmp_path: Path
) -> None:
    data_dir = copy_index(bridge_index, tmp_path / "data")
    story = tmp_path / "story.txt"
    story.write_text("Title: Ferry returns\n\nThe ferry returned on Monday.\n", encoding="utf-8")
    holder = sqlite3.connect(data_dir / "catalog.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer, holding its lock
    try:
        result = articlebot(data_dir, "ingest", str(story), env={"ARTICLEBOT_BUSY_TIMEOUT": "0.2"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    line = one_error_line(result)
    assert line.startswith(f"Error: the article catalog {data_dir / 'catalog.sqlite3'} is locked")
    assert "for more than 0.2 s" in line and "ARTICLEBOT_BUSY_TIMEOUT" in line
    again = articlebot(data_dir, "ingest", str(story))  # the lock gone: it works
    assert again.returncode == 0 and "Added 1" in again.stdout


def test_a_question_that_is_not_utf8_is_one_line(bridge_index: Path) -> None:
    result = articlebot(bridge_index, "ask", b"When does the caf\xe9 bridge reopen?")
    line = one_error_line(result)
    assert line == (
        "Error: the question is not valid UTF-8 text (check the terminal's encoding,"
        " e.g. LANG=C.UTF-8)"
    )


# -- a read-only data directory ------------------------------------------------------------


def without_dac_override() -> None:
    """In the child, before exec: give up root's power to write where modes forbid it."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE)")


def unprivileged() -> Callable[[], None] | None:
    """What makes modes bind this test's children: nothing for a normal user; for root,
    dropping CAP_DAC_OVERRIDE (never a skip: CI runs as root)."""
    return without_dac_override if os.geteuid() == 0 else None


@pytest.fixture
def read_only_index(bridge_index: Path, tmp_path: Path) -> Iterator[Path]:
    data_dir = copy_index(bridge_index, tmp_path / "data")
    subprocess.run(["rm", "-r", str(data_dir / "lexical")], check=True)  # `ask` needs one
    paths = [data_dir, *data_dir.rglob("*")]
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in paths}
    for path in paths:
        path.chmod(modes[path] & ~0o222)
    yield data_dir
    for path in paths:
        path.chmod(modes[path])


def test_the_read_only_check_is_real_for_this_process_and_its_children(
    read_only_index: Path,
) -> None:
    probe = [sys.executable, "-c", f"open({str(read_only_index / 'x')!r}, 'w')"]
    refused = subprocess.run(probe, preexec_fn=unprivileged(), capture_output=True, text=True)
    assert refused.returncode == 1 and "PermissionError" in refused.stderr
    if os.geteuid() == 0:
        assert is_writable(read_only_index)  # root may write there, and the check says so


def test_ask_list_and_stats_work_in_a_read_only_data_directory(read_only_index: Path) -> None:
    before = sorted((str(p), p.stat().st_mtime_ns) for p in read_only_index.rglob("*"))
    listed = articlebot(read_only_index, "list", preexec=unprivileged())
    assert listed.returncode == 0, listed.stderr
    assert "2 articles" in listed.stdout
    stats = articlebot(read_only_index, "stats", "--json", preexec=unprivileged())
    assert stats.returncode == 0, stats.stderr
    assert '"articles": 2' in stats.stdout and '"missing_vectors": 0' in stats.stdout
    answer = articlebot(read_only_index, "ask", BRIDGE_Q, preexec=unprivileged())
    assert answer.returncode == 0, answer.stderr
    assert BRIDGE_URL in answer.stdout and answer.stderr == ""
    after = sorted((str(p), p.stat().st_mtime_ns) for p in read_only_index.rglob("*"))
    assert after == before  # nothing written, nothing left behind


def test_ingest_into_a_read_only_data_directory_says_so_in_one_line(
    read_only_index: Path, tmp_path: Path
) -> None:
    story = tmp_path / "story.txt"
    story.write_text("Title: Ferry returns\n\nThe ferry returned on Monday.\n", encoding="utf-8")
    result = articlebot(read_only_index, "ingest", str(story), preexec=unprivileged())
    assert one_error_line(result) == (
        f"Error: the data directory {read_only_index} is read-only: `articlebot ingest`"
        " needs to write there (ask, list and stats work; use a writable --data-dir or"
        " ARTICLEBOT_DATA_DIR to change the index)"
    )


def test_sqlite_full_reads_as_a_full_disk(tmp_path: Path) -> None:
    """SQLITE_FULL (what ENOSPC becomes), made by SQLite itself: a page limit reached."""
    conn = sqlite3.connect(tmp_path / "full.sqlite3")
    conn.execute("CREATE TABLE t (x BLOB)")
    conn.execute("PRAGMA max_page_count = 4")
    with pytest.raises(sqlite3.OperationalError) as raised:
        conn.execute("INSERT INTO t VALUES (zeroblob(100000))")
    conn.close()
    settings = Settings(_env_file=None, data_dir=tmp_path / "d")  # type: ignore[call-arg]
    message = describe(raised.value, settings)
    assert message == (
        f"could not write the article catalog {settings.catalog_path}: database or disk is"
        f" full (is the disk full? free some space for {settings.data_dir}, then run the same"
        " command again: nothing stored is lost)"
    )
