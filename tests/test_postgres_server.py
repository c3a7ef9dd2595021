"""The PostgreSQL server of the shared-mode tests: real, private, on 127.0.0.1 only, a fresh
database per test, and gone when stopped or killed."""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import REPO_ROOT
from tests.fakes.postgres_bin import find_postgres_bin
from tests.fakes.postgres_server import (
    PostgresServer,
    PostgresUnavailable,
    postgres_bin,
    start_postgres,
    stop_postgres,
)


def libpq_url(url: str) -> str:
    """psycopg takes the SQLAlchemy URL without its driver name."""
    assert url.startswith("postgresql+psycopg://")
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def tables(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    ).fetchall()
    return [str(row[0]) for row in rows]


def test_a_test_database_takes_a_table_over_the_url(postgres_url: str) -> None:
    with psycopg.connect(libpq_url(postgres_url), autocommit=True) as conn:
        database = conn.execute("SELECT current_database()").fetchone()
        assert database is not None and postgres_url.endswith("/" + str(database[0]))
        conn.execute("CREATE TABLE articles (id integer PRIMARY KEY, title text NOT NULL)")
        conn.execute("INSERT INTO articles VALUES (1, 'Sallow Street Bridge shut')")
        assert conn.execute("SELECT title FROM articles").fetchall() == [
            ("Sallow Street Bridge shut",)
        ]


def test_a_wrong_password_is_refused(postgres: PostgresServer) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(
            host=postgres.host,
            port=postgres.port,
            user=postgres.user,
            password=postgres.password + "x",
            dbname="postgres",
            sslmode="disable",
        )


def _listening(port: int) -> set[str]:
    """Local addresses of the TCP sockets (any process's) that listen on `port`, as the
    kernel lists them; an IPv6 one in the kernel's hex."""
    found = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        lines = table.read_text().splitlines()[1:] if table.exists() else []
        for fields in (line.split() for line in lines):
            address, _, port_hex = fields[1].partition(":")
            if fields[3] == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                # IPv4 as a host-order (little-endian) hex number
                ipv4 = len(address) == 8
                found.add(
                    str(ipaddress.IPv4Address(int(address, 16).to_bytes(4, "little")))
                    if ipv4
                    else f"[{address}]"
                )
    return found


def test_the_server_listens_on_127_0_0_1_only(postgres: PostgresServer) -> None:
    assert _listening(postgres.port) == {"127.0.0.1"}
    socket_file = postgres.root / "socket" / f".s.PGSQL.{postgres.port}"
    assert socket_file.is_socket()  # libpq's local socket stays inside the server's root


@pytest.mark.parametrize("turn", ["first", "second"])
def test_each_test_gets_its_own_empty_database(
    postgres: PostgresServer, postgres_url: str, turn: str
) -> None:
    """Both turns leave a table behind; neither sees the other's, and the one database of
    a test that exists on this process's server is the running test's own."""
    with psycopg.connect(libpq_url(postgres_url), autocommit=True) as conn:
        assert tables(conn) == []
        conn.execute(f"CREATE TABLE left_by_{turn} (n integer)")
        own = conn.execute("SELECT current_database()").fetchone()
    with postgres.connect() as admin:
        test_databases = admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 't\\_%'"
        ).fetchall()
    assert test_databases == [own]


def test_a_database_is_dropped_even_with_a_connection_open(postgres: PostgresServer) -> None:
    postgres.create_database("t_held_open")
    held = psycopg.connect(libpq_url(postgres.url("t_held_open")), autocommit=True)
    try:
        postgres.drop_database("t_held_open")
        with postgres.connect() as admin:
            left = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = 't_held_open'"
            ).fetchall()
        assert left == []
        with pytest.raises(psycopg.OperationalError):
            held.execute("SELECT 1")
    finally:
        held.close()


@pytest.fixture
def own_root() -> Iterator[Path]:
    """A directory for a server of the test's own (one it may kill): under the system's
    temporary directory, which the server's account can enter."""
    root = Path(tempfile.mkdtemp(prefix="articlebot-postgres-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.mark.parametrize("kill", [True, False], ids=["kill -9", "fast shutdown"])
def test_a_stopped_server_is_gone(own_root: Path, kill: bool) -> None:
    server = start_postgres(own_root)
    conn = server.connect()
    row = conn.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None
    backend = int(row[0])
    assert _running(backend)
    try:
        stop_postgres(server, kill=kill)
    finally:
        conn.close()
    assert server.process.returncode == (-signal.SIGKILL if kill else 0)  # reaped
    assert not _running(server.process.pid) and not _running(backend)
    assert _refused(server.port)


def test_the_newest_debian_version_wins(tmp_path: Path) -> None:
    for version, programs in (
        ("9.6", ("initdb", "postgres")),
        ("15", ("initdb", "postgres")),
        ("16", ("initdb", "postgres")),
        ("17", ("initdb",)),  # half installed: no server
        ("common", ("initdb", "postgres")),
    ):
        bin_dir = tmp_path / "lib" / version / "bin"
        bin_dir.mkdir(parents=True)
        for name in programs:
            (bin_dir / name).touch(mode=0o755)
    assert find_postgres_bin(tmp_path / "lib", path="") == tmp_path / "lib" / "16" / "bin"


def test_path_is_the_fallback_through_its_symlinks(tmp_path: Path) -> None:
    real, on_path = tmp_path / "pg" / "bin", tmp_path / "local-bin"
    real.mkdir(parents=True)
    on_path.mkdir()
    for name in ("initdb", "postgres"):
        (real / name).touch(mode=0o755)
        (on_path / name).symlink_to(real / name)
    assert find_postgres_bin(tmp_path / "none", path=str(on_path)) == real


def test_no_server_programs_is_one_line_naming_the_install(tmp_path: Path) -> None:
    with pytest.raises(PostgresUnavailable) as raised:
        postgres_bin(tmp_path / "none", path=str(tmp_path))
    message = str(raised.value)
    assert "\n" not in message and "scripts/ensure-postgres" in message


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the server to another account")
def test_a_root_the_server_account_cannot_enter_is_one_clear_line(tmp_path: Path) -> None:
    # pytest's temporary directories are root's alone (mode 0700)
    with pytest.raises(PostgresUnavailable, match="who cannot enter"):
        start_postgres(tmp_path / "pg")


def test_ensure_postgres_finds_the_installed_server() -> None:
    done = subprocess.run(
        [str(REPO_ROOT / "scripts" / "ensure-postgres")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # nothing to install, nothing said
