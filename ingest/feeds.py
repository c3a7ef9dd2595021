"""RSS and Atom feeds: one article per entry, from the linked page when it can be fetched.

Feeds usually carry only a teaser, so each entry's link is fetched and extracted; when that
fails (404, timeout, no article text) the entry's own content or summary is used instead,
and only an entry with neither becomes a SourceError. Like feed readers, we accept feeds
that feedparser could only read leniently, as long as it found entries.

A feed decides how many pages get fetched, so each feed has a deadline and a cap on the
entries read per run (`FeedLimits`); what they cut is said in one line for the feed.
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from xml.sax import SAXParseException

import feedparser

from ingest.extract import Extractor
from ingest.fetch import Fetcher
from ingest.formats import Draft, Origin, canonical_url, finish_article
from ingest.formats_web import decode_html, html_draft, html_fragment_to_text, web_kind
from ingest.settings import IngestSettings
from retrieval.errors import SourceError
from retrieval.types import Article

log = logging.getLogger(__name__)
_RSS_AUTHOR_RE = re.compile(r"\S+@\S+\s+\((.+)\)")


@dataclass(frozen=True, slots=True)
class FeedLimits:
    """How long one feed may take (its entries' pages included) and how many entries count."""

    seconds: float
    max_entries: int

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> FeedLimits:
        return cls(seconds=settings.feed_timeout, max_entries=settings.feed_max_entries)


def parse_feed(
    data: bytes,
    origin: Origin,
    fetcher: Fetcher,
    limits: FeedLimits | None = None,
    extractor: Extractor | None = None,
) -> Iterator[Article | SourceError]:
    """Yield an Article (or SourceError) per entry; one SourceError if it is no usable feed.

    limits: past the deadline no more pages are fetched (entries fall back to their own
    text); entries past the cap are not read. Each cut is one SourceError for the feed.
    """
    try:
        document = read_feed(data, origin)
    except SourceError as exc:
        yield exc
        return
    entries, feed_origin = document.entries, document.origin
    total = len(entries)
    if limits is not None and total > limits.max_entries:
        entries = entries[: limits.max_entries]
    deadline = time.monotonic() + limits.seconds if limits is not None else None
    not_fetched = 0
    for number, entry in enumerate(entries, start=1):
        outcome = entry_article(
            entry, number, feed_origin, fetcher, deadline=deadline, extractor=extractor
        )
        if isinstance(outcome, _Unfetched):
            not_fetched += 1
            if outcome.result is None:
                continue
            outcome = outcome.result
        yield outcome
    if limits is not None and not_fetched:
        yield SourceError(
            origin.source,
            f"stopped after the {limits.seconds:g} s deadline, {not_fetched} of {total}"
            " entries not fetched",
        )
    if limits is not None and total > limits.max_entries:
        yield SourceError(
            origin.source,
            f"only the first {limits.max_entries} of {total} entries read"
            " (ARTICLEBOT_FEED_MAX_ENTRIES)",
        )


@dataclass(frozen=True, slots=True)
class FeedDocument:
    """A parsed feed: its usable entries and the origin its articles get (the feed's title
    as their fallback site)."""

    entries: list[Any]
    origin: Origin


def read_feed(data: bytes, origin: Origin) -> FeedDocument:
    """Parse a feed; SourceError (one line) if it is no usable feed or has no entries."""
    # application/xml without a charset: the XML declaration decides the encoding.
    headers = {"content-type": "application/xml"}
    if origin.url:
        headers["content-location"] = origin.url  # base for relative links
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers)
    entries = parsed.get("entries") or []
    if parsed.get("bozo"):  # read leniently: keep only entries it really found
        entries = [e for e in entries if e.get("link") or e.get("title") or _entry_text(e)]
    if not entries:
        raise SourceError(origin.source, _why_no_entries(parsed))
    if parsed.get("bozo"):
        log.warning("%s: feed read leniently: %s", origin.source, parsed.get("bozo_exception"))
    site = (parsed.get("feed") or {}).get("title") or None
    feed_origin = Origin(
        source=origin.source,
        stored_source=origin.stored_source,
        url=None,
        site=site,
    )
    return FeedDocument(list(entries), feed_origin)


def cut_short(outcome: Article | SourceError | _Unfetched) -> bool:
    """True when the deadline kept `entry_article` from fetching the entry's page."""
    return isinstance(outcome, _Unfetched)


def settled(outcome: Article | SourceError | _Unfetched) -> Article | SourceError | None:
    """What `entry_article` gave, as an article, an error, or None (nothing, the feed's
    deadline having stopped an entry with no text of its own)."""
    return outcome.result if isinstance(outcome, _Unfetched) else outcome


