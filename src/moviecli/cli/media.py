"""moviecli media …: add files, list, versions, metadata, sharing, export, search."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from moviecli import render
from moviecli.cli.env import JsonOpt, LimitOpt, PageOpt, YesOpt, acting, confirm, env
from moviecli.enums import MEDIA_STATUSES, MEDIA_TYPES, completer
from moviecli.errors import UsageError

if TYPE_CHECKING:
    from moviecli.models import MediaPublic
    from moviecli.services.media_add import AddResult, Progress
    from moviecli.services.media_fields import Generation
    from moviecli.services.names import Names

T = TypeVar("T")

app = typer.Typer(
    help="Media: images, audio and video of a project, with versions and semantic search.",
    no_args_is_help=True,
)

MediaArg = typer.Argument(..., metavar="ID", help="Media id or unique id prefix (4+ chars).")
TypeHelp = "One of: " + ", ".join(MEDIA_TYPES) + " (moviecli media types)."
DescriptionOpt = typer.Option(None, "--description", help="What it shows or sounds like.")
TagOpt = typer.Option(None, "--tag", help="A tag (repeatable).")
EpisodeOpt = typer.Option(None, "--episode", help="Episode number, 1..episodeCount.")
SceneOpt = typer.Option(None, "--scene", help="Scene identifier.")
CharacterOpt = typer.Option(
    None, "--character", help="A character it features (repeatable; names from the story)."
)
TimestampOpt = typer.Option(None, "--timestamp", help="Position within a video, in seconds.")
NoEmbedOpt = typer.Option(
    False, "--no-embed", help="Skip the embedding now (moviecli media embed --pending later)."
)
StatusHelp = "active, draft, archived, processing or failed."


def _short(identifier: str) -> str:
    return identifier[:8] if render.use_rich() else identifier


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n = n / 1024  # type: ignore[assignment]
    return str(n)


def _with_progress(work: Callable[[Progress | None], T], *, json_out: bool = False) -> T:
    """Run ``work`` with the progress callback of :func:`render.progress` (or None)."""
    with render.progress(quiet=env.quiet, json_out=json_out) as progress:
        return work(progress)


# --- add ------------------------------------------------------------------------------------


GeneratedOpt = typer.Option(
    False, "--generated", help="Made by an AI agent (enables the generation flags)."
)
AgentIdOpt = typer.Option(None, "--agent-id", help="Generating agent.")
PromptOpt = typer.Option(None, "--prompt", help="Prompt used.")
ModelVersionOpt = typer.Option(None, "--model-version", help="Model version.")
TaskIdOpt = typer.Option(None, "--task-id", help="Background task id.")
GenerationTimeOpt = typer.Option(
    None, "--generation-time", help="When it was generated, ISO 8601 (default: now)."
)
RecursiveOpt = typer.Option(
    False, "--recursive", "-r", help="Add the files inside directories too."
)


@app.command("add")
def add(
    project: str = typer.Argument(..., metavar="PROJECT", help="Title, id or id prefix."),
    files: list[Path] = typer.Argument(..., metavar="FILE...", help="Files or directories."),
    media_type: str | None = typer.Option(
        None, "--type", help=TypeHelp, autocompletion=completer(MEDIA_TYPES)
    ),
    description: str | None = DescriptionOpt,
    tags: list[str] | None = TagOpt,
    episode: int | None = EpisodeOpt,
    scene: str | None = SceneOpt,
    characters: list[str] | None = CharacterOpt,
    timestamp: float | None = TimestampOpt,
    status: str = typer.Option(
        "active", "--status", help=StatusHelp, autocompletion=completer(MEDIA_STATUSES)
    ),
    generated: bool = GeneratedOpt,
    agent_id: str | None = AgentIdOpt,
    prompt: str | None = PromptOpt,
    model_version: str | None = ModelVersionOpt,
    task_id: str | None = TaskIdOpt,
    generation_time: str | None = GenerationTimeOpt,
    no_embed: bool = NoEmbedOpt,
    no_generation_metadata: bool = typer.Option(
        False,
        "--no-generation-metadata",
        help="Do not read how an image was generated from the file itself.",
    ),
    recursive: bool = RecursiveOpt,
    json_out: JsonOpt = False,
) -> None:
    """Add files to a project: copied into the store, checked, described and embedded.

    Each file's real type is read from its content and must fit --type (images, video or
    audio). The same bytes already in the project are reported as already present. Files
    that cannot be added are listed on stderr, the others are still added; the exit
    status is then 2.

    An image that says how it was generated (Automatic1111/Forge or ComfyUI PNG chunks,
    the EXIF UserComment, XMP, NovelAI, Fooocus) is recorded as agent-generated with its
    prompt, model and parameters; the generation flags win, key by key. Metadata that
    cannot be read is a warning on stderr; the file is still added.
    """
    from moviecli.services import auth, media_add, media_fields

    if media_type is None:
        raise UsageError(
            "no media type given", hint="pass --type; moviecli media types lists them"
        )
    generation = _generation(
        generated,
        {
            "--agent-id": agent_id,
            "--prompt": prompt,
            "--model-version": model_version,
            "--task-id": task_id,
            "--generation-time": generation_time,
        },
    )
    fields = media_fields.AssetFields(
        media_type=media_type,
        description=description or "",
        tags=tags or [],
        episode=episode,
        scene=scene,
        characters=characters or [],
        timestamp=timestamp,
        status=status,
        generation=generation,
    )
    db = env.database()
    with db.session() as session:
        actor = auth.current_user(session)
    result = _with_progress(
        lambda progress: media_add.add_files(
            db,
            actor,
            project,
            files,
            fields,
            recursive=recursive,
            embed=not no_embed,
            read_generation=not no_generation_metadata,
            progress=progress,
        ),
        json_out=json_out,
    )
    _report_add(result, json_out)
    if result.rejected:
        raise typer.Exit(2)


def _generation(generated: bool, given: dict[str, str | None]) -> Generation | None:
    """generationMetadata from the --generated flags (which need --generated)."""
    from moviecli.services.media_fields import Generation

    if generated:
        agent_id, prompt, model_version, task_id, when = given.values()
        return Generation(agent_id, prompt, model_version, task_id, when)
    if any(v is not None for v in given.values()):
        flags = ", ".join(k for k, v in given.items() if v is not None)
        raise UsageError(f"{flags} only apply to generated media", hint="add --generated")
    return None


def _report_add(result: AddResult, json_out: bool) -> None:
    for f in result.files:
        for warning in f.warnings:
            render.error_line(f"Warning: {f.path}: {warning}")
    for f in result.rejected:
        render.error_line(f"Error: {f.path}: {f.reason}")
    shown = [f for f in result.files if f.media is not None]
    if json_out:
        render.print_json(result.records)
    elif shown and len(shown) <= 20:
        for f in shown:
            assert f.media is not None
            verb = "Added" if f.outcome == "added" else "Already present:"
            render.say(
                f"{verb} {render.one_line(f.path.name)} ({_short(f.media.id)}, "
                f"{f.media.media_type})",
                quiet=env.quiet,
            )
    summary = (
        f"{len(result.added)} added to {result.project_title!r}, "
        f"{len(result.present)} already present, {len(result.rejected)} rejected"
    )
    if result.rejected:
        render.error_line(summary)
    else:
        render.note(summary, quiet=env.quiet)


# --- list, show, history ----------------------------------------------------------------------


def _rows(items: list[MediaPublic]) -> list[list[Any]]:
    """Table rows: every field, tab-separated, when piped; a compact table on a terminal
    (public media marked in the status column; the size is in ``media show``)."""
    if not render.use_rich():
        return [
            [
                m.id,
                m.media_type,
                m.filename,
                m.version,
                m.status,
                m.related_elements.episode,
                m.tags,
                m.visibility,
                m.size_bytes,
                m.created_at,
            ]
            for m in items
        ]
    return [
        [
            m.id[:8],
            m.media_type,
            m.filename,
            m.version,
            m.related_elements.episode,
            f"{m.status}, public" if m.visibility == "public" else m.status,
            m.tags,
            render.ago(m.created_at),
        ]
        for m in items
    ]


def _columns() -> list[render.Column]:
    if not render.use_rich():
        names = ["ID", "Type", "File", "Ver", "Status", "Ep", "Tags", "Visibility", "Size"]
        return [render.Column(n) for n in [*names, "Added"]]
    return [
        render.Column("ID", no_wrap=True, key=True),
        render.Column("Type", no_wrap=True, priority=4),
        render.Column("File", key=True),
        render.Column("v", justify="right", no_wrap=True, min_width=1, priority=1),
        render.Column("Ep", justify="right", no_wrap=True, min_width=2, priority=3),
        render.Column("Status", min_width=6, priority=2),
        render.Column("Tags", min_width=6, priority=3),
        render.Column("Added", no_wrap=True, priority=1),
    ]


@app.command("list")
def list_(
    project: str | None = typer.Argument(
        None, metavar="PROJECT", help="Title, id or id prefix (default: your current project)."
    ),
    media_type: str | None = typer.Option(
        None, "--type", help="Only this type.", autocompletion=completer(MEDIA_TYPES)
    ),
    tag: str | None = typer.Option(None, "--tag", help="Only media with this tag."),
    episode: int | None = typer.Option(None, "--episode", help="Only this episode."),
    status: str | None = typer.Option(
        None, "--status", help="Only this status.", autocompletion=completer(MEDIA_STATUSES)
    ),
    all_versions: bool = typer.Option(
        False, "--all-versions", help="Every version, not only the newest of each asset."
    ),
    generated: bool = typer.Option(False, "--generated", help="Only agent-generated media."),
    model: str | None = typer.Option(
        None, "--model", metavar="NAME", help="Only media made with a model named like NAME."
    ),
    page: PageOpt = 1,
    limit: LimitOpt = 20,
    json_out: JsonOpt = False,
) -> None:
    """A project's media, newest first (the newest version of each asset)."""
    from moviecli.services import media

    with acting() as (session, actor):
        proj, result = media.list_media(
            session,
            actor,
            project,
            media_type=media_type,
            tag=tag,
            episode=episode,
            status=status,
            all_versions=all_versions,
            generated=generated,
            model=model,
            page=page,
            limit=limit,
        )
    if json_out:
        render.print_json(result)
        return
    if result.total == 0:
        render.say(
            f"No media in {proj.title!r}. Add some: moviecli media add PROJECT FILE --type T"
        )
        return
    render.print_table(
        _columns(),
        _rows(result.items),
        title=f"Media of {proj.title}" if render.use_rich() else None,
        caption=render.page_caption(result.total, result.page, result.limit, "media"),
    )


