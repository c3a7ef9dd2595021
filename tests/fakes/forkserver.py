"""Run `articlebot` commands (or a check function) in forks of one warm interpreter.

Starting Python and importing the ingest stack takes seconds; a crash test that kills a
dozen ingest processes would spend most of its time there. This helper imports it once and
forks a child per command. Each child is a real `articlebot` process (its own pid, files and
connections, the environment it is given) that the test can SIGKILL like any other.

Protocol, JSON lines on stdin/stdout: the test writes ``{"args": [...], "env": {...},
"log": path}`` (or ``{"call": "module:function", "args": [...], ...}``); the helper answers
``{"pid": n}`` when the child starts and ``{"pid": n, "status": code}`` when it ends
(negative: killed by that signal). Use `ForkServer` from the test side.
"""

from __future__ import annotations

import importlib
import json
import os
import queue
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _child(command: dict[str, Any]) -> None:
    """Run one command in this (forked) process and exit with its status; never returns."""
    code = 1
    try:
        fd = os.open(command["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.environ.clear()
        os.environ.update(command["env"])
        os.chdir(Path(command["log"]).parent)  # no stray .env from the repository
        if "call" in command:
            module, function = command["call"].split(":")
            getattr(importlib.import_module(module), function)(*command["args"])
            code = 0
        else:
            from bot.cli.main import main

            main(command["args"], prog_name="articlebot")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve() -> None:
    """The helper's loop: warm up, then fork one child per command, one at a time."""
    import langchain_chroma  # noqa: F401
    import langchain_core.indexing  # noqa: F401
    import langchain_openai  # noqa: F401

    import bot.cli.ask  # noqa: F401  (the imports are the point: children start warm)
    import bot.cli.index  # noqa: F401
    import ingest.pipeline  # noqa: F401
    import retrieval.answer.offline  # noqa: F401

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if threading.active_count() != 1:  # forking a threaded process is not safe
            raise RuntimeError(f"{threading.active_count()} threads in the fork server")
        pid = os.fork()
        if pid == 0:
            _child(json.loads(line))
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"pid": pid, "status": os.waitstatus_to_exitcode(status)}), flush=True)


class ForkServer:
    """The test's handle on a running helper: `start` a command, `wait` for it, `close`."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.forkserver"],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="forkserver-reader", daemon=True)
        self._reader.start()
        self._next(60)  # {"ready": true}

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(json.loads(line))

    def _next(self, timeout: float) -> dict[str, Any]:
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the fork server said nothing for {timeout} s") from None

    def start(self, env: dict[str, str], log: Path, *args: str, call: str | None = None) -> int:
        """Fork a child that runs `articlebot *args` (or `call(*args)`); return its pid."""
        command: dict[str, Any] = {"args": list(args), "env": env, "log": str(log)}
        if call:
            command["call"] = call
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(command) + "\n")
        self._process.stdin.flush()
        return int(self._next(30)["pid"])

    def wait(self, timeout: float = 120) -> int:
        """The exit status of the last child started (negative: killed by that signal)."""
        return int(self._next(timeout)["status"])

    def poll(self) -> int | None:
        """The exit status of the last child started, or None while it runs."""
        try:
            return int(self._lines.get_nowait()["status"])
        except queue.Empty:
            return None

    def run(self, env: dict[str, str], log: Path, *args: str, call: str | None = None) -> int:
        """Start a child and wait for it."""
        self.start(env, log, *args, call=call)
        return self.wait()

    def close(self) -> None:
        """Stop the helper (it exits at the end of its input) and join the reader."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - a child hangs
            self._process.kill()
            self._process.wait()
        self._reader.join(timeout=10)
        assert self._process.stdout is not None
        self._process.stdout.close()


@pytest.fixture(scope="session")
def forks() -> Iterator[ForkServer]:
    """One warm fork server for the session (its start-up is the slow part)."""
    server = ForkServer()
    yield server
    server.close()


if __name__ == "__main__":
    serve()
