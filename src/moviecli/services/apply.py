"""``moviecli apply FILE.toml``: declarative, idempotent setup of projects (SPEC section 6).

Three stages, so that a bad file changes nothing and a killed run leaves whole projects:

1. **read** the file and check every entry, collecting every problem with its place
   (``project[1].media[2].file: …``) — nothing is written when there is any;
2. **plan** against the database: create / update (old → new per field) / unchanged for each
   project, collaborator and media entry, and what exists but is not in the file (kept);
3. **apply** the plan, one write transaction per project.

Projects are matched by title among the actor's own projects (case-insensitive), media by
content hash within the project. apply does not manage status, progress or sessions.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from moviecli.enums import MEDIA_FAMILIES, MEDIA_STATUSES, VISIBILITIES
from moviecli.errors import Conflict, LimitReached, UsageError, ValidationFailed
from moviecli.models import (
    Media,
    Project,
    ProjectCollaborator,
    StyleReference,
    Template,
    User,
    new_id,
    utcnow,
)
from moviecli.services import projects
from moviecli.services.resolve import user_by_email
from moviecli.storage.db import Database

if TYPE_CHECKING:
    from moviecli.services.store import MediaStore, Staged

PROJECT_KEYS = {
    "title",
    "description",
    "genre",
    "episodeCount",
    "targetAudience",
    "template",
    "collaborators",
    "projectSettings",
    "media",
}
SETTINGS_KEYS = {
    "aspectRatio": "aspect_ratio",
    "episodeDuration": "episode_duration",
    "qualityTier": "quality_tier",
}
FIELD_KEYS = {
    "title": "title",
    "description": "description",
    "genre": "genre",
    "episodeCount": "episode_count",
    "targetAudience": "target_audience",
}
MEDIA_KEYS = {
    "file",
    "sha256",
    "mediaType",
    "description",
    "tags",
    "relatedElements",
    "styleReference",
    "status",
    "visibility",
    "filename",
}
RELATED_KEYS = {"episode", "scene", "characters", "timestamp"}


# --- 1. read and check --------------------------------------------------------------------------


@dataclass
class MediaEntry:
    place: str
    media_type: str
    path: Path | None
    sha256: str
    description: str | None = None
    tags: list[str] | None = None
    related: dict[str, Any] | None = None
    style_reference: bool = False
    status: str | None = None
    visibility: str | None = None
    filename: str | None = None  # the record's name, when it differs from the file's
    found: Any = None  # probe.Probe of a new file (set by the plan)


@dataclass
class ProjectEntry:
    place: str
    title: str
    fields: projects.Fields
    template: str | None
    collaborators: list[str] | None
    media: list[MediaEntry] | None


def read_file(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from exc


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Checker:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.problems: dict[str, str] = {}

    def problem(self, place: str, message: str) -> None:
        self.problems.setdefault(place, message)

    def typed(self, place: str, value: Any, kind: type | tuple[type, ...], what: str) -> Any:
        if value is None:
            return None
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            self.problem(place, f"must be {what}")
            return None
        return value

    def entries(self, data: dict[str, Any]) -> list[ProjectEntry]:
        for key in sorted(set(data) - {"project"}):
            self.problem(key, "unknown key (the file holds [[project]] tables)")
        raw = data.get("project", [])
        if not isinstance(raw, list) or not raw:
            self.problem("project", "the file has no [[project]] table")
            return []
        out = []
        seen: dict[str, str] = {}
        for index, item in enumerate(raw, start=1):
            place = f"project[{index}]"
            if not isinstance(item, dict):
                self.problem(place, "must be a table")
                continue
            entry = self.project(place, item)
            if entry is None:
                continue
            key = entry.title.lower()
            if key in seen:
                self.problem(f"{place}.title", f"{entry.title!r} is also {seen[key]}'s title")
            seen.setdefault(key, place)
            out.append(entry)
        return out

    def project(self, place: str, item: dict[str, Any]) -> ProjectEntry | None:
        for key in sorted(set(item) - PROJECT_KEYS):
            self.problem(f"{place}.{key}", "unknown field")
        values: dict[str, Any] = {}
        for key, attr in FIELD_KEYS.items():
            kind: type = int if key == "episodeCount" else str
            values[attr] = self.typed(
                f"{place}.{key}",
                item.get(key),
                kind,
                "a whole number" if kind is int else "a string",
            )
        settings = item.get("projectSettings", {})
        if not isinstance(settings, dict):
            self.problem(f"{place}.projectSettings", "must be a table")
            settings = {}
        for key in sorted(set(settings) - set(SETTINGS_KEYS)):
            self.problem(f"{place}.projectSettings.{key}", "unknown field")
        for key, attr in SETTINGS_KEYS.items():
            kind = int if key == "episodeDuration" else str
            values[attr] = self.typed(
                f"{place}.projectSettings.{key}",
                settings.get(key),
                kind,
                "a whole number" if kind is int else "a string",
            )
        fields = projects.Fields(**values)
        for name, message in projects.validate(fields).items():
            self.problem(f"{place}.{name}", message)
        title = (fields.title or "").strip()
        if not title:
            self.problem(f"{place}.title", "is required")
        template = self.typed(f"{place}.template", item.get("template"), str, "a string")
        collaborators = self.string_list(f"{place}.collaborators", item.get("collaborators"))
        media = None
        if "media" in item:
            raw_media = item["media"]
            if not isinstance(raw_media, list):
                self.problem(f"{place}.media", "must be an array of tables ([[project.media]])")
            else:
                checked = [
                    self.media(f"{place}.media[{i}]", m) for i, m in enumerate(raw_media, start=1)
                ]
                media = [m for m in checked if m is not None]
                self.duplicate_media(media)
        return ProjectEntry(place, title, fields, template, collaborators, media)

    def string_list(self, place: str, value: Any) -> list[str] | None:
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(place, "must be a list of strings")
            return None
        return [v.strip() for v in value]

    def media(self, place: str, item: Any) -> MediaEntry | None:
        if not isinstance(item, dict):
            self.problem(place, "must be a table")
            return None
        for key in sorted(set(item) - MEDIA_KEYS):
            self.problem(f"{place}.{key}", "unknown field")
        media_type = item.get("mediaType")
        if media_type not in MEDIA_FAMILIES:
            self.problem(
                f"{place}.mediaType",
                f"{media_type!r} is not one of: {', '.join(MEDIA_FAMILIES)}"
                if media_type is not None
                else "is required",
            )
        for key, allowed in (("status", MEDIA_STATUSES), ("visibility", VISIBILITIES)):
            if key in item and item[key] not in allowed:
                self.problem(
                    f"{place}.{key}", f"{item[key]!r} is not one of: {', '.join(allowed)}"
                )
        path = None
        sha = None
        if "file" in item:
            rel = self.typed(f"{place}.file", item["file"], str, "a path")
            if rel is not None:
                path = (self.base / rel).resolve()
                if not path.is_file():
                    self.problem(f"{place}.file", f"no such file: {rel}")
                    path = None
                else:
                    # Hashed here; probed by the plan, and only when the content is new to
                    # the project (a re-apply does not probe what it already stored).
                    sha = _sha256(path)
        elif "sha256" in item:
            sha = self.typed(f"{place}.sha256", item["sha256"], str, "a hex digest")
            if sha is not None and (
                len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha)
            ):
                self.problem(f"{place}.sha256", "must be 64 lowercase hex digits")
                sha = None
        else:
            self.problem(f"{place}.file", "is required (or sha256 of media already stored)")
        related = item.get("relatedElements")
        if related is not None:
            if not isinstance(related, dict):
                self.problem(f"{place}.relatedElements", "must be a table")
                related = None
            else:
                for key in sorted(set(related) - RELATED_KEYS):
                    self.problem(f"{place}.relatedElements.{key}", "unknown field")
                self.typed(
                    f"{place}.relatedElements.episode",
                    related.get("episode"),
                    int,
                    "a whole number",
                )
                self.typed(f"{place}.relatedElements.scene", related.get("scene"), str, "a string")
                self.string_list(f"{place}.relatedElements.characters", related.get("characters"))
                self.typed(
                    f"{place}.relatedElements.timestamp",
                    related.get("timestamp"),
                    (int, float),
                    "a number of seconds",
                )
        style = self.typed(
            f"{place}.styleReference", item.get("styleReference"), bool, "true or false"
        )
        filename = self.typed(f"{place}.filename", item.get("filename"), str, "a string")
        if filename is not None and (
            filename.strip() in ("", ".", "..")
            or "/" in filename
            or "\\" in filename
            or len(filename) > 255
        ):
            self.problem(f"{place}.filename", "must be a plain file name (1-255 characters)")
            filename = None
        if sha is None or media_type not in MEDIA_FAMILIES:
            return None
        return MediaEntry(
            place=place,
            media_type=str(media_type),
            path=path,
            sha256=sha,
            description=self.typed(
                f"{place}.description", item.get("description"), str, "a string"
            ),
            tags=self.string_list(f"{place}.tags", item.get("tags")),
            related=related,
            style_reference=bool(style),
            status=item.get("status"),
            visibility=item.get("visibility"),
            filename=filename.strip() if filename else None,
        )

    def duplicate_media(self, media: list[MediaEntry]) -> None:
        seen: dict[str, str] = {}
        for entry in media:
            if entry.sha256 in seen:
                self.problem(entry.place, f"the same content as {seen[entry.sha256]}")
            seen.setdefault(entry.sha256, entry.place)


# --- 2. plan ----------------------------------------------------------------------------------


@dataclass
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass
class ItemPlan:
    kind: str  # collaborator | media
    name: str
    action: str  # create | update | remove | unchanged | kept
    changes: list[FieldChange] = field(default_factory=list)


@dataclass
class MediaPlan:
    entry: MediaEntry
    action: str  # create | update | unchanged
    media_id: str  # the existing record, or the id the new one will get
    values: dict[str, Any]  # columns to set (all of them for a new record)
    style: bool  # a style reference of the project after the apply
    text: str | None = None  # the text to embed: a new record's, or an update's new one
    vector: bytes | None = None  # its embedding, once embed_plan has run


@dataclass
class ProjectPlan:
    title: str
    action: str  # create | update | unchanged
    project_id: str | None
    changes: list[FieldChange] = field(default_factory=list)
    items: list[ItemPlan] = field(default_factory=list)
    entry: ProjectEntry | None = None
    desired: dict[str, Any] = field(default_factory=dict)
    collaborator_ids: dict[str, str] = field(default_factory=dict)
    media: list[MediaPlan] = field(default_factory=list)
    style_add: list[str] = field(default_factory=list)
    style_remove: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.action != "unchanged" or any(
            i.action not in ("unchanged", "kept") for i in self.items
        )


@dataclass
class Plan:
    projects: list[ProjectPlan]
    kept: list[Project] = field(default_factory=list)  # the actor's projects not in the file

    @property
    def changed(self) -> bool:
        return any(p.changed for p in self.projects)


def _desired_fields(
    session: Session, entry: ProjectEntry, problems: dict[str, str]
) -> dict[str, Any]:
    desired: dict[str, Any] = {}
    if entry.template is not None:
        template = session.get(Template, entry.template.strip().lower())
        if template is None:
            problems.setdefault(
                f"{entry.place}.template", f"template {entry.template!r} not found"
            )
        else:
            desired.update(
                genre=template.genre,
                target_audience=template.target_audience,
                episode_count=template.episode_count,
                aspect_ratio=template.aspect_ratio,
                episode_duration=template.episode_duration,
                quality_tier=template.quality_tier,
            )
            if template.description:  # as project create --template does
                desired["description"] = template.description
    desired.update(entry.fields.given())
    desired["title"] = entry.title
    if "description" in desired:
        desired["description"] = desired["description"].strip()
    return desired


def plan(
    session: Session,
    actor: User,
    entries: list[ProjectEntry],
    *,
    problems: dict[str, str] | None = None,
) -> Plan:
    """Compare the file with the database; every problem (the file's own ``problems`` and
    those found here) is raised at once."""
    problems = dict(problems or {})
    limits: dict[str, str] = {}
    owned = {
        p.title.lower(): p
        for p in session.exec(select(Project).where(col(Project.created_by) == actor.id)).all()
    }
    plans = []
    to_create = 0
    for entry in entries:
        desired = _desired_fields(session, entry, problems)
        existing = owned.get(entry.title.lower())
        project_plan = ProjectPlan(
            entry.title,
            "create" if existing is None else "unchanged",
            existing.id if existing else None,
            entry=entry,
            desired=desired,
        )
        if existing is None:
            to_create += 1
            for key, flag in (("genre", "genre"), ("episode_count", "episodeCount")):
                if desired.get(key) is None:
                    problems.setdefault(f"{entry.place}.{flag}", "is required for a new project")
            project_plan.changes = [
                FieldChange(name, None, desired[attr])
                for attr, name in projects.FIELD_NAMES.items()
                if desired.get(attr) is not None
            ]
        else:
            for attr, new in desired.items():
                old = getattr(existing, attr)
                if old != new:
                    project_plan.changes.append(FieldChange(projects.FIELD_NAMES[attr], old, new))
            if project_plan.changes:
                project_plan.action = "update"
        episodes = desired.get("episode_count")
        if isinstance(episodes, int) and episodes > actor.max_episodes_per_project:
            limits[f"{entry.place}.episodeCount"] = (
                f"{episodes} is above the limit of your subscription tier "
                f"({actor.tier}: {actor.max_episodes_per_project} episodes per project)"
            )
        _plan_collaborators(session, actor, entry, existing, project_plan, problems)
        _plan_media(session, actor, entry, existing, project_plan, problems)
        plans.append(project_plan)
    slots = actor.max_projects - len(owned)
    if to_create > slots:
        limits["project"] = (
            f"the file creates {to_create} projects but your subscription "
            f"tier allows {max(slots, 0)} more ({actor.tier}: "
            f"{actor.max_projects})"
        )
    if problems or limits:
        # A value that is invalid anyway (episodeCount 60) is reported as invalid, not as
        # over the limit: fixing the limit alone would not make the file good.
        all_problems = {**limits, **problems}
        if problems:
            raise ValidationFailed(
                _in_file_order(all_problems),
                message=f"{len(all_problems)} problem(s) in the file; nothing was applied",
            )
        raise LimitReached(
            f"{len(limits)} subscription limit(s) in the way; nothing was applied",
            details=_in_file_order(limits),
        )
    in_file = {p.project_id for p in plans}
    kept = sorted(
        (p for p in owned.values() if p.id not in in_file), key=lambda p: p.title.lower()
    )
    return Plan(plans, kept)


def _in_file_order(problems: dict[str, str]) -> dict[str, str]:
    """Places sorted as they appear in the file: project[2] before project[10]."""
    import re

    def key(place: str) -> list[Any]:
        return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", place)]

    return {place: problems[place] for place in sorted(problems, key=key)}


def _plan_collaborators(
    session: Session,
    actor: User,
    entry: ProjectEntry,
    existing: Project | None,
    project_plan: ProjectPlan,
    problems: dict[str, str],
) -> None:
    current: dict[str, str] = {}
    if existing is not None:
        for user in session.exec(
            select(User)
            .join(ProjectCollaborator, col(ProjectCollaborator.user_id) == User.id)
            .where(col(ProjectCollaborator.project_id) == existing.id)
        ).all():
            current[user.email.lower()] = user.email
    if entry.collaborators is None:
        project_plan.items += [
            ItemPlan("collaborator", email, "kept") for email in current.values()
        ]
        return
    wanted: dict[str, str] = {}
    for index, email in enumerate(entry.collaborators, start=1):
        person = user_by_email(session, email)
        place = f"{entry.place}.collaborators[{index}]"
        if person is None or person.deleted_at is not None:
            problems.setdefault(place, f"no user with email {email!r}")
        elif person.id == actor.id:
            problems.setdefault(place, "you create the project; you need not collaborate on it")
        else:
            wanted[person.email.lower()] = person.email
            project_plan.collaborator_ids[person.email.lower()] = person.id
    for key, email in wanted.items():
        project_plan.items.append(
            ItemPlan("collaborator", email, "unchanged" if key in current else "create")
        )
    for key, email in current.items():
        if key not in wanted:
            project_plan.items.append(ItemPlan("collaborator", email, "remove"))


# --- 3. apply ---------------------------------------------------------------------------------


def load(session: Session, actor: User, path: Path) -> Plan:
    """Read, check and plan ``path``; raises with every problem when there is any."""
    checker = _Checker(path.resolve().parent)
    entries = checker.entries(read_file(path))
    return plan(session, actor, entries, problems=checker.problems)


def execute(session: Session, actor: User, project_plan: ProjectPlan) -> Project:
    """Apply one project's plan inside the caller's write transaction."""
    desired = project_plan.desired
    if project_plan.action == "create":
        project = projects.create_project(session, actor, projects.Fields(**desired))
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
            session.add(
                ProjectCollaborator(
                    project_id=project.id, user_id=project_plan.collaborator_ids[item.name.lower()]
                )
            )
        elif item.action == "remove":
            user = user_by_email(session, item.name)
            link = session.get(ProjectCollaborator, (project.id, user.id)) if user else None
            if link is not None:
                session.delete(link)
    session.flush()
    return project


# --- media ----------------------------------------------------------------------------------

_MEDIA_COLUMNS = (
    "media_type",
    "description",
    "tags",
    "episode",
    "scene",
    "characters",
    "timestamp",
    "status",
    "visibility",
    "filename",
)
# The columns the embedded text is made of (media.text_of): a change re-embeds.
_EMBEDDED_COLUMNS = {
    "description",
    "tags",
    "episode",
    "scene",
    "characters",
    "media_type",
    "filename",
}
_MEDIA_FIELD = {
    "media_type": "mediaType",
    "description": "description",
    "tags": "tags",
    "episode": "relatedElements.episode",
    "scene": "relatedElements.scene",
    "characters": "relatedElements.characters",
    "timestamp": "relatedElements.timestamp",
    "status": "status",
    "visibility": "visibility",
    "filename": "filename",
}


def _given_columns(entry: MediaEntry) -> dict[str, Any]:
    """The columns a media entry sets (keys it leaves out are not managed)."""
    given: dict[str, Any] = {"media_type": entry.media_type}
    if entry.description is not None:
        given["description"] = entry.description.strip()
    if entry.tags is not None:
        given["tags"] = entry.tags
    related = entry.related or {}
    for key, column in (
        ("episode", "episode"),
        ("scene", "scene"),
        ("characters", "characters"),
        ("timestamp", "timestamp"),
    ):
        if key in related:
            given[column] = related[key]
    if entry.status is not None:
        given["status"] = entry.status
    if entry.visibility is not None:
        given["visibility"] = entry.visibility
    if entry.filename is not None:
        given["filename"] = entry.filename
    return given


def _check_media_values(
    values: dict[str, Any], episodes: int | None, place: str, problems: dict[str, str]
) -> dict[str, Any]:
    from moviecli.services import media as media_service

    fields = media_service.AssetFields(
        media_type=values["media_type"],
        description=values.get("description") or "",
        tags=values.get("tags") or (),
        episode=values.get("episode"),
        scene=values.get("scene"),
        characters=values.get("characters") or (),
        timestamp=values.get("timestamp"),
        status=values.get("status") or "active",
    )
    try:
        return media_service.validate_fields(
            fields, cast(Any, SimpleNamespace(episode_count=episodes))
        )
    except ValidationFailed as exc:
        for name, message in exc.details.items():
            problems.setdefault(f"{place}.{name}", message)
        return {}


def _plan_media(
    session: Session,
    actor: User,
    entry: ProjectEntry,
    existing: Project | None,
    project_plan: ProjectPlan,
    problems: dict[str, str],
) -> None:
    from moviecli.services import media as media_service
    from moviecli.services import probe

    current: dict[str, Media] = {}
    styles: set[str] = set()
    if existing is not None:
        for media in session.exec(
            select(Media)
            .where(col(Media.project_id) == existing.id, media_service.newest_only())
            .order_by(col(Media.created_at))
        ).all():
            current.setdefault(media.sha256, media)
        styles = set(
            session.exec(
                select(StyleReference.media_id).where(
                    col(StyleReference.project_id) == existing.id
                )
            ).all()
        )
    if entry.media is None:
        project_plan.items += [ItemPlan("media", m.filename, "kept") for m in current.values()]
        return
    episodes = project_plan.desired.get("episode_count") or (
        existing.episode_count if existing else None
    )
    in_file: set[str] = set()
    for item in entry.media:
        given = _given_columns(item)
        style = item.style_reference or item.media_type == "style_reference"
        found = current.get(item.sha256)
        if found is not None:
            in_file.add(found.id)
            merged = {c: getattr(found, c) for c in _MEDIA_COLUMNS} | given
            if MEDIA_FAMILIES[found.media_type] != MEDIA_FAMILIES[item.media_type]:
                problems.setdefault(
                    f"{item.place}.mediaType",
                    f"{found.filename} is {MEDIA_FAMILIES[found.media_type]}; "
                    f"{item.media_type} takes {MEDIA_FAMILIES[item.media_type]}",
                )
            # Compare the values as they would be stored (tags trimmed and deduplicated,
            # …), so that a file that says the same thing differently changes nothing.
            cleaned = _check_media_values(merged, episodes, item.place, problems)
            given = {c: cleaned.get(c, v) for c, v in given.items()}
            changes = [
                FieldChange(_MEDIA_FIELD[c], getattr(found, c), v)
                for c, v in given.items()
                if getattr(found, c) != v
            ]
            if style != (found.id in styles):
                changes.append(FieldChange("styleReference", found.id in styles, style))
            action = "update" if changes else "unchanged"
            plan_item = MediaPlan(item, action, found.id, given, style)
            if _EMBEDDED_COLUMNS & {c for c, v in given.items() if getattr(found, c) != v}:
                plan_item.text = media_service.text_of({**found.model_dump(), **given})
            project_plan.media.append(plan_item)
            project_plan.items.append(ItemPlan("media", found.filename, action, changes))
            continue
        values = _check_media_values(given, episodes, item.place, problems)
        if item.path is not None:
            try:
                item.found = probe.probe(item.path, item.media_type)
            except probe.Rejected as exc:
                problems.setdefault(f"{item.place}.file", str(exc))
                continue
        if item.path is None:
            source = session.exec(
                select(Media).where(
                    col(Media.sha256) == item.sha256, media_service.visible_media(actor)
                )
            ).first()
            if source is None:
                problems.setdefault(
                    f"{item.place}.sha256",
                    "no media with this content in the database (export with --with-media "
                    "to carry the files)",
                )
                continue
            values |= {
                "filename": item.filename or source.filename,
                "mime_type": source.mime_type,
                "size_bytes": source.size_bytes,
                "technical_data": source.technical_data,
            }
            name = values["filename"]
        else:
            name = item.filename or media_service.filename_of(item.path)
        if "visibility" in given:
            values["visibility"] = given["visibility"]
        plan_item = MediaPlan(item, "create", new_id(), values, style)
        if values:
            plan_item.text = media_service.text_of({**values, "filename": name})
        project_plan.media.append(plan_item)
        project_plan.items.append(ItemPlan("media", name, "create"))
    for media in current.values():
        if media.id not in in_file:
            project_plan.items.append(ItemPlan("media", media.filename, "kept"))
    wanted = {m.media_id for m in project_plan.media if m.style}
    project_plan.style_add = sorted(wanted - styles)
    project_plan.style_remove = sorted(styles - wanted)
    # An entry of the file shows its own styleReference change; the references to media
    # that are not in the file get items of their own.
    names = {m.id: m.filename for m in current.values()}
    for media_id in project_plan.style_remove:
        if media_id not in in_file:
            project_plan.items.append(
                ItemPlan("styleReference", names.get(media_id, media_id), "remove")
            )


def recover(db: Database, store: MediaStore | None = None) -> None:
    """Finish what a killed apply (or media add) left in the store: files of committed
    records are moved into place, the others removed. Run before applying, even a file
    that changes nothing (its last run may have been killed after its last commit)."""
    from moviecli.services.store import MediaStore

    (store or MediaStore.default()).recover(db)


def apply_project(
    db: Database, actor: User, project_plan: ProjectPlan, store: MediaStore | None = None
) -> str:
    """Apply one project's plan: files staged and embedded first, then one write
    transaction for the project, its collaborators, media and style references, then the
    files moved into place. Returns the project id."""
    from moviecli.services import media as media_service
    from moviecli.services import probe
    from moviecli.services.media import text_of
    from moviecli.services.store import MediaStore

    store = store or MediaStore.default()
    staged: dict[str, Staged] = {}
    try:
        rows: list[dict[str, Any]] = []
        now = utcnow()
        for plan_item in project_plan.media:
            entry = plan_item.entry
            if plan_item.action != "create":
                continue
            if entry.path is not None:
                staged_file = store.stage(entry.path)
                staged[staged_file.sha256] = staged_file
                if staged_file.sha256 != entry.sha256:
                    raise Conflict(
                        f"{entry.path} changed while apply was running", hint="run apply again"
                    )
                row = media_service.new_row(
                    plan_item.values,
                    entry.found,
                    sha256=entry.sha256,
                    size=staged_file.size,
                    filename=entry.filename or media_service.filename_of(entry.path),
                    project_id="",
                    actor=actor,
                    now=now,
                )
            else:
                extra = {
                    k: plan_item.values.pop(k)
                    for k in ("filename", "mime_type", "size_bytes", "technical_data")
                }
                row = media_service.new_row(
                    plan_item.values,
                    probe.Probe(
                        MEDIA_FAMILIES[entry.media_type],
                        extra["mime_type"],
                        extra["technical_data"],
                    ),
                    sha256=entry.sha256,
                    size=extra["size_bytes"],
                    filename=extra["filename"],
                    project_id="",
                    actor=actor,
                    now=now,
                )
            row["id"] = plan_item.media_id
            row["visibility"] = plan_item.values.get("visibility", "private")
            row["embedding"] = plan_item.vector if plan_item.text == text_of(row) else None
            rows.append(row)
        _embed_rows([r for r in rows if r["embedding"] is None])
        updates = _updated_media(db, project_plan)
        try:
            project_id = _write_project(db, actor, project_plan, rows, updates)
        except IntegrityError as exc:  # a link or record made by someone else meanwhile
            raise Conflict(
                f"project {project_plan.title!r} changed while apply was running",
                hint="run apply again",
            ) from exc
        for staged_file in staged.values():
            store.commit(staged_file)
        staged.clear()
        return project_id
    finally:
        for staged_file in staged.values():
            store.discard(staged_file)


def _write_project(
    db: Database,
    actor: User,
    project_plan: ProjectPlan,
    rows: list[dict[str, Any]],
    updates: dict[str, tuple[dict[str, Any], bytes | None]],
) -> str:
    """The one write transaction of a project's plan; returns the project id."""
    from moviecli.services.store import lock_contents

    with db.write() as session:
        project = execute(session, actor, project_plan)
        now = utcnow()  # under the write lock, and not before the project's own times
        hashes = [r["sha256"] for r in rows]
        lock_contents(session, hashes)
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
        for index, row in enumerate(rows):
            row["project_id"] = project.id
            # One microsecond apart in file order: media are listed and exported by
            # creation time, so an exported file comes back in the same order.
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
        if project_plan.action != "create" and project_plan.changed:
            project.updated_at = now
            session.add(project)
        session.flush()
        return project.id


