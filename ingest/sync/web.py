"""Sync a feed or a page: a conditional GET, then only the entries that are new or changed.

A 304 answer costs one request and stores nothing. A feed's entries are compared by
fingerprint (link, title, dates and text) with what the source saw last time; only the
new or changed ones have their pages fetched and go through the ingest pipeline. A page
without validators is compared by a hash of its body, so an unchanged page is not
extracted again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ingest.feeds import cut_short, entry_article, read_feed, settled
from ingest.fetch import Fetched, without_userinfo
from ingest.formats import Origin
from ingest.formats_web import web_kind
from ingest.sources import load_fetched
from ingest.sync.context import SourceRun
from retrieval.errors import SourceError
from retrieval.store.sources import Entry, SourceKind
from retrieval.types import Article

PAGE_KEY = "page"


@dataclass(frozen=True, slots=True)
class WebResult:
    """What the run learnt about the source: its kind and validators (None: a 304)."""

    kind: SourceKind
    fetched: Fetched


def sync_web(run: SourceRun) -> WebResult:
    """Fetch the source conditionally and store what is new; raise SourceError if the
    feed or page itself failed."""
    source = run.source
    shown = without_userinfo(source.location)
    with run.stop.cancellable():
        fetched = run.fetcher.fetch(
            source.location,
            deadline=run.deadline,
            etag=source.etag,
            last_modified=source.last_modified,
        )
    if fetched.not_modified:
        run.report.status = "not modified"
        return WebResult(source.kind, fetched)
    if web_kind(fetched, shown) == "feed":
        _sync_feed(run, fetched, shown)
        return WebResult("feed", fetched)
    _sync_page(run, fetched, shown)
    return WebResult("page", fetched)


def _sync_feed(run: SourceRun, fetched: Fetched, shown: str) -> None:
    document = read_feed(fetched.body, Origin(source=shown, url=fetched.url))
    seen = run.store.entries(run.source.id)
    entries = document.entries[: run.settings.feed_max_entries]
    for number, entry in enumerate(entries, start=1):
        key, fingerprint = entry_key(entry), entry_fingerprint(entry)
        known = seen.get(key)
        if known is not None and known.fingerprint == fingerprint:
            continue
        run.check()
        with run.stop.cancellable():
            result = entry_article(
                entry,
                number,
                document.origin,
                run.fetcher,
                deadline=run.deadline,
                extractor=run.extractor,
            )
        if cut_short(result):  # not its teaser for good: the page is fetched next run
            run.past_deadline()
        outcome = settled(result)
        if isinstance(outcome, SourceError):
            run.report.ingest.fail(outcome)  # not remembered: tried again next run
        elif outcome is not None:
            run.add(Entry(key, fingerprint, (outcome.id,)), [outcome])
    run.flush()
    # Entries that left the feed are forgotten (a feed rolls; the state would only grow).
    present = {entry_key(entry) for entry in document.entries}
    run.store.forget_entries(run.source.id, [key for key in seen if key not in present])


def _sync_page(run: SourceRun, fetched: Fetched, shown: str) -> None:
    fingerprint = hashlib.sha256(fetched.body).hexdigest()
    known = run.store.entries(run.source.id).get(PAGE_KEY)
    if known is not None and known.fingerprint == fingerprint:
        return
    articles: list[Article] = []
    with run.stop.cancellable():
        for item in load_fetched(fetched, shown, run.settings, run.fetcher, run.extractor):
            if isinstance(item, SourceError):
                raise item
            articles.append(item)
    run.add(Entry(PAGE_KEY, fingerprint, tuple(a.id for a in articles)), articles)
    run.flush()


def entry_key(entry: Any) -> str:
    """What names a feed entry across polls: its id, else its link, else its title."""
    for name in ("id", "link", "title"):
        value = dict.get(entry, name)
        if value:
            return f"{name}:{value}"
    return "content:" + entry_fingerprint(entry)


def entry_fingerprint(entry: Any) -> str:
    """A hash of what, when it changes, makes an entry worth fetching again."""
    # dict.get: feedparser's own `get("updated")` answers with "published" (and warns)
    # when an entry has no update date.
    content = [c.get("value") for c in dict.get(entry, "content") or []]
    fields = [
        dict.get(entry, name) for name in ("link", "title", "updated", "published", "summary")
    ]
    return hashlib.sha256(json.dumps([fields, content], default=str).encode()).hexdigest()
