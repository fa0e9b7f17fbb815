"""moviecli story …: a project's story record, its revisions, and undo."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

from moviecli import render
from moviecli.cli.env import JsonOpt, LimitOpt, PageOpt, acting, env
from moviecli.cli.projects import ProjectArg
from moviecli.errors import UsageError
from moviecli.text import one_line, visible

if TYPE_CHECKING:
    from moviecli.models import StoryPublic, StoryRevisionPublic
    from moviecli.services.story import Change, StoryUpdate, Undone

app = typer.Typer(
    help="A project's story: concept, logline, synopsis, characters, scenes; "
    "its history and undo.",
    no_args_is_help=True,
)

UNDO = "moviecli story undo"


@app.command("show")
def show(project: str | None = ProjectArg, json_out: JsonOpt = False) -> None:
    """Show a project's story.

    The concept, logline, synopsis, characters, scenes and the directions given in the
    chat. Anyone who may see the project may read it.
    """
    from moviecli.services import story

    with acting() as (session, actor):
        record = story.show(session, actor, project)
    if json_out:
        render.print_json(record)
    else:
        render_story(record)


def render_story(record: StoryPublic) -> None:
    """The story on a terminal (a panel), or as plain lines when piped; the chat's /story."""
    if render.use_rich():
        _render_rich(record)
    else:
        _render_plain(record)


def _render_plain(s: StoryPublic) -> None:
    render.print_record(
        [
            ("title", s.title),
            ("concept", s.concept or ""),
            ("logline", s.logline or ""),
            ("synopsis", s.synopsis or ""),
        ]
    )
    for c in s.characters:
        render.say(f"character\t{one_line(c.name)}\t{one_line(c.description)}")
    for sc in s.scenes:
        render.say(f"scene\t{one_line(sc.title)}\t{one_line(sc.description)}")
    for d in s.directions:
        render.say(f"direction\t{d.step}\t{render.iso(d.at)}\t{one_line(d.text)}")


def _render_rich(s: StoryPublic) -> None:
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    con = render.console()
    parts: list[Any] = []
    for label, value in (("Concept", s.concept), ("Logline", s.logline)):
        if value:
            parts.append(Text.assemble((f"{label}: ", "bold"), visible(value)))
    if s.synopsis:
        parts += [Text("Synopsis", style="bold"), Text(visible(s.synopsis))]
    if not (parts or s.characters or s.scenes or s.directions):
        parts.append(
            Text("Nothing recorded yet: moviecli chat or moviecli story set fills it in.", "dim")
        )
    con.print(Panel(Group(*parts), title=Text(visible(s.title), style="bold"), title_align="left"))
    for heading, rows in (
        ("Characters", [(c.name, c.description) for c in s.characters]),
        ("Scenes", [(sc.title, sc.description) for sc in s.scenes]),
    ):
        if rows:
            name_col = render.Column(
                "Name" if heading == "Characters" else "Title", style="cyan", key=True
            )
            columns = [name_col, render.Column("Description", min_width=20, priority=2)]
            con.print(render.table(columns, rows, title=heading))
    if s.directions:
        columns = [
            render.Column("Step", no_wrap=True, priority=2),
            render.Column("When", no_wrap=True, priority=1),
            render.Column("Text", key=True),
        ]
        directions = [(d.step, d.at, d.text) for d in s.directions]
        con.print(render.table(columns, directions, title="Directions"))


@app.command("set")
def set_(
    project: str | None = ProjectArg,
    concept: str | None = typer.Option(None, "--concept", help="The concept (blank clears it)."),
    logline: str | None = typer.Option(None, "--logline", help="The logline (blank clears it)."),
    synopsis: str | None = typer.Option(
        None, "--synopsis", help="The synopsis, or - to read it from stdin (blank clears it)."
    ),
    character: list[str] | None = typer.Option(
        None, "--character", metavar="'NAME: D'", help="Add or update a character (repeatable)."
    ),
    remove_character: list[str] | None = typer.Option(
        None, "--remove-character", metavar="NAME", help="Remove a character (repeatable)."
    ),
    scene: list[str] | None = typer.Option(
        None, "--scene", metavar="'TITLE: D'", help="Add or update a scene (repeatable)."
    ),
    remove_scene: list[str] | None = typer.Option(
        None, "--remove-scene", metavar="TITLE", help="Remove a scene (repeatable)."
    ),
    json_out: JsonOpt = False,
) -> None:
    """Change the story (creator, collaborators, admins).

    Each change is a revision. Characters and scenes are matched by name
    case-insensitively: --character "Mia: a thief" updates Mia when she exists (the
    first colon ends the name; a name alone keeps her description). A replaced or
    removed text is announced with the old one, and moviecli story undo reverts the
    whole command. Each text is at most 64 KiB. --json prints
    {story, changes: [{field, action, name, before, after}]}.
    """
    from moviecli.models import StoryPublic
    from moviecli.services import story

    updates = _updates(
        concept=concept,
        logline=logline,
        synopsis=_read_stdin() if synopsis == "-" else synopsis,
        characters=character or [],
        remove_characters=remove_character or [],
        scenes=scene or [],
        remove_scenes=remove_scene or [],
    )
    with acting(write=True) as (session, actor):
        changed, changes = story.update_story(session, actor, project, updates)
        record = StoryPublic.of(changed)
    if json_out:
        render.print_json({"story": record, "changes": changes})
        return
    _say_changes(record.title, changes, undo=UNDO)


