"""Applying a plan, in file order. A project with media files: its files staged and
embedded first, then one write transaction for the project, its collaborators, media and
style references, then the files moved into place. Projects without new or changed media
(the bulk of a file that sets up many projects): runs of up to ``RUN`` in one transaction.
Either way a killed apply leaves whole projects, and running it again finishes the job."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from moviecli.enums import MEDIA_FAMILIES
from moviecli.errors import Conflict, MovieCliError
from moviecli.models import Media, Project, ProjectCollaborator, StyleReference, User, utcnow
from moviecli.services import projects
from moviecli.services.apply.model import MediaPlan, Plan, ProjectPlan
from moviecli.services.apply.plan import EMBEDDED_COLUMNS
from moviecli.services.apply.plan_story import implied_status
from moviecli.services.resolve import user_by_email
from moviecli.storage.db import Database
from moviecli.text import fold

if TYPE_CHECKING:
    from datetime import datetime

    from moviecli.services.store import MediaStore, Staged

_COLLABORATORS = cast(sa.Table, ProjectCollaborator.__table__)  # type: ignore[attr-defined]


def recover(db: Database, store: MediaStore | None = None) -> None:
    """Finish what a killed apply (or media add) left in the store: files of committed
    records are moved into place, the others removed. Run before applying, even a file
    that changes nothing (its last run may have been killed after its last commit)."""
    from moviecli.services.store import MediaStore

    (store or MediaStore.default()).recover(db)


def apply_project(
    db: Database,
    actor: User,
    project_plan: ProjectPlan,
    store: MediaStore | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> str:
    """Apply one project's plan: files staged and embedded first, then one write
    transaction for the project, its collaborators, media and style references, then the
    files moved into place. Returns the project id. ``progress(1)`` after each new
    record's file is staged."""
    from moviecli.services.store import MediaStore

    store = store or MediaStore.default()
    staged: dict[str, Staged] = {}
    try:
        now = utcnow()
        rows = []
        for plan_item in project_plan.media:
            if plan_item.action == "create":
                rows.append(_new_row(plan_item, actor, now, store, staged))
                if progress:
                    progress(1)
        _embed_rows([r for r in rows if r["embedding"] is None])
        updates = _updated_media(db, project_plan)
        # Entries naming stored content by sha256 bring no copy: it must still be there
        # when their records are inserted (issue 13 item 1).
        borrowed = {
            p.entry.sha256: p.entry.place
            for p in project_plan.media
            if p.action == "create" and p.entry.path is None
        }
        try:
            project_id = _write_project(db, actor, project_plan, rows, updates, (store, borrowed))
        except IntegrityError as exc:  # a link or record made by someone else meanwhile
            raise _changed(project_plan) from exc
        for staged_file in staged.values():
            store.owe(staged_file)
        for staged_file in staged.values():
            store.commit(staged_file)
        staged.clear()
        return project_id
    finally:
        for staged_file in staged.values():
            store.discard(staged_file)


RUN = 100  # projects without media work committed together, in one transaction


def apply_plans(
    db: Database,
    actor: User,
    plans: list[ProjectPlan],
    store: MediaStore | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    applied: Callable[[int], None] | None = None,
) -> None:
    """Apply every changed project of ``plans`` in file order, setting each plan's
    project_id: a project with media work through :func:`apply_project`, the others in
    runs of up to ``RUN`` per transaction (a project is cheap to write; a transaction
    each would be most of the time of a file of many). ``progress(1)`` as
    :func:`apply_project` stages a file; ``applied(n)`` once n projects are committed."""
    from moviecli.services.store import MediaStore

    store = store or MediaStore.default()
    run: list[ProjectPlan] = []
    for project_plan in plans:
        if not project_plan.changed:
            continue
        if not _has_media_work(project_plan):
            run.append(project_plan)
            if len(run) == RUN:
                _apply_run(db, actor, run, store, applied)
                run = []
            continue
        _apply_run(db, actor, run, store, applied)  # the projects before it come first
        run = []
        project_plan.project_id = apply_project(db, actor, project_plan, store, progress=progress)
        if applied:
            applied(1)
    _apply_run(db, actor, run, store, applied)


