"""A real `chroma run` server on 127.0.0.1, for the tests of server mode."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ChromaServer:
    host: str
    port: int
    process: subprocess.Popen[bytes]


def _wait_until_up(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/api/v2/heartbeat"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chroma run exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("chroma run did not answer within 30 s")


def start_chroma(path: Path, port: int) -> ChromaServer:
    """Start `chroma run` (the CLI that ships in the chromadb package); return once it answers."""
    chroma = Path(sys.executable).parent / "chroma"
    process = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_up(port, process)
    except BaseException:
        stop_chroma(ChromaServer("127.0.0.1", port, process), kill=True)
        raise
    return ChromaServer("127.0.0.1", port, process)


def stop_chroma(server: ChromaServer, *, kill: bool = False) -> None:
    """Stop the server: SIGTERM (a clean shutdown) or SIGKILL (a crash)."""
    if kill:
        server.process.kill()
    else:
        server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """One `chroma run` server for the session."""
    server = start_chroma(tmp_path_factory.mktemp("chroma-server"), free_port())
    try:
        yield server
    finally:
        stop_chroma(server)
