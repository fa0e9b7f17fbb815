"""Startup stays light (SPEC section 1): ``--help`` imports neither the database stack nor
the other heavy modules, and, with stdout not a terminal, not rich either.

Each check runs in a fresh interpreter, so what the test process itself imported does not
count. When it fails, find the import that pulls the module in with
``python -X importtime -m moviecli --help 2>&1 | grep -B30 MODULE`` and move it into the
function that needs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import moviecli
from tests import clitree

HEAVY = (
    "sqlmodel",
    "sqlalchemy",
    "pydantic",
    "alembic",
    "questionary",
    "httpx",
    "numpy",
    "onnxruntime",
    "PIL",
    "pymediainfo",
    # stdout is a pipe below, not a terminal: plain help, no rich.
    "rich",
)

# Runs the CLI the way the console script does, then reports what got imported.
PROBE = """
import json, sys
from moviecli.cli import app
try:
    app(args=sys.argv[2:], prog_name="moviecli")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOVIECLI_")}
    env["MOVIECLI_HOME"] = str(tmp_path / "home")
    env.pop("NO_COLOR", None)
    return env


def _imported_by(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, list[str]]:
    report = tmp_path / "modules.json"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**_env(tmp_path), **(env or {})},
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(report.read_text())
    return data["code"], proc.stdout, data["modules"]


def _heavy(modules: list[str]) -> list[str]:
    return sorted(m for m in modules if any(m == top or m.startswith(top + ".") for top in HEAVY))


def _top_level() -> list[str]:
    """Every command and group of the root app."""
    return sorted(name for name, _ in clitree.subcommands(clitree.root()))


def test_help_imports_no_heavy_module(tmp_path: Path) -> None:
    code, out, modules = _imported_by(tmp_path, "--help")
    assert code == 0
    assert out.startswith("Usage: moviecli")
    assert _heavy(modules) == []


@pytest.mark.parametrize("name", _top_level())
def test_command_help_imports_no_heavy_module(tmp_path: Path, name: str) -> None:
    code, out, modules = _imported_by(tmp_path, name, "--help")
    assert code == 0
    assert out.startswith(f"Usage: moviecli {name}")
    assert _heavy(modules) == []


def test_version(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "moviecli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"moviecli {moviecli.__version__}\n"
    assert proc.stderr == ""


def test_version_imports_no_heavy_module(tmp_path: Path) -> None:
    code, out, modules = _imported_by(tmp_path, "--version")
    assert (code, out) == (0, f"moviecli {moviecli.__version__}\n")
    assert _heavy(modules) == []


@pytest.mark.parametrize(
    "line",
    ["moviecli ", "moviecli pro", "moviecli project create X --genre ", "moviecli user prefs "],
)
def test_completion_imports_no_heavy_module(tmp_path: Path, line: str) -> None:
    words = line.split()
    cword = len(words) if line.endswith(" ") else len(words) - 1
    complete = {
        "_MOVIECLI_COMPLETE": "complete_bash",
        "COMP_WORDS": line,
        "COMP_CWORD": str(cword),
    }
    code, out, modules = _imported_by(tmp_path, env=complete)
    assert code == 0
    assert out.strip()  # something completes
    assert _heavy(modules) == []


def test_a_subcommand_help_imports_no_heavy_module(tmp_path: Path) -> None:
    code, out, modules = _imported_by(tmp_path, "project", "collab", "add", "--help")
    assert code == 0
    assert out.startswith("Usage: moviecli project collab add")
    assert _heavy(modules) == []
