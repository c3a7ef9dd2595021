"""What the bot's handlers share: the services, the question limiter, conversation memory."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import ContextTypes

from retrieval.answer import Answerer, Turn
from retrieval.index import ArticleIndex
from retrieval.settings import Settings

_TURNS = "turns"


class QuestionLimiter:
    """At most `per_minute` questions per user in any sliding 60-second window."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._asked: dict[int, deque[float]] = {}

    def allow(self, user_id: int) -> bool:
        """Count one question by `user_id`; False when it is over the limit."""
        now = self._clock()
        asked = self._asked.setdefault(user_id, deque())
        while asked and now - asked[0] >= 60.0:
            asked.popleft()
        if len(asked) >= self.per_minute:
            return False
        asked.append(now)
        return True


@dataclass
class Services:
    """The collaborators every handler uses; kept in `bot_data["services"]`.

    allow_private_addresses lets /add fetch from private networks (tests only).
    """

    settings: Settings
    index: ArticleIndex
    answerer: Answerer
    limiter: QuestionLimiter
    allow_private_addresses: bool = False
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(
        cls, settings: Settings, index: ArticleIndex, answerer: Answerer, **extra: Any
    ) -> Services:
        """Services for `settings`, with a limiter set to its questions per minute."""
        limiter = QuestionLimiter(settings.telegram_questions_per_minute)
        return cls(settings, index, answerer, limiter, **extra)


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    """The services of the running application."""
    services = context.bot_data["services"]
    assert isinstance(services, Services)
    return services


def remembered(chat_data: MutableMapping[Any, Any], settings: Settings) -> list[Turn]:
    """This chat's recent turns, or none when it has been quiet too long."""
    turns: list[tuple[str, str, float]] = chat_data.get(_TURNS, [])
    if turns and time.time() - turns[-1][2] > settings.telegram_memory_minutes * 60:
        chat_data.pop(_TURNS, None)
        return []
    keep = settings.history_turns
    return [Turn(q, a) for q, a, _ in turns[-keep:]] if keep else []


def remember(
    chat_data: MutableMapping[Any, Any], settings: Settings, question: str, answer: str
) -> None:
    """Add one turn to this chat's memory (plain tuples: they pickle across versions)."""
    if not settings.history_turns:
        return
    turns = [*chat_data.get(_TURNS, []), (question, answer, time.time())]
    chat_data[_TURNS] = turns[-settings.history_turns :]


def forget(chat_data: MutableMapping[Any, Any]) -> bool:
    """Clear this chat's memory; True if there was something to forget."""
    return chat_data.pop(_TURNS, None) is not None
