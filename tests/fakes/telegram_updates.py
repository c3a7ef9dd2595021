"""Bot API objects as Telegram sends them, for the emulator: updates and the bot's messages.

`Updates` numbers updates and messages, remembers the chats it has seen (so a reply or a
button press in a chat carries that chat), and keeps uploaded files for `getFile`.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

BOT_USERNAME = "articlebot_test_bot"
BOT_USER = {"id": 999, "is_bot": True, "first_name": "Articlebot", "username": BOT_USERNAME}


class Updates:
    """Builds updates (private and group messages, mentions, replies, buttons, documents)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._lock = threading.Lock()

    def update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A new update (next update_id) of `kind` ("message", "callback_query"...)."""
        with self._lock:
            return {"update_id": next(self._update_ids), kind: payload}

    def message(
        self, chat: dict[str, Any], user_id: int, text: str | None, **extra: Any
    ) -> dict[str, Any]:
        """A user's message in `chat` (a "/..." text is a command)."""
        with self._lock:
            self._chats[chat["id"]] = chat
            message_id = next(self._message_ids)
        user = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        message: dict[str, Any] = {"message_id": message_id, "date": int(time.time())}
        message |= {"chat": chat, "from": user, **extra}
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                length = len(text.split()[0])
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return message

    def private(self, text: str, user_id: int = 42) -> dict[str, Any]:
        """A user writes to the bot in a private chat."""
        chat = {"id": user_id, "type": "private", "first_name": f"User{user_id}"}
        return self.update("message", self.message(chat, user_id, text))

    def group(self, text: str, chat_id: int, user_id: int, **extra: Any) -> dict[str, Any]:
        """A user writes in a group the bot is in."""
        chat = {"id": chat_id, "type": "supergroup", "title": "Test group"}
        return self.update("message", self.message(chat, user_id, text, **extra))

    def mention(self, question: str, chat_id: int, user_id: int) -> dict[str, Any]:
        """A group message that @mentions the bot."""
        text = f"@{BOT_USERNAME} {question}"
        entity = {"type": "mention", "offset": 0, "length": len(BOT_USERNAME) + 1}
        return self.group(text, chat_id, user_id, entities=[entity])

    def reply_to_bot(
        self, text: str, bot_message_id: int, chat_id: int, user_id: int
    ) -> dict[str, Any]:
        """A group message that replies to one of the bot's messages."""
        chat = self._chats.get(chat_id, {"id": chat_id, "type": "supergroup", "title": "G"})
        replied = {"message_id": bot_message_id, "date": int(time.time()), "chat": chat}
        replied |= {"from": BOT_USER, "text": "an earlier answer"}
        return self.group(text, chat_id, user_id, reply_to_message=replied)

    def callback_query(
        self, data: str, message_id: int, chat_id: int, user_id: int
    ) -> dict[str, Any]:
        """A user presses an inline button under the bot's message `message_id`."""
        chat = self._chats.get(chat_id, {"id": chat_id, "type": "private", "first_name": "U"})
        message = {"message_id": message_id, "date": int(time.time()), "chat": chat}
        message |= {"from": BOT_USER, "text": "..."}
        user = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        query = {"id": f"cq{time.monotonic_ns()}", "from": user, "chat_instance": "ci"}
        return self.update("callback_query", query | {"message": message, "data": data})

    def document(self, file_name: str, content: bytes, user_id: int) -> dict[str, Any]:
        """A user sends a file to the bot in a private chat (kept for `getFile`)."""
        with self._lock:
            file_id = f"file{len(self.files) + 1}"
            self.files[file_id] = content
        document: dict[str, Any] = {"file_id": file_id, "file_unique_id": f"u{file_id}"}
        document |= {"file_name": file_name, "file_size": len(content)}
        chat = {"id": user_id, "type": "private", "first_name": f"User{user_id}"}
        return self.update("message", self.message(chat, user_id, None, document=document))

    def bot_message(self, params: dict[str, Any], message_id: int | None) -> dict[str, Any]:
        """The Message object for what the bot sent (a new id unless editing `message_id`)."""
        chat_id = int(params["chat_id"])
        with self._lock:
            if message_id is None:
                message_id = 10_000 + next(self._message_ids)
            chat = self._chats.get(chat_id, {"id": chat_id, "type": "private", "first_name": "U"})
        message = {"message_id": message_id, "date": int(time.time()), "chat": chat}
        return message | {"from": BOT_USER, "text": params.get("text", "")}

    def file(self, file_id: str) -> dict[str, Any]:
        """The File object of an uploaded document."""
        size = len(self.files.get(file_id, b""))
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": size} | {
            "file_path": f"documents/{file_id}"
        }