@dataclass(frozen=True, slots=True)
class _Unfetched:
    """An entry whose page the feed's deadline kept us from fetching; its own text, if any."""

    result: Article | None


def _why_no_entries(parsed: Any) -> str:
    """The one-line reason a feed yielded nothing."""
    error = parsed.get("bozo_exception")
    if parsed.get("bozo") and isinstance(error, SAXParseException):
        line, column = error.getLineNumber(), error.getColumnNumber()
        return f"malformed feed: {error.getMessage()} (line {line}, column {column})"
    if parsed.get("bozo") and error is not None:
        return f"malformed feed: {str(error).splitlines()[0] if str(error) else error!r}"
    if not parsed.get("version"):
        return "not an RSS or Atom feed"
    return "the feed has no entries"


def entry_article(
    entry: Any,
    number: int,
    origin: Origin,
    fetcher: Fetcher,
    *,
    deadline: float | None = None,
    extractor: Extractor | None = None,
) -> Article | SourceError | _Unfetched:
    """One entry: the linked page merged with the entry's metadata, else the entry's content.

    deadline: the feed's (`time.monotonic()`); an entry whose page it stopped is _Unfetched.
    """
    link = canonical_url(entry.get("link"))
    title = _entry_title(entry)
    label = link or f"{origin.source} entry {number}" + (f' "{title[:60]}"' if title else "")
    content = _entry_text(entry)
    fallback = Draft(
        text=content,
        title=title,
        id=None if link else (entry.get("id") or None),
        url=link,
        author=_author_name(entry.get("author")),
        published=entry.get("published") or entry.get("updated"),
    )
    if fallback.published is None:  # only the parsed (UTC) form is there
        fallback.published = entry.get("published_parsed") or entry.get("updated_parsed")
    failure = "no link"
    stopped = False
    if link:
        try:
            if deadline is not None and time.monotonic() >= deadline:
                raise SourceError(link, "the feed's deadline passed")
            page = _page_draft(link, fetcher, deadline, extractor)
            return finish_article(_merge(page, fallback), origin)
        except SourceError as exc:
            failure = exc.reason
            stopped = deadline is not None and time.monotonic() >= deadline
            log.info("%s: using the feed entry's own text: %s", link, failure)
    if not content.strip():
        if stopped:
            return _Unfetched(None)
        return SourceError(label, f"{failure}, and the entry has no content or summary")
    try:
        article = finish_article(fallback, origin, label=label)
    except SourceError as exc:
        return _Unfetched(None) if stopped else exc
    return _Unfetched(article) if stopped else article


def _page_draft(
    url: str, fetcher: Fetcher, deadline: float | None, extractor: Extractor | None
) -> Draft:
    """Fetch the entry's page and extract it; SourceError unless it is an article page."""
    fetched = fetcher.fetch(url, deadline=deadline)
    if web_kind(fetched, url) != "html":
        raise SourceError(url, "the link is not an HTML page")
    html = decode_html(fetched.body, url, charset=fetched.charset, strict=False)
    if extractor is None:
        return html_draft(html, url, fetched_url=fetched.url)
    return extractor.draft(html, url, fetched_url=fetched.url)


def _merge(page: Draft, entry: Draft) -> Draft:
    """Page fields win, except the feed's structured date; keep whichever text is longer."""
    use_entry_text = len(entry.text.strip()) > len(page.text)  # e.g. a paywalled teaser page
    return Draft(
        text=entry.text if use_entry_text else page.text,
        title=page.title or entry.title,
        url=page.url or entry.url,
        site=page.site,
        author=page.author or entry.author,
        published=entry.published or page.published,
    )


def _entry_text(entry: Any) -> str:
    """The entry's full content if present, else its summary, as plain text."""
    for detail in [*(entry.get("content") or []), entry.get("summary_detail")]:
        if detail and (detail.get("value") or "").strip():
            value = str(detail["value"])
            if "html" in str(detail.get("type", "text/html")):
                return html_fragment_to_text(value)
            return value
    return ""


def _author_name(author: object) -> str | None:
    """RSS authors are "email (Name)": keep the name, never publish the address."""
    if not isinstance(author, str):
        return None
    match = _RSS_AUTHOR_RE.fullmatch(author.strip())
    return match.group(1) if match else author


def _entry_title(entry: Any) -> str | None:
    title = entry.get("title")
    if not title:
        return None
    detail = entry.get("title_detail") or {}
    return html_fragment_to_text(title) if "html" in str(detail.get("type", "")) else str(title)
