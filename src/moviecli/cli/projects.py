"""moviecli project …: create, list (the dashboard), show, update, status, collaborators."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from moviecli import render
from moviecli.cli.env import (
    JsonOpt,
    LimitOpt,
    PageOpt,
    YesOpt,
    acting,
    confirm,
    env,
    project_and,
)
from moviecli.enums import (
    ASPECT_RATIOS,
    AUDIENCE_RATINGS,
    AUDIENCES,
    GENRES,
    PROJECT_STATUSES,
    QUALITY_TIERS,
    completer,
)
from moviecli.errors import ValidationFailed

if TYPE_CHECKING:
    from moviecli.services.projects import EpisodeBoard, ProjectDetail, ProjectRow

app = typer.Typer(
    help="Projects: create, the dashboard, status, collaborators.", no_args_is_help=True
)
collab_app = typer.Typer(help="A project's collaborators.", no_args_is_help=True)
app.add_typer(collab_app, name="collab")
style_app = typer.Typer(help="A project's style references (images).", no_args_is_help=True)
app.add_typer(style_app, name="style")

ProjectArg = typer.Argument(
    None, metavar="PROJECT", help="Title, id or id prefix (default: your current project)."
)
# The dashboard names phases as the product does: concept → story → characters → …
PHASE_SHORT = {
    "initial_concept": "concept",
    "story_development": "story",
    "character_creation": "characters",
    "visual_design": "visuals",
    "audio_design": "audio",
    "scene_production": "scenes",
    "post_production": "post",
    "final_assembly": "assembly",
}
STATUS_STYLE = {
    "concept": "cyan",
    "pre-production": "blue",
    "production": "magenta",
    "post-production": "yellow",
    "completed": "green",
    "on-hold": "red",
}
GenreOpt = typer.Option(None, "--genre", help=", ".join(GENRES), autocompletion=completer(GENRES))
EpisodesOpt = typer.Option(None, "--episodes", help="Planned episodes, 1-50.")
AudienceOpt = typer.Option(
    None,
    "--audience",
    help="children (G), family (PG), teen (PG-13), adult (R).",
    autocompletion=completer(AUDIENCES),
)
DescriptionOpt = typer.Option(None, "--description", help="What the series is about.")
RatioOpt = typer.Option(
    None, "--aspect-ratio", help="16:9, 4:3 or 21:9.", autocompletion=completer(ASPECT_RATIOS)
)
DurationOpt = typer.Option(None, "--episode-duration", help="Minutes per episode, 1-180.")
QualityOpt = typer.Option(
    None, "--quality", help="draft, standard or premium.", autocompletion=completer(QUALITY_TIERS)
)


def _fields(**kwargs: Any) -> Any:
    from moviecli.services.projects import Fields

    return Fields(**kwargs)


def _short(identifier: str) -> str:
    return identifier[:8] if render.use_rich() else identifier


def _status(status: str) -> Any:
    if not render.use_rich():
        return status
    from rich.text import Text

    return Text(status, style=STATUS_STYLE.get(status, ""))


def _bar(percent: int) -> Any:
    if not render.use_rich():
        return f"{percent}%"
    from rich.text import Text

    # Drawn as rich's ProgressBar draws it (half cells, its theme colours), as one Text:
    # a nested table per row made up most of the time spent rendering the dashboard.
    width = 8
    full, half = divmod(round(percent * width * 2 / 100), 2)
    done = "bar.finished" if percent >= 100 else "bar.complete"
    return Text.assemble(
        ("━" * full + "╸" * half, done),
        ("━" * (width - full - half), "bar.back"),
        f" {percent:>3}%",
    )


@app.command("create")
def create(
    title: str = typer.Argument(..., metavar="TITLE", help="Project title (unique among yours)."),
    genre: str | None = GenreOpt,
    episode_count: int | None = EpisodesOpt,
    audience: str | None = AudienceOpt,
    description: str | None = DescriptionOpt,
    aspect_ratio: str | None = RatioOpt,
    episode_duration: int | None = DurationOpt,
    quality: str | None = QualityOpt,
    template: str | None = typer.Option(
        None, "--template", help="Start from a template (moviecli template list)."
    ),
    json_out: JsonOpt = False,
) -> None:
    """Create a project. --genre and --episodes are needed unless a template gives them."""
    from moviecli.services import projects

    fields = _fields(
        title=title,
        genre=genre,
        episode_count=episode_count,
        target_audience=audience,
        description=description,
        aspect_ratio=aspect_ratio,
        episode_duration=episode_duration,
        quality_tier=quality,
    )
    with acting(write=True) as (session, actor):
        project = projects.create_project(session, actor, fields, template=template)
        record = projects.public(session, project)
    if json_out:
        render.print_json(record)
        return
    render.say(
        f"Created project {record.title!r} ({record.id[:8]}): {record.genre}, "
        f"{record.episode_count} episodes, {record.target_audience}",
        quiet=env.quiet,
    )
    render.note(f"Next: moviecli chat {_quote(record.title)}", quiet=env.quiet)


def _quote(title: str) -> str:
    import shlex

    return shlex.quote(title)


@app.command("list")
def list_(
    status: str | None = typer.Option(
        None, "--status", help="Only this status.", autocompletion=completer(PROJECT_STATUSES)
    ),
    genre: str | None = typer.Option(
        None, "--genre", help="Only this genre.", autocompletion=completer(GENRES)
    ),
    mine: bool = typer.Option(False, "--mine", help="Only projects you created."),
    active: bool = typer.Option(False, "--active", help="Only your active projects."),
    sort: str = typer.Option(
        "updated",
        "--sort",
        help="updated, created, title or progress.",
        autocompletion=completer(("updated", "created", "title", "progress")),
    ),
    page: PageOpt = 1,
    limit: LimitOpt = 20,
    json_out: JsonOpt = False,
) -> None:
    """The dashboard: the projects you can see, with progress and episodes."""
    from moviecli.services import projects

    with acting() as (session, actor):
        result = projects.list_projects(
            session,
            actor,
            status=status,
            genre=genre,
            mine=mine,
            active=active,
            sort=sort,
            page=page,
            limit=limit,
        )
        current = actor.preferences.get("currentProject")
    if json_out:
        render.print_json(result.map(_row_json))
        return
    if not result.items and result.total == 0:
        render.say(
            'No projects yet. Create one: moviecli project create "My Series" --template sitcom'
        )
        return
    rows = [_row(r, current) for r in result.items]
    caption = render.page_caption(result.total, result.page, result.limit, "projects")
    if render.use_rich() and any(r.project.id == current for r in result.items):
        legend = "* your current project (moviecli project use)"
        caption = f"{caption}\n{legend}" if caption else legend
    columns = [
        render.Column("ID", no_wrap=True, key=True),
        render.Column("Title", key=True),
        render.Column("Genre", no_wrap=True, priority=2),
        render.Column("Status", no_wrap=True, priority=5),
        render.Column("Progress", no_wrap=True, priority=4),
        render.Column("Phase", no_wrap=True, priority=2),
        # final cuts / planned episodes
        render.Column("Episodes", justify="right", no_wrap=True, priority=3),
        render.Column("Team", justify="right", no_wrap=True, priority=1),
        render.Column("Updated", no_wrap=True, priority=1),
    ]
    render.print_table(columns, rows, caption=caption)


def _row_json(row: ProjectRow) -> dict[str, Any]:
    data: dict[str, Any] = render.jsonable(row.project)
    data["episodesFinal"] = row.episodes_final
    data["ownerName"] = row.owner
    return data


def _row(row: ProjectRow, current: str | None) -> list[Any]:
    p = row.project
    title: Any = p.title
    if render.use_rich():
        title = render.styled(p.title)  # whole: a long one wraps at words
        if p.id == current:
            title.append(" *", style="bold")
    return [
        _short(p.id),
        title,
        p.genre,
        _status(p.status),
        _bar(p.progress.overall_progress),
        PHASE_SHORT.get(p.progress.current_phase, p.progress.current_phase)
        if render.use_rich()
        else p.progress.current_phase,
        f"{row.episodes_final}/{p.episode_count}",
        len(p.collaborators),
        render.ago(p.updated_at) if render.use_rich() else p.updated_at,
    ]


@app.command("show")
def show(project: str | None = ProjectArg, json_out: JsonOpt = False) -> None:
    """Everything about a project: settings, story, phases, media, sessions, episodes."""
    from moviecli.services import projects

    with acting() as (session, actor):
        detail = projects.show(session, actor, project)
    if json_out:
        render.print_json(_detail_json(detail))
    else:
        _render_detail(detail)


def _detail_json(detail: ProjectDetail) -> dict[str, Any]:
    data: dict[str, Any] = render.jsonable(detail.project)
    data["owner"] = render.jsonable(detail.owner)
    data["collaboratorUsers"] = render.jsonable(detail.collaborators)
    data["phases"] = render.jsonable(detail.phases)
    data["mediaCounts"] = detail.media_counts
    data["sessions"] = render.jsonable(detail.sessions)
    data["episodeBoard"] = render.jsonable(detail.episodes)
    return data


SIDE_BY_SIDE = 110  # narrower terminals show the phases above the media counts
PHASE_MARK = {"done": "✓", "current": "▶", "available": "○", "blocked": "✗"}
PHASE_STYLE = {"done": "green", "current": "bold yellow", "available": "cyan", "blocked": "dim"}


def _render_detail(d: ProjectDetail) -> None:
    p = d.project
    s = p.project_settings
    collaborators = ", ".join(u.name for u in d.collaborators) or "—"
    overview: list[tuple[str, Any]] = [
        ("id", p.id),
        ("owner", d.owner.name),
        ("status", _status(p.status)),
        ("genre", p.genre),
        ("audience", f"{p.target_audience} ({AUDIENCE_RATINGS[p.target_audience]})"),
        ("episodes", f"{d.episodes.final_cut}/{p.episode_count} final cut"),
        ("settings", f"{s.aspect_ratio}, {s.episode_duration} min, {s.quality_tier}"),
        ("collaborators", collaborators),
        ("progress", _bar(p.progress.overall_progress)),
        ("updated", p.updated_at),
    ]
    if p.description:
        overview.insert(1, ("description", p.description))
    if not render.use_rich():
        _render_detail_plain(d, overview)
        return
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    con = render.console()
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold cyan", no_wrap=True)
    grid.add_column()
    for key, value in overview:
        grid.add_row(key, render._cell(value))
    con.print(Panel(grid, title=render.styled(p.title, "bold"), title_align="left"))

    phases = Table(show_header=False, box=None, padding=(0, 1))
    phases.add_column(no_wrap=True)
    phases.add_column(no_wrap=True)
    phases.add_column()
    for ph in d.phases:
        why = f"needs {', '.join(ph.blocked_by)}" if ph.blocked_by else ph.state
        phases.add_row(
            Text(PHASE_MARK[ph.state], style=PHASE_STYLE[ph.state]),
            Text(ph.title, style=PHASE_STYLE[ph.state]),
            Text(why, style="dim"),
        )
    # Eleven media types in two columns, so that the panel is no taller than the phases.
    media = Table(show_header=False, box=None, padding=(0, 1))
    counts = list(d.media_counts.items())
    half = -(-len(counts) // 2)
    for left, right in zip(counts[:half], [*counts[half:], None], strict=False):
        cells: list[Any] = []
        for pair in (left, right):
            if pair is None:
                cells += ["", ""]
            else:
                media_type, n = pair
                style = "bold" if n else "dim"
                cells += [Text(media_type, style="" if n else "dim"), Text(str(n), style=style)]
        media.add_row(*cells)
    if con.width >= SIDE_BY_SIDE:
        # Both panels as tall as the taller one's text at the width each gets (a phase
        # whose needs wrap makes the phases taller than eight lines).
        inner = (con.width - 1) // 2 - 4
        height = 2 + max(
            len(con.render_lines(t, con.options.update_width(inner), pad=False))
            for t in (phases, media)
        )
        top = Table.grid(padding=(0, 1), expand=True)
        top.add_column(ratio=1)
        top.add_column(ratio=1)
        top.add_row(
            Panel(phases, title="Phases", title_align="left", height=height),
            Panel(media, title="Media", title_align="left", height=height),
        )
        con.print(top)
    else:
        con.print(Panel(phases, title="Phases", title_align="left"))
        con.print(Panel(media, title="Media", title_align="left"))
    con.print(Panel(Group(*_story_lines(p)), title="Story", title_align="left"))
    if d.sessions:
        columns = [
            render.Column("ID", no_wrap=True, key=True),
            render.Column("User", priority=4),
            render.Column("State", no_wrap=True, priority=3),
            render.Column("Step", no_wrap=True, priority=2),
            render.Column("Messages", justify="right", no_wrap=True, priority=2),
            render.Column("Updated", no_wrap=True, priority=1),
        ]
        rows = [
            (
                ses.id[:8],
                ses.user_name,
                ses.session_state,
                ses.current_step,
                ses.messages,
                ses.updated_at,
            )
            for ses in d.sessions
        ]
        con.print(render.table(columns, rows, title="Sessions"))
    _render_board(d.episodes)


def _story_lines(p: Any) -> list[Any]:
    from rich.text import Text

    st = p.story
    lines: list[Any] = []
    if st.concept:
        lines.append(Text.assemble(("Concept: ", "bold"), render.visible(st.concept)))
    if st.logline:
        lines.append(Text.assemble(("Logline: ", "bold"), render.visible(st.logline)))
    if st.synopsis:
        lines.append(Text.assemble(("Synopsis: ", "bold"), render.visible(st.synopsis)))
    if st.characters:
        names = ", ".join(c.name for c in st.characters)
        lines.append(Text.assemble(("Characters: ", "bold"), render.visible(names)))
    if st.scenes:
        scenes = ", ".join(s.title for s in st.scenes)
        lines.append(Text.assemble(("Scenes: ", "bold"), render.visible(scenes)))
    if st.directions:
        lines.append(Text.assemble(("Directions: ", "bold"), str(len(st.directions))))
    return lines or [Text("Nothing recorded yet: moviecli chat fills it in.", style="dim")]


def _render_detail_plain(d: ProjectDetail, overview: list[tuple[str, Any]]) -> None:
    p = d.project
    render.print_record([("title", p.title), *overview])
    st = p.story
    render.print_record(
        [
            ("story.concept", st.concept or ""),
            ("story.logline", st.logline or ""),
            ("story.synopsis", st.synopsis or ""),
            ("story.characters", [c.name for c in st.characters]),
            ("story.scenes", [s.title for s in st.scenes]),
        ]
    )
    for ph in d.phases:
        render.say(f"phase\t{ph.id}\t{ph.state}\t{','.join(ph.blocked_by)}")
    for media_type, n in d.media_counts.items():
        render.say(f"media\t{media_type}\t{n}")
    for ses in d.sessions:
        render.say(
            f"session\t{ses.id}\t{ses.user_name}\t{ses.session_state}\t"
            f"{ses.current_step}\t{ses.messages}"
        )
    for e in d.episodes.episodes:
        c = e.counts
        render.say(
            f"episode\t{e.episode}\t{e.status}\t{c['storyboard']}\t"
            f"{c['video_segment']}\t{c['audio']}\t{c['final_video']}"
        )


EPISODE_STYLE = {"planned": "dim", "in-production": "yellow", "final-cut": "bold green"}


def _render_board(board: EpisodeBoard, *, title: str | None = None) -> None:
    heading = f"{title} — episodes" if title else "Episodes"
    rows = []
    for e in board.episodes:
        c = e.counts
        state: Any = e.status
        if render.use_rich():
            from rich.text import Text

            state = Text(e.status, style=EPISODE_STYLE[e.status])
        rows.append(
            [e.episode, state, c["storyboard"], c["video_segment"], c["audio"], c["final_video"]]
        )
    render.print_table(
        [
            render.Column("Ep", justify="right", no_wrap=True, key=True),
            "Status",
            render.Column("Storyboards", justify="right"),
            render.Column("Segments", justify="right"),
            render.Column("Audio", justify="right"),
            render.Column("Final", justify="right"),
        ],
        rows,
        title=f"{heading}: {board.final_cut}/{board.total} final cut",
    )


@app.command("episodes")
def episodes(project: str | None = ProjectArg, json_out: JsonOpt = False) -> None:
    """The episode board: storyboards, segments, audio and final cut per episode."""
    from moviecli.services import projects

    with acting() as (session, actor):
        target, board = projects.board(session, actor, project)
    if json_out:
        render.print_json(board)
    else:
        _render_board(board, title=target.title)


@app.command("progress")
def progress(project: str | None = ProjectArg, json_out: JsonOpt = False) -> None:
    """The phase checklist: what is done, and what each remaining phase still needs."""
    from moviecli.cli.workflow_cmd import render_progress
    from moviecli.services import projects

    with acting() as (session, actor):
        report = projects.progress_report(session, actor, project)
    if json_out:
        render.print_json(report)
    else:
        render_progress(report)


@app.command("update")
def update(
    project: str | None = ProjectArg,
    title: str | None = typer.Option(None, "--title", help="New title."),
    description: str | None = DescriptionOpt,
    genre: str | None = GenreOpt,
    episode_count: int | None = EpisodesOpt,
    audience: str | None = AudienceOpt,
    aspect_ratio: str | None = RatioOpt,
    episode_duration: int | None = DurationOpt,
    quality: str | None = QualityOpt,
    json_out: JsonOpt = False,
) -> None:
    """Change a project's fields and settings (creator, collaborators, admins)."""
    from moviecli.services import projects

    fields = _fields(
        title=title,
        genre=genre,
        episode_count=episode_count,
        target_audience=audience,
        description=description,
        aspect_ratio=aspect_ratio,
        episode_duration=episode_duration,
        quality_tier=quality,
    )
    with acting(write=True) as (session, actor):
        updated, changes = projects.update(session, actor, project, fields)
        record = projects.public(session, updated)
    if json_out:
        render.print_json(record)
    elif not changes:
        render.say(f"{record.title!r}: nothing changed", quiet=env.quiet)
    else:
        for ch in changes:
            render.say(f"{ch.field}: {ch.old!r} → {ch.new!r}", quiet=env.quiet)