def _has_media_work(project_plan: ProjectPlan) -> bool:
    """Whether the plan makes or changes media records (files staged and moved, texts
    embedded, contents locked): such a project has a transaction of its own."""
    return any(m.action in ("create", "update") for m in project_plan.media)


def _apply_run(
    db: Database,
    actor: User,
    run: list[ProjectPlan],
    store: MediaStore,
    applied: Callable[[int], None] | None,
) -> None:
    """Projects without media work in one transaction. When it fails (a change the plan
    could not see), each is applied again on its own: the projects before the failing
    one are kept, and the error names it."""
    if not run:
        return
    try:
        with db.write() as session:
            creating = projects.Creating(session, actor)
            ids = [_write_in(session, creating, p, [], {}, (store, {})) for p in run]
    except (MovieCliError, IntegrityError) as exc:
        if len(run) > 1:
            for project_plan in run:
                _apply_run(db, actor, [project_plan], store, applied)
            return
        if isinstance(exc, IntegrityError):  # a link or record made by someone else
            raise _changed(run[0]) from exc
        raise
    for project_plan, project_id in zip(run, ids, strict=True):
        project_plan.project_id = project_id
    if applied:
        applied(len(run))


def _changed(project_plan: ProjectPlan) -> Conflict:
    return Conflict(
        f"project {project_plan.title!r} changed while apply was running",
        hint="run apply again",
    )


def _new_row(
    plan_item: MediaPlan,
    actor: User,
    now: datetime,
    store: MediaStore,
    staged: dict[str, Staged],
) -> dict[str, Any]:
    """The row of a new record: its file staged in the store (a file entry) or the
    stored content's facts (a sha256 entry); its vector when the plan's text still fits."""
    from moviecli.services import probe, thumbnails
    from moviecli.services.media_add import new_row
    from moviecli.services.media_fields import filename_of, text_of

    entry = plan_item.entry
    if entry.path is not None:
        staged_file = store.stage(entry.path)
        staged[staged_file.sha256] = staged_file
        if staged_file.sha256 != entry.sha256:
            raise Conflict(f"{entry.path} changed while apply was running", hint="run apply again")
        thumbnails.keep_preview(entry.found, staged_file.sha256)
        found, size = entry.found, staged_file.size
        filename = entry.filename or filename_of(entry.path)
    else:
        extra = {
            k: plan_item.values.pop(k)
            for k in ("filename", "mime_type", "size_bytes", "technical_data")
        }
        found = probe.Probe(
            MEDIA_FAMILIES[entry.media_type], extra["mime_type"], extra["technical_data"]
        )
        size, filename = extra["size_bytes"], extra["filename"]
        # The stored file becomes this record's too: its bytes must be what they claim
        # (a file deleted since the plan is for the write transaction to tell).
        if store.has(entry.sha256):
            store.verify(entry.sha256, record=f"{entry.place} ({filename})")
    row = new_row(
        plan_item.values,
        found,
        sha256=entry.sha256,
        size=size,
        filename=filename,
        project_id="",
        actor=actor,
        now=now,
    )
    row["id"] = plan_item.media_id
    row["visibility"] = plan_item.values.get("visibility", "private")
    fits = plan_item.text == text_of(row)
    row["embedding"] = plan_item.vector if fits else None
    return row


def _write_project(
    db: Database,
    actor: User,
    project_plan: ProjectPlan,
    rows: list[dict[str, Any]],
    updates: dict[str, tuple[dict[str, Any], bytes | None]],
    borrowing: tuple[MediaStore, dict[str, str]],
) -> str:
    """The one write transaction of a project's plan; returns the project id."""
    with db.write() as session:
        return _write_in(
            session, projects.Creating(session, actor), project_plan, rows, updates, borrowing
        )