def _record(m: MediaPublic, names: Names) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = [
        ("id", _short(m.id)),
        ("project", render.named(names.projects.get(m.project), m.project)),
        ("file", m.filename),
        ("type", m.media_type),
        ("mime type", m.mime_type),
        ("size", _size(m.size_bytes) if render.use_rich() else m.size_bytes),
        ("sha256", m.sha256),
        ("version", m.version),
        ("previous version", m.previous_version and _short(m.previous_version)),
        ("status", m.status),
        ("visibility", m.visibility),
        ("description", m.description),
        ("tags", m.tags),
    ]
    r = m.related_elements
    pairs += [
        ("characters", r.characters),
        ("episode", r.episode),
        ("scene", r.scene),
        ("timestamp", r.timestamp),
    ]
    tech = m.technical_data.model_dump(by_alias=True, exclude_none=True)
    pairs += [(key, value) for key, value in tech.items()]
    pairs.append(("agent generated", "yes" if m.agent_generated else "no"))
    if m.generation_metadata is not None:
        meta = m.generation_metadata.model_dump(by_alias=True, exclude_none=True)
        parameters = meta.pop("parameters", None) or {}
        pairs += [(key, value) for key, value in meta.items()]
        pairs += [(f"parameters.{key}", value) for key, value in parameters.items()]
    pairs += [
        ("embedding", "yes" if m.has_embedding else "pending"),
        ("created by", render.named(names.users.get(m.created_by), m.created_by)),
        ("created", m.created_at),
        ("updated", m.updated_at),
    ]
    return pairs


