"""``project export --format toml``: a project as an apply file (SPEC section 6)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from moviecli.models import Media, Project, ProjectCollaborator, StyleReference, User
from moviecli.services import projects


@dataclass
class Export:
    data: dict[str, Any]  # {"project": [ {...} ]}, ready for tomli_w / json
    files: list[tuple[str, Path]] = field(default_factory=list)  # (sha256, where to copy)


def export_project(
    session: Session,
    actor: User,
    ref: str | None,
    *,
    media_dir: Path | None = None,
    base: Path | None = None,
) -> Export:
    """A project as an apply file. With ``media_dir`` its media files go there and the
    entries name them (relative to ``base``, the directory of the exported file);
    otherwise the entries carry ``sha256`` and apply matches media already stored."""
    project = projects.resolve_or_current(session, actor, ref)
    entry = _project_entry(session, project)
    result = Export({"project": [entry]})
    media_entries = _media_entries(session, project, result, media_dir, base)
    if media_entries:
        entry["media"] = media_entries
    return result


def _project_entry(session: Session, project: Project) -> dict[str, Any]:
    """The project's fields, collaborators (by email) and settings."""
    entry: dict[str, Any] = {
        "title": project.title,
        "genre": project.genre,
        "episodeCount": project.episode_count,
        "targetAudience": project.target_audience,
    }
    if project.description:
        entry["description"] = project.description
    emails = session.exec(
        select(User.email)
        .join(ProjectCollaborator, col(ProjectCollaborator.user_id) == User.id)
        .where(col(ProjectCollaborator.project_id) == project.id)
        .order_by(sa.func.lower(User.email))
    ).all()
    entry["collaborators"] = list(emails)
    entry["projectSettings"] = {
        "aspectRatio": project.aspect_ratio,
        "episodeDuration": project.episode_duration,
        "qualityTier": project.quality_tier,
    }
    return entry


def _media_entries(
    session: Session,
    project: Project,
    result: Export,
    media_dir: Path | None,
    base: Path | None,
) -> list[dict[str, Any]]:
    """One entry per current media record, in creation order; with ``media_dir``, the files
    to copy are added to ``result.files``."""
    from moviecli.services import media as media_service

    styles = set(
        session.exec(
            select(StyleReference.media_id).where(col(StyleReference.project_id) == project.id)
        ).all()
    )
    used: set[str] = set()
    entries = []
    for media in session.exec(
        select(Media)
        .where(col(Media.project_id) == project.id, media_service.newest_only())
        .order_by(col(Media.created_at), col(Media.filename), col(Media.id))
    ).all():
        item: dict[str, Any] = {}
        if media_dir is not None:
            # Two assets with one name get distinct files; the entry keeps the record's
            # name in `filename`, so the round trip does not rename it.
            name = media.filename
            if name.lower() in used:
                name = f"{media.sha256[:8]}-{media.filename}"
            used.add(name.lower())
            target = media_dir / name
            result.files.append((media.sha256, target))
            item["file"] = _relative(target, base)
            if name != media.filename:
                item["filename"] = media.filename
        else:
            item["sha256"] = media.sha256
        item.update(_media_fields(media, styles))
        entries.append(item)
    return entries


def _media_fields(media: Media, styles: set[str]) -> dict[str, Any]:
    """An entry's metadata: only what differs from what apply would assume."""
    item: dict[str, Any] = {"mediaType": media.media_type}
    if media.description:
        item["description"] = media.description
    if media.tags:
        item["tags"] = list(media.tags)
    related: dict[str, Any] = {}
    if media.episode is not None:
        related["episode"] = media.episode
    if media.scene:
        related["scene"] = media.scene
    if media.characters:
        related["characters"] = list(media.characters)
    if media.timestamp is not None:
        related["timestamp"] = media.timestamp
    if related:
        item["relatedElements"] = related
    if media.status != "active":
        item["status"] = media.status
    if media.visibility != "private":
        item["visibility"] = media.visibility
    if media.id in styles and media.media_type != "style_reference":
        item["styleReference"] = True
    return item


def _relative(target: Path, base: Path | None) -> str:
    start = (base or Path.cwd()).resolve()
    return Path(os.path.relpath(target.resolve(), start)).as_posix()
