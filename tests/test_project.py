"""Project-level promises: the layering, the public surface, the settings file."""

from __future__ import annotations

import ast
from pathlib import Path

import ingest
import retrieval
from bot.settings import Settings, env_example, env_name
from tests.conftest import REPO_ROOT
from tests.demonym_data import rendered

ALLOWED = {
    "retrieval": {"retrieval"},
    "ingest": {"ingest", "retrieval"},
    "bot": {"bot", "retrieval", "ingest"},
}


def imported_packages(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (REPO_ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in ALLOWED:
                    found.add((str(path.relative_to(REPO_ROOT)), top))
    return found


def test_layers_import_only_downwards() -> None:
    for package, allowed in ALLOWED.items():
        bad = {(path, top) for path, top in imported_packages(package) if top not in allowed}
        assert not bad, f"{package} must not import {bad}"


def test_public_surface_is_declared() -> None:
    for module in (retrieval, ingest):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name} is exported but missing"


def test_env_example_lists_every_setting_and_is_current() -> None:
    text = (REPO_ROOT / ".env.example").read_text(encoding="utf-8")
    assert text == env_example(), "regenerate it: scripts/gen-env-example"
    for name in Settings.model_fields:
        assert f"# {env_name(name)}=" in text


def test_readme_opens_with_the_two_commands() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["./scripts/demo", "./scripts/test"]
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    # the README's test command, then a newcomer's install (fresh venv, its own pip)
    assert ci.splitlines()[-2:] == ["./scripts/test", "./scripts/check-install"]
    for script in ("demo", "test", "setup", "check-install"):
        assert (REPO_ROOT / "scripts" / script).stat().st_mode & 0o111
    assert Path(REPO_ROOT / "samples" / "articles").is_dir()


def test_the_shipped_demonyms_are_countryinfo_s() -> None:
    shipped = REPO_ROOT / "retrieval" / "store" / "demonyms.json"
    assert shipped.read_text(encoding="utf-8") == rendered(), "regenerate: scripts/gen-demonyms"


def test_only_the_front_ends_import_the_metrics_library() -> None:
    for package in ("retrieval", "ingest"):
        for path in (REPO_ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                else:
                    continue
                assert not any(n.split(".")[0] == "prometheus_client" for n in names), path