@app.command("show")
def show(ref: str = MediaArg, json_out: JsonOpt = False) -> None:
    """Everything about one media record."""
    from moviecli.services import media, names

    with acting() as (session, actor):
        record = media.show(session, actor, ref)
        known = names.lookup(session, actor, projects=[record.project], users=[record.created_by])
    if json_out:
        render.print_json(record)
    else:
        render.print_record(_record(record, known), title=record.filename)


@app.command("history")
def history(
    ref: str = MediaArg, page: PageOpt = 1, limit: LimitOpt = 20, json_out: JsonOpt = False
) -> None:
    """Every version of an asset, oldest first."""
    from moviecli.services import media

    with acting() as (session, actor):
        result = media.history(session, actor, ref, page=page, limit=limit)
    if json_out:
        render.print_json(result)
        return
    render.print_table(
        _columns(),
        _rows(result.items),
        caption=render.page_caption(result.total, result.page, result.limit, "versions"),
    )


@app.command("types")
def types(page: PageOpt = 1, limit: LimitOpt = 20, json_out: JsonOpt = False) -> None:
    """The eleven media types and the files each accepts."""
    from moviecli.services import media

    result = media.media_types(page=page, limit=limit)
    if json_out:
        render.print_json(result)
        return
    render.print_table(
        [
            render.Column("Type", no_wrap=True, key=True),
            render.Column("Files", priority=2),
            render.Column("Description", priority=3),
        ],
        [(t.id, t.family, t.description) for t in result.items],
    )


