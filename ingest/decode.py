"""Content-Encoding, decoded incrementally with bounded output (no decompression bombs).

httpx inflates each received chunk whole, so a 2 KB body sent as `gzip, gzip` becomes
gigabytes in memory before a size cap can look at it. Here every decoder in the chain
gives out at most `CHUNK` bytes at a time, so the caller's cap stops the download with at
most one chunk per encoding beyond it held in memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any, Protocol

try:  # brotli is optional; only a version with a bounded output API is used
    import brotli as _brotli  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - depends on the environment
    _brotli = None

CHUNK = 65_536  # bytes of output per step of any decoder


def _bounded_brotli() -> bool:
    return _brotli is not None and hasattr(_brotli.Decompressor(), "can_accept_more_data")


SUPPORTED = ("gzip", "deflate", "br") if _bounded_brotli() else ("gzip", "deflate")
#: What we ask servers for: only what we can decode with bounded memory.
ACCEPT_ENCODING = ", ".join(SUPPORTED)


class DecodeError(ValueError):
    """The body is not valid for its declared encoding, or the encoding is unsupported."""


class _Step(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...

    def finish(self) -> Iterator[bytes]: ...


class _Zlib:
    """gzip or deflate (zlib-wrapped, or raw as some servers send it)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._wbits = zlib.MAX_WBITS | 16 if name == "gzip" else zlib.MAX_WBITS
        self._inflate: Any = zlib.decompressobj(self._wbits)
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not self._started and data:
            self._started = True
            if self._name == "deflate" and (data[0] & 0x0F) != 8:  # no zlib header: raw
                self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        pending = data
        while not self._inflate.eof:
            try:
                out = self._inflate.decompress(pending, CHUNK)
            except zlib.error as exc:
                raise DecodeError(f"not valid {self._name} data ({exc})") from None
            pending = self._inflate.unconsumed_tail
            if out:
                yield out
            if not pending and len(out) < CHUNK:  # input used up, nothing held back
                break

    def finish(self) -> Iterator[bytes]:
        yield from self.feed(b"")


class _Brotli:
    def __init__(self) -> None:
        assert _brotli is not None
        self._decoder = _brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        pending = data
        while True:
            try:
                out = self._decoder.process(pending, output_buffer_limit=CHUNK)
            except Exception as exc:  # brotli.error
                raise DecodeError(f"not valid br data ({exc})") from None
            pending = b""
            if out:
                yield out
            if self._decoder.can_accept_more_data():
                break

    def finish(self) -> Iterator[bytes]:
        yield from self.feed(b"")


def _step(name: str) -> _Step:
    if name in ("gzip", "x-gzip"):
        return _Zlib("gzip")
    if name == "deflate":
        return _Zlib("deflate")
    if name == "br" and "br" in SUPPORTED:
        return _Brotli()
    raise DecodeError(f"unsupported content encoding '{name}'")


class BoundedDecoder:
    """Undo a Content-Encoding chain ("gzip, gzip": applied in order, undone in reverse)."""

    def __init__(self, content_encoding: str) -> None:
        names = [n.strip().lower() for n in content_encoding.split(",")]
        self._steps = [_step(n) for n in reversed(names) if n and n != "identity"]

    def feed(self, raw: bytes) -> Iterator[bytes]:
        """Decoded bytes for one raw chunk, in pieces of at most CHUNK bytes."""
        return self._through(0, raw)

    def finish(self) -> Iterator[bytes]:
        """Whatever the decoders still hold at the end of the body."""
        for index, step in enumerate(self._steps):
            for piece in step.finish():
                yield from self._through(index + 1, piece)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._steps):
            if data:
                yield data
            return
        for piece in self._steps[index].feed(data):
            yield from self._through(index + 1, piece)
