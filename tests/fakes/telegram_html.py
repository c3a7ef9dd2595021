"""A strict checker of the HTML subset Telegram's Bot API accepts (``parse_mode=HTML``).

Python's `html.parser` forgives almost anything; Telegram does not. This follows the Bot API
rules (SEE: https://core.telegram.org/bots/api#html-style), and is stricter where they are
vague, so what passes here also passes there:

* only the documented tags, with only their documented attributes, double-quoted;
* every tag closed, in order; no entity nested in one that may not contain it
  (blockquote in blockquote, anything but formatting in a link, anything in code/pre);
* every ``<``, ``>`` and ``&`` of the text escaped; only ``&lt; &gt; &amp; &quot;`` and
  numeric entities of real characters;
* links only to http(s) (and tg:) URLs;
* 1-4096 UTF-16 code units of visible text (the limit applies after entity parsing) and
  no more than 4096 of markup either (what our renderer promises), valid UTF-8.

`check_html(message)` raises `TelegramHTMLError` naming the first problem and returns the
visible text; `check_plain(message)` checks a message sent without a parse mode.
"""

from __future__ import annotations

import html
import re

LIMIT = 4096
_FORMATTING = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler"})
_TAGS = _FORMATTING | {"a", "code", "pre", "blockquote", "span", "tg-emoji"}
# What each tag may contain (formatting may contain anything but code/pre).
_MAY_CONTAIN = {
    "a": _FORMATTING | {"span"},
    "code": frozenset(),
    "pre": frozenset({"code"}),
    "blockquote": _FORMATTING | {"a", "code", "span", "tg-emoji"},
    "tg-emoji": frozenset(),
}
_TOKEN = re.compile(
    r"<(?P<close>/)?(?P<tag>[a-z][a-z-]*)(?P<attrs>(?:\s+[a-z-]+(?:=\"[^\"<>]*\")?)*)\s*>"
    r"|&(?P<entity>#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|quot);"
    r"|(?P<bare>[<>&])"
)
_ATTR = re.compile(r"([a-z-]+)(?:=\"([^\"]*)\")?")


class TelegramHTMLError(AssertionError):
    """The message would be refused by Telegram ("can't parse entities" or too long)."""


def utf16_len(text: str) -> int:
    """Length as Telegram counts it."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _fail(message: str, at: int, problem: str) -> TelegramHTMLError:
    return TelegramHTMLError(f"{problem} at {at}: {message[max(0, at - 30) : at + 30]!r}")


def _check_entity(message: str, at: int, entity: str) -> str:
    """The character an entity stands for; numeric ones must name a real character."""
    if not entity.startswith("#"):
        return html.unescape(f"&{entity};")
    code = int(entity[2:], 16) if entity[1] in "xX" else int(entity[1:])
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise _fail(message, at, f"entity &{entity}; is not a character")
    return chr(code)


def _check_attrs(message: str, at: int, tag: str, raw: str) -> None:
    attrs = dict(_ATTR.findall(raw))
    allowed = {
        "a": {"href"},
        "blockquote": {"expandable"},
        "span": {"class"},
        "code": {"class"},
        "tg-emoji": {"emoji-id"},
    }.get(tag, set())
    if not set(attrs) <= allowed:
        raise _fail(message, at, f"attribute(s) {sorted(set(attrs) - allowed)} on <{tag}>")
    if tag == "blockquote" and attrs.get("expandable"):
        raise _fail(message, at, "expandable takes no value")
    if tag == "span" and attrs.get("class") != "tg-spoiler":
        raise _fail(message, at, "<span> must be class=tg-spoiler")
    if tag == "a":
        href = html.unescape(attrs.get("href", ""))
        if not re.match(r"(https?|tg)://\S", href):
            raise _fail(message, at, f"href {href!r} is not an http(s) or tg URL")
        value = attrs["href"]
        for match in re.finditer(r"&", value):
            if not re.match(r"&(#[0-9]+|#x[0-9a-fA-F]+|lt|gt|amp|quot);", value[match.start() :]):
                raise _fail(message, at, "unescaped & in href")


def _open(message: str, at: int, tag: str, attrs: str, stack: list[str]) -> None:
    if tag not in _TAGS:
        raise _fail(message, at, f"unsupported tag <{tag}>")
    for outer in stack:
        allowed = _MAY_CONTAIN.get(outer)
        if allowed is not None and tag not in allowed:
            raise _fail(message, at, f"<{tag}> inside <{outer}>")
        if outer in _FORMATTING and tag in ("pre", "code"):
            raise _fail(message, at, f"<{tag}> inside formatting <{outer}>")
    _check_attrs(message, at, tag, attrs)
    stack.append(tag)


def check_html(message: str) -> str:
    """Raise `TelegramHTMLError` unless Telegram would accept `message`; return its text."""
    try:
        message.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise TelegramHTMLError(f"not valid UTF-8 (lone surrogate at {exc.start})") from None
    if utf16_len(message) > LIMIT:
        raise TelegramHTMLError(f"markup is {utf16_len(message)} > {LIMIT} UTF-16 units")
    stack: list[str] = []
    visible: list[str] = []
    cursor = 0
    for match in _TOKEN.finditer(message):
        visible.append(message[cursor : match.start()])
        cursor = match.end()
        at = match.start()
        if match["bare"]:
            raise _fail(message, at, f"unescaped {match['bare']!r}")
        if match["entity"]:
            visible.append(_check_entity(message, at, match["entity"]))
        elif match["close"]:
            if match["attrs"].strip() or not stack or stack.pop() != match["tag"]:
                raise _fail(message, at, f"unbalanced </{match['tag']}>")
        else:
            _open(message, at, match["tag"], match["attrs"], stack)
    visible.append(message[cursor:])
    if stack:
        raise TelegramHTMLError(f"unclosed tags {stack}")
    text = "".join(visible)
    return check_plain(text)


def check_plain(message: str) -> str:
    """Raise `TelegramHTMLError` unless a plain-text message is sendable; return it."""
    try:
        message.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise TelegramHTMLError(f"not valid UTF-8 (lone surrogate at {exc.start})") from None
    if not message.strip():
        raise TelegramHTMLError("message text is empty")
    if utf16_len(message) > LIMIT:
        raise TelegramHTMLError(f"text is {utf16_len(message)} > {LIMIT} UTF-16 units")
    return message
