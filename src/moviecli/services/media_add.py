"""Adding files to a project: ``media add`` and ``media version`` (SPEC section 4).

Work that spans transactions takes the ``Database`` (a session factory): each file is
probed and copied into the store's ``tmp/`` (hashed as it is copied) with no transaction
open, the embedding model runs with no lock held, and the records are inserted in short
write transactions (one ``insert()`` executemany per batch) under the content locks of
``services.store``; only after the commit is a temporary moved to its object name.

The public entry point for other services (chat attachments, apply) is ``add_files``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from moviecli.errors import Conflict, NotFound, UsageError
from moviecli.models import Media, MediaPublic, Project, StyleReference, User, new_id, utcnow
from moviecli.services import access, embeddings, probe, provenance, thumbnails
from moviecli.services import projects as project_service
from moviecli.services.media import (
    MEDIA_TABLE,
    STYLE_TABLE,
    editable,
    newer_version,
    public,
    public_of_row,
    touch_project,
)
from moviecli.services.media_fields import (
    AssetFields,
    Changes,
    filename_of,
    text_of,
    validate_changes,
    validate_fields,
)
from moviecli.services.store import MediaStore, Staged, lock_contents

if TYPE_CHECKING:
    from moviecli.storage.db import Database

BATCH = 500
CHUNK = 128  # files staged before their texts go to the model (embeddings.Background)

# progress(phase, advance, total): phase is "checking", "embedding" or "saving"
Progress = Callable[[str, int, int], None]


@dataclass
class AddedFile:
    """One argument of ``media add``: added, already present, or rejected (with why)."""

    path: Path
    outcome: str  # "added" | "present" | "rejected"
    media: MediaPublic | None = None
    reason: str | None = None
    # What could not be read of its generation metadata (the file is still added).
    warnings: list[str] = field(default_factory=list)


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
            out.extend((p, _not_a_file(p)) for p in sorted(found))
        else:
            out.append((path, _not_a_file(path)))
    return out


def _not_a_file(path: Path) -> str | None:
    """Why ``path`` cannot be read as a file (a FIFO would block the reader), or None."""
    if not path.exists():
        return "no such file"
    if not path.is_file():
        return "not a regular file"
    return None


@dataclass
class _Candidate:
    path: Path
    staged: Staged
    probe: probe.Probe
    made_by: provenance.Provenance | None = None  # what the file says made it


@dataclass
class _Adding:
    """One ``add_files`` call on its way: a slot per argument, the files still to add."""

    db: Database
    store: MediaStore
    project_id: str
    progress: Progress | None
    slots: list[AddedFile] = field(default_factory=list)
    candidates: dict[int, _Candidate] = field(default_factory=dict)
    repeats: dict[int, int] = field(default_factory=dict)  # index → first with its bytes
    first_of: dict[str, int] = field(default_factory=dict)  # sha256 → first index

    def tick(self, phase: str, advance: int, total: int) -> None:
        if self.progress:
            self.progress(phase, advance, total)

    def mark_present(self, index: int, media: MediaPublic) -> None:
        self.slots[index].outcome = "present"
        self.slots[index].media = media
        self.store.discard(self.candidates.pop(index).staged)


def add_files(
    db: Database,
    actor: User,
    project: str | None,
    paths: Sequence[Path],
    fields: AssetFields,
    *,
    recursive: bool = False,
    embed: bool = True,
    read_generation: bool = True,
    progress: Progress | None = None,
    store: MediaStore | None = None,
) -> AddResult:
    """Add files to a project (SPEC section 4) and report each one in argument order.

    With ``read_generation``, an image's own generation metadata (services/provenance.py:
    Automatic1111, ComfyUI, XMP, …) makes it agentGenerated and fills generationMetadata;
    what ``fields`` say wins, key by key. What cannot be read is a warning of that file.

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
        result = AddResult(proj.id, proj.title)
    store.recover(db)
    adding = _Adding(db, store, result.project_id, progress)
    entries = expand_paths(paths, recursive=recursive)
    # The model embeds each chunk's texts on a worker thread while the next chunk is
    # staged (hashing, probing and copying are this thread's work).
    background = embeddings.Background(optimize=len(entries) > 8) if embed else None
    try:
        now = utcnow()
        rows: dict[int, dict[str, Any]] = {}
        for start in range(0, len(entries), CHUNK):
            staged = _stage(
                adding,
                entries[start : start + CHUNK],
                len(entries),
                fields.media_type,
                read_generation=read_generation,
            )
            fresh = {
                index: _row(values, adding.candidates[index], project_id=result.project_id,
                            actor=actor, now=now)
                for index in _skip_known(adding, staged)
            }  # fmt: skip
            if background is not None:
                background.submit([text_of(r) for r in fresh.values()])
            rows.update(fresh)
        if background is not None and rows:
            embed_rows(list(rows.values()), progress=progress, background=background)
        _save(adding, rows, style=fields.media_type == "style_reference")
        _settle_repeats(adding)
    finally:
        if background is not None:
            background.close()
        for cand in adding.candidates.values():
            store.discard(cand.staged)
    result.files = adding.slots
    return result


