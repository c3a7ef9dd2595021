"""Questions that name an outlet: "According to the Valley Wire, when does the bridge reopen?"

News readers ask what one outlet said, especially where outlets disagree ("According to the
Eastmere Evening Post, how many jobs...?"). Such a question is searched among that outlet's
articles only (`SearchFilters.site`, as `--site` does), and an "according to <outlet>"
phrase is taken out of the question searched: the outlet's name is metadata, not words its
reports use, and left in it would only dilute the match. An outlet named with a verb of
reporting ("What did the Valley Wire report about the seagrass?") filters too, and the
outlet and its verb are taken out ("What did about the seagrass?": the verb is about the
outlet, not about what its articles say). Only the offline answerer searches with that
shortened question; an LLM gets the question as asked, with the outlet's passages. Names
are matched against the sites of the stored articles, case-insensitively, with or without
a leading "The". A site set explicitly (`--site`) wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_VERB = r"(?:report|reports|reported|say|says|said|write|writes|wrote)"
#: Cheap test before any site is looked up: most questions name no outlet.
_CUE = re.compile(rf"\baccording to\b|\b{_VERB}\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Outlet:
    """The site a question attributes to, and the question to search with."""

    site: str
    question: str  # without the outlet's name (and "according to" or its verb)


def might_name_outlet(question: str) -> bool:
    """False for questions with no "according to" and no verb of reporting."""
    return _CUE.search(question) is not None


def named_outlet(question: str, sites: Iterable[str]) -> Outlet | None:
    """The stored site the question attributes its answer to, if any (longest name first)."""
    if not might_name_outlet(question):
        return None
    lowered = question.lower()
    names = sorted({s for s in sites if s and s.strip()}, key=len, reverse=True)
    for site in names:
        name = _bare(site)
        if not name or name.split()[0].lower() not in lowered:
            continue  # the cheap test first: a corpus of feeds may have hundreds of sites
        pattern = r"(?:the\s+)?" + r"\s+".join(re.escape(w) for w in name.split())
        according = re.compile(
            rf"(?:^|,\s*|\s+)according\s+to\s+{pattern}\b\s*[,:]?\s*", re.IGNORECASE
        )
        found = according.search(question)
        if found is not None:
            rest = _tidy(question[: found.start()] + " " + question[found.end() :])
            return Outlet(site, rest[:1].upper() + rest[1:] if rest else question)
        reporting = re.compile(rf"\b{pattern}\s+(?:\w+\s+)?{_VERB}\b", re.IGNORECASE)
        found = reporting.search(question)
        if found is not None:
            return Outlet(site, _tidy(question[: found.start()] + question[found.end() :]))
    return None


def site_named(name: str, sites: Iterable[str]) -> str | None:
    """The stored site that `name` is (its name with or without "The", or its domain, in any
    case), or None: a model's reading of the outlet is kept only if the index has it."""
    wanted = _bare(name.strip()).lower()
    if not wanted:
        return None
    return next((s for s in sites if s and _bare(s).lower() == wanted), None)


def _bare(site: str) -> str:
    """The site's name without a leading "The" (so "the Harbour Ledger" and "Harbour
    Ledger" both name "The Harbour Ledger")."""
    words = site.split()
    if words and words[0].lower() == "the":
        words = words[1:]
    return " ".join(words)


def _tidy(text: str) -> str:
    """One space between words and none before the closing punctuation."""
    return re.sub(r"\s+([?.!,])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()
