"""The house rules: imports point one way, and no module of the core or the assistant grows too big."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO

# Each package may import the packages listed for it (and itself); nothing else of ours.
ALLOWED = {
    "kulturplan": set(),
    "ingest": {"kulturplan"},
    "assistant": {"kulturplan"},
    "ui": {"assistant", "kulturplan"},
    "evals": {"ui", "assistant", "ingest", "kulturplan"},
    "cli": {"evals", "ui", "assistant", "ingest", "kulturplan"},
}
MAX_LINES = 400
SIZE_CHECKED = ("kulturplan", "assistant", "ui")


def python_files(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def imported_packages(path: Path) -> set[str]:
    """Top-level names of every import in the file, at any depth (lazy imports count too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_down_the_layers(package):
    wrong = {
        str(path.relative_to(REPO)): sorted(found - ALLOWED[package] - {package})
        for path in python_files(package)
        if (found := imported_packages(path)) - ALLOWED[package] - {package}
    }
    assert not wrong, f"imports against the layering: {wrong}"


def test_the_check_catches_an_upward_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from assistant.engine import Assistant\n", encoding="utf-8")
    assert imported_packages(module) == {"assistant"}


@pytest.mark.parametrize("package", SIZE_CHECKED)
def test_modules_are_small_and_say_their_job(package):
    for path in python_files(package):
        source = path.read_text(encoding="utf-8")
        assert len(source.splitlines()) <= MAX_LINES, f"{path.relative_to(REPO)} has over {MAX_LINES} lines"
        assert ast.get_docstring(ast.parse(source)), f"{path.relative_to(REPO)} has no docstring saying its job"