def _write_in(
    session: Session,
    creating: projects.Creating,
    project_plan: ProjectPlan,
    rows: list[dict[str, Any]],
    updates: dict[str, tuple[dict[str, Any], bytes | None]],
    borrowing: tuple[MediaStore, dict[str, str]],
) -> str:
    """A project's plan written inside the caller's write transaction; returns its id."""
    from moviecli.services.store import lock_contents

    actor = creating.actor
    project = apply_fields(session, creating, project_plan)
    now = utcnow()  # under the write lock, and not before the project's own times
    hashes = [r["sha256"] for r in rows]
    lock_contents(session, hashes)
    store, borrowed = borrowing
    store.require_stored(session, borrowed, "apply")
    if hashes and project_plan.action != "create":
        # The plan was made outside the lock: the same bytes may have been added to
        # the project since (a media add, another apply).
        added = session.exec(
            select(Media.filename).where(
                col(Media.project_id) == project.id, col(Media.sha256).in_(hashes)
            )
        ).first()
        if added is not None:
            raise Conflict(
                f"{added} was added to {project.title!r} while apply was running",
                hint="run apply again",
            )
    _write_media(session, project, project_plan, rows, updates, now)
    _write_story(session, actor, project, project_plan, now)
    if project_plan.action != "create" and project_plan.changed:
        project.updated_at = now
        session.add(project)
    session.flush()
    return project.id


def _write_media(
    session: Session,
    project: Project,
    project_plan: ProjectPlan,
    rows: list[dict[str, Any]],
    updates: dict[str, tuple[dict[str, Any], bytes | None]],
    now: datetime,
) -> None:
    """New records (one insert), updated records and the style references."""
    for index, row in enumerate(rows):
        row["project_id"] = project.id
        # One microsecond apart in file order: media are listed and exported by creation
        # time, so an exported file comes back in the same order.
        row["created_at"] = row["updated_at"] = now + timedelta(microseconds=index)
    if rows:
        session.execute(sa.insert(Media), rows)
    for media_id, (values, vector) in updates.items():
        media = session.get(Media, media_id)
        if media is None:
            continue
        for name, value in values.items():
            setattr(media, name, value)
        if vector is not None:
            media.embedding = vector
        media.updated_at = now
        session.add(media)
    if project_plan.style_remove:
        session.execute(
            sa.delete(StyleReference).where(
                col(StyleReference.project_id) == project.id,
                col(StyleReference.media_id).in_(project_plan.style_remove),
            )
        )
    for media_id in project_plan.style_add:
        session.add(StyleReference(project_id=project.id, media_id=media_id))


def _write_story(
    session: Session, actor: User, project: Project, project_plan: ProjectPlan, now: datetime
) -> None:
    """The story as revisions (source apply) and the workflow position, on the project's
    row locked in this transaction."""
    from moviecli.services import story, workflow
    from moviecli.storage.db import lock_row

    wanted = project_plan.progress
    if not (project_plan.story_updates or wanted):
        return
    if project_plan.action != "create":
        project = lock_row(session, Project, project.id) or project
    if project_plan.story_updates:
        story.record(
            session,
            project,
            project_plan.story_updates,
            actor=actor,
            source=story.Source("apply"),
            at=now,
        )
    if wanted is not None:
        project.current_phase = wanted.current_phase
        project.completed_steps = list(wanted.completed)
        project.overall_progress = workflow.overall_progress(wanted.completed)
        project.status = workflow.follow_status(project.status, implied_status(wanted))
        project.updated_at = now
        session.add(project)


