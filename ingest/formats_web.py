"""HTML pages: decoding, main-text extraction with trafilatura, and HTML fragments to text.

trafilatura finds the article among the navigation and adverts; we then rebuild the text
from its element tree so that paragraphs stay separated by blank lines (its own text
output uses single newlines, which would merge paragraphs for the chunker).
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser
from typing import Any, Literal
from urllib.parse import urlsplit

import trafilatura
from trafilatura.settings import set_date_params

from ingest.clean import clean_inline, clean_text
from ingest.fetch import Fetched
from ingest.formats import Draft, Origin, canonical_url, finish_article, looks_binary
from retrieval.errors import SourceError
from retrieval.news.scope import domain_of
from retrieval.types import Article

# Below this many characters an "extraction" is navigation or an error page, not an article.
MIN_ARTICLE_CHARS = 100

WebKind = Literal["html", "feed", "text", "pdf", "docx"]
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_DOCUMENT_TYPES: dict[str, WebKind] = {
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    DOCX_TYPE: "docx",
}
# Content types that say nothing about a download: its suffix or its first bytes decide.
_VAGUE_TYPES = frozenset(
    {"", "application/octet-stream", "binary/octet-stream", "application/download",
     "application/x-download", "application/force-download"}
)  # fmt: skip
_SUFFIX_KINDS: dict[str, WebKind] = {".pdf": "pdf", ".docx": "docx"}
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml",
     "text/xml", "application/x-rss+xml"}
)  # fmt: skip
_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_HTML_SPACE_RE = re.compile(r"[ \t\r\n\f]+")
_FEED_ROOT_RE = re.compile(rb"<(?:rss|feed|rdf:RDF)[\s>]", re.I)
_HTML_ROOT_RE = re.compile(
    rb"\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)[\s>]",
    re.I | re.S,
)
_BREAKING_TAGS = ("lb", "p", "head", "quote", "list", "item", "table", "row")
_SNIFFABLE_TYPES = _HTML_TYPES | _FEED_TYPES | {"text/plain", "", "application/octet-stream"}


def web_kind(fetched: Fetched, source: str) -> WebKind:
    """Decide from Content-Type, and by sniffing when that is vague, what a download is.

    PDF and Word files are told by their content type, a body starting with "%PDF-", or,
    when the content type is vague (none, application/octet-stream), the URL's suffix.
    """
    content_type = fetched.content_type
    if content_type in _DOCUMENT_TYPES:
        return _DOCUMENT_TYPES[content_type]
    if fetched.body[:1024].lstrip().startswith(b"%PDF-"):
        return "pdf"  # whatever the label says: no page or feed starts like a PDF
    if content_type in _VAGUE_TYPES and (kind := _document_by_name(fetched.url, source)):
        return kind
    sniffable = content_type in _SNIFFABLE_TYPES or content_type.endswith("+xml")
    if not sniffable:
        raise SourceError(
            source,
            f"unsupported content type '{content_type}' "
            "(not an HTML page, RSS/Atom feed, PDF or Word file)",
        )
    if looks_binary(fetched.body[:8192]):
        raise SourceError(source, f"binary content ({content_type or 'no content type'}), not text")
    head = fetched.body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if _FEED_ROOT_RE.search(head) and not _HTML_ROOT_RE.match(head):
        return "feed"
    if content_type in _HTML_TYPES or _HTML_ROOT_RE.match(head):
        return "html"
    if content_type in _FEED_TYPES or content_type.endswith("+xml"):
        return "feed"  # feedparser will say what is wrong with it
    if content_type == "text/plain":
        return "text"
    raise SourceError(source, "neither an HTML page nor an RSS/Atom feed")


def _document_by_name(*urls: str) -> WebKind | None:
    """The document kind ("pdf", "docx") a URL's path ends in, if any."""
    for url in urls:
        try:
            path = urlsplit(url).path.lower()
        except ValueError:
            continue
        for suffix, kind in _SUFFIX_KINDS.items():
            if path.endswith(suffix):
                return kind
    return None