def embed_plan(plan: Plan) -> None:
    """Embed the texts of every new and re-described record of the file in one batch
    (the model's throughput is the cost of a big apply), before any transaction."""
    items = [
        m
        for p in plan.projects
        if p.changed
        for m in p.media
        if m.action in ("create", "update") and m.text is not None and m.vector is None
    ]
    if not items:
        return
    from moviecli.services import embeddings

    vectors = embeddings.embed_texts([m.text or "" for m in items])
    for plan_item, vector in zip(items, vectors, strict=True):
        plan_item.vector = vector


def _embed_rows(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    from moviecli.services import embeddings
    from moviecli.services.media import text_of

    for row, vector in zip(rows, embeddings.embed_texts([text_of(r) for r in rows]), strict=True):
        row["embedding"] = vector


def _updated_media(
    db: Database, project_plan: ProjectPlan
) -> dict[str, tuple[dict[str, Any], bytes | None]]:
    """New column values of the records to update, with a new vector when the text moved."""
    from moviecli.services.media import text_of

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
            if _EMBEDDED_COLUMNS & set(values):
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


# --- export: the same format, from the database ------------------------------------------------


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
    from moviecli.services import media as media_service

    project = projects.resolve_or_current(session, actor, ref)
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
    styles = set(
        session.exec(
            select(StyleReference.media_id).where(col(StyleReference.project_id) == project.id)
        ).all()
    )
    result = Export({"project": [entry]})
    used: set[str] = set()
    media_entries = []
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
        item["mediaType"] = media.media_type
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
        media_entries.append(item)
    if media_entries:
        entry["media"] = media_entries
    return result


def _relative(target: Path, base: Path | None) -> str:
    import os

    start = (base or Path.cwd()).resolve()
    return Path(os.path.relpath(target.resolve(), start)).as_posix()