def apply_fields(
    session: Session, creating: projects.Creating, project_plan: ProjectPlan
) -> Project:
    """Apply one project's fields and collaborators inside the caller's write
    transaction; ``creating`` makes the transaction's new projects (for its actor)."""
    actor = creating.actor
    desired = project_plan.desired
    if project_plan.action == "create":
        project = creating.create(projects.Fields(**desired))
    else:
        assert project_plan.project_id is not None
        changed = {
            attr: desired[attr]
            for attr in desired
            if projects.FIELD_NAMES[attr] in {c.field for c in project_plan.changes}
        }
        if changed:
            project, _ = projects.update(
                session, actor, project_plan.project_id, projects.Fields(**changed)
            )
        else:
            found = session.get(Project, project_plan.project_id)
            assert found is not None
            project = found
    for item in project_plan.items:
        if item.kind != "collaborator":
            continue
        if item.action == "create":
            user_id = project_plan.collaborator_ids[fold(item.name)]
            session.execute(
                sa.insert(_COLLABORATORS),
                {"project_id": project.id, "user_id": user_id},
            )
        elif item.action == "remove":
            user = user_by_email(session, item.name)
            link = session.get(ProjectCollaborator, (project.id, user.id)) if user else None
            if link is not None:
                session.delete(link)
    session.flush()
    return project


# --- embeddings ------------------------------------------------------------------------------


def _to_embed(plan: Plan) -> list[MediaPlan]:
    return [
        m
        for p in plan.projects
        if p.changed
        for m in p.media
        if m.action in ("create", "update") and m.text is not None and m.vector is None
    ]


def embed_count(plan: Plan) -> int:
    """How many texts :func:`embed_plan` embeds."""
    return len(_to_embed(plan))


def files_count(plan: Plan) -> int:
    """How many new records :func:`apply_project` makes, over every changed project."""
    return sum(1 for p in plan.projects if p.changed for m in p.media if m.action == "create")


def embed_plan(plan: Plan, *, progress: Callable[[int], None] | None = None) -> None:
    """Embed the texts of every new and re-described record of the file in one batch
    (the model's throughput is the cost of a big apply), before any transaction.
    ``progress(n)`` as texts are embedded (of :func:`embed_count` in all)."""
    items = _to_embed(plan)
    if not items:
        return
    from moviecli.services import embeddings

    vectors = embeddings.embed_texts([m.text or "" for m in items], progress=progress)
    for plan_item, vector in zip(items, vectors, strict=True):
        plan_item.vector = vector


def _embed_rows(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    from moviecli.services import embeddings
    from moviecli.services.media_fields import text_of

    for row, vector in zip(rows, embeddings.embed_texts([text_of(r) for r in rows]), strict=True):
        row["embedding"] = vector


def _updated_media(
    db: Database, project_plan: ProjectPlan
) -> dict[str, tuple[dict[str, Any], bytes | None]]:
    """New column values of the records to update, with a new vector when the text moved."""
    from moviecli.services.media_fields import text_of

    out: dict[str, tuple[dict[str, Any], bytes | None]] = {}
    targets = [m for m in project_plan.media if m.action == "update"]
    if not targets:
        return out
    texts: dict[str, str] = {}
    with db.session() as session:
        for plan_item in targets:
            media = session.get(Media, plan_item.media_id)
            if media is None:
                continue
            values = {k: v for k, v in plan_item.values.items() if getattr(media, k) != v}
            if not values:  # only its styleReference link changes: the record stays as is
                continue
            out[media.id] = (values, None)
            if EMBEDDED_COLUMNS & set(values):
                text = text_of({**media.model_dump(), **values})
                if text == plan_item.text and plan_item.vector is not None:
                    out[media.id] = (values, plan_item.vector)
                else:  # the record changed since the plan: embed what it is now
                    texts[media.id] = text
    if texts:
        from moviecli.services import embeddings

        for media_id, vector in zip(
            texts, embeddings.embed_texts(list(texts.values())), strict=True
        ):
            out[media_id] = (out[media_id][0], vector)
    return out
