"""Ingest from the chat, for admins: /add <url> and uploaded .txt/.md/.html/.pdf/.docx files.

URLs go through the ingest fetcher with the private-address guard on: only http(s), no
loopback, private, link-local or metadata addresses, size and time capped by settings.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from telegram import Message, Update
from telegram.ext import ContextTypes

from bot.telegram.services import Services, services_of
from ingest.pipeline import IngestReport, ingest_articles
from ingest.sources import load_sources
from retrieval.errors import SourceError
from retrieval.types import Article

USAGE_ADD = (
    "Usage: /add <url> of an article page, a feed, a PDF or a Word file, "
    "for example /add https://example.com/news/story.html"
)
ADMINS_ONLY = "Sorry, only the bot's admins can add articles."
DOCUMENT_TYPES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
ADMIN_HELP = (
    "As an admin you can /add &lt;url&gt; (an article page, a feed, a PDF or a Word file) "
    "or send me a .txt, .md, .html, .pdf or .docx file to add it."
)


def is_admin(services: Services, user_id: int | None) -> bool:
    """True for users in ARTICLEBOT_ADMIN_USER_IDS."""
    return user_id is not None and user_id in (services.settings.admin_user_ids or ())


async def add(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Fetch the article at a URL and add it to the index (admins only)."""
    message = update.effective_message
    if message is None:
        return
    services = services_of(context)
    if not is_admin(services, message.from_user.id if message.from_user else None):
        await message.reply_text(ADMINS_ONLY)
        return
    url = (context.args or [""])[0].strip()
    if len(context.args or []) != 1 or urlsplit(url).scheme not in ("http", "https"):
        await message.reply_text(USAGE_ADD)
        return
    report = await services.run(ingest_sources, services, [url], None)
    services.metrics.ingested(report, "add")
    await message.reply_text(describe(report, url))


async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Add an uploaded .txt/.md/.html/.pdf/.docx file to the index (admins only)."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    services = services_of(context)
    if not is_admin(services, message.from_user.id if message.from_user else None):
        await message.reply_text(ADMINS_ONLY)
        return
    name = _safe_name(message.document.file_name or "upload.txt")
    if not name.lower().endswith(DOCUMENT_TYPES):
        await message.reply_text(f"Failed: {name}: send a {', '.join(DOCUMENT_TYPES)} file.")
        return
    limit = services.settings.max_article_bytes
    if (message.document.file_size or 0) > limit:
        await message.reply_text(f"Failed: {name}: larger than {limit} bytes.")
        return
    content = await _download(message)
    report = await services.run(ingest_upload, services, name, content)
    services.metrics.ingested(report, "add")
    await message.reply_text(describe(report, name))


async def _download(message: Message) -> bytes:
    assert message.document is not None
    telegram_file = await message.document.get_file()
    return bytes(await telegram_file.download_as_bytearray())


def _safe_name(name: str) -> str:
    """A file name without directories or odd characters (it names a temp file)."""
    return re.sub(r"[^\w.\-]+", "_", Path(name).name).strip("._")[:100] or "upload.txt"


def ingest_upload(services: Services, name: str, content: bytes) -> IngestReport:
    """Write the upload to a temporary file, load it, store it under a stable id."""
    with tempfile.TemporaryDirectory(prefix="articlebot-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        return ingest_sources(services, [str(path)], f"telegram-upload:{name}")


def ingest_sources(services: Services, sources: list[str], upload_id: str | None) -> IngestReport:
    """Load and store the sources; an upload gets `upload_id` instead of its temp path."""
    settings = services.settings
    articles: list[Article] = []
    errors: list[SourceError] = []
    loaded = load_sources(
        sources, settings, allow_private_addresses=services.allow_private_addresses
    )
    for item in loaded:
        if isinstance(item, SourceError):
            errors.append(item)
        elif upload_id and item.id.startswith("file:"):
            articles.append(dataclasses.replace(item, id=upload_id, source=upload_id))
        else:
            articles.append(item)
    with services.write_lock:
        report = ingest_articles(articles, services.index, settings) if articles else IngestReport()
    for error in errors:
        report.fail(error)
    return report


def describe(report: IngestReport, source: str) -> str:
    """One line per article (added / updated / unchanged) and per failure, with the reason."""
    lines = [f"{item['status'].capitalize()}: {item['title']}" for item in report.articles]
    lines += [f"Failed: {error['reason']}" for error in report.errors]
    return "\n".join(lines) or f"Nothing found at {source}."
