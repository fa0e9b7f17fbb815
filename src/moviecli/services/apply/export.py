"""``project export --format toml``: a project as an apply file (SPEC section 6)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from moviecli.models import Media, Project, ProjectCollaborator, StyleReference, User
from moviecli.services import counting, projects


@dataclass
class Export:
    data: dict[str, Any]  # {"project": [ {...} ]}, ready for tomli_w / json
    # (sha256, where to copy it, the record it is the file of): media.write_export copies them
    files: list[tuple[str, Path, str]] = field(default_factory=list)


def export_project(
    session: Session,
    actor: User,
    ref: str | None,
    *,
    media_dir: Path | None = None,
    output: Path | None = None,
) -> Export:
    """A project as an apply file. With ``media_dir`` its media files go there and the
    entries name them (relative to the directory of ``output``, the exported file, whose
    name no media file takes); otherwise the entries carry ``sha256`` and apply matches
    media already stored."""
    project = projects.resolve_or_current(session, actor, ref)
    entry = _project_entry(session, project)
    result = Export({"project": [entry]})
    media_entries = _media_entries(session, project, result, media_dir, output)
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
        .order_by(col(User.email_key))
    ).all()
    entry["collaborators"] = list(emails)
    entry["projectSettings"] = {
        "aspectRatio": project.aspect_ratio,
        "episodeDuration": project.episode_duration,
        "qualityTier": project.quality_tier,
    }
    story = _story_table(project)
    if story:
        entry["story"] = story
    entry["progress"] = {
        "currentPhase": project.current_phase,
        "completedSteps": list(project.completed_steps),
    }
    return entry


def _story_table(project: Project) -> dict[str, Any]:
    """What the story holds (empty texts and lists left out: apply leaves out what the
    file leaves out)."""
    from moviecli.services.story import normalized

    story = normalized(project.story)
    table: dict[str, Any] = {k: story[k] for k in ("concept", "logline", "synopsis") if story[k]}
    for key, name in (("characters", "name"), ("scenes", "title")):
        if story[key]:
            table[key] = [
                {name: str(i.get(name, "")), "description": str(i.get("description", ""))}
                for i in story[key]
            ]
    if story["directions"]:
        table["directions"] = [
            {"step": str(d.get("step", "")), "text": str(d.get("text", "")), "at": str(d["at"])}
            for d in story["directions"]
            if d.get("at")
        ]
    return table


def _media_entries(
    session: Session,
    project: Project,
    result: Export,
    media_dir: Path | None,
    output: Path | None,
) -> list[dict[str, Any]]:
    """One entry per current media record, in creation order; with ``media_dir``, the files
    to copy are added to ``result.files``."""
    from moviecli.services import media as media_service
    from moviecli.services.media_fields import ExportNames

    styles = set(
        session.exec(
            select(StyleReference.media_id).where(col(StyleReference.project_id) == project.id)
        ).all()
    )
    base = output.parent if output is not None else None
    beside = output is not None and media_dir is not None and _same(output.parent, media_dir)
    names = ExportNames([output.name] if beside and output is not None else [])
    entries = []
    for media in session.exec(
        select(Media)
        .where(col(Media.project_id) == project.id, counting.newest())
        .order_by(col(Media.created_at), col(Media.filename), col(Media.id))
    ).all():
        item: dict[str, Any] = {}
        if media_dir is not None:
            # Safe, distinct names; the entry keeps the record's name in `filename`, so
            # the round trip does not rename it.
            name = names.pick(media.filename, media.sha256, media.id)
            target = media_dir / name
            result.files.append((media.sha256, target, media_service.describe(media)))
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


def _same(one: Path, other: Path) -> bool:
    return one.resolve() == other.resolve()


def _relative(target: Path, base: Path | None) -> str:
    start = (base or Path.cwd()).resolve()
    return Path(os.path.relpath(target.resolve(), start)).as_posix()
