"""Carry the conversations of an older bot into the catalog, once.

Before the memory moved to the database, PTB's `PicklePersistence` kept each chat's turns
in `telegram-conversations.pickle` in the data directory: under `chat_data[chat]["turns"]`,
plain (question, answer, time) tuples. On start the bot imports them (with their times, so
they expire as they would have) and renames the file to `*.migrated`. The import records
the file's digest in the same transaction, so two replicas starting at once, or a restart
after a crash before the rename, import it once.

The file is read with an unpickler that builds only plain containers and numbers: a
pickle can name any class to run, and this one needs none.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import pickle
from pathlib import Path
from typing import Any

from retrieval.store.conversations import ConversationStore, StoredTurn

log = logging.getLogger(__name__)
#: PTB's file of the bot's memory, before it moved to the database.
PERSISTENCE_FILE = "telegram-conversations.pickle"
#: The `meta` key recording the digest of the file imported.
MARKER = "telegram conversations pickle imported"
_PLAIN = {("builtins", n) for n in ("dict", "list", "tuple", "set", "frozenset")}
_PLAIN.add(("collections", "defaultdict"))


def migrate_pickle(data_dir: Path, store: ConversationStore) -> int | None:
    """Import `data_dir`'s old conversation file, if there is one, and rename it; the
    number of turns imported (None: no file, or imported before)."""
    path = data_dir / PERSISTENCE_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        chats = chat_turns(_load(raw))
    except (pickle.UnpicklingError, ValueError, EOFError, TypeError, AttributeError) as exc:
        log.warning("cannot read the old conversation memory %s (%s); left as it is", path, exc)
        return None
    added = store.import_turns(chats, marker=MARKER, digest=hashlib.sha256(raw).hexdigest())
    with contextlib.suppress(FileNotFoundError):  # another replica renamed it first
        path.replace(path.with_name(path.name + ".migrated"))
    if added is not None:
        log.info("imported %d turns of %d chats from %s", added, len(chats), path.name)
    return added


def chat_turns(data: Any) -> dict[int, list[StoredTurn]]:
    """The turns in PTB's persistence data, by chat; anything else in it is left out."""
    found: dict[int, list[StoredTurn]] = {}
    chat_data = data.get("chat_data") if isinstance(data, dict) else None
    for chat_id, values in (chat_data or {}).items():
        turns = values.get("turns") if isinstance(values, dict) else None
        kept = [
            (t[0], t[1], float(t[2]))
            for t in turns or []
            if isinstance(t, tuple | list) and len(t) == 3 and _is_turn(t)
        ]
        if isinstance(chat_id, int) and kept:
            found[chat_id] = kept
    return found


def _is_turn(turn: tuple[Any, ...] | list[Any]) -> bool:
    question, answer, asked = turn
    return isinstance(question, str) and isinstance(answer, str) and isinstance(asked, int | float)


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _PLAIN:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected {module}.{name} in the file")

    def persistent_load(self, pid: Any) -> Any:
        return None  # PTB's stand-in for its Bot object: not needed here


def _load(raw: bytes) -> Any:
    return _PlainUnpickler(io.BytesIO(raw)).load()