def _stage(
    adding: _Adding,
    entries: list[tuple[Path, str | None]],
    total: int,
    media_type: str,
    *,
    read_generation: bool = True,
) -> list[int]:
    """Probe and copy each file into the store's tmp/ (no transaction open); the indexes
    of the candidates it makes."""
    staged = []
    for path, problem in entries:
        index = len(adding.slots)
        slot = AddedFile(path, "rejected", reason=problem)
        adding.slots.append(slot)
        if problem is None:
            try:
                found = probe.probe(path, media_type)
                staged_file = adding.store.stage(path)
            except probe.Rejected as exc:
                slot.reason = str(exc)
            except OSError as exc:
                slot.reason = f"cannot read it: {exc.strerror or exc}"
            else:
                thumbnails.keep_preview(found, staged_file.sha256)
                cand = adding.candidates[index] = _Candidate(path, staged_file, found)
                staged.append(index)
                if read_generation and found.family == "image":
                    reading = provenance.read(path)
                    cand.made_by, slot.warnings = reading.found, reading.warnings
        adding.tick("checking", 1, total)
    return staged


def _skip_known(adding: _Adding, staged: list[int]) -> list[int]:
    """Of the ``staged`` candidates, drop those repeating an earlier argument or whose
    bytes the project has; the indexes of the rest."""
    repeats = set()
    for index in staged:
        sha = adding.candidates[index].staged.sha256
        first = adding.first_of.setdefault(sha, index)
        if first != index:
            adding.repeats[index] = first
            repeats.add(index)
            adding.store.discard(adding.candidates.pop(index).staged)
    hashes = [adding.candidates[i].staged.sha256 for i in staged if i not in repeats]
    with adding.db.session() as session:
        existing = existing_media(session, adding.project_id, hashes)
    fresh = []
    for index in staged:
        if index in repeats:
            continue
        sha = adding.candidates[index].staged.sha256
        if sha in existing:
            adding.mark_present(index, public(existing[sha]))
        else:
            fresh.append(index)
    return fresh


def _save(adding: _Adding, rows: dict[int, dict[str, Any]], *, style: bool) -> None:
    """Insert in batches, one transaction each; then move each batch's files into place."""
    pending = list(rows)
    for start in range(0, len(pending), BATCH):
        batch = pending[start : start + BATCH]
        inserted, present = insert_batch(
            adding.db, adding.project_id, [rows[i] for i in batch], style=style
        )
        for i in batch:
            if adding.candidates[i].staged.sha256 not in present:
                adding.store.owe(adding.candidates[i].staged)
        for i in batch:
            sha = adding.candidates[i].staged.sha256
            if sha in present:  # added by someone else since _skip_known
                adding.mark_present(i, public(present[sha]))
            else:
                adding.store.commit(adding.candidates.pop(i).staged)
                adding.slots[i].outcome = "added"
                adding.slots[i].media = public_of_row(inserted[sha])
        adding.tick("saving", len(batch), len(pending))


