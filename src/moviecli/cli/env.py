"""What every command shares: the global options and the way to the database.

Global options (``--db``, ``-q``) are set by the root callback; commands read them here.
Nothing here imports the database stack until a command asks for it.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from moviecli.errors import UsageError

if TYPE_CHECKING:
    from sqlmodel import Session

    from moviecli.models import User
    from moviecli.storage.db import Database


@dataclass
class Env:
    db_url: str | None = None
    quiet: bool = False

    def database(self) -> Database:
        from moviecli import config
        from moviecli.storage.db import database

        db = database(config.database_url(self.db_url))
        if not gc.isenabled():
            # Startup is over (moviecli.cli.main turned the collector off for it): what
            # exists now lives until exit, so it is frozen out of every later collection,
            # and the collector is back on for what the command itself makes.
            gc.freeze()
            gc.enable()
        return db


env = Env()

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON to stdout.")]
PageOpt = Annotated[int, typer.Option("--page", help="Page number, from 1.")]
LimitOpt = Annotated[int, typer.Option("--limit", help="Items per page (max 200).")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


@contextmanager
def acting(*, write: bool = False) -> Iterator[tuple[Session, User]]:
    """A transaction and the logged-in user (exit 4 when nobody is logged in)."""
    from moviecli.services import auth

    database = env.database()
    with database.write() if write else database.session() as session:
        yield session, auth.current_user(session)


def project_and(
    ctx: typer.Context, project: str | None, value: str | None
) -> tuple[str | None, str]:
    """The one rule for ``[PROJECT] VALUE`` arguments (``project status [PROJECT] NEW``,
    ``project collab add [PROJECT] USER``, …): given one argument, it is VALUE and the
    project is the current one (``services.projects.resolve_or_current`` decides which)."""
    if value is not None:
        return project, value
    if project is None:
        name = [p for p in ctx.command.params if p.param_type_name == "argument"][-1]
        ctx.fail(f"Missing argument '{name.metavar or name.name}'.")
    return None, project


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def read_secret_from_stdin() -> str:
    """The first line of stdin (for ``--password-stdin``)."""
    from moviecli.text import is_utf8

    line = sys.stdin.readline()
    value = line.rstrip("\r\n")
    if not value:
        raise UsageError("no password on stdin")
    if not is_utf8(value):
        raise UsageError("the password on stdin is not valid UTF-8 text")
    return value


def read_secrets_from_stdin(count: int, what: str) -> list[str]:
    """``count`` lines of stdin, none empty (a missing one is exit 2 saying ``what``)."""
    from moviecli.text import is_utf8

    values = [sys.stdin.readline().rstrip("\r\n") for _ in range(count)]
    if not all(values):
        raise UsageError(f"--password-stdin needs {what}")
    if not all(is_utf8(value) for value in values):
        raise UsageError("the password on stdin is not valid UTF-8 text")
    return values


# What is wrong with an answer (shown under the prompt, which asks again), or None.
Check = Callable[[str], str | None]


def _validator(check: Check | None) -> Callable[[str], bool | str]:
    return lambda text: True if check is None else (check(text) or True)


def ask_password(
    prompt: str,
    *,
    confirm: bool = False,
    flag: str = "--password-stdin",
    check: Check | None = None,
) -> str:
    """Prompt on a terminal; without one, the flag is required (exit 2 naming it).

    ``check`` is applied as the password is typed: Enter on a password that breaks a
    rule shows the rule and keeps asking."""
    if not stdin_is_terminal():
        raise UsageError(f"no password given (pass {flag})")
    import questionary

    while True:
        first = questionary.password(prompt, validate=_validator(check)).unsafe_ask()
        if not confirm:
            return str(first)
        second = questionary.password("Repeat it:").unsafe_ask()
        if first == second:
            return str(first)
        sys.stderr.write("The two passwords differ; try again.\n")


def ask_text(prompt: str, *, flag: str, default: str = "", check: Check | None = None) -> str:
    """Ask on a terminal (``check`` each answer: asked again until it passes); without
    a terminal the flag is required (exit 2 naming it)."""
    if not stdin_is_terminal():
        raise UsageError(f"no value given (pass {flag})")
    import questionary

    answer = questionary.text(prompt, default=default, validate=_validator(check)).unsafe_ask()
    return str(answer).strip()


def confirm(question: str, *, yes: bool) -> None:
    """Destructive commands: ask on a terminal unless --yes; require --yes otherwise.

    Declining is not a failure: "Nothing deleted." and exit 0.
    """
    if yes:
        return
    if not stdin_is_terminal():
        raise UsageError("refusing to continue without confirmation (pass --yes)")
    import questionary

    from moviecli.text import visible

    if not questionary.confirm(visible(question), default=False).unsafe_ask():
        sys.stdout.write("Nothing deleted.\n")
        raise typer.Exit(0)