@app.command("use")
def use(
    project: str | None = typer.Argument(None, metavar="PROJECT", help="Title or id."),
    clear: bool = typer.Option(False, "--clear", help="Unset your current project."),
    json_out: JsonOpt = False,
) -> None:
    """Make a project your current one, the default for commands that take one."""
    from moviecli.errors import UsageError
    from moviecli.services import projects

    if clear == (project is not None):
        raise UsageError("pass a PROJECT or --clear")
    with acting(write=True) as (session, actor):
        if clear:
            cleared = projects.clear_current(session, actor)
            if json_out:
                render.print_json({"currentProject": None})
            else:
                render.say(
                    "Cleared your current project." if cleared else "No current project was set.",
                    quiet=env.quiet,
                )
            return
        assert project is not None
        chosen = projects.use(session, actor, project)
        record = projects.public(session, chosen)
    if json_out:
        render.print_json(record)
    else:
        render.say(f"Current project: {record.title} ({record.id[:8]})", quiet=env.quiet)


def _report_status(record: Any, old: str, json_out: bool) -> None:
    if json_out:
        render.print_json(record)
    else:
        render.say(f"{record.title}: {old} → {record.status}", quiet=env.quiet)


@app.command("status")
def status(
    ctx: typer.Context,
    project: str | None = ProjectArg,
    new: str | None = typer.Argument(
        None,
        metavar="NEW",
        show_default=False,
        help="Next status: concept → pre-production → production → "
        "post-production → completed, or on-hold.",
        autocompletion=completer(PROJECT_STATUSES),
    ),
    json_out: JsonOpt = False,
) -> None:
    """Move a project one status forward (or on hold)."""
    from moviecli.services import projects

    project, new = project_and(ctx, project, new)
    with acting(write=True) as (session, actor):
        moved, old = projects.set_status(session, actor, project, new)
        record = projects.public(session, moved)
    _report_status(record, old, json_out)