def decode_html(data: bytes, source: str, *, charset: str | None, strict: bool) -> str:
    """Decode HTML by BOM, then the given charset, then <meta charset>, then UTF-8.

    strict: fail on undecodable UTF-8 (local files) instead of falling back to cp1252 (web).
    """
    if looks_binary(data):
        raise SourceError(source, "binary file, not text")
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):  # fmt: skip
        if data.startswith(bom):
            return data.decode(codec, errors="replace").lstrip("\ufeff")
    match = _META_CHARSET_RE.search(data[:4096])
    for candidate in (charset, match.group(1).decode("ascii") if match else None):
        if candidate and _known_codec(candidate):
            try:
                return data.decode(candidate, errors="strict" if strict else "replace")
            except UnicodeDecodeError:
                reason = f"not valid {candidate}, the charset it declares (save it as UTF-8)"
                raise SourceError(source, reason) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if strict:
            reason = "not valid UTF-8 (save it as UTF-8, or declare its <meta charset>)"
            raise SourceError(source, reason) from None
        return data.decode("cp1252", errors="replace")


def decode_plain(data: bytes, charset: str | None) -> str:
    """Decode a downloaded text/plain body: its declared charset if known, else UTF-8."""
    codec = charset if charset and _known_codec(charset) else "utf-8"
    return data.decode(codec, errors="replace")


def _known_codec(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


def html_draft(html: str, source: str, *, fetched_url: str | None = None) -> Draft:
    """Extract the main text and metadata of a page; raise SourceError if there is none.

    A page may claim any canonical URL; for a fetched page it is used (as id and url) only
    if it is on the same site as the page, so one page cannot overwrite another site's.
    """
    document = trafilatura.bare_extraction(
        html,
        url=fetched_url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        date_extraction_params=set_date_params(False),
    )
    if document is None or isinstance(document, dict):
        raise SourceError(source, "no article text found")
    title = clean_inline(document.title)
    blocks = _body_blocks(document.body) if document.body is not None else []
    if blocks and clean_inline(blocks[0]) == title:
        blocks = blocks[1:]  # the headline repeated as the first paragraph
    text = clean_text("\n\n".join(blocks) if blocks else document.text or "")
    if len(text) < MIN_ARTICLE_CHARS:
        raise SourceError(source, f"no article text found (only {len(text)} characters)")
    url = canonical_url(document.url)
    if fetched_url and (url is None or domain_of(url) != domain_of(fetched_url)):
        url = fetched_url
    # trafilatura falls back to the host name; leave that to finish_article (and feed titles).
    declared_site = document.sitename
    if _is_host_name(declared_site, document.hostname, document.url, fetched_url):
        declared_site = None
    return Draft(
        text=text,
        title=title or None,
        url=url,
        site=declared_site,
        author=document.author,
        published=document.date,
    )


def _is_host_name(site: str | None, *hosts: str | None) -> bool:
    """Whether `site` is just one of these hosts or URLs' host (any port, with or without www)."""
    if not site:
        return False

    def bare(value: str) -> str:
        host = domain_of(value) if "://" in value else value.lower()
        return (host or "").removeprefix("www.").split(":", 1)[0]

    return any(host and bare(site) == bare(host) for host in hosts)


def parse_html(html: str, origin: Origin) -> Article:
    """A local HTML file (its own canonical URL, if any, is trusted as the article's URL)."""
    return finish_article(html_draft(html, origin.source), origin)


def _body_blocks(body: Any) -> list[str]:
    """trafilatura's XML body as paragraphs: lists one item a line, tables one row a line."""
    for element in body.iter(*_BREAKING_TAGS):  # nested blocks must not run together
        if element is not body:
            element.tail = "\n" + (element.tail or "")
    blocks: list[str] = []
    for element in body:
        if element.tag == "list":
            lines = ["- " + _text_of(item) for item in element.findall("item")]
        elif element.tag == "table":
            lines = [" | ".join(map(_text_of, row.iter("cell"))) for row in element.iter("row")]
        else:
            lines = [_text_of(element)]
        block = "\n".join(line for line in lines if line.strip(" -|"))
        if block.strip():
            blocks.append(block)
    return blocks


def _text_of(element: Any) -> str:
    return "".join(element.itertext()).strip()


class _FragmentText(HTMLParser):
    """Collects the visible text of an HTML fragment, with paragraph and line breaks."""

    BLOCKS = frozenset(
        {"p", "div", "section", "article", "aside", "blockquote", "pre", "figure", "figcaption",
         "header", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "dt", "dd",
         "table", "tr", "hr", "main"}
    )  # fmt: skip
    HIDDEN = frozenset(
        {"script", "style", "noscript", "template", "head", "title", "iframe", "object", "svg"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(_HTML_SPACE_RE.sub(" ", data))


def html_fragment_to_text(fragment: str) -> str:
    """Readable text of an HTML snippet (a feed entry's summary or content)."""
    parser = _FragmentText()
    parser.feed(fragment)
    parser.close()
    return clean_text("".join(parser.parts))
