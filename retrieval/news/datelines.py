"""How answers name their sources: the outlet and the publication date of each claim.

A news claim is only true as of the day it was reported, so every citation line and every
offline answer says who reported it and when. The publication date comes from the article's
own metadata (`Article.published`); the day it was ingested (`Article.ingested_at`) is never
passed off as one, and an article without a known date says "no date".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from urllib.parse import urlsplit

from retrieval.answer.prompts import defang_markers
from retrieval.types import Answer, Article, Citation

NO_DATE = "no date"
UNKNOWN_OUTLET = "an unnamed source"
_AS_OF = re.compile(r"\bas of\b", re.IGNORECASE)


def outlet(article: Article) -> str:
    """The outlet's name: its site, else its URL's host, else "an unnamed source"."""
    if article.site and article.site.strip():
        return " ".join(article.site.split())
    host = urlsplit(article.url).hostname if article.url else None
    return host or UNKNOWN_OUTLET


def day_label(day: date | None) -> str:
    """A date as YYYY-MM-DD, or "no date"."""
    return day.isoformat() if day else NO_DATE


def published_label(article: Article) -> str:
    """The publication date as YYYY-MM-DD, or "no date"."""
    return day_label(article.published)


def dateline(article: Article) -> str:
    """`Valley Wire, 2026-03-19` (or `Valley Wire, no date`)."""
    return f"{outlet(article)}, {published_label(article)}"


def cited_dates(citations: Sequence[Citation]) -> list[date]:
    """The distinct publication dates of the cited articles, oldest first."""
    return sorted({c.article.published for c in citations if c.article.published})


def attributed(citations: Sequence[Citation]) -> str:
    """The offline answer's text: each run of quotes from one article led by who said it when.

    One date among the sources: "According to Valley Wire (2026-03-19): ... [1]". Several:
    each run says "As of 2026-03-10, Northgate Courier reported: ... [1]", so a reader sees
    which claim is how old.
    """
    several = len(cited_dates(citations)) > 1
    runs: list[list[Citation]] = []
    for citation in citations:
        if runs and runs[-1][-1].article.id == citation.article.id:
            runs[-1].append(citation)
        else:
            runs.append([citation])
    parts = []
    for run in runs:
        article = run[0].article
        quotes = " ".join(f"{defang_markers(c.quote)} [{c.n}]" for c in run)
        if several and article.published:
            lead = f"As of {article.published.isoformat()}, {outlet(article)} reported:"
        elif several:
            lead = f"{outlet(article)} ({NO_DATE}) reported:"
        else:
            lead = f"According to {outlet(article)} ({published_label(article)}):"
        parts.append(f"{lead} {quotes}")
    return " ".join(parts)


def with_as_of(answer: Answer) -> Answer:
    """Add "As of <newest date>" to a written answer whose sources span several dates.

    The LLM is asked to date its claims itself; this is the check after the fact, for when
    it named neither "as of" nor the newest date although its sources are of different days.
    """
    dates = cited_dates(answer.citations)
    if len(dates) < 2 or _AS_OF.search(answer.text) or dates[-1].isoformat() in answer.text:
        return answer  # one date, or the answer already says how new its news is
    note = (
        f"(As of {dates[-1].isoformat()}, the date of the newest cited report;"
        f" the oldest is from {dates[0].isoformat()}.)"
    )
    return replace(answer, text=f"{answer.text}\n\n{note}")