@app.command("hold")
def hold(project: str | None = ProjectArg, json_out: JsonOpt = False) -> None:
    """Put a project on hold (resume returns it to where it was)."""
    from moviecli.services import projects

    with acting(write=True) as (session, actor):
        moved, old = projects.hold(session, actor, project)
        record = projects.public(session, moved)
    _report_status(record, old, json_out)


@app.command("resume")
def resume(project: str | None = ProjectArg, json_out: JsonOpt = False) -> None:
    """Take a project off hold, back to the status it was put on hold from."""
    from moviecli.services import projects

    with acting(write=True) as (session, actor):
        moved, old = projects.resume(session, actor, project)
        record = projects.public(session, moved)
    _report_status(record, old, json_out)


@app.command("delete")
def delete(
    project: str = typer.Argument(..., metavar="PROJECT", help="Title or id."),
    yes: YesOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Delete a project with its sessions, messages and media (creator or admin)."""
    from moviecli.services import access, projects

    with acting() as (session, actor):
        target = projects.resolve(session, actor, project)
        access.require_owner_or_admin(actor, target, "delete it")
    confirm(f"Delete project {target.title!r} with all its sessions and media?", yes=yes)
    from moviecli.services import media

    with acting(write=True) as (session, actor):
        result = projects.delete(session, actor, target.id)
        media.mark_files_for_removal(result.media_sha256)  # before the commit
    media.remove_unused_files(env.database(), result.media_sha256)
    if json_out:
        render.print_json(
            {
                "deleted": render.jsonable(result.project),
                "sessions": result.sessions,
                "messages": result.messages,
                "media": result.media,
            }
        )
    else:
        render.say(
            f"Deleted project {result.project.title!r} ({result.sessions} sessions, "
            f"{result.messages} messages, {result.media} media)",
            quiet=env.quiet,
        )


@app.command("export")
def export(
    project: str | None = ProjectArg,
    fmt: str = typer.Option(
        "toml", "--format", help="toml (an apply file) or json (the --json shape of project show)."
    ),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to FILE."),
    with_media: Path | None = typer.Option(
        None,
        "--with-media",
        metavar="DIR",
        help="Copy the media files into DIR and name them in the file (toml).",
    ),
    force: bool = typer.Option(False, "--force", help="Replace files that exist."),
) -> None:
    """Export a project (stdout by default); the toml is an apply file.

    Without --with-media, media entries carry their sha256 and apply matches them against
    media already in the database. Files are written owner-only; nothing that exists is
    replaced without --force (exit 5 names the first ones), and a failed export (a full
    disk) leaves none of its files behind.
    """
    import json

    from moviecli.services import apply as apply_service
    from moviecli.services import media, projects

    if fmt not in ("toml", "json"):
        raise ValidationFailed({"format": f"{fmt!r} is not one of: toml, json"})
    if fmt == "json" and with_media is not None:
        raise ValidationFailed({"withMedia": "goes with --format toml (an apply file)"})
    copies: list[tuple[str, Path, str]] = []
    if fmt == "json":
        with acting() as (session, actor):
            detail = projects.show(session, actor, project)
        text = json.dumps(_detail_json(detail), ensure_ascii=False, indent=2) + "\n"
    else:
        import tomli_w

        with acting() as (session, actor):
            exported = apply_service.export_project(
                session, actor, project, media_dir=with_media, output=output
            )
        copies = exported.files
        text = tomli_w.dumps(exported.data)
    written = (output, text.encode("utf-8")) if output is not None else None
    with render.progress(quiet=env.quiet) as progress:
        media.write_export(
            copies, force=force, directory=with_media, output=written, progress=progress
        )
    if output is None:
        sys.stdout.write(text)
        return
    render.note(f"Wrote {output}", quiet=env.quiet)


@app.command("bible")
def bible(
    project: str | None = ProjectArg,
    output: str | None = typer.Option(
        None, "-o", "--output", metavar="FILE.html", help="Write the page to FILE (- for stdout)."
    ),
    pdf: Path | None = typer.Option(
        None, "--pdf", metavar="FILE.pdf", help="Also print it to a PDF (needs Chromium)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace the files if they exist."),
    json_out: JsonOpt = False,
) -> None:
    """Write the series bible: one self-contained HTML page to read, print or mail.

    Story, characters with their designs, the mood board, scenes with their storyboards,
    audio and video, the episode board and what each phase still needs; images embedded
    as thumbnails (320 px at most; smaller in large projects, so that the file stays
    about 25 MB or less up to 4,000 images). No script and no network: the file opens anywhere.
    It is written owner-only (0600); an existing FILE is kept (exit 5) unless --force.
    Images whose file cannot be read are listed on stderr and shown as placeholders.
    --pdf prints the page with headless Chromium (chromium on PATH, or MOVIECLI_CHROMIUM;
    exit 6 without one); -o may then be left out.
    """
    from moviecli.errors import UsageError
    from moviecli.services import auth
    from moviecli.services import bible as bible_service

    if output is None and pdf is None:
        raise UsageError("no output file given", hint="pass -o FILE.html, or -o - for stdout")
    if output == "-" and json_out:
        raise UsageError("--json reports on a written file", hint="pass -o FILE.html")
    target = None if output in ("-", None) else Path(output)
    db = env.database()
    with db.session() as session:
        actor = auth.current_user(session)
    with render.progress(quiet=env.quiet, json_out=json_out) as progress:
        made = bible_service.make(
            db, actor, project, target, force=force, pdf=pdf, progress=progress
        )
    for problem in made.problems:
        render.error_line(f"Warning: no preview of {problem}")
    if made.html is not None and output == "-":
        sys.stdout.write(made.html)
    if json_out:
        report: dict[str, Any] = {
            "output": str(made.path) if made.path else None,
            "sizeBytes": made.size_bytes,
            "images": made.images,
            "thumbnailSide": made.thumbnail_side,
            "missingPreviews": len(made.problems),
        }
        if made.pdf_path is not None:
            report.update(pdf=str(made.pdf_path), pdfSizeBytes=made.pdf_size_bytes)
        render.print_json(report)
        return
    title = render.one_line(made.project_title)
    tell = render.note if output == "-" else render.say  # stdout holds the page then
    for path, size in ((made.path, made.size_bytes), (made.pdf_path, made.pdf_size_bytes)):
        if path is not None:
            tell(
                f"Wrote {render.one_line(str(path))}: the series bible of {title!r}, "
                f"{made.images} images, {_megabytes(size)}",
                quiet=env.quiet,
            )


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size / 1000:.0f} KB"


# --- collaborators ---------------------------------------------------------------------------


@collab_app.command("add")
def collab_add(
    ctx: typer.Context,
    project: str | None = ProjectArg,
    user: str | None = typer.Argument(
        None, metavar="USER", show_default=False, help="Email (or id, for admins)."
    ),
    json_out: JsonOpt = False,
) -> None:
    """Add a collaborator (creator or admin)."""
    from moviecli.services import projects

    project, user = project_and(ctx, project, user)
    with acting(write=True) as (session, actor):
        proj, person, added = projects.add_collaborator(session, actor, project, user)
        record = projects.public(session, proj)
    if json_out:
        render.print_json(record)
    elif added:
        render.say(f"{person.email} now collaborates on {proj.title!r}", quiet=env.quiet)
    else:
        render.say(f"{person.email} already collaborates on {proj.title!r}", quiet=env.quiet)


@collab_app.command("remove")
def collab_remove(
    ctx: typer.Context,
    project: str | None = ProjectArg,
    user: str | None = typer.Argument(
        None, metavar="USER", show_default=False, help="Email (or id, for admins)."
    ),
    json_out: JsonOpt = False,
) -> None:
    """Remove a collaborator (creator or admin)."""
    from moviecli.services import projects

    project, user = project_and(ctx, project, user)
    with acting(write=True) as (session, actor):
        proj, person = projects.remove_collaborator(session, actor, project, user)
        record = projects.public(session, proj)
    if json_out:
        render.print_json(record)
    else:
        render.say(f"{person.email} no longer collaborates on {proj.title!r}", quiet=env.quiet)


@collab_app.command("list")
def collab_list(
    project: str | None = ProjectArg,
    page: PageOpt = 1,
    limit: LimitOpt = 20,
    json_out: JsonOpt = False,
) -> None:
    """List a project's collaborators."""
    from moviecli.services import projects

    with acting() as (session, actor):
        proj, result = projects.list_collaborators(session, actor, project, page=page, limit=limit)
    if json_out:
        render.print_json(result)
        return
    render.print_table(
        [
            render.Column("ID", no_wrap=True, key=True),
            render.Column("Email", key=True),
            render.Column("Name", priority=2),
        ],
        [(_short(u.id), u.email, u.name) for u in result.items],
        title=f"Collaborators on {proj.title}",
    )


# --- style references --------------------------------------------------------------------------


@style_app.command("add")
def style_add(
    ctx: typer.Context,
    project: str | None = ProjectArg,
    media_ref: str | None = typer.Argument(
        None, metavar="MEDIA", show_default=False, help="Media id or prefix (an image)."
    ),
    json_out: JsonOpt = False,
) -> None:
    """Link an image (of the project, or a public one) as a style reference."""
    from moviecli.services import media, projects

    project, media_ref = project_and(ctx, project, media_ref)
    with acting(write=True) as (session, actor):
        proj, record, added = media.add_style_reference(session, actor, project, media_ref)
        public = projects.public(session, proj)
    if json_out:
        render.print_json(public)
    elif added:
        render.say(
            f"{record.filename} is now a style reference of {proj.title!r}", quiet=env.quiet
        )
    else:
        render.say(
            f"{record.filename} already is a style reference of {proj.title!r}", quiet=env.quiet
        )


@style_app.command("remove")
def style_remove(
    ctx: typer.Context,
    project: str | None = ProjectArg,
    media_ref: str | None = typer.Argument(
        None, metavar="MEDIA", show_default=False, help="Media id or id prefix."
    ),
    json_out: JsonOpt = False,
) -> None:
    """Unlink a style reference (the media itself stays)."""
    from moviecli.services import media, projects

    project, media_ref = project_and(ctx, project, media_ref)
    with acting(write=True) as (session, actor):
        proj, media_id = media.remove_style_reference(session, actor, project, media_ref)
        public = projects.public(session, proj)
    if json_out:
        render.print_json(public)
    else:
        render.say(
            f"{media_id[:8]} is no longer a style reference of {proj.title!r}", quiet=env.quiet
        )
