"""PDF and Word uploads by an admin: the real PTB `Application` against the Bot API emulator.

The uploaded report is then asked about in the same chat, and the answer cites its page.
"""

from __future__ import annotations

from pathlib import Path

from bot.telegram.admin import ADMINS_ONLY
from tests import test_telegram as telegram_tests
from tests.fakes import documents as make
from tests.fakes import telegram_server as fake_telegram
from tests.fakes.harness import running
from tests.fakes.telegram_server import FakeTelegramServer
from tests.test_documents import DOCX_PARAGRAPHS, REPORT_TITLE, report_pdf
from tests.test_telegram import bot_settings, make_app, reply_to

# the fixtures, used by name below
telegram_server = fake_telegram.telegram_server
empty_index = telegram_tests.empty_index


async def test_admin_uploads_pdf_and_docx_and_bad_files_get_one_line(
    tmp_path: Path, telegram_server: FakeTelegramServer, empty_index: telegram_tests.ArticleIndex
) -> None:
    settings = bot_settings(tmp_path, telegram_server, admin_user_ids="42")
    docx = make.make_docx(DOCX_PARAGRAPHS, title="Library keeps Sunday hours")
    uploads = [
        ("annual-report.pdf", report_pdf(), f"Added: {REPORT_TITLE}"),
        ("library.docx", docx, "Added: Library keeps Sunday hours"),
        ("scan.pdf", make.scanned_pdf(), "Failed: PDF has no text layer (scanned?); OCR it first"),
        (
            "locked.pdf",
            make.make_pdf([["Secret text of a locked file."]], user_password="pw"),
            "Failed: encrypted PDF (password-protected); save an unlocked copy",
        ),
        ("bomb.docx", make.docx_zip_bomb(), "Failed: unpacks to 200,000,792 bytes"),
    ]
    async with running(make_app(settings, empty_index)):
        for n, (name, content, expected) in enumerate(uploads, start=1):
            telegram_server.document(name, content)
            reply = (await reply_to(telegram_server, 42, n))[-1]
            assert reply.startswith(expected), reply
        telegram_server.document("report.pdf", report_pdf(), user_id=77)  # not an admin
        assert await reply_to(telegram_server, 77) == [ADMINS_ONLY]

        telegram_server.private_message("When will the new ferry terminal at Gull Quay open?")
        answer = (await reply_to(telegram_server, 42, len(uploads) + 1))[-1]
        assert "12 June" in answer and f"{REPORT_TITLE}</b> — " in answer
        assert ", p. 2" in answer and "\f" not in answer

        telegram_server.private_message("/help")
        help_text = (await reply_to(telegram_server, 42, len(uploads) + 2))[-1]
        assert ".pdf or .docx file" in help_text
    titles = {stored.article.title for stored in empty_index.articles()}
    assert titles == {REPORT_TITLE, "Library keeps Sunday hours"}
    ids = {stored.article.id for stored in empty_index.articles()}
    assert ids == {"telegram-upload:annual-report.pdf", "telegram-upload:library.docx"}


async def test_help_for_members_does_not_offer_uploads(
    tmp_path: Path, telegram_server: FakeTelegramServer, empty_index: telegram_tests.ArticleIndex
) -> None:
    settings = bot_settings(tmp_path, telegram_server, admin_user_ids="42")
    async with running(make_app(settings, empty_index)):
        telegram_server.private_message("/help", user_id=77)
        [text] = await reply_to(telegram_server, 77)
    assert "/timeline" in text and ".pdf" not in text