def _settle_repeats(adding: _Adding) -> None:
    """A repeated argument ends as its first occurrence did."""
    for index, first in adding.repeats.items():
        slot, original = adding.slots[index], adding.slots[first]
        slot.media = original.media
        slot.outcome = "rejected" if original.outcome == "rejected" else "present"
        if original.outcome == "rejected":
            slot.reason = original.reason


def embed_rows(
    rows: list[dict[str, Any]],
    *,
    progress: Progress | None = None,
    background: embeddings.Background | None = None,
) -> None:
    """Fill in the ``embedding`` of new rows, in batches (the model runs with no lock);
    with ``background``, from what it embedded meanwhile."""
    total = len(rows)
    texts = [text_of(r) for r in rows]
    tick = (lambda n: progress("embedding", n, total)) if progress else None
    if background is None:
        vectors = embeddings.embed_texts(texts, progress=tick)
    else:
        vectors = background.vectors(texts, progress=tick)
    for row, vector in zip(rows, vectors, strict=True):
        row["embedding"] = vector


def existing_media(session: Session, project_id: str, hashes: list[str]) -> dict[str, Media]:
    """The project's newest record of each of these contents (by sha256)."""
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
    if cand.made_by is not None:
        values = {
            **values,
            "agent_generated": True,
            "generation_metadata": provenance.merged(values["generation_metadata"], cand.made_by),
        }
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


def insert_batch(
    db: Database, project_id: str, rows: list[dict[str, Any]], *, style: bool
) -> tuple[dict[str, dict[str, Any]], dict[str, Media]]:
    """Insert the rows whose bytes the project still lacks; (inserted, already present)."""
    hashes = [r["sha256"] for r in rows]
    with db.write() as session:
        lock_contents(session, hashes)
        if session.get(Project, project_id) is None:
            raise NotFound("the project was deleted meanwhile")
        present = existing_media(session, project_id, hashes)
        fresh = [r for r in rows if r["sha256"] not in present]
        if fresh:
            session.execute(sa.insert(MEDIA_TABLE), fresh)
            if style:
                links = [
                    {"project_id": project_id, "media_id": r["id"], "added_at": r["created_at"]}
                    for r in fresh
                ]
                session.execute(sa.insert(STYLE_TABLE), links)
            touch_project(session, project_id)
    return {r["sha256"]: r for r in fresh}, present


# --- versions --------------------------------------------------------------------------------

# What a new version keeps of the one before it (unless the changes say otherwise).
_INHERITED = (
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
    with db.session() as session:
        old, project = editable(session, actor, ref)
        _require_newest(session, old)
        new_values = validate_changes(old, changes or Changes(), project)
    store.recover(db)
    problem = _not_a_file(path)
    if problem is not None:
        raise UsageError(f"{path}: {problem}")
    try:
        found = probe.probe(path, old.media_type)
    except probe.Rejected as exc:
        raise UsageError(f"{path.name}: {exc}") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    staged = store.stage(path)
    thumbnails.keep_preview(found, staged.sha256)
    try:
        if staged.sha256 == old.sha256:
            raise Conflict(
                f"{path.name} has the same content as version {old.version} of {old.id[:8]}"
            )
        now = utcnow()
        row = {name: getattr(old, name) for name in _INHERITED} | new_values
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
            embed_rows([row])
        _insert_version(db, old, row)
        store.owe(staged)
        store.commit(staged)
    finally:
        store.discard(staged)
    return public_of_row(row)


def _require_newest(session: Session, old: Media, *, meanwhile: bool = False) -> None:
    newer = newer_version(session, old.id)
    if newer is None:
        return
    if meanwhile:
        raise Conflict(f"media {old.id[:8]} got a newer version meanwhile ({newer.id[:8]})")
    raise Conflict(
        f"media {old.id[:8]} already has a newer version (v{newer.version}, {newer.id[:8]})",
        hint=f"add the version to {newer.id[:8]}",
    )


def _insert_version(db: Database, old: Media, row: dict[str, Any]) -> None:
    with db.write() as session:
        lock_contents(session, [row["sha256"]])
        if session.get(Media, old.id) is None:
            raise NotFound(f"media {old.id[:8]} was deleted meanwhile")
        _require_newest(session, old, meanwhile=True)
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
        touch_project(session, old.project_id)
