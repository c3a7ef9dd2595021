"""Plain text and Markdown articles: optional metadata header, then readable plain text.

Markdown is reduced to the text a reader sees (no hashes, emphasis markers, link targets or
images) because chunks are quoted verbatim to users and matched against their questions.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import yaml

from ingest.formats import Draft, Origin, finish_article
from retrieval.errors import SourceError
from retrieval.types import Article

# Header / front-matter key -> Draft field.
_KEYS = {
    "title": "title",
    "site": "site",
    "published": "published",
    "date": "published",
    "author": "author",
    "url": "url",
    "id": "id",
}
_HEADER_LINE_RE = re.compile(r"([A-Za-z]+)[ \t]*:[ \t]*(.*)")

_FENCE_RE = re.compile(r"\s{0,3}(`{3,}|~{3,})")
_SETEXT_RE = re.compile(r"\s{0,3}(=+|-+)\s*")
_THEMATIC_RE = re.compile(r"\s{0,3}([-*_])(?:\s*\1){2,}\s*")
_ATX_RE = re.compile(r"\s{0,3}(#{1,6})(?:\s+(.*?))?(?:\s+#+)?\s*")
_REF_DEF_RE = re.compile(r"\s{0,3}\[[^\]]+\]:\s*\S+.*")
_TABLE_SEP_RE = re.compile(r"\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*")
_QUOTE_RE = re.compile(r"^\s{0,3}(?:>\s?)+")
_BULLET_RE = re.compile(r"^(\s*)[*+-]\s+")

_CODE_SPAN_RE = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)")
_ESCAPE_RE = re.compile(r"\\([!-/:-@\[-`{-~])")
_ESCAPED_RE = re.compile("[\ue000-\ue07f]")
_PARENS = r"\((?:[^()]|\([^()]*\))*\)"
_INLINE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"!\[[^\]]*\](?:" + _PARENS + r"|\[[^\]]*\])"), ""),  # images
    (re.compile(r"\[([^\]]*)\]" + _PARENS), r"\1"),  # [text](url)
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # [text][ref]
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1"),  # <https://autolink>
    (re.compile(r"<!--.*?-->"), ""),
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"), ""),  # inline HTML tags
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])"), r"\1"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),
)


def parse_txt(text: str, origin: Origin) -> Article:
    """A `.txt` article: optional `Key: value` header ended by a blank line, else line 1 = title."""
    fields, body = _split_header(text.replace("\r\n", "\n").replace("\r", "\n"))
    title = fields.pop("title", None)
    if title is None:
        title, _, body = body.lstrip().partition("\n")
    return finish_article(Draft(text=body, title=title, **fields), origin)


def _split_header(text: str) -> tuple[dict[str, str], str]:
    """Split off a header block of known `Key: value` lines; ({}, text) if there is none."""
    lines = text.lstrip("\ufeff").lstrip("\n").split("\n")
    fields: dict[str, str] = {}
    for index, line in enumerate(lines):
        if not line.strip():
            return fields, "\n".join(lines[index + 1 :])
        match = _HEADER_LINE_RE.fullmatch(line.strip())
        if not match or match.group(1).lower() not in _KEYS:
            break
        fields[_KEYS[match.group(1).lower()]] = match.group(2).strip()
    else:
        if fields:  # nothing but a header
            return fields, ""
    return {}, text


def parse_markdown(text: str, origin: Origin) -> Article:
    """A Markdown article: optional YAML front matter; title from it or the first `# heading`."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    fields, body = _split_front_matter(text, origin.source)
    lines, h1_index = markdown_lines(body)
    title = fields.pop("title", None)
    if h1_index is not None:
        h1 = lines[h1_index]
        first = all(not line.strip() for line in lines[:h1_index])
        if first and (title is None or " ".join(str(title).split()) == h1.strip()):
            title = h1
            del lines[h1_index]
    return finish_article(Draft(text="\n".join(lines), title=_as_str(title), **fields), origin)


