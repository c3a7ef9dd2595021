"""Plain-text rendering of answers for the terminal (`ask` and `chat`)."""

from __future__ import annotations

from retrieval.answer.prompts import quotes_shown
from retrieval.news.datelines import dateline, day_label
from retrieval.types import Answer, Appearance, Citation


def source_line(c: Citation) -> str:
    """`[n] Title — Site, 2026-03-19` ("no date" when the publication date is unknown)."""
    a = c.article
    line = f"[{c.n}] {a.title} — {dateline(a)}"
    if a.published is None:  # the day it was added is not a publication date: say which it is
        line += f" (added {a.ingested_at.date().isoformat()})"
    return line + page_label(c)


def page_label(c: Citation) -> str:
    """`, p. 3` for a quote of a text with pages (a PDF's); empty otherwise."""
    return f", p. {c.page}" if c.page is not None else ""


def also_ran_line(copies: tuple[Appearance, ...]) -> str:
    """`also ran: The Fenwold Gazette, 2026-03-13 (https://...)` for a syndicated story."""
    shown = []
    for copy in copies:
        where = f"{copy.site or copy.title}, {day_label(copy.published)}"
        shown.append(f"{where} ({copy.url})" if copy.url else where)
    return "also ran: " + "; ".join(shown)


def earlier_citation(answer: Answer, c: Citation) -> int | None:
    """The number of an earlier citation of the same article (its second quote is shown
    under a short line, not under the whole title, site, date and URL again)."""
    for other in answer.citations:
        if other.n == c.n:
            return None
        if other.article.id == c.article.id:
            return other.n
    return None


def render_sources(answer: Answer) -> str:
    """The numbered sources with their quotes (unless the answer already shows the quote),
    or a note that there are none."""
    if not answer.citations:
        return "No sources: the articles don't answer this."
    lines = ["Sources:"]
    for c in answer.citations:
        first = earlier_citation(answer, c)
        if first is not None:
            lines.append(f"[{c.n}] the same article as [{first}]{page_label(c)}")
            if not quotes_shown(answer, c):
                lines.append(f'    "{c.quote}"')
            continue
        lines.append(source_line(c))
        if c.article.url:
            lines.append(f"    {c.article.url}")
        if c.also_ran:
            lines.append(f"    {also_ran_line(c.also_ran)}")
        if not quotes_shown(answer, c):
            lines.append(f'    "{c.quote}"')
    return "\n".join(lines)


def render_answer(answer: Answer) -> str:
    """The answer, then its sources (a refusal: what was searched, if only one outlet).

    The answer's notice is not part of it: `ask` and `chat` print it on stderr, one line.
    Plain text for Telegram (`render_plain`) puts it first.
    """
    if not answer.found:
        note = scope_note(answer)
        return f"{answer.text}\n{note}" if note else answer.text
    return f"{answer.text}\n\n{render_sources(answer)}"


def scope_note(answer: Answer) -> str | None:
    """For a refusal from one outlet's articles: that only they were searched."""
    if answer.found or not answer.site:
        return None
    return f"(Only the articles of {answer.site} were searched.)"
