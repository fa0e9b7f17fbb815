"""The command tree as click sees it: the lazy root's list_commands / get_command, the way
help and shell completion walk it (``root.commands`` holds only what has been loaded)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def root() -> Any:
    import typer.main

    from moviecli.cli import app

    return typer.main.get_command(app)


def subcommands(group: Any) -> Iterator[tuple[str, Any]]:
    import typer

    ctx = typer.Context(group, info_name=group.name)
    for name in group.list_commands(ctx):
        yield name, group.get_command(ctx, name)


def walk(command: Any, path: list[str] | None = None) -> Iterator[tuple[list[str], Any]]:
    """Every command (not group) under ``command``, with its path of names."""
    path = path or []
    if hasattr(command, "list_commands"):
        for name, sub in subcommands(command):
            yield from walk(sub, [*path, name])
    else:
        yield path, command
