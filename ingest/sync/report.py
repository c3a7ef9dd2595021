"""What one sync did to one source: the summary line and the `--json` object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ingest.pipeline import IngestReport

#: synced: fetched or scanned, changes stored; not modified: the server said 304;
#: failed: the source itself failed (backoff); stopped: a stop request or the source's
#: deadline ended the run early (what was done is kept, the rest waits for the next run).
Status = Literal["synced", "not modified", "failed", "stopped"]


@dataclass
class SourceReport:
    """One source's run."""

    source_id: int
    name: str
    kind: str
    location: str  # without credentials
    status: Status = "synced"
    ingest: IngestReport = field(default_factory=IngestReport)
    removed: list[str] = field(default_factory=list)  # ids of articles whose file was deleted
    kept_deleted: int = 0  # deleted files whose articles --keep-deleted kept
    error: str | None = None
    seconds: float = 0.0
    next_run: float | None = None

    @property
    def changed(self) -> bool:
        """True when the index changed (the BM25 index needs bringing up to date)."""
        i = self.ingest
        return bool(i.added or i.updated or i.resumed or self.removed)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `articlebot watch --once --json`, per source."""
        i = self.ingest
        return {
            "id": self.source_id,
            "name": self.name,
            "kind": self.kind,
            "location": self.location,
            "status": self.status,
            "added": i.added,
            "updated": i.updated,
            "unchanged": i.unchanged,
            "removed": len(self.removed),
            "kept_deleted": self.kept_deleted,
            "failed": i.failed,
            "chunks": i.chunks,
            "error": self.error,
            "errors": i.errors,
            "seconds": round(self.seconds, 3),
            "next_run": self.next_run,
        }

    def line(self) -> str:
        """One line for people: what changed, or why nothing did."""
        head = f"{self.kind:<6} {self.name}:"
        if self.status == "failed":
            return f"{head} failed: {self.error}"
        if self.status == "not modified":
            return f"{head} not modified ({self.seconds:.1f} s)"
        i = self.ingest
        parts = [f"{i.added} added", f"{i.updated} updated"]
        if self.removed:
            parts.append(f"{len(self.removed)} removed (files deleted)")
        if self.kept_deleted:
            parts.append(f"{self.kept_deleted} deleted files kept (--keep-deleted)")
        if i.failed:
            parts.append(f"{i.failed} failed")
        text = f"{head} {', '.join(parts)} ({self.seconds:.1f} s)"
        if self.status == "stopped":
            text += f"; stopped early: {self.error}"
        return text
