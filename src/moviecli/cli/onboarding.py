"""What ``moviecli init`` offers on a terminal: a first project from a template, then the
guided chat on it, so that a new user goes from install to a working session at once.

Only ever called with a terminal on stdin and stdout; scripts get the next commands to run.
"""

from __future__ import annotations

import os
import shlex
import sys

from moviecli import render
from moviecli.cli.env import acting, env

NEXT_STEPS = (
    'Next: moviecli project create "My Series" --template sitcom, then moviecli chat "My Series"'
)


def offer_first_project() -> str | None:
    """Offer to create the logged-in user's first project; return its id when they also
    want to open the guided chat on it now. Nothing is offered to someone who already has
    a project."""
    import questionary

    from moviecli.services import projects, templates

    with acting() as (session, actor):
        if projects.list_projects(session, actor, mine=True, limit=1).total:
            return None
        choices = [
            questionary.Choice(title=render.visible(f"{t.name}: {t.description}"), value=t.name)
            for t in templates.list_templates(session, limit=200).items
        ]
    try:
        # auto_enter=False: "y" waits for its Enter, which would else leak into the next
        # prompt (and pick its first template).
        if not questionary.confirm(
            "Create your first project from a template now?", default=True, auto_enter=False
        ).unsafe_ask():
            render.note(NEXT_STEPS)
            return None
        template = questionary.select("Start from which template?", choices=choices).unsafe_ask()
        title = questionary.text(
            "Title of the series:",
            validate=lambda text: bool(text.strip()) or "a title is needed",
        ).unsafe_ask()
    except KeyboardInterrupt:
        # The setup itself is done; only the offer is declined.
        render.note(f"\n{NEXT_STEPS}")
        return None
    with acting(write=True) as (session, actor):
        fields = projects.Fields(title=str(title))
        record = projects.public(
            session, projects.create_project(session, actor, fields, template=str(template))
        )
    render.say(
        f"Created project {record.title!r} ({record.id[:8]}) from the {template} template: "
        f"{record.genre}, {record.episode_count} episodes, {record.target_audience}"
    )
    chat_now = questionary.confirm(
        "Open the guided chat on it now?", default=True, auto_enter=False
    ).unsafe_ask()
    if chat_now:
        return record.id
    render.note(f"Next: moviecli chat {shlex.quote(record.title)}")
    return None


def chat_command(project_id: str) -> list[str]:
    """The command line of the guided chat on a project, with this run's --db."""
    db = ["--db", env.db_url] if env.db_url else []
    return [sys.executable, "-m", "moviecli", *db, "chat", project_id]


def open_chat(project_id: str) -> None:
    """Become ``moviecli chat PROJECT``: the REPL starts as if the user had typed it."""
    sys.stdout.flush()
    sys.stderr.flush()
    argv = chat_command(project_id)
    os.execv(argv[0], argv)
