"""Media records (SPEC section 4): naming, reading, changing, sharing, deleting, export.

Access follows the project (``services.access``): a media record is visible when its
project is, or when it is public; it is changed by those who may change its project.
Invisible → not found (exit 3); visible but not changeable → permission denied (exit 4).

The rest of media lives beside it: ``media_fields`` (what a user says about an asset,
checked), ``media_add`` (``media add`` and ``media version``: files into the store),
``media_search`` (embeddings and search), ``store`` (the content-addressed files) and
``probe`` (what a file really is).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from moviecli import files, suggest
from moviecli.enums import MEDIA_FAMILIES, MEDIA_STATUSES, MEDIA_TYPES
from moviecli.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    StorageError,
    UsageError,
    ValidationFailed,
)
from moviecli.models import Media, MediaPublic, Project, StyleReference, User, utcnow
from moviecli.services import access, counting, limits
from moviecli.services import projects as project_service
from moviecli.services.media_fields import (
    TEXT_COLUMNS,
    Changes,
    export_name,
    media_type_problem,
    text_of,
    validate_changes,
)
from moviecli.services.pagination import Page, check_page, page_problems, paginate
from moviecli.services.resolve import by_id_or_prefix
from moviecli.services.store import MediaStore, describe_record, lock_contents

if TYPE_CHECKING:
    from moviecli.storage.db import Database


# --- naming and access -----------------------------------------------------------------------


def _describe(media: Media) -> str:
    return f"{media.id[:8]} {media.filename} v{media.version}"


def resolve(session: Session, actor: User, ref: str) -> Media:
    """A media record the actor may read, by id or unique id prefix (else exit 3)."""
    return by_id_or_prefix(
        session, Media, ref, what="media", where=access.visible_media(actor), describe=_describe
    )


def editable(session: Session, actor: User, ref: str) -> tuple[Media, Project]:
    """A media record the actor may change, and its project (visible only → exit 4)."""
    media = resolve(session, actor, ref)
    project = session.get(Project, media.project_id)
    assert project is not None
    if not access.can_see_project(session, actor, project):
        raise PermissionDenied(
            f"media {media.id[:8]} is shared publicly, but only its project's team can change it"
        )
    if not access.can_edit_project(session, actor, project):
        raise PermissionDenied(f"you can read but not change the media of {project.title!r}")
    return media, project


def public(media: Media) -> MediaPublic:
    return MediaPublic.of(media)


def public_of_row(row: dict[str, Any]) -> MediaPublic:
    """The public shape of a row inserted with Core (no ORM object needed)."""
    return MediaPublic.of(cast(Media, SimpleNamespace(**row)))


# Core tables: bulk inserts go straight to executemany, not through the ORM's bulk path.
MEDIA_TABLE = cast(sa.Table, Media.__table__)  # type: ignore[attr-defined]
STYLE_TABLE = cast(sa.Table, StyleReference.__table__)  # type: ignore[attr-defined]


def touch_project(session: Session, project_id: str) -> None:
    session.execute(
        sa.update(Project).where(col(Project.id) == project_id).values(updated_at=utcnow())
    )


def newer_version(session: Session, media_id: str) -> Media | None:
    return session.exec(select(Media).where(col(Media.previous_version) == media_id)).first()


# --- versions --------------------------------------------------------------------------------


def history(
    session: Session, actor: User, ref: str, *, page: int = 1, limit: int = 20
) -> Page[MediaPublic]:
    """Every version of the asset, oldest first."""
    check_page(page, limit)
    media = resolve(session, actor, ref)
    chain = [media]
    seen = {media.id}
    while chain[0].previous_version and chain[0].previous_version not in seen:
        before = session.get(Media, chain[0].previous_version)
        if before is None:
            break
        seen.add(before.id)
        chain.insert(0, before)
    while True:
        after = newer_version(session, chain[-1].id)
        if after is None or after.id in seen:
            break
        seen.add(after.id)
        chain.append(after)
    project = session.get(Project, media.project_id)
    if project is None or not access.can_see_project(session, actor, project):
        # Reached through a public version: the private versions stay hidden.
        chain = [m for m in chain if m.visibility == "public"]
    items = chain[(page - 1) * limit : page * limit]
    return Page([public(m) for m in items], len(chain), page, limit)


# --- reading ---------------------------------------------------------------------------------


def show(session: Session, actor: User, ref: str) -> MediaPublic:
    return public(resolve(session, actor, ref))


def has_tag(session: Session, tag: str) -> sa.ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB

        return sa.cast(col(Media.tags), JSONB).contains([tag])
    each = sa.func.json_each(col(Media.tags)).table_valued("value")
    return sa.exists(sa.select(sa.literal(1)).select_from(each).where(each.c.value == tag))


def list_media(
    session: Session,
    actor: User,
    project: str | None,
    *,
    media_type: str | None = None,
    tag: str | None = None,
    episode: int | None = None,
    status: str | None = None,
    all_versions: bool = False,
    generated: bool = False,
    model: str | None = None,
    page: int = 1,
    limit: int = 20,
) -> tuple[Project, Page[MediaPublic]]:
    """A project's media, newest first; the newest version of each asset by default.

    ``generated``: agent-generated media only; ``model``: those whose modelVersion holds
    it, whatever the case (compared in Python, NFKC + casefold: never SQL lower()).
    """
    problems: dict[str, str] = {}
    if model is not None and not model.strip():
        problems["model"] = "must not be empty"
    if media_type is not None and (problem := media_type_problem(media_type)) is not None:
        problems["mediaType"] = problem
    elif media_type is not None:  # any case: --type Concept-Art is concept_art
        media_type = suggest.canonical(media_type, MEDIA_TYPES) or media_type
    if status is not None:
        status = suggest.pick(status, MEDIA_STATUSES, "status", problems)
    if episode is not None and not 1 <= episode <= limits.MAX_EPISODES:
        # no project has more episodes (and the database takes no number past 64 bits)
        problems["episode"] = f"must be between 1 and {limits.MAX_EPISODES}"
    problems.update(page_problems(page, limit))
    if problems:
        raise ValidationFailed(problems)
    proj = project_service.resolve_or_current(session, actor, project)
    where: list[sa.ColumnElement[bool]] = [col(Media.project_id) == proj.id]
    if media_type:
        where.append(col(Media.media_type) == media_type)
    if status:
        where.append(col(Media.status) == status)
    if episode is not None:
        where.append(col(Media.episode) == episode)
    if tag:
        where.append(has_tag(session, tag))
    if not all_versions:
        where.append(counting.newest())
    if generated or model is not None:
        where.append(col(Media.agent_generated).is_(True))
    if model is not None:
        where.append(col(Media.id).in_(_made_with(session, where, model)))
    stmt = select(Media).where(*where).order_by(col(Media.created_at).desc(), col(Media.id).desc())
    if len(where) == 2 and not all_versions:
        # The default view: count from the indexes alone. Each superseded version has
        # exactly one successor in the same project, so newest = all - those with a
        # previous version (instead of probing every row with NOT EXISTS).
        every, successors = session.execute(
            sa.select(sa.func.count(), sa.func.count(col(Media.previous_version))).where(
                col(Media.project_id) == proj.id
            )
        ).one()
        total = every - successors
        rows = session.exec(stmt.offset((page - 1) * limit).limit(limit)).all()
        return proj, Page([public(m) for m in rows], int(total), page, limit)
    result = paginate(session, stmt, page=page, limit=limit)
    return proj, result.map(public)


def _made_with(session: Session, where: list[sa.ColumnElement[bool]], model: str) -> list[str]:
    """The ids, among the media ``where`` selects, whose modelVersion holds ``model``."""
    from moviecli.services.provenance import model_matches

    rows = session.execute(sa.select(col(Media.id), col(Media.generation_metadata)).where(*where))
    return [media_id for media_id, meta in rows if model_matches(meta, model)]


@dataclass
class TypeInfo:
    id: str
    family: str
    description: str


def media_types(*, page: int = 1, limit: int = 20) -> Page[TypeInfo]:
    from moviecli.services.reference import MEDIA_TYPE_DESCRIPTIONS

    check_page(page, limit)
    items = [TypeInfo(t, f, MEDIA_TYPE_DESCRIPTIONS.get(t, "")) for t, f in MEDIA_FAMILIES.items()]
    return Page(items[(page - 1) * limit : page * limit], len(items), page, limit)


def export(
    session: Session,
    actor: User,
    ref: str,
    dest: Path,
    *,
    force: bool = False,
    store: MediaStore | None = None,
) -> tuple[MediaPublic, Path]:
    """Copy the stored file out: into DEST when it is a directory (under the record's name,
    made safe: ``export_name``), else to DEST. Verified as it is copied (exit 6 when the
    stored bytes are not the record's); an existing file is kept unless ``force`` (exit 5)."""
    store = store or MediaStore.default()
    media = resolve(session, actor, ref)
    target = dest / export_name(media.filename, media.id) if dest.is_dir() else dest
    if not target.parent.is_dir():
        raise UsageError(f"no such directory: {target.parent}")
    files.require_replaceable(target)
    if files.exists(target) and not force:
        raise Conflict(f"{target} already exists", hint="pass --force to replace it")
    store.export(media.sha256, target, record=describe(media), force=force)
    return public(media), target


def write_export(
    copies: Sequence[tuple[str, Path, str]],
    *,
    force: bool,
    directory: Path | None = None,
    output: tuple[Path, bytes] | None = None,
    store: MediaStore | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> None:
    """Write an export (``project export``): the stored files ``copies`` (sha256, target,
    record) into ``directory``, then the exported file ``output``; all of it or nothing.
    ``progress("copying", 1, len(copies))`` after each file copied.

    Without ``force`` nothing that exists is replaced: every target is checked before
    anything is written, and the first ones that exist are named (exit 5). A failure on
    the way (a full disk, a stored file changed on disk: exit 6) removes every file this
    call made; files that ``force`` replaced keep their new, whole content.
    """
    targets = [target for _, target, _ in copies] + ([output[0]] if output else [])
    for target in targets:
        files.require_replaceable(target)
    if not force:
        taken = [str(t) for t in targets if files.exists(t)]
        if taken:
            shown = ", ".join(taken[:3]) + (
                f" and {len(taken) - 3} more" if len(taken) > 3 else ""
            )
            raise Conflict(f"{shown} would be overwritten", hint="pass --force to replace them")
    store = store or MediaStore.default()
    if copies:
        store.check_root()
    if directory is not None:
        _make_directory(directory)
    made: list[Path] = []
    try:
        for sha256, target, record in copies:
            fresh = not files.exists(target)
            store.export(sha256, target, record=record, force=force)
            if fresh:
                made.append(target)
            if progress:
                progress("copying", 1, len(copies))
        if output is not None:
            files.write_private(output[0], output[1], force=force)
    except BaseException:
        for path in made:
            with contextlib.suppress(OSError):
                path.unlink()
        raise


def _make_directory(directory: Path) -> None:
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:
        raise UsageError(f"{directory} is not a directory") from None
    except OSError as exc:
        raise StorageError(f"cannot create {directory}: {exc.strerror or exc}") from exc


def describe(media: Media) -> str:
    """How messages name a media record."""
    return describe_record(media.id, media.filename)


# --- changing --------------------------------------------------------------------------------


def update(
    db: Database, actor: User, ref: str, changes: Changes, *, embed: bool = True
) -> tuple[MediaPublic, list[str]]:
    """Change metadata; returns the record and the changed fields. Text changes re-embed."""
    if not changes.any():
        raise UsageError(
            "nothing to change", hint="pass --description, --tag, --untag, --episode, …"
        )
    with db.session() as session:
        media, project = editable(session, actor, ref)
        new = validate_changes(media, changes, project)
        media_id = media.id
        preview = {**media.model_dump(), **new}
    vector = None
    if embed and TEXT_COLUMNS & set(new):
        from moviecli.services import embeddings

        text = text_of(preview)
        vector = embeddings.embed_texts([text])[0]
    with db.write() as session:
        media, project = editable(session, actor, media_id)
        new = validate_changes(media, changes, project)
        for name, value in new.items():
            setattr(media, name, value)
        if TEXT_COLUMNS & set(new):
            # A vector is only kept when it was made from the text now stored.
            media.embedding = vector if vector is not None and text_of(media) == text else None
        if new:
            media.updated_at = utcnow()
            session.add(media)
            touch_project(session, media.project_id)
        session.flush()
        record = public(media)
    return record, sorted(new)


def set_visibility(session: Session, actor: User, ref: str, visibility: str) -> MediaPublic:
    media, _ = editable(session, actor, ref)
    if media.visibility != visibility:
        media.visibility = visibility
        media.updated_at = utcnow()
        session.add(media)
        session.flush()
    return public(media)


@dataclass
class DeletedMedia:
    media: MediaPublic
    file_removed: bool


def delete(
    db: Database, actor: User, ref: str, *, store: MediaStore | None = None
) -> DeletedMedia:
    """Delete one record (the version chain is relinked around it); the stored file goes
    when no record uses it any more."""
    store = store or MediaStore.default()
    store.recover(db)
    with db.write() as session:
        media, _ = editable(session, actor, ref)
        lock_contents(session, [media.sha256])
        record = public(media)
        session.execute(
            sa.update(Media)
            .where(col(Media.previous_version) == media.id)
            .values(previous_version=media.previous_version)
        )
        session.execute(sa.delete(StyleReference).where(col(StyleReference.media_id) == media.id))
        session.delete(media)
        touch_project(session, media.project_id)
        session.flush()
        store.mark_for_gc([media.sha256])
    removed = store.collect(db, [media.sha256])
    return DeletedMedia(record, removed > 0)


def mark_files_for_removal(hashes: Sequence[str]) -> None:
    """Inside the transaction that deletes media records, before it commits (project
    delete): remember their files, so that a kill after the commit cannot orphan them."""
    MediaStore.default().mark_for_gc(hashes)


def remove_unused_files(db: Database, hashes: Sequence[str]) -> int:
    """After that commit: remove the files no media record uses any more."""
    return MediaStore.default().collect(db, hashes)


# --- style references ------------------------------------------------------------------------


def add_style_reference(
    session: Session, actor: User, project_ref: str | None, media_ref: str
) -> tuple[Project, MediaPublic, bool]:
    """Link an image (of the project, or a public one) into the project's styleReferences."""
    project = project_service.editable(session, actor, project_ref)
    media = resolve(session, actor, media_ref)
    if MEDIA_FAMILIES.get(media.media_type) != "image":
        raise UsageError(
            f"media {media.id[:8]} is {media.media_type}: only images can be style references"
        )
    if media.project_id != project.id and media.visibility != "public":
        raise UsageError(
            f"media {media.id[:8]} belongs to another project and is not public",
            hint="add it to this project or share it with moviecli media share",
        )
    if session.get(StyleReference, (project.id, media.id)) is not None:
        return project, public(media), False
    session.add(StyleReference(project_id=project.id, media_id=media.id))
    project.updated_at = utcnow()
    session.add(project)
    session.flush()
    return project, public(media), True


def remove_style_reference(
    session: Session, actor: User, project_ref: str | None, media_ref: str
) -> tuple[Project, str]:
    project = project_service.editable(session, actor, project_ref)
    link = session.exec(
        select(StyleReference).where(
            col(StyleReference.project_id) == project.id,
            col(StyleReference.media_id).startswith(media_ref.strip().lower()),
        )
    ).all()
    exact = [s for s in link if s.media_id == media_ref.strip()]
    chosen = exact or link
    if not chosen:
        raise NotFound(f"media {media_ref!r} is not a style reference of {project.title!r}")
    if len(chosen) > 1:
        raise UsageError(
            f"{media_ref!r} names several style references of {project.title!r}",
            hint="give more characters of the id",
        )
    session.delete(chosen[0])
    project.updated_at = utcnow()
    session.add(project)
    session.flush()
    return project, chosen[0].media_id
