"""A real PostgreSQL server on 127.0.0.1, for the tests of shared mode (the catalog on
PostgreSQL).

Each test process (each pytest-xdist worker) runs its own throwaway server: initdb in a
fresh directory takes about a second, and a private server is never disturbed by another
worker's tests. The programs come from Debian's package (`scripts/ensure-postgres`
installs it where it is missing). PostgreSQL refuses to run as root, so under root (CI) it
runs as the `postgres` account (or `nobody`), owning only its own directory.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import re
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from tests.fakes.postgres_bin import DEBIAN_ROOT, find_postgres_bin

SUPERUSER = "articlebot"
INSTALL_HINT = (
    "run scripts/ensure-postgres (it installs Debian's postgresql package), "
    "or put PostgreSQL's initdb and postgres on PATH"
)
# For speed: a test server holds nothing worth a crash-safe write.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
    "logging_collector": "off",
}


class PostgresUnavailable(RuntimeError):
    """The server could not be started; the message is one line saying why."""


@dataclass
class PostgresServer:
    root: Path
    port: int
    password: str = field(repr=False)
    process: subprocess.Popen[bytes]
    log: Path
    user: str = SUPERUSER
    host: str = "127.0.0.1"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of `database` (psycopg 3 driver)."""
        user, password = quote(self.user, safe=""), quote(self.password, safe="")
        return (
            f"postgresql+psycopg://{user}:{password}@{self.host}:{self.port}/"
            f"{quote(database, safe='')}"
        )

    def connect(self, database: str = "postgres") -> psycopg.Connection[TupleRow]:
        """An autocommit connection as the superuser, over TCP like the code under test."""
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=database,
            sslmode="disable",
            connect_timeout=5,
            autocommit=True,
        )

    def create_database(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def drop_database(self, name: str) -> None:
        """Drop it even while a test's connections are still open (they are ended)."""
        with self.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_name(hint: str) -> str:
    """A fresh database name that still says which test made it (63 bytes at most)."""
    readable = re.sub(r"[^a-z0-9]+", "_", hint.lower()).strip("_")[:40]
    return f"t_{readable}_{secrets.token_hex(4)}"


def postgres_bin(debian_root: Path = DEBIAN_ROOT, path: str | None = None) -> Path:
    found = find_postgres_bin(debian_root, path)
    if found is None:
        raise PostgresUnavailable(
            f"no PostgreSQL server programs (initdb, postgres) in {debian_root}/*/bin or on "
            f"PATH: {INSTALL_HINT}"
        )
    return found


def _server_account() -> pwd.struct_passwd | None:
    """The account to run PostgreSQL as: None means this process's own (it is not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresUnavailable(
        "PostgreSQL refuses to run as root, and there is no 'postgres' or 'nobody' account "
        "to run it as"
    )


def _check_reachable(root: Path, account: pwd.struct_passwd) -> None:
    """The account must be able to enter every directory above `root` (pytest's own
    temporary directories are root's alone)."""
    for parent in root.parents:
        st = parent.stat()
        if st.st_uid == account.pw_uid:
            allowed = st.st_mode & 0o100
        elif st.st_gid == account.pw_gid:
            allowed = st.st_mode & 0o010
        else:
            allowed = st.st_mode & 0o001
        if not allowed:
            raise PostgresUnavailable(
                f"PostgreSQL runs as {account.pw_name}, who cannot enter {parent}: put its "
                "directory under one others may enter (e.g. from tempfile.mkdtemp())"
            )


def _as_account(account: pwd.struct_passwd | None) -> dict[str, Any]:
    if account is None:
        return {}
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def _tail(log: Path, lines: int = 5) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "(no log)"
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept) or "(empty)"


def _environment() -> dict[str, str]:
    """Ours, without libpq's PG* variables (a developer's PGDATA or PGPORT) and in the C
    locale: the server's messages are read by the error above."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(LC_ALL="C", LANG="C")
    return env


def _initdb(bin_dir: Path, root: Path, password: str, account: pwd.struct_passwd | None) -> None:
    pwfile, log = root / "password", root / "initdb.log"
    pwfile.touch(mode=0o600)
    pwfile.write_text(password + "\n")
    if account is not None:
        os.chown(pwfile, account.pw_uid, account.pw_gid)
    try:
        with log.open("wb") as out:
            done = subprocess.run(
                [str(bin_dir / "initdb"), "--pgdata", str(root / "data")]
                + ["--username", SUPERUSER, "--pwfile", str(pwfile), "--auth", "scram-sha-256"]
                + ["--encoding", "UTF8", "--no-locale", "--no-sync", "--no-instructions"],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=root,
                env=_environment(),
                timeout=120,
                **_as_account(account),
            )
    finally:
        pwfile.unlink()
    if done.returncode != 0:
        raise PostgresUnavailable(
            f"initdb failed (exit status {done.returncode}); last lines of {log}: {_tail(log)}"
        )


class _PortTaken(Exception):
    """Another process bound the free port between our look and the server's bind."""


def _launch(
    bin_dir: Path, root: Path, port: int, account: pwd.struct_passwd | None
) -> subprocess.Popen[bytes]:
    settings = {
        **SERVER_SETTINGS,
        "port": str(port),
        "unix_socket_directories": str(root / "socket"),
    }
    options = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
    with (root / "postgres.log").open("wb") as out:  # this attempt's lines only
        # Its own process group: a kill -9 takes the backends down with the postmaster.
        return subprocess.Popen(
            [str(bin_dir / "postgres"), "-D", str(root / "data"), *options],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=root,
            env=_environment(),
            process_group=0,
            **_as_account(account),
        )


def _wait_until_ready(server: PostgresServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status = server.process.poll()
        if status is not None:
            if "Address already in use" in _tail(server.log, lines=20):
                raise _PortTaken
            raise PostgresUnavailable(
                f"postgres exited with status {status} while starting; last lines of "
                f"{server.log}: {_tail(server.log)}"
            )
        try:
            with server.connect():
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise PostgresUnavailable(
                    f"postgres did not accept connections within {timeout:g} s; last lines "
                    f"of {server.log}: {_tail(server.log)}"
                ) from None
            time.sleep(0.05)


def start_postgres(
    root: Path, *, bin_dir: Path | None = None, timeout: float = 30
) -> PostgresServer:
    """initdb in `root` (which must not hold a server yet), start the server, and return
    once it accepts a password login on 127.0.0.1. Raises PostgresUnavailable."""
    bin_dir = bin_dir or postgres_bin()
    account = _server_account()
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    (root / "socket").mkdir()
    if account is not None:
        _check_reachable(root, account)
        for directory in (root, root / "socket"):
            os.chown(directory, account.pw_uid, account.pw_gid)
    password = secrets.token_urlsafe(24)
    _initdb(bin_dir, root, password, account)
    for _attempt in range(3):
        port = free_port()
        process = _launch(bin_dir, root, port, account)
        server = PostgresServer(root, port, password, process, root / "postgres.log")
        try:
            _wait_until_ready(server, timeout)
            return server
        except _PortTaken:
            continue
        except BaseException:
            stop_postgres(server, kill=True)
            raise
    raise PostgresUnavailable(f"no free port for postgres after 3 tries; see {root}")


def _children(pid: int) -> list[int]:
    """The processes `pid` started: PostgreSQL's backends, each its own session leader
    (`InitPostmasterChild` calls setsid), so not reached through the postmaster's group."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone, or going: it was no child we could still see
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _still_running(pids: list[int]) -> list[int]:
    """Those of `pids` that still run (zombies waiting for init are gone enough)."""
    running = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except FileNotFoundError:
            continue
        except OSError:  # still being torn down (ESRCH): look again
            running.append(pid)
            continue
        if state != "Z":
            running.append(pid)
    return running


def _shared_memory_id(server: PostgresServer) -> int | None:
    """The System V segment the postmaster holds (line 7 of postmaster.pid: key, id)."""
    try:
        lines = (server.root / "data" / "postmaster.pid").read_text().splitlines()
        return int(lines[6].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _remove_shared_memory(shmid: int) -> None:
    """A killed postmaster leaves its small segment behind (a clean one removes it); a
    machine that runs the suite often would collect them."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmctl(shmid, 0, None)  # IPC_RMID; an error means it is already gone


def stop_postgres(server: PostgresServer, *, kill: bool = False, timeout: float = 30) -> None:
    """Stop the server: a fast shutdown (SIGINT: sessions rolled back, a checkpoint) or a
    crash (SIGKILL to the postmaster and every backend at once). Returns only once the
    postmaster is reaped and none of its processes is left."""
    pgid = server.process.pid  # the leader of its own group
    shmid = _shared_memory_id(server)
    children = _children(server.process.pid) if server.process.poll() is None else []
    if server.process.poll() is None:
        if kill:
            os.killpg(pgid, signal.SIGKILL)
            for child in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
        else:
            server.process.send_signal(signal.SIGINT)
    try:
        server.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(pgid, signal.SIGKILL)
        server.process.wait()
    deadline = time.monotonic() + 10
    while left := _still_running(children):
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL processes {left} still run 10 s after the stop")
        time.sleep(0.05)
    if shmid is not None and server.process.returncode != 0:  # a clean exit removed it
        _remove_shared_memory(shmid)
