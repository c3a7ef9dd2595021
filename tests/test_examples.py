"""Every `articlebot …` example in `--help` and in the README's "Using it" runs as shown.

Each runs through the `articlebot` entry point from the repository root (the examples use
`samples/`), offline, with a temporary data directory; `articlebot telegram` as a process
of the installed command. Three things are substituted, because a test reaches nothing but
127.0.0.1: `https://example.com/` (and the private `http://intranet.local/`) is a local
HTTP server serving `story.html` and `feed.xml` (with `--allow-private`, which a loopback
address needs); `articlebot telegram` talks to the Bot API emulator (and is stopped with
SIGTERM once it runs); the webhook example's port is a free one. The bot token an example
does not set is in the per-user `.env`, as the README's setup step puts it. A `| jq ...`
after an example is not run.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli.main import COMMANDS, main
from tests.conftest import REPO_ROOT, SAMPLES_DIR
from tests.fakes.telegram_server import TOKEN, FakeTelegramServer

ARTICLEBOT = str(Path(sys.executable).parent / "articlebot")
#: Help examples run in this order in one data directory (ingest first, remove last).
ORDER = ["", "ingest", "list", "stats", "ask", "chat", "eval", "follow", "sources", "watch"]
ORDER += ["remove"]
ORDER += ["telegram"]
ASSIGNMENT = re.compile(r"[A-Z_][A-Z0-9_]*=.*")
STORY = """<!doctype html><html><head><title>Orley Green ferry returns</title>
<meta name="og:site_name" content="Example News"></head><body><article>
<h1>Orley Green ferry returns</h1>
<p>The Orley Green ferry returned to service on Monday after a winter of repairs to its hull,
the operator said, with six crossings a day to Brackenmouth.</p>
<p>Tickets cost the same as before the repairs, and the first crossing left at 7 a.m.</p>
</article></body></html>"""


def example_lines(text: str) -> list[str]:
    """The `articlebot` command lines of a text (backslash continuations joined)."""
    joined = re.sub(r"\\\n\s*", " ", text)
    found = []
    for line in joined.splitlines():
        words = line.strip().split()
        while words and ASSIGNMENT.fullmatch(words[0]):
            words = words[1:]
        if words and words[0] == "articlebot":
            found.append(line.strip())
    return found


def help_examples(command: str) -> list[str]:
    """The examples under "Example usage:" in `articlebot COMMAND --help`."""
    result = CliRunner().invoke(main, [*command.split(), "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    _, _, tail = result.stdout.partition("Example usage:")
    block = tail.split("\n\n")[0]
    return example_lines(block)


def readme_examples() -> list[str]:
    """The command lines of the README's "Using it" section."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Using it", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    return [line for block in blocks for line in example_lines(block)]


class Local:
    """The servers that stand in for the internet, and the environment the examples get."""

    def __init__(self, tmp: Path, site: str, telegram: FakeTelegramServer) -> None:
        self.site = site
        self.telegram = telegram
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("ARTICLEBOT_", "OPENAI_"))
        }
        self.env |= {
            "ARTICLEBOT_DATA_DIR": str(tmp / "data"),
            "XDG_CONFIG_HOME": str(tmp / "config"),
            "ARTICLEBOT_TELEGRAM_BASE_URL": telegram.base_url,
            "ARTICLEBOT_TELEGRAM_RATE_LIMIT": "false",
            "NO_PROXY": "127.0.0.1",
            "COLUMNS": "80",
        }
        self.env.pop("TELEGRAM_BOT_TOKEN", None)
        config = tmp / "config" / "articlebot"
        config.mkdir(parents=True)
        (config / ".env").write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\n", encoding="utf-8")

    def run(self, line: str) -> None:
        """Run one example line; fail with its output unless it exits 0."""
        local = line.replace("https://example.com/", self.site)
        local = local.replace("http://intranet.local/", self.site)  # a private host
        words = shlex.split(local, comments=True)
        if "|" in words:
            words = words[: words.index("|")]
        adding = words[1] == "ingest" or words[1:3] == ["sources", "add"]
        if local != line and adding and "--allow-private" not in words:
            # The stand-in for example.com is on 127.0.0.1, which the address guard refuses
            # unless the person typing the URL allows it.
            words.insert(3 if words[1] == "sources" else 2, "--allow-private")
        env = dict(self.env)
        while ASSIGNMENT.fullmatch(words[0]):
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        if "telegram" in words:
            words[0] = ARTICLEBOT
            return self._run_bot(line, words, env)
        # The entry point in this process (as the other CLI tests run it): a new process
        # per example would add a cold start to each of ~40 of them.
        done = CliRunner(env=env).invoke(main, words[1:], input="")
        assert done.exit_code == 0, f"{line}\n{done.output}"
        assert done.exception is None or isinstance(done.exception, SystemExit), line

    def _run_bot(self, line: str, words: list[str], env: dict[str, str]) -> None:
        """Start the bot, wait until it runs, stop it as a service manager would: exit 0."""
        self.telegram.token = env.get("TELEGRAM_BOT_TOKEN", TOKEN)
        if "--port" in words:
            words[words.index("--port") + 1] = str(free_port())
        running = "setWebhook" if "--webhook-url" in words else "deleteWebhook"
        before = len(self.telegram.calls_to(running))
        process = subprocess.Popen(
            words, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            assert process.stdout is not None
            started = process.stdout.readline()  # printed before it polls or serves
            assert started.startswith("Telegram bot @"), (line, started, process.stderr)
            deadline = time.monotonic() + 60
            while len(self.telegram.calls_to(running)) == before:  # its signal handlers are set
                assert process.poll() is None and time.monotonic() < deadline, line
                time.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        assert process.returncode == 0, f"{line}\n{out}\n{err}"
        assert "Traceback" not in err, line


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Local]:
    monkeypatch.chdir(REPO_ROOT)  # the examples name samples/
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    (site_dir / "story.html").write_text(STORY, encoding="utf-8")
    (site_dir / "feed.xml").write_bytes((SAMPLES_DIR / "articles" / "feed.xml").read_bytes())
    handler: Any = functools.partial(_QuietHandler, directory=str(site_dir))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    with FakeTelegramServer() as telegram:
        yield Local(tmp_path, f"http://127.0.0.1:{httpd.server_address[1]}/", telegram)
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_every_command_has_examples_and_they_are_found() -> None:
    assert sorted(c for c in ORDER if c) == sorted(COMMANDS)
    for command in ORDER:
        assert help_examples(command), f"articlebot {command} --help has no example"
    lines = readme_examples()
    assert lines[0].startswith("articlebot ingest samples/articles/   ")
    assert len(lines) >= 15


@pytest.mark.slow
@pytest.mark.timeout(900)  # some 40 commands, three of them evaluations
def test_examples_run_as_shown(tmp_path: Path, local: Local) -> None:
    """The help examples in one data directory, then the README's in a fresh one. An `eval`
    line shown in both runs once: it builds a throwaway index of its own."""
    evals: set[tuple[str, ...]] = set()
    for source, lines in [
        ("help", [line for command in ORDER for line in help_examples(command)]),
        ("README", readme_examples()),
    ]:
        local.env["ARTICLEBOT_DATA_DIR"] = str(tmp_path / source)
        for line in lines:
            words = tuple(shlex.split(line, comments=True))
            if words[:2] == ("articlebot", "eval"):
                if words in evals:
                    continue
                evals.add(words)
            local.run(line)
