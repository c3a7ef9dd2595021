"""Questions about the present: "latest", "now", "still", "currently" want the newest news.

Such a question is searched with `SearchFilters.prefer_recent` (the retriever's recency
boost, the same as `--recent`), so a story that developed is answered from its latest
report rather than from whichever one repeats the question's words best.
"""

from __future__ import annotations

import re

_RECENT = re.compile(
    r"\b(latest|newest|most recent(?:ly)?|recent(?:ly)?|now|nowadays|currently|current|"
    r"still|yet|so far|to date|these days|at the moment|at present|presently|today|"
    r"this week|any (?:news|update)s?|update on|up to date)\b",
    re.IGNORECASE,
)


def wants_recent(question: str) -> bool:
    """True when the question asks about the present state of things."""
    return _RECENT.search(question) is not None
