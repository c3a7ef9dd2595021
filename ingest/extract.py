"""HTML, PDF and Word extraction with a deadline that really stops it: a worker process,
killed if late.

trafilatura's time grows faster than a page's size (a 4.7 MB page of 140,000 `<table>`s
keeps it busy for more than ten minutes) and a thread cannot be stopped, so big pages are
extracted in one reused worker process; when a page takes longer than the deadline the
worker is killed (a new one starts for the next page) and the page fails with one line.
Pages under `IN_PROCESS_CHARS` are extracted in this process: the slowest such page we
could build takes about half a second, and ordinary articles never pay for a worker.
PDF and Word files are hostile binary input whatever their size: always the worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection, Pipe
from pathlib import Path
from types import TracebackType
from typing import Any

from ingest.formats import Draft
from ingest.formats_documents import DocumentLimits, document_draft
from ingest.formats_web import html_draft
from retrieval.errors import SourceError

#: Below this many characters a page is extracted in-process (worst seen: ~0.5 s).
IN_PROCESS_CHARS = 50_000
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
_STARTUP_SECONDS = 60.0  # importing trafilatura on a busy machine; not part of the deadline


class Extractor:
    """Extracts pages (`html_draft`) under a deadline; close it to stop its worker."""

    def __init__(self, timeout: float, *, in_process_chars: int = IN_PROCESS_CHARS) -> None:
        self._timeout = timeout
        self._in_process_chars = in_process_chars
        self._worker: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None

    def __enter__(self) -> Extractor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def draft(self, html: str, source: str, *, fetched_url: str | None = None) -> Draft:
        """`html_draft` of the page, or SourceError if it fails or takes too long."""
        if len(html) < self._in_process_chars:
            return html_draft(html, source, fetched_url=fetched_url)
        return self._in_worker(("html", html, source, fetched_url), source, "page")

    def document(self, kind: str, data: bytes, source: str, limits: DocumentLimits) -> Draft:
        """`document_draft` of a PDF or .docx file, in the worker, under the deadline."""
        return self._in_worker(("document", kind, data, source, limits), source, "file")

    def _in_worker(self, request: tuple[object, ...], source: str, noun: str) -> Draft:
        try:
            conn = self._connection()
            conn.send(request)
            ready = conn.poll(self._timeout)
            reply = conn.recv() if ready else None
        except (OSError, EOFError):  # it did not start, or died (out of memory...)
            self._stop(kill=True)
            raise SourceError(source, "the extraction worker failed") from None
        if reply is None:
            self._stop(kill=True)
            raise SourceError(
                source, f"{noun} too complex to extract (took more than {self._timeout:g} s)"
            )
        kind, value = reply
        if kind == "ok":
            assert isinstance(value, Draft)
            return value
        raise SourceError(source, str(value))

    def close(self) -> None:
        """Let the worker exit (it stops when its pipe closes), killing it if it lingers."""
        self._stop(kill=False)

    def _connection(self) -> Connection:
        if self._conn is None:
            ours, theirs = Pipe()
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p
            )
            self._worker = subprocess.Popen(
                [sys.executable, "-c", "import ingest.extract as e, sys; e.serve(int(sys.argv[1]))",
                 str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env=env,
            )  # fmt: skip
            theirs.close()
            self._conn = ours
            if not ours.poll(_STARTUP_SECONDS) or ours.recv() != "ready":
                self._stop(kill=True)
                raise OSError("the extraction worker did not start")
        return self._conn

    def _stop(self, *, kill: bool) -> None:
        conn, worker = self._conn, self._worker
        self._conn = self._worker = None
        if conn is not None:
            conn.close()
        if worker is None:
            return
        if not kill:
            try:
                worker.wait(timeout=2)
                return
            except subprocess.TimeoutExpired:
                pass
        worker.kill()
        worker.wait()


def serve(fd: int) -> None:
    """The worker: extract each page or document sent on `fd` until the pipe closes."""
    conn = Connection(fd)
    conn.send("ready")
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[str, object] = ("ok", _handle(request))
        except SourceError as exc:
            reply = ("error", exc.reason)
        except Exception as exc:  # reported as the page's failure, like in-process
            reply = ("error", f"unexpected error: {type(exc).__name__}: {exc}")
        conn.send(reply)


def _handle(request: tuple[Any, ...]) -> Draft:
    if request[0] == "html":
        _, html, source, fetched_url = request
        return html_draft(html, source, fetched_url=fetched_url)
    _, kind, data, source, limits = request
    with memory_bounded(limits.max_memory_bytes):
        return document_draft(kind, data, source, limits)


@contextmanager
def memory_bounded(extra_bytes: int) -> Iterator[None]:
    """Let this process grow by at most `extra_bytes` of address space meanwhile: past it,
    allocations fail with MemoryError (a file's one line) instead of the machine swapping.

    Where there is no RLIMIT_AS or /proc (not Linux), only the deadline bounds a file.
    """
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        with open("/proc/self/statm", encoding="ascii") as statm:
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError, AttributeError):
        yield
        return
    limit = size + extra_bytes
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft != resource.RLIM_INFINITY:
        limit = min(limit, soft)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
