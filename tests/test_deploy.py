"""The files of deploy/ stay true to the code, checked without a container engine.

Every `articlebot` command line the compose file runs parses with the real CLI, every
variable it sets is a setting articlebot reads, the ports agree between the compose file,
nginx and the image, and the image installs the pinned packages and runs as non-root.
The probe and the smoke script the image runs are run here too.
"""

from __future__ import annotations

import http.server
import importlib.util
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner

from bot.cli.main import main
from bot.settings import Settings, env_name
from tests.conftest import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
SETTINGS = {env_name(name) for name in Settings.model_fields}
#: Variables of the services that are not articlebot: the Chroma server's telemetry switch
#: and the PostgreSQL image's own.
OTHER_PROGRAMS = {"ANONYMIZED_TELEMETRY", "POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD"}
INTERPOLATION = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::?[-?][^}]*)?\}")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text("utf-8"))
    return loaded


def interpolate(value: str) -> str:
    """A compose value with every ${VAR...} replaced by a plausible value."""
    return INTERPOLATION.sub("https://bot.example.com/tg", value)


def articlebot_services() -> dict[str, dict[str, Any]]:
    """The services that run the `articlebot` entry point of our image."""
    return {
        name: service
        for name, service in compose()["services"].items()
        if "ARTICLEBOT_IMAGE" in service["image"] and "entrypoint" not in service
    }


def parse(args: list[str]) -> click.Context:
    """Parse an `articlebot` command line as the CLI would, without running it."""
    command: click.Command = main
    context = click.Context(main, info_name="articlebot")
    while isinstance(command, click.Group):
        name, sub, args = command.resolve_command(context, args)  # UsageError if unknown
        assert name is not None and sub is not None
        command = sub
        if not isinstance(sub, click.Group):
            return sub.make_context(name, args, parent=context)
        context = click.Context(sub, info_name=name, parent=context)
    raise AssertionError("not a group")


def test_the_compose_file_runs_the_services_of_a_shared_deployment() -> None:
    services = compose()["services"]
    assert set(services) == {"db", "chroma", "bot", "watch", "ingest", "proxy"}
    assert [name for name, s in services.items() if "ports" in s] == ["proxy"]
    assert services["bot"]["deploy"] == {"mode": "replicated", "replicas": "${BOT_REPLICAS:-2}"}
    assert services["ingest"]["profiles"] == ["tools"]
    assert set(compose()["volumes"]) == {"pgdata", "chroma"}
    assert "pgdata:/var/lib/postgresql/data" in services["db"]["volumes"]
    for name in ("bot", "watch"):
        assert services[name]["healthcheck"]["test"] == ["CMD", "articlebot-probe", "/healthz"]
        assert services[name]["depends_on"]["db"]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", ["bot", "watch", "ingest"])
def test_every_articlebot_command_line_parses(service: str) -> None:
    command = [interpolate(str(arg)) for arg in articlebot_services()[service]["command"]]
    context = parse(command)
    assert context.command.name == command[0]
    # The command exists for the CLI's own help too.
    result = CliRunner().invoke(main, [command[0], "--help"])
    assert result.exit_code == 0, result.output


def test_a_wrong_flag_would_be_caught() -> None:
    with pytest.raises(click.NoSuchOption):
        parse(["telegram", "--webhook", "https://bot.example.com/tg"])
    with pytest.raises(click.UsageError):
        parse(["sources", "ad", "https://example.com/feed.xml"])
    assert parse(["sources", "add", "https://example.com/feed.xml"]).command.name == "add"


def test_the_one_shot_commands_the_compose_file_shows_parse() -> None:
    text = (DEPLOY / "compose.yaml").read_text("utf-8")
    shown = [c for c in re.findall(r"run --rm ingest ([^\n(]*)", text) if c.strip()]
    assert shown, "the compose file shows how to run a one-shot command"
    for line in shown:
        parse(line.split())


def test_every_variable_set_for_articlebot_is_a_setting() -> None:
    for name, service in articlebot_services().items():
        unknown = set(service["environment"]) - SETTINGS
        assert not unknown, f"{name} sets {unknown}, which articlebot does not read"
        assert service["env_file"] == ".env"
    for service in compose()["services"].values():
        assert set(service.get("environment", {})) <= SETTINGS | OTHER_PROGRAMS


def test_the_env_example_declares_every_compose_variable_and_no_secret() -> None:
    text = (DEPLOY / ".env.example").read_text("utf-8")
    declared = dict(re.findall(r"^#? ?([A-Z_][A-Z0-9_]*)=(.*)$", text, re.MULTILINE))
    used = set(INTERPOLATION.findall((DEPLOY / "compose.yaml").read_text("utf-8")))
    assert used <= set(declared), f"not in deploy/.env.example: {used - set(declared)}"
    assert set(declared) <= SETTINGS | used, set(declared) - SETTINGS - used
    for secret in ("TELEGRAM_BOT_TOKEN", "ARTICLEBOT_TELEGRAM_WEBHOOK_SECRET", "POSTGRES_PASSWORD"):
        assert declared[secret] == "", f"{secret} must be empty in the example"


def dockerfile_stages() -> list[str]:
    text = (DEPLOY / "Dockerfile").read_text("utf-8").replace("\\\n", " ")
    return re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]


