"""A progress display for long runs, shown only when stderr is a terminal."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


class TerminalProgress:
    """Count articles as they are stored; a context manager around a rich progress bar."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.completed} done"),
            TextColumn("[dim]{task.description}", markup=True),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task = self._progress.add_task("starting", total=None)

    def __enter__(self) -> TerminalProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def advance(self, label: str) -> None:
        """Count one more article and show its title."""
        self._progress.update(self._task, advance=1, description=_escape(label[:60]))


def _escape(text: str) -> str:
    return text.replace("[", r"\[")
