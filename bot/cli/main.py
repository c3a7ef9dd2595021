"""The `articlebot` command line: one group, one module per family of commands.

Settings are built here, once, from the environment, `.env` and the global options, and
passed down. Every `ArticlebotError` becomes one `Error: ...` line and exit status 1.
"""

from __future__ import annotations

import atexit
import functools
import gc
import importlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from bot.cli.errors import boundary
from bot.observability.logs import configure as configure_logs
from bot.observability.logs import set_request_id
from bot.settings import Settings, secret_values
from retrieval.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


def config_env_file() -> Path:
    """The per-user `.env`: `$XDG_CONFIG_HOME/articlebot/.env` (default `~/.config/...`).

    Read after `./.env` so that `articlebot` works from any directory once set up."""
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    config = Path(base) if base else Path.home() / ".config"
    return config / "articlebot" / ".env"


class AppContext:
    """What every command receives: the settings, built on first use."""

    def __init__(self, data_dir: Path | None, env_file: Path | None) -> None:
        self._data_dir = data_dir
        # Later files win: ./.env over the per-user one; the environment over both.
        self.env_files: tuple[Path, ...] = (
            (env_file,) if env_file else (config_env_file(), Path(".env"))
        )
        self._settings: Settings | None = None

    @property
    def looked_in(self) -> str:
        """Where settings are read from, most important first (for errors about them)."""
        files = ", ".join(str(f) if f.is_absolute() else f"./{f}" for f in self.env_files[::-1])
        return f"the environment, {files}"

    @property
    def settings(self) -> Settings:
        """Settings from the environment, `.env` and the command-line overrides."""
        if self._settings is None:
            overrides: dict[str, Any] = {}
            if self._data_dir is not None:
                overrides["data_dir"] = self._data_dir
            try:
                self._settings = Settings(_env_file=self.env_files, **overrides)  # type: ignore[call-arg]
            except ValidationError as exc:
                raise click.ClickException(_settings_error(exc, self.looked_in)) from None
            configure_logs(self._settings.log_format, secret_values(self._settings))
        return self._settings

    @property
    def built_settings(self) -> Settings | None:
        """The settings if a command built them (error messages name their paths)."""
        return self._settings


def _settings_error(exc: ValidationError, looked_in: str) -> str:
    first = exc.errors()[0]
    name = ".".join(str(part) for part in first["loc"]) or "settings"
    return f"invalid setting {name}: {first['msg']} (read from {looked_in}; see .env.example)"


def handle_errors(func: F) -> F:
    """Turn our exceptions, and expected OS and database failures, into one clean line and
    exit status 1 (`bot/cli/errors.py`). A missing or invalid setting also says where
    settings were looked for."""

    @functools.wraps(func)
    def with_where(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            app = click.get_current_context().find_object(AppContext)
            where = f" (settings read from {app.looked_in})" if app is not None else ""
            raise click.ClickException(f"{exc}{where}") from None

    return boundary(_built_settings)(with_where)  # type: ignore[return-value]


def _built_settings() -> Settings | None:
    ctx = click.get_current_context(silent=True)
    app = ctx.find_object(AppContext) if ctx is not None else None
    return app.built_settings if app is not None else None


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command runs.

    `articlebot ask` then never loads the ingest stack (trafilatura, feedparser...), which
    keeps its cold start short. SEE: https://click.palletsprojects.com/en/stable/complex/
    """

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self._lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._lazy:
            module_name, attr = self._lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attr)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)


COMMANDS = {
    "ingest": "bot.cli.index:ingest",
    "list": "bot.cli.index:list_articles",
    "remove": "bot.cli.index:remove",
    "stats": "bot.cli.index:stats",
    "ask": "bot.cli.ask:ask",
    "chat": "bot.cli.ask:chat",
    "eval": "bot.cli.eval:eval_command",
    "telegram": "bot.cli.telegram:telegram",
    "sources": "bot.cli.sync:sources",
    "watch": "bot.cli.sync:watch",
    "follow": "bot.cli.follow:follow",
}


@functools.cache
def _skip_final_collections() -> None:
    """Freeze the heap at exit (once per process): Python's last collections would walk
    every object the imports made, chromadb's alone ~0.2 s of each `articlebot ask`."""
    atexit.register(gc.freeze)


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="articlebot")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Index location (default: $ARTICLEBOT_DATA_DIR or your user data directory).",
)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Read settings from this file instead of ./.env and ~/.config/articlebot/.env.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (to stderr).")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None, env_file: Path | None, verbose: bool) -> None:
    """Ask questions about your news articles and get answers that cite them.

    \b
    Example usage:
        articlebot ingest samples/articles/
        articlebot stats
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx2 (the openai client's) logs every request URL at INFO: a base URL's password too.
    for noisy in ("httpx", "httpx2", "bm25s", "chromadb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _skip_final_collections()
    set_request_id()  # one id for this command's log lines
    ctx.obj = AppContext(data_dir, env_file)