# --- changing ----------------------------------------------------------------------------------


def _changes(**kwargs: Any) -> Any:
    from moviecli.services.media_fields import Changes

    return Changes(**kwargs)


@app.command("update")
def update(
    ref: str = MediaArg,
    description: str | None = DescriptionOpt,
    tags: list[str] | None = typer.Option(None, "--tag", help="Add a tag (repeatable)."),
    untags: list[str] | None = typer.Option(None, "--untag", help="Remove a tag (repeatable)."),
    episode: int | None = EpisodeOpt,
    no_episode: bool = typer.Option(False, "--no-episode", help="Clear the episode."),
    scene: str | None = typer.Option(None, "--scene", help="Scene identifier ('' clears it)."),
    characters: list[str] | None = typer.Option(
        None, "--character", help="Characters it features (repeatable; replaces the list)."
    ),
    timestamp: float | None = TimestampOpt,
    status: str | None = typer.Option(
        None, "--status", help=StatusHelp, autocompletion=completer(MEDIA_STATUSES)
    ),
    no_embed: bool = NoEmbedOpt,
    json_out: JsonOpt = False,
) -> None:
    """Change a media record's description, tags, related elements or status."""
    from moviecli.services import auth, media

    changes = _changes(
        description=description,
        add_tags=tags or [],
        remove_tags=untags or [],
        episode=episode,
        clear_episode=no_episode,
        scene=scene,
        characters=characters,
        timestamp=timestamp,
        status=status,
    )
    db = env.database()
    with db.session() as session:
        actor = auth.current_user(session)
    record, changed = media.update(db, actor, ref, changes, embed=not no_embed)
    if json_out:
        render.print_json(record)
    elif changed:
        render.say(f"{record.filename}: changed {', '.join(changed)}", quiet=env.quiet)
    else:
        render.say(f"{record.filename}: nothing changed", quiet=env.quiet)


def _visibility(ref: str, visibility: str, json_out: bool) -> None:
    from moviecli.services import media

    with acting(write=True) as (session, actor):
        record = media.set_visibility(session, actor, ref, visibility)
    if json_out:
        render.print_json(record)
    elif visibility == "public":
        render.say(
            f"{record.filename} is public: every logged-in user can find it", quiet=env.quiet
        )
    else:
        render.say(f"{record.filename} is private to its project", quiet=env.quiet)


@app.command("share")
def share(ref: str = MediaArg, json_out: JsonOpt = False) -> None:
    """Make media public: readable and searchable by every logged-in user."""
    _visibility(ref, "public", json_out)


@app.command("unshare")
def unshare(ref: str = MediaArg, json_out: JsonOpt = False) -> None:
    """Make media private to its project again (the default)."""
    _visibility(ref, "private", json_out)


@app.command("version")
def version(
    ref: str = MediaArg,
    file: Path = typer.Argument(..., metavar="FILE", help="The new version's file."),
    description: str | None = DescriptionOpt,
    tags: list[str] | None = typer.Option(None, "--tag", help="Add a tag (repeatable)."),
    untags: list[str] | None = typer.Option(None, "--untag", help="Remove a tag (repeatable)."),
    no_embed: bool = NoEmbedOpt,
    json_out: JsonOpt = False,
) -> None:
    """Add version n+1 of an asset (same project, type and metadata unless changed)."""
    from moviecli.services import auth, media_add

    changes = _changes(description=description, add_tags=tags or [], remove_tags=untags or [])
    db = env.database()
    with db.session() as session:
        actor = auth.current_user(session)
    record = media_add.add_version(db, actor, ref, file, changes, embed=not no_embed)
    if json_out:
        render.print_json(record)
    else:
        render.say(
            f"Added version {record.version}: {record.filename} ({_short(record.id)})",
            quiet=env.quiet,
        )


