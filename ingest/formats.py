"""What every format parser shares: metadata normalisation and the rules that make an `Article`.

The per-format parsers (`formats_text`, `formats_data`, `formats_web`, `feeds`) only pull raw
fields out of their input into a `Draft`; `finish_article` applies one set of rules for ids,
URLs, sites, titles and dates, so an article gets the same id whichever way it arrives.
"""

from __future__ import annotations

import codecs
import re
import time
from dataclasses import dataclass, replace
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

from ingest.clean import INVISIBLE, clean_inline, clean_text
from ingest.residue import drop_residue
from retrieval.errors import SourceError
from retrieval.news.scope import domain_of
from retrieval.types import Article

# File extension -> format name; the order is the one shown in error messages.
FORMATS: dict[str, str] = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".jsonl": "jsonl",
    ".xml": "feed",
    ".rss": "feed",
    ".atom": "feed",
    ".pdf": "pdf",
    ".docx": "docx",
}
#: Formats parsed from bytes in the extraction worker (`ingest.formats_documents`).
DOCUMENT_KINDS = frozenset({"pdf", "docx"})
SUPPORTED = ", ".join(FORMATS)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRACKING_PARAMS = frozenset({"fbclid", "gclid"})
_DATE_FORMATS = (
    "%B %d, %Y",
    "%b %d, %Y",
    "%b. %d, %Y",
    "%B %d %Y",
    "%d %B %Y",
    "%d %b %Y",
    "%A, %B %d, %Y",
    "%Y/%m/%d",
)
_ISO_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:$|[T ])")
_TITLE_MAX = 150
# Invisible or unstorable characters a URL may carry in from a feed or a JSON record:
# controls (a terminal escape in `articlebot list`), zero-width, bidi controls, surrogates.
_URL_JUNK = re.compile(f"[{INVISIBLE}\t\n\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a document came from: names errors and supplies fallback ids, URLs and sites."""

    source: str  # as the user wrote it or as found in a directory; prefixes error messages
    stored_source: str | None = None  # what goes into Article.source (default: `source`)
    file_uri: str | None = None  # file:// URI of the resolved path, for local files
    url: str | None = None  # the URL it was fetched from (after redirects)
    site: str | None = None  # a fallback site name, e.g. the title of the feed it came from


@dataclass(slots=True)
class Draft:
    """Raw fields pulled out of one record, page or feed entry, before normalisation."""

    text: str
    title: str | None = None
    id: object = None
    url: str | None = None
    site: str | None = None
    author: str | None = None
    published: object = None


def finish_article(
    draft: Draft,
    origin: Origin,
    *,
    record: int | None = None,
    label: str | None = None,
    paged: bool = False,
) -> Article:
    """Clean `draft` and apply the id/metadata rules; raise SourceError if no text is left.

    paged: the text holds a form feed after each of its pages (a PDF's); cleaning keeps them.

    id: explicit record id, else canonical URL, else the file URI (+ "#<record>" for
    multi-record files), else "sha256:" + a prefix of the content hash.
    """
    text = drop_residue(clean_text(draft.text, pages=paged))
    if not text.strip():
        raise SourceError(label or origin.source, "no article text found")
    url = canonical_url(draft.url) or canonical_url(origin.url)
    explicit_id = clean_inline(str(draft.id)) if draft.id is not None else ""
    file_id = None
    if origin.file_uri:
        file_id = origin.file_uri if record is None else f"{origin.file_uri}#{record}"
    article = Article(
        id=explicit_id or url or file_id or "",
        title=clean_inline(draft.title) or title_from_text(text),
        text=text,
        url=url,
        site=clean_inline(draft.site) or clean_inline(origin.site) or domain_of(url),
        author=clean_inline(draft.author) or None,
        published=parse_date(draft.published),
        source=origin.stored_source or origin.source,
    )
    if not article.id:
        article = replace(article, id="sha256:" + article.content_hash[:16])
    return article


def parse_date(value: object) -> date | None:
    """Turn ISO, RFC 822 and "March 4, 2026"-style dates (or date objects) into a date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, time.struct_time):
        return date(value.tm_year, value.tm_mon, value.tm_mday)
    if not isinstance(value, str) or not value.strip():
        return None
    text = " ".join(value.split())
    if match := _ISO_DATE_RE.match(text):
        try:
            return date(*(int(part) for part in match.groups()))
        except ValueError:
            return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    try:  # RFC 822, as in RSS: "Wed, 04 Mar 2026 10:00:00 GMT"
        return parsedate_to_datetime(text).date()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def canonical_url(url: str | None) -> str | None:
    """Lowercase scheme and host, drop fragment, credentials, default port and tracking params.

    Returns None for anything that is not an absolute http(s) URL.
    """
    if not url:
        return None
    try:
        parts = urlsplit(_URL_JUNK.sub("", url).strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname  # already lowercased, brackets of IPv6 literals removed
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    kept = [p for p in parts.query.split("&") if p and not _is_tracking(p.split("=", 1)[0])]
    return urlunsplit((scheme, netloc, parts.path or "/", "&".join(kept), ""))


def _is_tracking(name: str) -> bool:
    name = name.lower()
    return name.startswith("utm_") or name in _TRACKING_PARAMS


def title_from_text(text: str) -> str:
    """First line of `text`, cut to its first sentence (or a word boundary) when it is long."""
    line = next((ln for ln in text.split("\n") if ln.strip()), "")
    if len(line) <= _TITLE_MAX:
        return line
    match = re.search(r"[.!?](?=\s)", line[:_TITLE_MAX])
    if match:
        return line[: match.end()]
    cut = line[:_TITLE_MAX].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


def human_size(n_bytes: int) -> str:
    """A byte count as people say it: "5 MB", "10 kB", "900 bytes"."""
    if n_bytes >= 1_000_000:
        return f"{n_bytes / 1_000_000:g} MB"
    if n_bytes >= 1_000:
        return f"{n_bytes / 1_000:g} kB"
    return f"{n_bytes} bytes"


def looks_binary(data: bytes) -> bool:
    """NUL bytes, or many control characters: not a text file (UTF-16 with a BOM is text)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if b"\x00" in data:
        return True
    sample = data[:8192]
    controls = sum(1 for b in sample if (b < 32 and b not in b"\t\n\f\r\x1b") or b == 127)
    return controls > max(8, len(sample) // 20)


def decode_text(data: bytes, source: str) -> str:
    """Decode a text file as UTF-8 (a BOM is allowed); explain binary or legacy-encoded input."""
    if looks_binary(data):
        raise SourceError(source, "binary file, not text")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise SourceError(source, "binary file, not text") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SourceError(
            source, f"not valid UTF-8 (save it as UTF-8); first bad byte on line {line}"
        ) from None
