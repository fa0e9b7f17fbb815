"""Reading an apply file: a regular file of at most 10 MiB of UTF-8, its nesting and its
keys bounded before tomllib sees it (services/tomlfile.py), then TOML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from moviecli.services.tomlfile import read_toml


def read_file(path: Path) -> dict[str, Any]:
    return read_toml(path)
