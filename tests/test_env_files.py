"""Where settings come from: the environment, then ./.env, then the per-user config .env."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli.main import main


def run(env: dict[str, str | None], *args: str) -> Result:
    return CliRunner(env={"ARTICLEBOT_DATA_DIR": None, **env}).invoke(main, list(args))


def write_env(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("xdg", [True, False], ids=["XDG_CONFIG_HOME", "HOME/.config"])
def test_the_per_user_env_file_is_read_after_the_current_directory(
    tmp_path: Path, xdg: bool
) -> None:
    home = tmp_path / "home"
    if xdg:
        env: dict[str, str | None] = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HOME": str(home)}
        config = tmp_path / "xdg" / "articlebot" / ".env"
    else:
        env = {"XDG_CONFIG_HOME": None, "HOME": str(home)}
        config = home / ".config" / "articlebot" / ".env"
    write_env(config, f"ARTICLEBOT_DATA_DIR={tmp_path / 'from-config'}\n")
    # The index is missing, and the error names the data directory the settings chose.
    assert f"no index at {tmp_path / 'from-config'};" in run(env, "stats").stderr
    write_env(tmp_path / ".env", f"ARTICLEBOT_DATA_DIR={tmp_path / 'from-cwd'}\n")
    assert f"no index at {tmp_path / 'from-cwd'};" in run(env, "stats").stderr
    environ = {**env, "ARTICLEBOT_DATA_DIR": str(tmp_path / "from-environ")}
    assert f"no index at {tmp_path / 'from-environ'};" in run(environ, "stats").stderr
    # Missing settings say where they were looked for.
    missing = run(env, "telegram")
    assert missing.exit_code == 1
    assert missing.stderr.strip().endswith(
        f"(settings read from the environment, ./.env, {config})"
    )


def test_an_explicit_env_file_is_the_only_one_read(tmp_path: Path) -> None:
    write_env(tmp_path / "config" / "articlebot" / ".env", "ARTICLEBOT_CHUNK_SIZE=tiny\n")
    chosen = write_env(tmp_path / "bot.env", f"ARTICLEBOT_DATA_DIR={tmp_path / 'chosen'}\n")
    result = run({}, "--env-file", str(chosen), "stats")
    assert f"no index at {tmp_path / 'chosen'};" in result.stderr
    invalid = run({}, "stats")  # the per-user file of the test (conftest) has a bad value
    assert invalid.stderr.strip() == (
        "Error: invalid setting chunk_size: Input should be a valid integer, unable to parse"
        f" string as an integer (read from the environment, ./.env,"
        f" {tmp_path / 'config' / 'articlebot' / '.env'}; see .env.example)"
    )
