"""moviecli apply: declarative setup of projects from a TOML file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from moviecli import render
from moviecli.cli.env import JsonOpt, acting, env

SYMBOL = {"create": "+", "update": "~", "remove": "-", "unchanged": "=", "kept": "·"}


def apply(
    file: Path = typer.Argument(..., metavar="FILE.toml", help="The projects to set up."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; write nothing."),
    json_out: JsonOpt = False,
) -> None:
    """Create or update projects, collaborators and media to match FILE.toml.

    Projects are matched by title among your own projects (case-insensitively), media
    by content (sha256) within each project. Collaborators and style references are
    set to exactly the file's lists; keys a table leaves out are not managed, and
    projects and media not in the file are kept. [project.story] changes are story
    revisions (none when equal); [project.progress] sets the workflow position, each
    completed step's requirements met. Chat sessions are never touched.

    Idempotent: re-running an unchanged file changes nothing and says so. The whole
    file is checked first: any problem applies nothing, and every problem is listed
    with its place (exit 2; exit 5 when the only problems are subscription limits).
    Each project is then committed whole (a project with media files in a
    transaction of its own, others in runs of up to 100), so an interrupted apply
    leaves whole projects and running it again finishes the job. The format:
    examples/space-heist/moviecli.toml, or what project export writes.
    """
    from moviecli.services.tomlfile import read_toml

    # Bounded and parsed before the database stack is even imported: a hostile file is
    # refused in the time of moviecli --help.
    data = read_toml(file)

    from moviecli.services import apply as service

    if not dry_run:
        service.recover(env.database())
    with acting() as (session, actor):
        plan = service.load(session, actor, file, data=data)
    if not dry_run and plan.changed:
        with render.progress(quiet=env.quiet, json_out=json_out) as progress:
            _apply(plan, actor, progress)
    if json_out:
        render.print_json(
            {
                "dryRun": dry_run,
                "changed": plan.changed,
                "projects": [_plan_json(p) for p in plan.projects]
                + [_kept_json(p) for p in plan.kept],
            }
        )
        return
    for p in plan.projects:
        render.say(f"{SYMBOL[p.action]} project {p.title!r}: {p.action}")
        for change in p.changes:
            render.say(_change_line("    ", change, p.action))
        for item in p.items:
            label = "not in file (kept)" if item.action == "kept" else item.action
            render.say(f"  {SYMBOL[item.action]} {item.kind} {item.name}: {label}")
            for change in item.changes:
                render.say(_change_line("      ", change, item.action))
    for kept in plan.kept:
        render.say(f"{SYMBOL['kept']} project {kept.title!r}: not in file (kept)")
    if not plan.changed:
        render.say("Nothing to change: the database already matches the file.")
    elif dry_run:
        render.say("Dry run: nothing was written.")
    else:
        render.note(
            f"Applied {sum(p.changed for p in plan.projects)} project(s).", quiet=env.quiet
        )


def _apply(plan: Any, actor: Any, progress: render.ProgressFn | None) -> None:
    """Embed, then apply each changed project, drawing progress when there is a display."""
    from moviecli.services import apply as service
    from moviecli.services.store import MediaStore

    db, store = env.database(), MediaStore.default()  # once for the whole file
    texts, records = service.embed_count(plan), service.files_count(plan)
    projects = sum(1 for p in plan.projects if p.changed)

    def tick(phase: str, total: int) -> Callable[[int], None] | None:
        return (lambda n: progress(phase, n, total)) if progress else None

    service.embed_plan(plan, progress=tick("embedding", texts) if texts else None)
    service.apply_plans(
        db,
        actor,
        plan.projects,
        store,
        progress=tick("media", records),
        applied=tick("projects", projects),
    )


def _change_line(indent: str, change: Any, action: str) -> str:
    if action == "create":
        return f"{indent}{change.field} = {change.new!r}"
    return f"{indent}{change.field}: {change.old!r} → {change.new!r}"


def _kept_json(project: Any) -> dict[str, Any]:
    return {
        "title": project.title,
        "action": "kept",
        "projectId": project.id,
        "changes": [],
        "items": [],
    }


def _plan_json(p: Any) -> dict[str, Any]:
    return {
        "title": p.title,
        "action": p.action,
        "projectId": p.project_id,
        "changes": render.jsonable(p.changes),
        "items": [
            {
                "kind": i.kind,
                "name": i.name,
                "action": i.action,
                "changes": render.jsonable(i.changes),
            }
            for i in p.items
        ],
    }
