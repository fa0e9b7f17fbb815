"""The command line: one typer sub-app per noun, added to the root app here."""

from __future__ import annotations

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
    app()
