"""The command line: the root app and its commands, one line each.

A command is ``"name": "module:attribute"``, the attribute being a ``typer.Typer`` sub-app
(one per noun) or a command function; help lists them in this order. Nothing is imported
until the command line names a command (``cli/app.py``: LazyGroup), so adding one costs
the others nothing.
"""

from __future__ import annotations

import gc

from moviecli.cli.app import root_app

COMMANDS = {
    "init": "moviecli.cli.auth:init",
    "login": "moviecli.cli.auth:login",
    "logout": "moviecli.cli.auth:logout",
    "whoami": "moviecli.cli.auth:whoami",
    "apply": "moviecli.cli.apply_cmd:apply",
    "schema": "moviecli.cli.schema_cmd:schema",
    "chat": "moviecli.cli.chat:chat",
    "project": "moviecli.cli.projects:app",
    "story": "moviecli.cli.story:app",
    "media": "moviecli.cli.media:app",
    "template": "moviecli.cli.templates:app",
    "user": "moviecli.cli.users:app",
    "config": "moviecli.cli.config_cmd:app",
    "db": "moviecli.cli.db_cmd:app",
    "session": "moviecli.cli.sessions:app",
    "workflow": "moviecli.cli.workflow_cmd:app",
}

app = root_app(COMMANDS)


def main() -> None:
    # A command imports most of its code (sqlmodel, the models, its services) after it has
    # started, and those objects live until exit: scanning that growing heap again and
    # again is wasted work (about 10% of a command). The collector stays off until the
    # command opens the database (Env.database turns it back on).
    gc.disable()
    app()
