"""The command line: one typer sub-app per noun, added to the root app here."""

from __future__ import annotations

import gc
import os
import sys

import typer

from moviecli.cli import (
    apply_cmd,
    auth,
    chat,
    config_cmd,
    db_cmd,
    media,
    projects,
    schema_cmd,
    sessions,
    templates,
    users,
    workflow_cmd,
)
from moviecli.cli.app import app

app.command("init")(auth.init)
app.command("login")(auth.login)
app.command("logout")(auth.logout)
app.command("whoami")(auth.whoami)
app.add_typer(projects.app, name="project")
app.add_typer(media.app, name="media")
app.add_typer(templates.app, name="template")
app.add_typer(users.app, name="user")
app.add_typer(config_cmd.app, name="config")
app.add_typer(db_cmd.app, name="db")
app.command("apply")(apply_cmd.apply)
app.command("schema")(schema_cmd.schema)
app.command("chat")(chat.chat)
app.add_typer(sessions.app, name="session")
app.add_typer(workflow_cmd.app, name="workflow")


def main() -> None:
    # A command imports most of its code (sqlmodel, the models, its services) after it has
    # started, and those objects live until exit: scanning that growing heap again and
    # again is wasted work (about 10% of a command). The collector stays off until the
    # command opens the database (Env.database turns it back on).
    gc.disable()
    if not os.environ.get("_MOVIECLI_COMPLETE"):
        _keep_only_the_named(app, sys.argv[1:])
    app()


def _keep_only_the_named(typer_app: typer.Typer, argv: list[str]) -> None:
    """Keep only the command or group named on the command line, for this process.

    typer builds the click command of every command of every group before it runs one
    (reading each function's signature and type hints): about 5% of a command, paid by
    every command for the whole tree. Help, shell completion and an unknown name still
    see everything at their level.
    """
    args = iter(argv)
    name = None
    for arg in args:
        if arg == "--db":
            next(args, None)  # its URL
        elif not arg.startswith("-"):
            name = arg
            break
    if name is None:
        return
    groups = [g for g in typer_app.registered_groups if g.name == name]
    commands = [c for c in typer_app.registered_commands if c.name == name]
    if not (groups or commands):
        return
    typer_app.registered_groups = groups
    typer_app.registered_commands = commands
    if groups and groups[0].typer_instance is not None:
        _keep_only_the_named(groups[0].typer_instance, list(args))