@app.command("export")
def export(
    ref: str = MediaArg,
    dest: Path = typer.Argument(..., metavar="DEST", help="A directory or a file name."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    json_out: JsonOpt = False,
) -> None:
    """Copy a media file out of the store (into DEST, or as DEST)."""
    from moviecli.services import media

    with acting() as (session, actor):
        record, target = media.export(session, actor, ref, dest, force=force)
    if json_out:
        render.print_json({"media": render.jsonable(record), "path": str(target)})
    else:
        render.say(f"Wrote {target}", quiet=env.quiet)


@app.command("delete")
def delete(ref: str = MediaArg, yes: YesOpt = False, json_out: JsonOpt = False) -> None:
    """Delete a media record (its file goes when no other record uses it)."""
    from moviecli.services import auth, media

    db = env.database()
    with db.session() as session:
        actor = auth.current_user(session)
        target, _ = media.editable(session, actor, ref)
    confirm(f"Delete {target.filename} (version {target.version})?", yes=yes)
    result = media.delete(db, actor, target.id)
    if json_out:
        render.print_json(
            {"deleted": render.jsonable(result.media), "fileRemoved": result.file_removed}
        )
    else:
        render.say(f"Deleted {result.media.filename} ({_short(result.media.id)})", quiet=env.quiet)


# --- search and embeddings ---------------------------------------------------------------------


@app.command("search")
def search(
    query: str = typer.Argument(..., metavar="QUERY", help="What you are looking for."),
    project: str | None = typer.Option(None, "--project", help="Only this project."),
    media_type: str | None = typer.Option(
        None, "--type", help="Only this type.", autocompletion=completer(MEDIA_TYPES)
    ),
    page: PageOpt = 1,
    limit: LimitOpt = 20,
    json_out: JsonOpt = False,
) -> None:
    """Find media by meaning: your projects' media and public media, best match first."""
    from moviecli.services import auth, media_search

    db = env.database()
    with db.session() as session:
        actor = auth.current_user(session)
    result = media_search.search(
        db, actor, query, project=project, media_type=media_type, page=page, limit=limit
    )
    if json_out:
        render.print_json(
            result.map(lambda h: {**render.jsonable(h.media), "similarity": h.similarity})
        )
        return
    if not result.items:
        render.say("No media found." if result.total == 0 else "No more results on this page.")
        return
    render.print_table(
        [
            render.Column("Match", justify="right", no_wrap=True, priority=4),
            render.Column("ID", no_wrap=True, key=True),
            render.Column("Type", no_wrap=True, priority=2),
            render.Column("File", key=True),
            render.Column("Description", min_width=16, priority=3),
            render.Column("Project", priority=1),
        ],
        [
            (
                f"{h.similarity:.2f}",
                _short(h.media.id),
                h.media.media_type,
                _match(h.media.filename, query),
                _match(h.media.description, query),
                h.project_title,
            )
            for h in result.items
        ],
        caption=render.page_caption(result.total, result.page, result.limit, "media"),
    )


def _match(text: str, query: str) -> Any:
    """The query's words (of 3 letters or more) highlighted on a terminal."""
    from moviecli.text import words

    return render.highlight(text, words(query), min_length=3) if render.use_rich() else text


@app.command("embed")
def embed(
    pending: bool = typer.Option(
        False, "--pending", help="Only media without an embedding (else rebuild all)."
    ),
    project: str | None = typer.Option(None, "--project", help="Only this project."),
    json_out: JsonOpt = False,
) -> None:
    """Fill in (--pending) or rebuild the embeddings of the media you may change."""
    from moviecli.services import auth, media_search

    db = env.database()
    with db.session() as session:
        actor = auth.current_user(session)
    result = _with_progress(
        lambda progress: media_search.embed(
            db, actor, project=project, pending_only=pending, progress=progress
        ),
        json_out=json_out,
    )
    if json_out:
        render.print_json(result)
    else:
        render.say(f"Embedded {result.embedded} media", quiet=env.quiet)
        if result.skipped:
            render.note(f"{result.skipped} changed meanwhile and were left to their own update")
