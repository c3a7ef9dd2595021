"""Turn the source strings people type (paths, directories, URLs, feeds) into `Article`s.

Files are told apart by suffix (`FORMATS`), downloads by content type (`web_kind`); PDF and
Word files, from either, are parsed in the extraction worker (`Extractor.document`).

Loading never raises for a bad source: every failure is yielded as a `SourceError` naming
the source and the reason, and the caller reports it and goes on with the rest.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import httpx

from ingest.clean import replace_surrogates
from ingest.extract import Extractor
from ingest.feeds import FeedLimits, parse_feed
from ingest.fetch import Fetched, Fetcher, without_userinfo
from ingest.formats import (
    DOCUMENT_KINDS,
    FORMATS,
    SUPPORTED,
    Origin,
    decode_text,
    finish_article,
    human_size,
)
from ingest.formats_data import parse_json, parse_jsonl
from ingest.formats_documents import DocumentLimits
from ingest.formats_text import parse_markdown, parse_txt
from ingest.formats_web import decode_html, decode_plain, web_kind
from ingest.settings import IngestSettings
from retrieval.errors import SourceError
from retrieval.types import Article

log = logging.getLogger(__name__)

Loaded = Article | SourceError
_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_BARE_DOMAIN_RE = re.compile(r"(?:www\.)?[\w-]+(?:\.[\w-]+)+/")


def load_sources(
    sources: Sequence[str],
    settings: IngestSettings,
    *,
    pattern: str | None = None,
    client: httpx.Client | None = None,
    allow_private_typed: bool = False,
    allow_private_addresses: bool = False,
) -> Iterator[Article | SourceError]:
    """Load every source in order: files, directories (recursive), URLs and feeds.

    pattern: a glob such as "*.md" that filters directory contents (default: every
    supported extension). URLs to loopback, private, link-local and reserved addresses are
    refused, whoever names them (a typed URL, a redirect, a feed's entry link), except:
    allow_private_typed trusts the hosts of the URLs in `sources` (`--allow-private`: so a
    private feed's links to its own host are fetched, links elsewhere still checked);
    allow_private_addresses turns the guard off entirely (tests, embedding applications).
    """
    trusted = [s.strip() for s in sources if is_url(s)] if allow_private_typed else []
    with (
        Fetcher(
            settings,
            client=client,
            allow_private_addresses=allow_private_addresses,
            trusted_urls=trusted,
        ) as fetcher,
        Extractor(settings.extract_timeout) as extractor,
    ):
        for source in sources:
            yield from load_one(source, settings, fetcher, extractor, pattern=pattern)


def load_url(
    url: str,
    settings: IngestSettings,
    *,
    client: httpx.Client | None = None,
    allow_private_typed: bool = False,
    allow_private_addresses: bool = False,
) -> Iterator[Article | SourceError]:
    """Load an article page (one Article) or an RSS/Atom feed (one result per entry)."""
    return load_sources(
        [url],
        settings,
        client=client,
        allow_private_typed=allow_private_typed,
        allow_private_addresses=allow_private_addresses,
    )


def load_path(
    path: str | os.PathLike[str],
    settings: IngestSettings,
    *,
    pattern: str | None = None,
    client: httpx.Client | None = None,
    allow_private_addresses: bool = False,
) -> Iterator[Article | SourceError]:
    """Load a file or a directory tree (the client fetches the pages that feed entries link)."""
    return load_sources(
        [os.fspath(path)],
        settings,
        pattern=pattern,
        client=client,
        allow_private_addresses=allow_private_addresses,
    )


def load_one(
    source: str,
    settings: IngestSettings,
    fetcher: Fetcher,
    extractor: Extractor,
    *,
    pattern: str | None = None,
) -> Iterator[Article | SourceError]:
    """Load one source string with a shared fetcher; failures are yielded, never raised."""
    if not source.strip():
        yield SourceError(repr(source), "empty source (expected a path or a URL)")
    elif is_url(source):
        shown = without_userinfo(source.strip())  # a password is never shown or stored
        yield from _guarded(shown, _load_url(source.strip(), shown, settings, fetcher, extractor))
    else:
        yield from _guarded(source, _load_path(source, settings, fetcher, extractor, pattern))


def is_url(source: str) -> bool:
    """True for "scheme://..." strings (any scheme: unsupported ones are reported as such)."""
    return _URL_RE.match(source.strip()) is not None


def _guarded(source: str, results: Iterable[Loaded]) -> Iterator[Loaded]:
    """Turn a raised SourceError, or any unexpected exception, into a yielded SourceError."""
    try:
        yield from results
    except SourceError as exc:
        yield exc
    except Exception as exc:  # one broken source must not stop the others
        log.exception("unexpected error while loading %s", source)
        yield SourceError(source, f"unexpected error: {type(exc).__name__}: {exc}")


def _load_url(
    url: str, shown: str, settings: IngestSettings, fetcher: Fetcher, extractor: Extractor
) -> Iterator[Loaded]:
    """`url` as typed (credentials and all, for the request); `shown`: without them."""
    yield from load_fetched(fetcher.fetch(url), shown, settings, fetcher, extractor)


def load_fetched(
    fetched: Fetched, shown: str, settings: IngestSettings, fetcher: Fetcher, extractor: Extractor
) -> Iterator[Loaded]:
    """The articles of a download: a page (one), a feed (one per entry) or plain text."""
    kind = web_kind(fetched, shown)
    origin = Origin(source=shown, url=fetched.url)
    if kind == "feed":
        limits = FeedLimits.from_settings(settings)
        yield from parse_feed(fetched.body, origin, fetcher, limits, extractor)
    elif kind in DOCUMENT_KINDS:
        yield _document(kind, fetched.body, origin, settings, extractor)
    elif kind == "html":
        html = decode_html(fetched.body, shown, charset=fetched.charset, strict=False)
        yield finish_article(extractor.draft(html, shown, fetched_url=fetched.url), origin)
    else:
        yield parse_txt(decode_plain(fetched.body, fetched.charset), origin)


def _load_path(
    source: str,
    settings: IngestSettings,
    fetcher: Fetcher,
    extractor: Extractor,
    pattern: str | None,
) -> Iterator[Loaded]:
    path = Path(source).expanduser()
    try:
        path.stat()
    except FileNotFoundError:
        hint = f" (for a web page write https://{source})" if _BARE_DOMAIN_RE.match(source) else ""
        raise SourceError(source, f"no such file or directory{hint}") from None
    except OSError as exc:
        raise SourceError(source, (exc.strerror or str(exc)).lower()) from None
    if path.is_dir():
        yield from _load_directory(path, source, settings, fetcher, extractor, pattern)
    elif path.is_file():
        yield from _load_file(path, source, settings, fetcher, extractor)
    else:
        raise SourceError(source, "not a regular file or directory")


def _load_directory(
    directory: Path,
    source: str,
    settings: IngestSettings,
    fetcher: Fetcher,
    extractor: Extractor,
    pattern: str | None,
) -> Iterator[Loaded]:
    files = sorted(find_files(directory, pattern))
    if not files:
        wanted = f"files matching '{pattern}'" if pattern else "files"
        raise SourceError(source, f"no supported {wanted} in this directory ({SUPPORTED})")
    for path in files:
        name = replace_surrogates(str(path))
        yield from _guarded(name, _load_file(path, name, settings, fetcher, extractor))


def find_files(directory: Path, pattern: str | None = None) -> Iterator[Path]:
    """Supported files under `directory` matching `pattern`; hidden files and dirs skipped."""
    for root, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            path = Path(root, name)
            if name.startswith(".") or path.suffix.lower() not in FORMATS:
                continue
            relative = path.relative_to(directory).as_posix()
            if pattern and not (
                fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(relative, pattern)
            ):
                continue
            yield path


def _load_file(
    path: Path, source: str, settings: IngestSettings, fetcher: Fetcher, extractor: Extractor
) -> Iterator[Loaded]:
    source = replace_surrogates(source)
    extension = path.suffix.lower()
    kind = FORMATS.get(extension)
    if kind is None:
        shown = f"'{extension}'" if extension else "(no extension)"
        raise SourceError(source, f"unsupported file type {shown} (supported: {SUPPORTED})")
    data = _read_capped(path, source, settings.max_article_bytes)
    if not data.strip():
        raise SourceError(source, "empty file")
    resolved = path.resolve()
    origin = Origin(
        source=source, stored_source=replace_surrogates(str(resolved)), file_uri=resolved.as_uri()
    )
    if kind == "feed":
        yield from parse_feed(data, origin, fetcher, FeedLimits.from_settings(settings), extractor)
    elif kind in DOCUMENT_KINDS:
        yield _document(kind, data, origin, settings, extractor)
    elif kind == "html":
        html = decode_html(data, source, charset=None, strict=True)
        yield finish_article(extractor.draft(html, source), origin)
    else:
        yield from _parse_text_file(kind, decode_text(data, source), origin)


def _parse_text_file(kind: str, text: str, origin: Origin) -> Iterator[Loaded]:
    if not text.strip():
        raise SourceError(origin.source, "empty file")
    if kind == "text":
        yield parse_txt(text, origin)
    elif kind == "markdown":
        yield parse_markdown(text, origin)
    elif kind == "jsonl":
        yield from parse_jsonl(text, origin)
    else:
        yield from parse_json(text, origin)


def _document(
    kind: str, data: bytes, origin: Origin, settings: IngestSettings, extractor: Extractor
) -> Article:
    """A PDF or Word file, read in the extraction worker (its pages kept for a PDF)."""
    draft = extractor.document(kind, data, origin.source, DocumentLimits.from_settings(settings))
    return finish_article(draft, origin, paged=kind == "pdf")


def _read_capped(path: Path, source: str, max_bytes: int) -> bytes:
    """Read at most `max_bytes` (the size is checked again while reading: files grow).

    Opened without blocking and checked to be a regular file before reading: a FIFO or a
    device found in a directory would otherwise block the whole run forever.
    """
    too_large = SourceError(source, f"larger than {human_size(max_bytes)}")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(fd, "rb") as handle:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise SourceError(source, "not a regular file, skipped")
            if info.st_size > max_bytes:
                raise too_large
            data = handle.read(max_bytes + 1)
    except PermissionError:
        raise SourceError(source, "permission denied") from None
    except OSError as exc:
        raise SourceError(source, f"could not read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise too_large
    return data
