"""Which stored articles a command may use: an outlet named by `--site`, a date range.

The index filters on the exact site name stored with each article, but people type
"valleywire.example", "valley wire" or "the Valley Wire". The name typed is resolved here,
once, to the stored outlet: by its name (any case, with or without a leading "The") or by
the domain its articles are on. An outlet no article has, or a date range no article falls
in, is one clear error naming the known outlets; searching nothing would only end in "The
articles don't say.", which reads as if the articles had been searched.
(`retrieval/search/outlets.py` reads an outlet named inside a question; this module reads the
options.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from retrieval.errors import ScopeError
from retrieval.types import Article


@dataclass(frozen=True, slots=True)
class KnownOutlet:
    """A site of the stored articles and the domains its articles are on."""

    name: str
    domains: tuple[str, ...]

    def label(self) -> str:
        """The name, with its domains when it has any: "Valley Wire (valleywire.example)"."""
        return f"{self.name} ({', '.join(self.domains)})" if self.domains else self.name


@dataclass(frozen=True, slots=True)
class Scope:
    """What a command was asked to search: a stored site name (resolved) and dates."""

    site: str | None = None
    since: date | None = None
    until: date | None = None

    def is_empty(self) -> bool:
        """True when nothing narrows the search."""
        return self.site is None and self.since is None and self.until is None


def domain_of(url: str | None) -> str | None:
    """The host of a URL, lower-cased, without "www." (None for no URL)."""
    if not url:
        return None
    if "://" not in url:
        url = "//" + url
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host[4:] if host.startswith("www.") else host


def known_outlets(articles: Iterable[Article]) -> list[KnownOutlet]:
    """The outlets of `articles`, sorted by name (ignoring a leading "The")."""
    domains: dict[str, set[str]] = {}
    for article in articles:
        if article.site and article.site.strip():
            found = domains.setdefault(article.site, set())
            domain = domain_of(article.url)
            if domain:
                found.add(domain)
    outlets = [KnownOutlet(name, tuple(sorted(d))) for name, d in domains.items()]
    return sorted(outlets, key=lambda o: _bare(o.name))


def resolve_site(given: str, outlets: Sequence[KnownOutlet]) -> str:
    """The stored site name that `given` names, by name or domain; ScopeError if none."""
    wanted = _bare(given)
    for outlet in outlets:
        if _bare(outlet.name) == wanted:
            return outlet.name
    domain = domain_of(given.strip())
    for outlet in outlets:
        if domain and domain in outlet.domains:
            return outlet.name
    raise ScopeError(f"no outlet {given!r} among the stored articles; {_known(outlets)}")


def resolve_scope(
    articles: Sequence[Article], site: str | None, since: date | None, until: date | None
) -> Scope:
    """Check that the options name stored articles, and return them resolved.

    Raises ScopeError (one line, listing the known outlets) for an unknown outlet or a
    date range (of that outlet) in which no article was published.
    """
    outlets = known_outlets(articles)
    name = resolve_site(site, outlets) if site is not None else None
    scope = Scope(name, since, until)
    if (since or until) and not any(in_scope(a, scope) for a in articles):
        of = f" by {name}" if name else ""
        raise ScopeError(
            f"no articles{of} published {_range(since, until)}"
            f"{_stored_range(articles)}; {_known(outlets)}"
        )
    return scope


def in_scope(article: Article, scope: Scope) -> bool:
    """Whether `article` is one the scope allows (undated articles fail any date limit)."""
    if scope.site is not None and article.site != scope.site:
        return False
    if scope.since and (article.published is None or article.published < scope.since):
        return False
    return not (scope.until and (article.published is None or article.published > scope.until))


def _bare(name: str) -> str:
    """Lower case, single spaces, without a leading "the"."""
    words = name.lower().split()
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def _known(outlets: Sequence[KnownOutlet]) -> str:
    if not outlets:
        return "no stored article names its outlet"
    return "known outlets: " + ", ".join(o.label() for o in outlets)


def _range(since: date | None, until: date | None) -> str:
    if since and until:
        return f"from {since} to {until}"
    return f"on or after {since}" if since else f"on or before {until}"


def _stored_range(articles: Sequence[Article]) -> str:
    dates = [a.published for a in articles if a.published is not None]
    if not dates:
        return " (no stored article has a date)"
    return f" (the stored articles run from {min(dates)} to {max(dates)})"