def _updates(
    *,
    concept: str | None,
    logline: str | None,
    synopsis: str | None,
    characters: list[str],
    remove_characters: list[str],
    scenes: list[str],
    remove_scenes: list[str],
) -> list[StoryUpdate]:
    from moviecli.services.story import StoryUpdate

    out: list[StoryUpdate] = []
    for field, value in (("concept", concept), ("logline", logline), ("synopsis", synopsis)):
        if value is not None:
            op = "set" if value.strip() else "remove"
            out.append(StoryUpdate(field, op, value))  # type: ignore[arg-type]
    for field, removed, given in (
        ("character", remove_characters, characters),
        ("scene", remove_scenes, scenes),
    ):
        out += [StoryUpdate(field, "remove", name=name) for name in removed]  # type: ignore[arg-type]
        for value in given:
            name, _, description = value.partition(":")
            out.append(StoryUpdate(field, "set", description, name=name))  # type: ignore[arg-type]
    return out


def _read_stdin() -> str:
    """The whole of stdin as the synopsis: bounded (one byte past the limit is enough to
    refuse it) and UTF-8."""
    from moviecli.services.story import MAX_TEXT_BYTES

    if sys.stdin.isatty():
        render.note("Type the synopsis, then Ctrl-D on a line of its own.")
    stream = getattr(sys.stdin, "buffer", None)
    data = stream.read(MAX_TEXT_BYTES + 1) if stream is not None else b""
    if stream is None:
        data = sys.stdin.read(MAX_TEXT_BYTES + 1).encode("utf-8", "surrogateescape")
    if len(data) > MAX_TEXT_BYTES:
        raise UsageError(
            "the synopsis on stdin is over the limit of 64 KiB", hint="attach long texts as files"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError("the synopsis on stdin is not UTF-8 text") from None


def _say_changes(title: str, changes: list[Change], *, undo: str | None) -> None:
    from moviecli.services import story

    if not any(c.action != "unchanged" for c in changes):
        render.say(f"{one_line(title)!s}: nothing changed.", quiet=env.quiet)
    for sentence in story.describe(changes, undo=undo):
        render.say(one_line(sentence), quiet=env.quiet)


@app.command("history")
def history(
    project: str | None = ProjectArg,
    page: PageOpt = 1,
    limit: LimitOpt = 20,
    json_out: JsonOpt = False,
) -> None:
    """The story's revisions, newest first.

    Who changed what, when, from where (chat, command, apply or undo). The revisions of
    one message, command or apply share a group, which moviecli story undo reverts as a
    whole.
    """
    from moviecli.services import story

    with acting() as (session, actor):
        target, result = story.history(session, actor, project, page, limit)
    if json_out:
        render.print_json(result)
        return
    if result.total == 0:
        render.say(f"{one_line(target.title)}: no story changes recorded yet.")
        return
    rich = render.use_rich()
    rows = [
        (
            render.when(r.created_at) if rich else r.created_at,
            r.user_name,
            r.source,
            r.group[:6] if rich else r.group,
            _revision_text(r),
        )
        for r in result.items
    ]
    render.print_table(
        [
            render.Column("When", no_wrap=True, key=True),
            render.Column("Who", priority=2),
            render.Column("Source", no_wrap=True, priority=1),
            render.Column("Group", no_wrap=True, priority=1),
            render.Column("Change", min_width=24, priority=3),
        ],
        rows,
        title=f"Story of {visible(target.title)}" if rich else None,
        caption=render.page_caption(result.total, result.page, result.limit, "revisions"),
    )


def _revision_text(r: StoryRevisionPublic) -> str:
    """One revision in words: "concept: 'old' → 'new'", "character Mia: recorded"."""
    from moviecli.services.story import TEXT_FIELDS, quote

    def short(value: Any) -> str:
        if isinstance(value, dict):
            value = value.get("text") if r.field == "direction" else value.get("description")
        return quote(str(value or ""), 60)

    what = r.field if r.field in TEXT_FIELDS else f"{r.field} {r.name}"
    if r.before is None:
        text = f"{what}: recorded {short(r.after)}"
    elif r.after is None:
        text = f"{what}: removed (was {short(r.before)})"
    else:
        text = f"{what}: {short(r.before)} → {short(r.after)}"
    return one_line(text)


@app.command("undo")
def undo(project: str | None = ProjectArg, json_out: JsonOpt = False) -> None:
    """Revert the latest change to the story.

    All of one message, command or apply at once. The undo is itself a revision;
    running it again reverts the change before, and so on. Completed workflow steps stay
    completed. Nothing left to undo is exit 5.
    --json prints {story, undone: {group, source, user, at}, changes}.
    """
    from moviecli.models import StoryPublic
    from moviecli.services import story

    with acting(write=True) as (session, actor):
        changed, undone = story.undo_story(session, actor, project)
        record = StoryPublic.of(changed)
    if json_out:
        render.print_json(
            {
                "story": record,
                "undone": {
                    "group": undone.group,
                    "source": undone.source,
                    "user": undone.user_id,
                    "at": undone.at,
                },
                "changes": undone.changes,
            }
        )
        return
    say_undone(record.title, undone)


def say_undone(title: str, undone: Undone) -> None:
    """What an undo reverted (also the chat's /undo)."""
    when = render.when(undone.at) if undone.at is not None else "?"
    render.say(
        f"Undid the {undone.source} change of {when} to the story of {one_line(title)}:",
        quiet=env.quiet,
    )
    from moviecli.services import story

    for sentence in story.describe_undo(undone.changes):
        render.say(one_line(sentence), quiet=env.quiet)
