"""Media (SPEC section 4): adding files, versions, metadata, sharing, search.

Access follows the project (``services.access``): a media record is visible when its
project is, or when it is public; it is changed by those who may change its project.
Invisible → not found (exit 3); visible but not changeable → permission denied (exit 4).

Work that spans transactions takes the ``Database`` (a session factory): adding files
copies and probes them and runs the embedding model with no transaction open, then
inserts in short write transactions (one ``insert()`` executemany per batch).

The public entry point for other services (chat attachments, apply) is ``add_files``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from moviecli.enums import MEDIA_FAMILIES, MEDIA_STATUSES, MEDIA_TYPES
from moviecli.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    UsageError,
    ValidationFailed,
)
from moviecli.models import (
    Media,
    MediaPublic,
    Project,
    ProjectCollaborator,
    StyleReference,
    User,
    new_id,
    utcnow,
)
from moviecli.services import access, probe
from moviecli.services import projects as project_service
from moviecli.services.pagination import Page, check_page, paginate
from moviecli.services.resolve import by_id_or_prefix
from moviecli.services.store import MediaStore, Staged, lock_contents

if TYPE_CHECKING:
    from moviecli.storage.db import Database

BATCH = 500
MAX_TAGS = 50
MAX_TEXT = 10_000

# progress(phase, advance, total): phase is "checking", "embedding" or "saving"
Progress = Callable[[str, int, int], None]


# --- fields --------------------------------------------------------------------------------


@dataclass
class Generation:
    """generationMetadata: who or what made an agent-generated asset."""

    agent_id: str | None = None
    prompt: str | None = None
    model_version: str | None = None
    task_id: str | None = None
    generation_time: datetime | str | None = None  # ISO 8601; default now


@dataclass
class AssetFields:
    """What a user says about the files they add (everything but the file itself)."""

    media_type: str
    description: str = ""
    tags: Sequence[str] = ()
    episode: int | None = None
    scene: str | None = None
    characters: Sequence[str] = ()
    timestamp: float | None = None
    status: str = "active"
    generation: Generation | None = None  # set ⇔ agentGenerated


def _clean_list(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        value = value.strip()
        if value and value not in seen:
            seen[value] = None
    return list(seen)


def _parse_time(value: datetime | str, problems: dict[str, str]) -> datetime | None:
    from datetime import UTC

    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            problems["generationMetadata.generationTime"] = (
                f"{value!r} is not an ISO 8601 date and time (e.g. 2026-05-01T14:30:00Z)"
            )
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _check_common(
    problems: dict[str, str],
    *,
    description: str | None,
    tags: Sequence[str] | None,
    episode: int | None,
    scene: str | None,
    characters: Sequence[str] | None,
    timestamp: float | None,
    status: str | None,
    episode_count: int | None,
) -> None:
    if description is not None and len(description) > MAX_TEXT:
        problems["description"] = f"must be at most {MAX_TEXT} characters"
    if tags is not None:
        if len(tags) > MAX_TAGS:
            problems["tags"] = f"at most {MAX_TAGS} tags"
        elif any(len(t) > 100 for t in tags):
            problems["tags"] = "each tag must be at most 100 characters"
    if episode is not None and episode_count is not None and not 1 <= episode <= episode_count:
        problems["relatedElements.episode"] = (
            f"must be between 1 and {episode_count} (the project's episodeCount)"
        )
    if scene is not None and len(scene) > 200:
        problems["relatedElements.scene"] = "must be at most 200 characters"
    if characters is not None and any(len(c) > 200 for c in characters):
        problems["relatedElements.characters"] = "each name must be at most 200 characters"
    if timestamp is not None and not (timestamp >= 0 and timestamp < 1e9):
        problems["relatedElements.timestamp"] = "must be 0 or more seconds"
    if status is not None and status not in MEDIA_STATUSES:
        problems["status"] = f"{status!r} is not one of: {', '.join(MEDIA_STATUSES)}"


def _generation_record(generation: Generation, problems: dict[str, str]) -> dict[str, Any]:
    when = generation.generation_time
    parsed = _parse_time(when, problems) if when is not None else utcnow()
    record: dict[str, Any] = {
        "agentId": generation.agent_id,
        "promptUsed": generation.prompt,
        "modelVersion": generation.model_version,
        "generationTime": parsed.isoformat().replace("+00:00", "Z") if parsed else None,
        "taskId": generation.task_id,
    }
    for key in ("agentId", "modelVersion", "taskId"):
        if record[key] is not None and len(record[key]) > 200:
            problems[f"generationMetadata.{key}"] = "must be at most 200 characters"
    return {k: v for k, v in record.items() if v is not None and v != ""}


def validate_fields(fields: AssetFields, project: Project | None) -> dict[str, Any]:
    """Every problem at once (exit 2); returns the columns the fields give."""
    problems: dict[str, str] = {}
    if fields.media_type not in MEDIA_FAMILIES:
        problems["mediaType"] = f"{fields.media_type!r} is not one of: {', '.join(MEDIA_TYPES)}"
    tags = _clean_list(fields.tags)
    characters = _clean_list(fields.characters)
    scene = fields.scene.strip() if fields.scene else None
    _check_common(
        problems,
        description=fields.description,
        tags=tags,
        episode=fields.episode,
        scene=scene,
        characters=characters,
        timestamp=fields.timestamp,
        status=fields.status,
        episode_count=project.episode_count if project else None,
    )
    meta = _generation_record(fields.generation, problems) if fields.generation else None
    if problems:
        raise ValidationFailed(problems)
    return {
        "media_type": fields.media_type,
        "description": (fields.description or "").strip(),
        "tags": tags,
        "episode": fields.episode,
        "scene": scene or None,
        "characters": characters,
        "timestamp": fields.timestamp,
        "status": fields.status,
        "agent_generated": fields.generation is not None,
        "generation_metadata": meta,
    }


def embedding_text(
    *,
    description: str,
    tags: Sequence[str],
    media_type: str,
    filename: str,
    characters: Sequence[str] = (),
    episode: int | None = None,
    scene: str | None = None,
) -> str:
    """The text around an asset that its embedding stands for (SPEC section 8).

    The file name contributes its words only ("Stormy_Sea-v3.png" → "Stormy Sea"):
    numbers and extensions mean nothing to a sentence model, and without them the files
    of a bulk add (frame-0001.png, frame-0002.png, …) share one text, embedded once.
    """
    parts = [description.strip()] if description.strip() else []
    if tags:
        parts.append("Tags: " + ", ".join(tags))
    parts.append(media_type.replace("_", " "))
    if characters:
        parts.append("Characters: " + ", ".join(characters))
    if scene:
        parts.append(f"Scene: {scene}")
    if episode is not None:
        parts.append(f"Episode {episode}")
    words = filename_words(filename)
    if words:
        parts.append(f"File: {words}")
    return ". ".join(parts)


def filename_words(filename: str) -> str:
    stem = filename.rsplit(".", 1)[0] if "." in filename.lstrip(".") else filename
    stem = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", stem)  # camelCase → camel Case
    return " ".join(w for w in re.split(r"[\W\d_]+", stem) if len(w) > 1)


def text_of(media: Media | dict[str, Any]) -> str:
    get = media.get if isinstance(media, dict) else lambda k: getattr(media, k)
    return embedding_text(
        description=get("description") or "",
        tags=get("tags") or [],
        media_type=str(get("media_type")),
        filename=str(get("filename")),
        characters=get("characters") or [],
        episode=get("episode"),
        scene=get("scene"),
    )


# --- naming and access -----------------------------------------------------------------------


def visible_media(actor: User) -> sa.ColumnElement[bool]:
    """A WHERE clause (over Media) for the media the actor may read."""
    if actor.role in ("admin", "producer"):
        return sa.true()
    projects = sa.select(col(Project.id)).where(access.visible_projects(actor))
    return sa.or_(col(Media.visibility) == "public", col(Media.project_id).in_(projects))


def _describe(media: Media) -> str:
    return f"{media.id[:8]} {media.filename} v{media.version}"


def resolve(session: Session, actor: User, ref: str) -> Media:
    """A media record the actor may read, by id or unique id prefix (else exit 3)."""
    return by_id_or_prefix(
        session, Media, ref, what="media", where=visible_media(actor), describe=_describe
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


def _touch_project(session: Session, project_id: str) -> None:
    session.execute(
        sa.update(Project).where(col(Project.id) == project_id).values(updated_at=utcnow())
    )


def _newer_version(session: Session, media_id: str) -> Media | None:
    return session.exec(select(Media).where(col(Media.previous_version) == media_id)).first()


# --- adding files ----------------------------------------------------------------------------


@dataclass
class AddedFile:
    """One argument of ``media add``: added, already present, or rejected (with why)."""

    path: Path
    outcome: str  # "added" | "present" | "rejected"
    media: MediaPublic | None = None
    reason: str | None = None


@dataclass
class AddResult:
    project_id: str
    project_title: str
    files: list[AddedFile] = field(default_factory=list)

    def _with(self, outcome: str) -> list[AddedFile]:
        return [f for f in self.files if f.outcome == outcome]

    @property
    def added(self) -> list[AddedFile]:
        return self._with("added")

    @property
    def present(self) -> list[AddedFile]:
        return self._with("present")

    @property
    def rejected(self) -> list[AddedFile]:
        return self._with("rejected")

    @property
    def records(self) -> list[MediaPublic]:
        """Added or already present, in argument order (what ``--json`` prints)."""
        return [f.media for f in self.files if f.media is not None]


def expand_paths(paths: Sequence[Path], *, recursive: bool) -> list[tuple[Path, str | None]]:
    """Files in argument order; directories expanded (sorted) with ``recursive``."""
    out: list[tuple[Path, str | None]] = []
    for path in paths:
        if path.is_dir():
            if not recursive:
                out.append((path, "is a directory (pass --recursive to add what it holds)"))
                continue
            found: list[Path] = []
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(Path(root) / f for f in files if not f.startswith("."))
            out.extend((p, None) for p in sorted(found))
        elif not path.exists():
            out.append((path, "no such file"))
        elif not path.is_file():
            out.append((path, "not a regular file"))
        else:
            out.append((path, None))
    return out


@dataclass
class _Candidate:
    path: Path
    staged: Staged
    probe: probe.Probe


def add_files(
    db: Database,
    actor: User,
    project: str | None,
    paths: Sequence[Path],
    fields: AssetFields,
    *,
    recursive: bool = False,
    embed: bool = True,
    progress: Progress | None = None,
    store: MediaStore | None = None,
) -> AddResult:
    """Add files to a project (SPEC section 4) and report each one in argument order.

    ``project`` is an id, id prefix or title (None: the actor's current project). Invalid
    ``fields`` or a project the actor may not change raise before anything is stored.
    A file that cannot be added (missing, not media, wrong family for the type, empty or
    truncated) is reported as rejected; the others are still added. The same bytes already
    in the project come back as "present" with the existing record.
    """
    store = store or MediaStore.default()
    with db.session() as session:
        proj = project_service.resolve_or_current(session, actor, project)
        access.require_edit_project(session, actor, proj)
        values = validate_fields(fields, proj)
        project_id, project_title = proj.id, proj.title
    store.recover(db)
    result = AddResult(project_id, project_title)
    entries = expand_paths(paths, recursive=recursive)
    total = len(entries)
    slots: list[AddedFile] = []
    candidates: dict[int, _Candidate] = {}
    try:
        # 1. Check and stage every file (no transaction open).
        for index, (path, problem) in enumerate(entries):
            slot = AddedFile(path, "rejected", reason=problem)
            slots.append(slot)
            if problem is None:
                try:
                    found = probe.probe(path, fields.media_type)
                    staged = store.stage(path)
                except probe.Rejected as exc:
                    slot.reason = str(exc)
                except OSError as exc:
                    slot.reason = f"cannot read it: {exc.strerror or exc}"
                else:
                    candidates[index] = _Candidate(path, staged, found)
            if progress:
                progress("checking", 1, total)
        # 2. Files whose bytes the project already has, or that repeat an earlier argument.
        first_of: dict[str, int] = {}
        repeats: dict[int, int] = {}
        for index, cand in candidates.items():
            sha = cand.staged.sha256
            if sha in first_of:
                repeats[index] = first_of[sha]
            else:
                first_of[sha] = index
        for index in repeats:
            store.discard(candidates.pop(index).staged)
        with db.session() as session:
            existing = _existing(session, project_id, list(first_of))
        for index, cand in list(candidates.items()):
            if cand.staged.sha256 in existing:
                slots[index].outcome = "present"
                slots[index].media = public(existing[cand.staged.sha256])
                store.discard(candidates.pop(index).staged)
        # 3. Rows and embeddings for the new ones (the model runs with no lock held).
        now = utcnow()
        rows: dict[int, dict[str, Any]] = {}
        for index, cand in candidates.items():
            rows[index] = _row(values, cand, project_id=project_id, actor=actor, now=now)
        if embed and rows:
            from moviecli.services import embeddings

            order = list(rows)
            vectors = embeddings.embed_texts(
                [text_of(rows[i]) for i in order],
                progress=(lambda n: progress("embedding", n, len(order))) if progress else None,
            )
            for i, vector in zip(order, vectors, strict=True):
                rows[i]["embedding"] = vector
        # 4. Insert in batches, one transaction each; then move the files into place.
        pending = list(rows)
        for start in range(0, len(pending), BATCH):
            batch = pending[start : start + BATCH]
            inserted, present = _insert_batch(
                db, project_id, [rows[i] for i in batch], style=fields.media_type
            )
            for i in batch:
                cand = candidates[i]
                sha = cand.staged.sha256
                if sha in present:
                    slots[i].outcome = "present"
                    slots[i].media = public(present[sha])
                    store.discard(cand.staged)
                else:
                    store.commit(cand.staged)
                    slots[i].outcome = "added"
                    slots[i].media = public_of_row(inserted[sha])
            if progress:
                progress("saving", len(batch), len(pending))
        for index, first in repeats.items():
            slots[index].outcome = "present"
            slots[index].media = slots[first].media
            if slots[first].outcome == "rejected":
                slots[index].outcome = "rejected"
                slots[index].reason = slots[first].reason
    finally:
        for cand in candidates.values():
            if cand.staged._handle is not None:
                store.discard(cand.staged)
    result.files = slots
    return result


def _existing(session: Session, project_id: str, hashes: list[str]) -> dict[str, Media]:
    found: dict[str, Media] = {}
    for start in range(0, len(hashes), BATCH):
        chunk = hashes[start : start + BATCH]
        rows = session.exec(
            select(Media)
            .where(col(Media.project_id) == project_id, col(Media.sha256).in_(chunk))
            .order_by(col(Media.version).desc())
        ).all()
        for media in rows:
            found.setdefault(media.sha256, media)
    return found


def _row(
    values: dict[str, Any], cand: _Candidate, *, project_id: str, actor: User, now: datetime
) -> dict[str, Any]:
    return new_row(
        values,
        cand.probe,
        sha256=cand.staged.sha256,
        size=cand.staged.size,
        filename=filename_of(cand.path),
        project_id=project_id,
        actor=actor,
        now=now,
    )


def new_row(
    values: dict[str, Any],
    found: probe.Probe,
    *,
    sha256: str,
    size: int,
    filename: str,
    project_id: str,
    actor: User,
    now: datetime,
) -> dict[str, Any]:
    """The columns of a new version-1 record (``values`` from ``validate_fields``)."""
    return {
        **values,
        "id": new_id(),
        "project_id": project_id,
        "embedding": None,
        "technical_data": found.technical_data,
        "version": 1,
        "previous_version": None,
        "visibility": "private",
        "filename": filename,
        "mime_type": found.mime_type,
        "size_bytes": size,
        "sha256": sha256,
        "created_by": actor.id,
        "created_at": now,
        "updated_at": now,
    }


def filename_of(path: Path) -> str:
    """The original name a record keeps: valid UTF-8 (bytes of a name that is not, as Linux
    allows, become U+FFFD), at most 255 characters."""
    name = path.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if len(name) <= 255:
        return name
    stem, dot, ext = name.rpartition(".")
    return (stem[: 254 - len(ext)] + dot + ext) if dot and len(ext) < 20 else name[:255]


def _insert_batch(
    db: Database, project_id: str, rows: list[dict[str, Any]], *, style: str
) -> tuple[dict[str, dict[str, Any]], dict[str, Media]]:
    """Insert the rows whose bytes the project still lacks; (inserted, already present)."""
    hashes = [r["sha256"] for r in rows]
    with db.write() as session:
        lock_contents(session, hashes)
        if session.get(Project, project_id) is None:
            raise NotFound("the project was deleted meanwhile")
        present = _existing(session, project_id, hashes)
        fresh = [r for r in rows if r["sha256"] not in present]
        if fresh:
            session.execute(sa.insert(MEDIA_TABLE), fresh)
            if style == "style_reference":
                session.execute(
                    sa.insert(STYLE_TABLE),
                    [
                        {
                            "project_id": project_id,
                            "media_id": r["id"],
                            "added_at": r["created_at"],
                        }
                        for r in fresh
                    ],
                )
            _touch_project(session, project_id)
    return {r["sha256"]: r for r in fresh}, present


# --- versions --------------------------------------------------------------------------------


@dataclass
class Changes:
    """What ``media update`` (and ``media version``) may change; None = unchanged."""

    description: str | None = None
    add_tags: Sequence[str] = ()
    remove_tags: Sequence[str] = ()
    episode: int | None = None
    clear_episode: bool = False
    scene: str | None = None
    characters: Sequence[str] | None = None
    timestamp: float | None = None
    status: str | None = None

    def any(self) -> bool:
        return bool(
            self.description is not None
            or self.add_tags
            or self.remove_tags
            or self.episode is not None
            or self.clear_episode
            or self.scene is not None
            or self.characters is not None
            or self.timestamp is not None
            or self.status is not None
        )


def _apply_changes(media: Media, changes: Changes, project: Project) -> dict[str, Any]:
    """The new values of the changed columns (validated; exit 2 lists every problem)."""
    problems: dict[str, str] = {}
    add = _clean_list(changes.add_tags)
    remove = set(_clean_list(changes.remove_tags))
    tags = [t for t in media.tags if t not in remove]
    tags += [t for t in add if t not in tags]
    characters = _clean_list(changes.characters) if changes.characters is not None else None
    _check_common(
        problems,
        description=changes.description,
        tags=tags,
        episode=changes.episode,
        scene=changes.scene,
        characters=characters,
        timestamp=changes.timestamp,
        status=changes.status,
        episode_count=project.episode_count,
    )
    if changes.episode is not None and changes.clear_episode:
        problems["relatedElements.episode"] = "give a number or clear it, not both"
    if problems:
        raise ValidationFailed(problems)
    new: dict[str, Any] = {}
    if changes.description is not None:
        new["description"] = changes.description.strip()
    if add or remove:
        new["tags"] = tags
    if changes.episode is not None or changes.clear_episode:
        new["episode"] = changes.episode
    if changes.scene is not None:
        new["scene"] = changes.scene.strip() or None
    if characters is not None:
        new["characters"] = characters
    if changes.timestamp is not None:
        new["timestamp"] = changes.timestamp
    if changes.status is not None:
        new["status"] = changes.status
    return {k: v for k, v in new.items() if getattr(media, k) != v}


TEXT_COLUMNS = {"description", "tags", "episode", "scene", "characters"}


def add_version(
    db: Database,
    actor: User,
    ref: str,
    path: Path,
    changes: Changes | None = None,
    *,
    embed: bool = True,
    store: MediaStore | None = None,
) -> MediaPublic:
    """Version n+1 of an asset: same project, type and metadata unless ``changes`` says."""
    store = store or MediaStore.default()
    changes = changes or Changes()
    with db.session() as session:
        old, project = editable(session, actor, ref)
        newer = _newer_version(session, old.id)
        if newer is not None:
            raise Conflict(
                f"media {old.id[:8]} already has a newer version (v{newer.version}, "
                f"{newer.id[:8]})",
                hint=f"add the version to {newer.id[:8]}",
            )
        new_values = _apply_changes(old, changes, project)
    store.recover(db)
    try:
        found = probe.probe(path, old.media_type)
    except probe.Rejected as exc:
        raise UsageError(f"{path.name}: {exc}") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    staged = store.stage(path)
    try:
        if staged.sha256 == old.sha256:
            raise Conflict(
                f"{path.name} has the same content as version {old.version} of {old.id[:8]}"
            )
        now = utcnow()
        row = {
            name: getattr(old, name)
            for name in (
                "project_id",
                "media_type",
                "agent_generated",
                "generation_metadata",
                "description",
                "tags",
                "characters",
                "episode",
                "scene",
                "timestamp",
                "status",
                "visibility",
            )
        }
        row.update(new_values)
        row.update(
            id=new_id(),
            embedding=None,
            technical_data=found.technical_data,
            version=old.version + 1,
            previous_version=old.id,
            filename=filename_of(path),
            mime_type=found.mime_type,
            size_bytes=staged.size,
            sha256=staged.sha256,
            created_by=actor.id,
            created_at=now,
            updated_at=now,
        )
        if embed:
            from moviecli.services import embeddings

            row["embedding"] = embeddings.embed_texts([text_of(row)])[0]
        with db.write() as session:
            lock_contents(session, [staged.sha256])
            current = session.get(Media, old.id)
            if current is None:
                raise NotFound(f"media {old.id[:8]} was deleted meanwhile")
            newer = _newer_version(session, old.id)
            if newer is not None:
                raise Conflict(
                    f"media {old.id[:8]} got a newer version meanwhile ({newer.id[:8]})"
                )
            session.execute(sa.insert(MEDIA_TABLE), [row])
            if (
                session.get(StyleReference, (old.project_id, old.id)) is not None
                and session.get(StyleReference, (old.project_id, row["id"])) is None
            ):
                # The project's style reference follows the asset to its newest version.
                session.execute(
                    sa.delete(StyleReference).where(
                        col(StyleReference.project_id) == old.project_id,
                        col(StyleReference.media_id) == old.id,
                    )
                )
                session.add(StyleReference(project_id=old.project_id, media_id=row["id"]))
            _touch_project(session, old.project_id)
        store.commit(staged)
    finally:
        if staged._handle is not None:
            store.discard(staged)
    return public_of_row(row)


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
        after = _newer_version(session, chain[-1].id)
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


def newest_only() -> sa.ColumnElement[bool]:
    newer = sa.orm.aliased(Media)
    return ~sa.exists().where(col(newer.previous_version) == col(Media.id))


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
    page: int = 1,
    limit: int = 20,
) -> tuple[Project, Page[MediaPublic]]:
    """A project's media, newest first; the newest version of each asset by default."""
    problems: dict[str, str] = {}
    if media_type is not None and media_type not in MEDIA_FAMILIES:
        problems["mediaType"] = f"{media_type!r} is not one of: {', '.join(MEDIA_TYPES)}"
    if status is not None and status not in MEDIA_STATUSES:
        problems["status"] = f"{status!r} is not one of: {', '.join(MEDIA_STATUSES)}"
    try:
        check_page(page, limit)
    except ValidationFailed as exc:
        problems.update(exc.details)
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
        where.append(newest_only())
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
    """Copy the stored file out: into DEST when it is a directory, else to DEST."""
    store = store or MediaStore.default()
    media = resolve(session, actor, ref)
    # Into a directory under the record's name; a name that could leave the directory
    # (an old record, a database edited by hand) falls back to the record's id.
    name = Path(media.filename).name
    if name in ("", ".", ".."):
        name = media.id
    target = dest / name if dest.is_dir() else dest
    if not target.parent.is_dir():
        raise UsageError(f"no such directory: {target.parent}")
    if target.exists() and not force:
        raise Conflict(f"{target} already exists", hint="pass --force to overwrite it")
    store.export(media.sha256, target)
    return public(media), target


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
        new = _apply_changes(media, changes, project)
        media_id = media.id
        preview = {**media.model_dump(), **new}
    vector = None
    if embed and TEXT_COLUMNS & set(new):
        from moviecli.services import embeddings

        text = text_of(preview)
        vector = embeddings.embed_texts([text])[0]
    with db.write() as session:
        media, project = editable(session, actor, media_id)
        new = _apply_changes(media, changes, project)
        for name, value in new.items():
            setattr(media, name, value)
        if TEXT_COLUMNS & set(new):
            # A vector is only kept when it was made from the text now stored.
            media.embedding = vector if vector is not None and text_of(media) == text else None
        if new:
            media.updated_at = utcnow()
            session.add(media)
            _touch_project(session, media.project_id)
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
        _touch_project(session, media.project_id)
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


# --- embeddings and search -------------------------------------------------------------------


@dataclass
class EmbedResult:
    embedded: int
    skipped: int


def embed(
    db: Database,
    actor: User,
    *,
    project: str | None = None,
    pending_only: bool = False,
    progress: Progress | None = None,
) -> EmbedResult:
    """Fill in (``pending_only``) or rebuild the embeddings of the media the actor may
    change (one project with ``project``). The model runs outside any write lock."""
    from moviecli.services import embeddings

    with db.session() as session:
        where: list[sa.ColumnElement[bool]] = []
        if project is not None:
            proj = project_service.resolve(session, actor, project)
            access.require_edit_project(session, actor, proj)
            where.append(col(Media.project_id) == proj.id)
        elif not access.is_admin(actor):
            collaborating = sa.select(col(ProjectCollaborator.project_id)).where(
                col(ProjectCollaborator.user_id) == actor.id
            )
            editable_projects = sa.select(col(Project.id)).where(
                sa.or_(col(Project.created_by) == actor.id, col(Project.id).in_(collaborating))
            )
            where.append(col(Media.project_id).in_(editable_projects))
        if pending_only:
            where.append(col(Media.embedding).is_(None))
        stmt = sa.select(
            col(Media.id),
            col(Media.updated_at),
            col(Media.description),
            col(Media.tags),
            col(Media.media_type),
            col(Media.filename),
            col(Media.characters),
            col(Media.episode),
            col(Media.scene),
        ).where(*where)
        rows = [dict(r._mapping) for r in session.execute(stmt)]
    total = len(rows)
    done = skipped = 0
    for start in range(0, total, BATCH):
        batch = rows[start : start + BATCH]
        vectors = embeddings.embed_texts(
            [text_of(r) for r in batch],
            progress=(lambda n: progress("embedding", n, total)) if progress else None,
        )
        with db.write() as session:
            for row, vector in zip(batch, vectors, strict=True):
                changed = session.execute(
                    sa.update(Media)
                    .where(col(Media.id) == row["id"], col(Media.updated_at) == row["updated_at"])
                    .values(embedding=vector, updated_at=utcnow())
                ).rowcount  # type: ignore[attr-defined]
                if changed:
                    done += 1
                else:
                    skipped += 1  # changed or deleted meanwhile: its own update re-embeds
    return EmbedResult(done, skipped)


@dataclass
class SearchHit:
    media: MediaPublic
    similarity: float
    project_title: str = ""


def search(
    db: Database,
    actor: User,
    query: str,
    *,
    project: str | None = None,
    media_type: str | None = None,
    page: int = 1,
    limit: int = 20,
) -> Page[SearchHit]:
    """Rank the media the actor may see by meaning (cosine similarity, clamped to 0-1):
    their visible projects' media plus public media, or one project with ``project``."""
    import numpy as np

    from moviecli.services import embeddings
    from moviecli.services.search_index import SearchIndex

    problems: dict[str, str] = {}
    if not query.strip():
        problems["query"] = "is required"
    if media_type is not None and media_type not in MEDIA_FAMILIES:
        problems["mediaType"] = f"{media_type!r} is not one of: {', '.join(MEDIA_TYPES)}"
    try:
        check_page(page, limit)
    except ValidationFailed as exc:
        problems.update(exc.details)
    if problems:
        raise ValidationFailed(problems)
    with db.session() as session:
        project_ids: list[str] | None = None
        if project is not None:
            project_ids = [project_service.resolve(session, actor, project).id]
        elif actor.role not in ("admin", "producer"):
            project_ids = list(
                session.execute(
                    sa.select(col(Project.id)).where(access.visible_projects(actor))
                ).scalars()
            )
        view = SearchIndex(db.url).view(session)
    vector = embeddings.embed_query(query)
    mask = view.has_vector & view.newest
    if media_type is not None:
        mask &= view.media_type == MEDIA_TYPES.index(media_type)
    if project_ids is not None:
        in_projects = np.isin(view.project, view.project_codes(project_ids))
        mask &= in_projects if project is not None else (in_projects | view.public)
    rows = np.flatnonzero(mask)
    total = len(rows)
    start, stop = (page - 1) * limit, page * limit
    if start >= total:
        return Page([], total, page, limit)
    scores = (
        view.vectors[rows] @ vector if total < len(mask) // 2 else (view.vectors @ vector)[rows]
    )
    scores = np.clip(scores, 0.0, 1.0)
    keep = min(stop, total)
    top = np.argpartition(-scores, keep - 1)[:keep] if keep < total else np.arange(total)
    top = top[np.lexsort((view.ids[rows[top]], -scores[top]))][start:stop]
    ids = [view.ids[rows[i]].decode() for i in top]
    similarity = {view.ids[rows[i]].decode(): float(scores[i]) for i in top}
    with db.session() as session:
        hit_rows = session.exec(
            select(Media, Project.title)
            .join(Project, col(Project.id) == col(Media.project_id))
            .where(col(Media.id).in_(ids), visible_media(actor))
        ).all()
    found = {m.id: (m, title) for m, title in hit_rows}
    hits = [
        SearchHit(public(found[i][0]), round(similarity[i], 4), found[i][1])
        for i in ids
        if i in found
    ]
    return Page(hits, total, page, limit)