def test_the_image_installs_the_pinned_packages_and_runs_as_non_root() -> None:
    build, runtime = dockerfile_stages()
    assert "pip install -c constraints.txt '.[postgres]'" in build
    assert "COPY pyproject.toml constraints.txt" in build
    users = re.findall(r"^USER (\S+)", runtime, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    assert re.search(r"^RUN articlebot-smoke$", runtime, re.MULTILINE)
    assert 'ENTRYPOINT ["articlebot"]' in runtime
    assert re.search(r'HEALTHCHECK .*CMD \["articlebot-probe", "/healthz"\]', runtime)
    for compiler in ("gcc", "build-essential", "python3-dev", "g++"):
        assert compiler not in runtime
    # The smoke run is after USER: it proves the models load as the user that runs them.
    assert runtime.index("USER ") < runtime.index("RUN articlebot-smoke")


def test_what_the_image_copies_is_in_the_build_context() -> None:
    """Every COPY source exists and passes .dockerignore's allow-list."""
    allowed = [
        line[1:].rstrip("/")
        for line in (REPO_ROOT / ".dockerignore").read_text("utf-8").splitlines()
        if line.startswith("!")
    ]
    sources = [
        source
        for stage in dockerfile_stages()
        for line in re.findall(r"^COPY (?!--from)(.+)$", stage, re.MULTILINE)
        for source in [w for w in line.split() if not w.startswith("--")][:-1]
    ]
    assert "deploy/smoke.sh" in sources
    for source in sources:
        assert (REPO_ROOT / source).exists(), source
        assert any(source == a or source.startswith(a + "/") for a in allowed), source


def test_the_ports_agree() -> None:
    services = compose()["services"]
    bot_command = [str(a) for a in services["bot"]["command"]]
    bot_port = bot_command[bot_command.index("--port") + 1]
    nginx = (DEPLOY / "nginx.conf").read_text("utf-8")
    assert re.search(rf"^\s*server bot:{bot_port}\b", nginx, re.MULTILINE)
    listen = re.search(r"^\s*listen (\d+);", nginx, re.MULTILINE)
    assert listen is not None
    assert services["proxy"]["ports"] == [f"${{PROXY_PORT:-8080}}:{listen.group(1)}"]
    runtime = dockerfile_stages()[1]
    monitor = services["bot"]["environment"]["ARTICLEBOT_MONITOR_PORT"]
    assert f"ARTICLEBOT_MONITOR_PORT={monitor}" in runtime
    assert f"EXPOSE {bot_port} {monitor}" in runtime


def test_the_postgres_stand_in_reads_what_compose_gives_the_official_image() -> None:
    """deploy/offline's PostgreSQL honours the db service's variables and healthcheck, and
    creates a UTF8 cluster (SQL_ASCII makes psycopg return bytes, which SQLAlchemy fails on)."""
    db = compose()["services"]["db"]
    entrypoint = (DEPLOY / "offline" / "postgres-entrypoint.sh").read_text("utf-8")
    for name in db["environment"]:
        assert f"${{{name}" in entrypoint, name
    assert "--encoding=UTF8" in entrypoint
    assert "/var/lib/postgresql/data" in entrypoint
    containerfile = (DEPLOY / "offline" / "postgres.Containerfile").read_text("utf-8")
    assert "postgresql-15" in containerfile  # brings pg_isready, the healthcheck's program
    assert db["healthcheck"]["test"][1] == "pg_isready"


def load_probe() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_probe", DEPLOY / "probe.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Status(http.server.BaseHTTPRequestHandler):
    """Answers /healthz 200 and every other path 503."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        status = 200 if self.path == "/healthz" else 503
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def status_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Status)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_probe_passes_on_2xx_only(
    status_server: int, capsys: pytest.CaptureFixture[str]
) -> None:
    probe = load_probe()
    base = f"http://127.0.0.1:{status_server}"
    assert probe.main(["probe", f"{base}/healthz"]) == 0
    assert probe.main(["probe", f"{base}/readyz"]) == 1
    assert capsys.readouterr().err == f"probe: {base}/readyz: HTTP 503\n"
    server = http.server.HTTPServer(("127.0.0.1", 0), Status)
    closed = server.server_address[1]
    server.server_close()
    assert probe.main(["probe", f"http://127.0.0.1:{closed}/healthz"]) == 1
    assert "Connection refused" in capsys.readouterr().err


def test_the_probe_reads_the_monitor_port(
    monkeypatch: pytest.MonkeyPatch, status_server: int
) -> None:
    probe = load_probe()
    monkeypatch.setenv("ARTICLEBOT_MONITOR_PORT", str(status_server))
    assert probe.probe_url("/readyz") == f"http://127.0.0.1:{status_server}/readyz"
    assert probe.main(["probe"]) == 0
    monkeypatch.delenv("ARTICLEBOT_MONITOR_PORT")
    assert probe.probe_url("/healthz") == "http://127.0.0.1:9464/healthz"


@pytest.mark.slow
def test_the_smoke_script_ingests_and_answers_offline(tmp_path: Path) -> None:
    """deploy/smoke.sh, as the image build runs it, against this checkout's articlebot."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "ARTICLEBOT_SMOKE_SAMPLES": str(REPO_ROOT / "samples" / "articles"),
        "TMPDIR": str(tmp_path),
        # The shared stores of a deployment must not be touched: the script unsets them.
        "CHROMA_HOST": "127.0.0.1",
        "CHROMA_PORT": "9",
        "ARTICLEBOT_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none",
    }
    result = subprocess.run(
        ["sh", str(DEPLOY / "smoke.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("smoke: ok")
    assert not list(tmp_path.glob("tmp.*")), "the throwaway data directory is removed"
