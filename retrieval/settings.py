"""Retrieval's settings: the store's and the answering pipeline's.

Each package declares the settings of its own concern (`retrieval/store/settings.py`,
`retrieval/answer/settings.py`, `ingest/settings.py`, `bot/telegram/settings.py`); the
entry point assembles them into one object read from the environment (`bot/settings.py`)
and passes it down. Library code never reads ``os.environ``.
"""

from __future__ import annotations

from retrieval.answer.settings import AnswerSettings
from retrieval.store.settings import StoreSettings


class RetrievalSettings(StoreSettings, AnswerSettings):
    """What the index and the answering pipeline read."""
