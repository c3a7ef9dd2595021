"""Answers as Telegram HTML messages: escaped text, numbered sources, quotes in blockquotes.

Every piece of article text (titles, sites, quotes, URLs) and of the answer is escaped with
`html.escape`; the only markup is what this module writes. Long replies are split into
messages of at most `LIMIT` characters on paragraph boundaries; a paragraph that is itself
too long is cut between lines, sentences or words of its *raw* text, and each piece is
escaped and wrapped on its own, so no message ever ends inside a tag or an entity.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from bot.cli.render import (
    also_ran_line,
    earlier_citation,
    page_label,
    render_answer,
    scope_note,
)
from retrieval.answer.prompts import GREETING, quotes_shown
from retrieval.news.datelines import outlet, published_label
from retrieval.types import Answer, Citation

#: Telegram's limit on one message's text.
LIMIT = 4096
# Bounds that keep a source line (escaping may grow text 5x) far below LIMIT.
_TITLE_MAX = 200
_SITE_MAX = 100
_URL_MAX = 2000
_BREAKS = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?])\s+"))
_SURROGATES = re.compile("[\ud800-\udfff]")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def sendable(text: str) -> str:
    """`text` without lone surrogates (a model's reply may hold them; UTF-8 cannot)."""
    return _SURROGATES.sub("\ufffd", text)


def escape_within(text: str, room: int) -> str:
    """`text` escaped for HTML and cut at a character (adding "…") to fit `room` characters."""
    text = sendable(text)
    escaped = html.escape(text, quote=False)
    if len(escaped) <= room:
        return escaped
    kept, used = [], 1
    for char in text:
        piece = html.escape(char, quote=False)
        if used + len(piece) > room:
            break
        kept.append(piece)
        used += len(piece)
    return "".join(kept) + "…"


@dataclass(frozen=True, slots=True)
class Block:
    """One paragraph of a reply: raw text, escaped and wrapped in `open`...`close` tags.

    `glue` joins it to the block before it when both land in one message.
    """

    text: str
    open: str = ""
    close: str = ""
    glue: str = "\n\n"
    escape: bool = True
    whole: bool = False  # pre-rendered markup of bounded length: never cut

    def render(self, text: str | None = None) -> str:
        """The block's markup, for its own text or for a piece of it."""
        body = self.text if text is None else text
        return self.open + (html.escape(body, quote=False) if self.escape else body) + self.close


def source_line(c: Citation) -> str:
    """`[n] <a href=url>Title</a> — Site, 2026-03-19` as escaped HTML ("no date" if unknown),
    with `, p. 3` for a quote of a PDF."""
    a = c.article
    title = " ".join(a.title.split()) or "Untitled"
    if len(title) > _TITLE_MAX:
        title = title[: _TITLE_MAX - 1] + "…"
    shown = f"<b>{html.escape(title, quote=False)}</b>"
    if a.url and is_web_url(a.url):
        shown = f'<a href="{html.escape(a.url, quote=True)}">{html.escape(title, quote=False)}</a>'
    site = html.escape(outlet(a)[:_SITE_MAX], quote=False)
    return f"[{c.n}] {shown} — {site}, {published_label(a)}{page_label(c)}"


def is_web_url(url: str, max_escaped: int = _URL_MAX) -> bool:
    """True for an http(s) URL short enough (escaped) to be a link."""
    parts = urlsplit(url)
    fits = len(html.escape(url, quote=True)) <= max_escaped
    return parts.scheme in ("http", "https") and bool(parts.netloc) and fits


def _with_help(answer: Answer) -> Answer:
    """A greeting says where the commands are."""
    if answer.text != GREETING:
        return answer
    return replace(answer, text=f"{answer.text} Send /help to see what I can do.")


def answer_blocks(answer: Answer) -> list[Block]:
    """The answer's paragraphs, then each source line followed by its quote."""
    answer = _with_help(answer)
    text = sendable(answer.text).strip()
    blocks = [Block(p) for p in re.split(r"\n\s*\n", text) if p.strip()]
    if not blocks:
        blocks = [Block("(empty answer)")]
    if answer.notice:  # how it was answered, first: "LLM unreachable: answered from..."
        blocks.insert(0, Block(sendable(answer.notice), "<i>", "</i>"))
    note = scope_note(answer)
    if note:
        blocks.append(Block(sendable(note), "<i>", "</i>", glue="\n"))
    if answer.found and answer.citations:
        blocks.append(Block("Sources:", "<b>", "</b>"))
        for c in answer.citations:
            first = earlier_citation(answer, c)
            if first is not None:
                line = f"[{c.n}] <i>the same article as [{first}]{page_label(c)}</i>"
                blocks.append(Block(line, escape=False, whole=True))
            else:
                blocks.append(Block(sendable(source_line(c)), escape=False, whole=True))
                if c.also_ran:
                    also = sendable(also_ran_line(c.also_ran))
                    blocks.append(Block(also, "<i>", "</i>", glue="\n"))
            if quotes_shown(answer, c):
                continue  # the answer's text already quotes it
            quote = sendable(c.quote).strip() or "…"
            blocks.append(Block(quote, "<blockquote expandable>", "</blockquote>", glue="\n"))
    return blocks


def render_html(answer: Answer, limit: int = LIMIT) -> list[str]:
    """The answer as one or more HTML messages, each at most `limit` characters."""
    return pack(answer_blocks(answer), limit)


def render_plain(answer: Answer, limit: int = LIMIT) -> list[str]:
    """The same answer as plain text (for when Telegram refuses the HTML)."""
    answer = _with_help(answer)
    text = render_answer(answer).strip() or "(empty answer)"
    return split_plain(f"{answer.notice}\n\n{text}" if answer.notice else text, limit)


def split_plain(text: str, limit: int = LIMIT) -> list[str]:
    """Split plain text into messages of at most `limit` characters on paragraph boundaries."""
    text = sendable(text)
    blocks = [Block(p, escape=False) for p in re.split(r"\n\s*\n", text) if p.strip()]
    return pack(blocks or [Block(text or " ", escape=False)], limit)


def pack(blocks: Iterable[Block], limit: int = LIMIT) -> list[str]:
    """Join blocks into as few messages as fit, cutting only blocks longer than `limit`."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        for piece in _fit(block, limit):
            joined = f"{current}{block.glue}{piece}" if current else piece
            if utf16_len(joined) <= limit:
                current = joined
            else:
                messages.append(current)
                current = piece
    if current:
        messages.append(current)
    return messages


def _fit(block: Block, limit: int) -> list[str]:
    """The block rendered whole, or cut into rendered pieces that each fit `limit`."""
    rendered = block.render()
    if block.whole or utf16_len(rendered) <= limit:
        return [rendered]
    room = limit - utf16_len(block.open) - utf16_len(block.close)
    # escaping can grow text up to 5x (& -> &amp;): cut the raw text by its escaped size
    cost: Callable[[str], int] = (
        (lambda t: utf16_len(html.escape(t, quote=False))) if block.escape else utf16_len
    )
    return [block.render(piece) for piece in _cut(block.text, room, cost)]


def _cut(text: str, room: int, cost: Callable[[str], int], level: int = 0) -> list[str]:
    """Cut raw text into pieces whose cost fits `room`, at the coarsest boundary that works."""
    if cost(text) <= room:
        return [text]
    if level >= len(_BREAKS):
        return _cut_words(text, room, cost)
    pieces: list[str] = []
    current = ""
    for part in _split_keep(text, _BREAKS[level]):
        candidate = current + part
        if cost(candidate) <= room:
            current = candidate
            continue
        if current.strip():
            pieces.append(current.strip())
        current = part
        if cost(current) > room:
            pieces += _cut(current.strip(), room, cost, level + 1)
            current = ""
    if current.strip():
        pieces.append(current.strip())
    return [p for p in pieces if p]


def _split_keep(text: str, pattern: re.Pattern[str]) -> list[str]:
    """Split after each separator, keeping it with the part before."""
    parts, start = [], 0
    for match in pattern.finditer(text):
        parts.append(text[start : match.end()])
        start = match.end()
    parts.append(text[start:])
    return [p for p in parts if p]


def _cut_words(text: str, room: int, cost: Callable[[str], int]) -> list[str]:
    """Last resort: cut between words, or inside a word longer than the room.

    Both costs (escaped length, UTF-16 length) add up character by character.
    """
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for char in text:
        width = cost(char)
        while used + width > room and current:
            chunk = "".join(current)
            cut = chunk.rfind(" ")
            keep, current = (chunk[:cut], list(chunk[cut + 1 :])) if cut > 0 else (chunk, [])
            pieces.append(keep)
            used = sum(cost(c) for c in current)
        current.append(char)
        used += width
    pieces.append("".join(current))
    return [p for p in pieces if p.strip()]