def _split_front_matter(text: str, source: str) -> tuple[dict[str, Any], str]:
    """Parse a leading `---` YAML block (safe_load); keep only known scalar keys."""
    if not text.startswith("---\n"):
        return {}, text
    match = re.search(r"^(?:---|\.\.\.)[ \t]*$", text[4:], re.MULTILINE)
    if match is None:
        return {}, text
    block, body = text[4 : 4 + match.start()], text[4 + match.end() :]
    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" on line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid syntax"
        raise SourceError(source, f"invalid YAML front matter{where}: {problem}") from None
    if data is None:
        return {}, body
    if not isinstance(data, dict):
        raise SourceError(source, "YAML front matter is not a mapping of keys to values")
    fields: dict[str, Any] = {}
    for key, value in data.items():
        name = _KEYS.get(str(key).lower())
        # Only scalars: a crafted alias "bomb" must never be turned into a string.
        if name and isinstance(value, str | int | float | date) and not isinstance(value, bool):
            fields[name] = value if isinstance(value, date) else str(value)
    return fields, body


def _as_str(value: object) -> str | None:
    return None if value is None else str(value)


def markdown_lines(markdown: str) -> tuple[list[str], int | None]:
    """Markdown as plain-text lines, and the index of the first level-1 heading (if any)."""
    out: list[str] = []
    h1_index: int | None = None
    fence: re.Pattern[str] | None = None
    for line in markdown.split("\n"):
        if fence is not None:  # inside a code fence: verbatim until the closing fence
            if fence.fullmatch(line):
                fence, line = None, ""
            out.append(line)
            continue
        if match := _FENCE_RE.match(line):
            marker = match.group(1)
            fence = re.compile(rf"\s{{0,3}}{re.escape(marker[0])}{{{len(marker)},}}\s*")
            out.append("")
            continue
        prev_blank = not out or not out[-1].strip()
        if not prev_blank and _SETEXT_RE.fullmatch(line):
            if h1_index is None and line.strip().startswith("="):
                h1_index = len(out) - 1
            continue
        if match := _ATX_RE.fullmatch(line):
            if h1_index is None and len(match.group(1)) == 1:
                h1_index = len(out)
            out.append(inline_to_text(match.group(2) or ""))
            continue
        out.append(_block_line(line))
    return out, h1_index


def _block_line(line: str) -> str:
    """One non-heading line: drop rules, link definitions and table rulers; unwrap quotes."""
    if _THEMATIC_RE.fullmatch(line) or _REF_DEF_RE.fullmatch(line):
        return ""
    if "|" in line and _TABLE_SEP_RE.fullmatch(line):
        return ""
    line = _QUOTE_RE.sub("", line, count=1) if line.lstrip().startswith(">") else line
    line = _BULLET_RE.sub(r"\1- ", line, count=1)
    if line.strip().startswith("|"):
        line = line.strip().strip("|")
    return inline_to_text(line)


def inline_to_text(text: str) -> str:
    """Inline Markdown to text: links keep their text, images go, code spans stay verbatim."""
    pieces: list[str] = []
    position = 0
    for match in _CODE_SPAN_RE.finditer(text):
        pieces.append(_inline_plain(text[position : match.start()]))
        pieces.append(match.group(2).strip(" ") or match.group(2))
        position = match.end()
    pieces.append(_inline_plain(text[position:]))
    return "".join(pieces)


def _inline_plain(text: str) -> str:
    # Escaped punctuation is parked in the private use area so no rule below can touch it.
    text = _ESCAPE_RE.sub(lambda m: chr(0xE000 + ord(m.group(1))), text)
    for pattern, replacement in _INLINE_RULES:
        text = pattern.sub(replacement, text)
    return _ESCAPED_RE.sub(lambda m: chr(ord(m.group(0)) - 0xE000), text)
