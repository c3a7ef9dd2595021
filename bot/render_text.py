"""Plain-text rendering of answers for the terminal (`ask` and `chat`)."""

from __future__ import annotations

from retrieval.types import Answer, Citation


def source_line(c: Citation) -> str:
    """`[n] Title — Site, 2026-03-19` (with "undated" when the date is unknown)."""
    a = c.article
    published = a.published.isoformat() if a.published else "undated"
    site = f" — {a.site}" if a.site else ""
    return f"[{c.n}] {a.title}{site}, {published}"


def render_sources(answer: Answer) -> str:
    """The numbered sources with their quotes, or a note that there are none."""
    if not answer.citations:
        return "No sources: the articles don't answer this."
    lines = ["Sources:"]
    for c in answer.citations:
        lines.append(source_line(c))
        if c.article.url:
            lines.append(f"    {c.article.url}")
        lines.append(f'    "{c.quote}"')
    return "\n".join(lines)


def render_answer(answer: Answer) -> str:
    """The answer, then its sources."""
    if not answer.found:
        return answer.text
    return f"{answer.text}\n\n{render_sources(answer)}"
