"""moviecli template …: starting points for new projects."""

from __future__ import annotations

from pathlib import Path

import typer

from moviecli import render
from moviecli.cli.env import JsonOpt, LimitOpt, PageOpt, YesOpt, acting, confirm, env

app = typer.Typer(help="Project templates (project create --template NAME).", no_args_is_help=True)


@app.command("list")
def list_(page: PageOpt = 1, limit: LimitOpt = 20, json_out: JsonOpt = False) -> None:
    """List the templates."""
    from moviecli.models import TemplatePublic
    from moviecli.services import templates

    with acting() as (session, _):
        result = templates.list_templates(session, page=page, limit=limit).map(TemplatePublic.of)
    if json_out:
        render.print_json(result)
        return
    rows = [
        (
            t.name,
            t.genre,
            t.target_audience,
            t.episode_count,
            f"{t.project_settings.aspect_ratio}, {t.project_settings.episode_duration} min, "
            f"{t.project_settings.quality_tier}",
            "built-in" if t.builtin else "custom",
            t.description,
        )
        for t in result.items
    ]
    render.print_table(
        [
            render.Column("Name", no_wrap=True, key=True),
            render.Column("Genre", no_wrap=True, priority=3),
            render.Column("Audience", no_wrap=True, priority=2),
            render.Column("Episodes", justify="right", no_wrap=True, priority=2),
            render.Column("Settings", priority=1),
            render.Column("Kind", no_wrap=True, priority=1),
            render.Column("Description", min_width=20, priority=4),
        ],
        rows,
    )


@app.command("show")
def show(
    name: str = typer.Argument(..., metavar="NAME", help="Template name."),
    json_out: JsonOpt = False,
) -> None:
    """Show one template."""
    from moviecli.models import TemplatePublic
    from moviecli.services import templates

    with acting() as (session, _):
        t = TemplatePublic.of(templates.show_template(session, name))
    if json_out:
        render.print_json(t)
        return
    s = t.project_settings
    render.print_record(
        [
            ("name", t.name),
            ("description", t.description),
            ("genre", t.genre),
            ("targetAudience", t.target_audience),
            ("episodeCount", t.episode_count),
            ("aspectRatio", s.aspect_ratio),
            ("episodeDuration", s.episode_duration),
            ("qualityTier", s.quality_tier),
            ("kind", "built-in" if t.builtin else "custom"),
        ],
        title=t.name,
    )


@app.command("add")
def add(
    file: Path = typer.Argument(
        ...,
        metavar="FILE.toml",
        help="name, description, genre, targetAudience, episodeCount and [projectSettings].",
    ),
    json_out: JsonOpt = False,
) -> None:
    """Add a custom template from a TOML file (admin)."""
    from moviecli.models import TemplatePublic
    from moviecli.services import templates

    data = templates.read_template_file(file)
    with acting(write=True) as (session, actor):
        t = TemplatePublic.of(templates.add_template(session, actor, data))
    if json_out:
        render.print_json(t)
    else:
        render.say(f"Added template {t.name!r}", quiet=env.quiet)


@app.command("delete")
def delete(
    name: str = typer.Argument(..., metavar="NAME", help="Template name."), yes: YesOpt = False
) -> None:
    """Delete a custom template (admin; built-in ones stay)."""
    from moviecli.services import templates

    # Permission, existence and built-in are checked before asking for confirmation.
    with acting() as (session, actor):
        name = templates.deletable_template(session, actor, name).name
    confirm(f"Delete template {name!r}?", yes=yes)
    with acting(write=True) as (session, actor):
        t = templates.delete_template(session, actor, name)
    render.say(f"Deleted template {t.name!r}", quiet=env.quiet)
