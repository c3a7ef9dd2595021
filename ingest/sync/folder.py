"""Sync a folder (or one file): new and changed files are ingested, deleted ones removed.

A file is compared by modification time and size with what the source saw last time, and
when those changed, by a hash of its bytes: only new or changed files are loaded (a file
merely touched or copied over with the same bytes is not). A
file that is gone has its articles removed from the index, unless another file of the
source still gives them or the run keeps deleted files (`--keep-deleted`). A folder that
is missing altogether is a failure, never "everything was deleted" (an unmounted disk).
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from ingest.sources import find_files, load_one
from ingest.sync.context import SourceRun
from retrieval.errors import SourceError
from retrieval.store.sources import Entry
from retrieval.types import Article


def sync_folder(run: SourceRun) -> None:
    """Scan the folder and store what changed; raise SourceError if it cannot be read."""
    root = Path(run.source.location)
    files = _files(root, run.source.kind == "folder")
    seen = run.store.entries(run.source.id)
    current: dict[str, Entry] = {}
    for key, path in files.items():
        stamp = _stat(path)
        if stamp is None:  # vanished while scanning: counted as deleted next run
            continue
        known = seen.get(key)
        if known is not None and known.fingerprint.rpartition(":")[0] == stamp:
            current[key] = known
            continue
        run.check()
        fingerprint = f"{stamp}:{_digest(path, run.settings.max_article_bytes)}"
        if known is not None and known.fingerprint.rpartition(":")[2] == _hash_of(fingerprint):
            # Touched or copied, same bytes: remember the new time, load nothing.
            current[key] = Entry(key, fingerprint, known.article_ids)
            run.add(current[key], [])
            continue
        articles = _load(run, path)
        if articles is None:
            if known is not None:
                current[key] = known  # a broken file keeps its old articles until fixed
            continue
        entry = Entry(key, fingerprint, tuple(a.id for a in articles))
        current[key] = entry
        run.add(entry, articles)
        if known is not None:
            _drop_replaced(run, known, entry, current)
    run.flush()
    gone = [entry for key, entry in seen.items() if key not in files]
    if gone:
        _deleted(run, gone, current)


def _files(root: Path, folder: bool) -> dict[str, Path]:
    """{key: path} of the supported files; SourceError if the folder or file is gone."""
    try:
        is_dir = root.is_dir()
        exists = is_dir or root.is_file()
    except OSError as exc:
        raise SourceError(str(root), (exc.strerror or str(exc)).lower()) from None
    if not exists:
        raise SourceError(str(root), "no such file or directory (files stay indexed)")
    if folder != is_dir:
        raise SourceError(str(root), "was a folder, now a file" if folder else "not a file now")
    if not is_dir:
        return {root.name: root}
    try:
        return {p.relative_to(root).as_posix(): p for p in sorted(find_files(root))}
    except OSError as exc:
        raise SourceError(str(root), (exc.strerror or str(exc)).lower()) from None


def _stat(path: Path) -> str | None:
    """ "mtime:size" of a file (None if it is gone): what is compared first, for free."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return f"{info.st_mtime_ns}:{info.st_size}"


def _digest(path: Path, max_bytes: int) -> str:
    """sha256 of the file's bytes ("" when too large or unreadable: the load says why)."""
    digest = hashlib.sha256()
    try:  # opened without blocking: a FIFO named like an article must not hang the sync
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(fd, "rb") as handle:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
                return ""
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()


def _hash_of(fingerprint: str) -> str | None:
    """The content hash part of a fingerprint, if it has one."""
    found = fingerprint.rpartition(":")[2]
    return found or None


def _load(run: SourceRun, path: Path) -> list[Article] | None:
    """A file's articles; None (its errors counted) if it could not be read."""
    articles: list[Article] = []
    failed = False
    with run.stop.cancellable():
        for item in load_one(str(path), run.settings, run.fetcher, run.extractor):
            if isinstance(item, SourceError):
                run.report.ingest.fail(item)
                failed = True
            else:
                articles.append(item)
    return None if failed and not articles else articles


def _drop_replaced(run: SourceRun, old: Entry, new: Entry, current: dict[str, Entry]) -> None:
    """A changed file that no longer gives some article (a record gone from a JSONL file):
    remove that article, like a deleted file's."""
    kept = {i for e in current.values() for i in e.article_ids}
    stale = [i for i in old.article_ids if i not in new.article_ids and i not in kept]
    if stale and not run.keep_deleted:
        run.flush()  # the new entry is remembered before the old articles go
        _remove(run, stale)


def _deleted(run: SourceRun, gone: list[Entry], current: dict[str, Entry]) -> None:
    """Files deleted from the folder: remove their articles, then forget them."""
    if run.keep_deleted:
        run.report.kept_deleted += len(gone)
        return
    kept = {i for e in current.values() for i in e.article_ids}
    for entry in gone:
        run.check()
        _remove(run, [i for i in entry.article_ids if i not in kept])
        run.store.forget_entries(run.source.id, [entry.key])


def _remove(run: SourceRun, article_ids: list[str]) -> None:
    for article_id in article_ids:
        if run.index.catalog.get(article_id) is None:
            continue  # already removed (by hand, or by a run a crash interrupted)
        run.index.remove(article_id)
        run.report.removed.append(article_id)
        if run.progress is not None:
            run.progress.advance(f"removed: {article_id}")
