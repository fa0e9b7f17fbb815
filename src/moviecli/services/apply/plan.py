"""Planning an apply file against the database: what each project, collaborator and media
entry would become (create / update old → new / remove / unchanged / kept), every problem
found on the way raised at once before anything is written."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from sqlmodel import Session, col, select

from moviecli.enums import MEDIA_FAMILIES
from moviecli.errors import LimitReached, ValidationFailed
from moviecli.models import (
    Media,
    Project,
    ProjectCollaborator,
    StyleReference,
    Template,
    User,
    new_id,
)
from moviecli.services import access, counting, projects
from moviecli.services import limits as limit_rules
from moviecli.services.apply.model import FieldChange, ItemPlan, MediaPlan, Plan, ProjectPlan
from moviecli.services.apply.parse import read_file
from moviecli.services.apply.plan_story import plan_progress, plan_story
from moviecli.services.apply.validate import Checker, MediaEntry, ProjectEntry
from moviecli.services.resolve import user_by_email
from moviecli.text import fold


def load(session: Session, actor: User, path: Path, *, data: dict[str, Any] | None = None) -> Plan:
    """Read (unless ``data`` holds the file already read), check and plan ``path``; raises
    with every problem when there is any."""
    checker = Checker(path.resolve().parent)
    entries = checker.entries(read_file(path) if data is None else data)
    return plan_entries(session, actor, entries, problems=checker.problems)


# --- projects ------------------------------------------------------------------------------


USERS_SEEN = "moviecli.apply.users_by_email"


def plan_entries(
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
    session.info[USERS_SEEN] = {}  # email → user, for this plan (_plan_collaborators)
    owned = {
        p.title_key: p
        for p in session.exec(select(Project).where(col(Project.created_by) == actor.id)).all()
    }
    plans = [
        _plan_project(session, actor, entry, owned.get(fold(entry.title)), problems, limits)
        for entry in entries
    ]
    to_create = sum(p.action == "create" for p in plans)
    slots = limit_rules.project_slots(actor, len(owned))
    if to_create > slots:
        limits["project"] = (
            f"the file creates {to_create} projects but your subscription "
            f"tier allows {slots} more ({actor.tier}: "
            f"{actor.max_projects})"
        )
    _raise_problems(problems, limits)
    in_file = {p.project_id for p in plans}
    kept = sorted((p for p in owned.values() if p.id not in in_file), key=lambda p: p.title_key)
    return Plan(plans, kept)


def _plan_project(
    session: Session,
    actor: User,
    entry: ProjectEntry,
    existing: Project | None,
    problems: dict[str, str],
    limits: dict[str, str],
) -> ProjectPlan:
    desired = _desired_fields(session, entry, problems)
    project_plan = ProjectPlan(
        entry.title,
        "create" if existing is None else "unchanged",
        existing.id if existing else None,
        entry=entry,
        desired=desired,
    )
    if existing is None:
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
    episodes = desired.get("episode_count")
    if isinstance(episodes, int) and limit_rules.over_episode_limit(actor, episodes):
        limits[f"{entry.place}.episodeCount"] = (
            f"{episodes} is above the limit of your subscription tier "
            + limit_rules.episode_limit_text(actor)
        )
    _plan_collaborators(session, actor, entry, existing, project_plan, problems)
    current, styles = _media_now(session, existing)
    _plan_media(session, actor, entry, existing, project_plan, problems, current, styles)
    plan_story(entry, existing, project_plan)
    plan_progress(entry, existing, project_plan, problems, current, styles)
    if existing is not None and project_plan.changes:
        project_plan.action = "update"
    return project_plan


def _raise_problems(problems: dict[str, str], limits: dict[str, str]) -> None:
    if not (problems or limits):
        return
    # A value that is invalid anyway (episodeCount 60) is reported as invalid, not as
    # over the limit: fixing the limit alone would not make the file good.
    all_problems = {**limits, **problems}
    if problems:
        raise ValidationFailed(
            in_file_order(all_problems),
            message=f"{len(all_problems)} problem(s) in the file; nothing was applied",
        )
    raise LimitReached(
        f"{len(limits)} subscription limit(s) in the way; nothing was applied",
        details=in_file_order(limits),
    )


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
            desired.update(projects.template_fields(template))
            if template.description:  # as project create --template does
                desired["description"] = template.description
    desired.update(entry.fields.given())
    desired["title"] = entry.title
    if "description" in desired:
        desired["description"] = desired["description"].strip()
    return desired


def in_file_order(problems: dict[str, str]) -> dict[str, str]:
    """Places sorted as they appear in the file: project[2] before project[10]."""

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
            current[user.email_key] = user.email
    if entry.collaborators is None:
        project_plan.items += [
            ItemPlan("collaborator", email, "kept") for email in current.values()
        ]
        return
    wanted: dict[str, str] = {}
    # A file often names the same few people on many projects: each is looked up once.
    known: dict[str, User | None] = session.info.setdefault(USERS_SEEN, {})
    for index, email in enumerate(entry.collaborators, start=1):
        key = fold(email.strip())
        person = (
            known[key] if key in known else known.setdefault(key, user_by_email(session, email))
        )
        place = f"{entry.place}.collaborators[{index}]"
        if person is None or person.deleted_at is not None:
            problems.setdefault(place, f"no user with email {email!r}")
        elif person.id == actor.id:
            problems.setdefault(place, "you create the project; you need not collaborate on it")
        else:
            wanted[person.email_key] = person.email
            project_plan.collaborator_ids[person.email_key] = person.id
    for key, email in wanted.items():
        project_plan.items.append(
            ItemPlan("collaborator", email, "unchanged" if key in current else "create")
        )
    for key, email in current.items():
        if key not in wanted:
            project_plan.items.append(ItemPlan("collaborator", email, "remove"))


# --- media ---------------------------------------------------------------------------------

MEDIA_COLUMNS = (
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
# The columns the embedded text is made of (media_fields.text_of): a change re-embeds.
EMBEDDED_COLUMNS = {
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
    for key in ("episode", "scene", "characters", "timestamp"):
        if key in related:
            given[key] = related[key]
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
    from moviecli.services import media_fields

    fields = media_fields.AssetFields(
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
        return media_fields.validate_fields(
            fields, cast(Any, SimpleNamespace(episode_count=episodes))
        )
    except ValidationFailed as exc:
        for name, message in exc.details.items():
            problems.setdefault(f"{place}.{name}", message)
        return {}


def _media_now(session: Session, existing: Project | None) -> tuple[dict[str, Media], set[str]]:
    """The project's media by content (newest versions) and its style references."""

    current: dict[str, Media] = {}
    if existing is None:
        return current, set()
    for media in session.exec(
        select(Media)
        .where(col(Media.project_id) == existing.id, counting.newest())
        .order_by(col(Media.created_at))
    ).all():
        current.setdefault(media.sha256, media)
    styles = set(
        session.exec(
            select(StyleReference.media_id).where(col(StyleReference.project_id) == existing.id)
        ).all()
    )
    return current, styles


def _plan_media(
    session: Session,
    actor: User,
    entry: ProjectEntry,
    existing: Project | None,
    project_plan: ProjectPlan,
    problems: dict[str, str],
    current: dict[str, Media],
    styles: set[str],
) -> None:
    if entry.media is None:
        project_plan.items += [ItemPlan("media", m.filename, "kept") for m in current.values()]
        return
    episodes = project_plan.desired.get("episode_count") or (
        existing.episode_count if existing else None
    )
    in_file: set[str] = set()
    for item in entry.media:
        found = current.get(item.sha256)
        planned: tuple[MediaPlan, ItemPlan] | None
        if found is not None:
            in_file.add(found.id)
            planned = _plan_stored(found, item, styles, episodes, problems)
        else:
            planned = _plan_new(session, actor, item, episodes, problems)
        if planned is not None:
            project_plan.media.append(planned[0])
            project_plan.items.append(planned[1])
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


def _plan_stored(
    found: Media,
    item: MediaEntry,
    styles: set[str],
    episodes: int | None,
    problems: dict[str, str],
) -> tuple[MediaPlan, ItemPlan]:
    """An entry whose content the project holds already: update its metadata."""
    from moviecli.services.media_fields import text_of

    given = _given_columns(item)
    style = item.style_reference or item.media_type == "style_reference"
    merged = {c: getattr(found, c) for c in MEDIA_COLUMNS} | given
    if MEDIA_FAMILIES[found.media_type] != MEDIA_FAMILIES[item.media_type]:
        problems.setdefault(
            f"{item.place}.mediaType",
            f"{found.filename} is {MEDIA_FAMILIES[found.media_type]}; "
            f"{item.media_type} takes {MEDIA_FAMILIES[item.media_type]}",
        )
    # Compare the values as they would be stored (tags trimmed and deduplicated, …), so
    # that a file that says the same thing differently changes nothing.
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
    if EMBEDDED_COLUMNS & {c for c, v in given.items() if getattr(found, c) != v}:
        plan_item.text = text_of({**found.model_dump(), **given})
    return plan_item, ItemPlan("media", found.filename, action, changes)


def _plan_new(
    session: Session,
    actor: User,
    item: MediaEntry,
    episodes: int | None,
    problems: dict[str, str],
) -> tuple[MediaPlan, ItemPlan] | None:
    """An entry whose content is new to the project: a file to probe and store, or
    (sha256) content the actor may see elsewhere in the database."""
    from moviecli.services import probe
    from moviecli.services.media_fields import filename_of, text_of

    given = _given_columns(item)
    style = item.style_reference or item.media_type == "style_reference"
    values = _check_media_values(given, episodes, item.place, problems)
    if item.path is not None:
        try:
            item.found = probe.probe(item.path, item.media_type)
        except probe.Rejected as exc:
            problems.setdefault(f"{item.place}.file", str(exc))
            return None
        name = item.filename or filename_of(item.path)
    else:
        source = session.exec(
            select(Media).where(col(Media.sha256) == item.sha256, access.visible_media(actor))
        ).first()
        if source is None:
            problems.setdefault(
                f"{item.place}.sha256",
                "no media with this content in the database (export with --with-media "
                "to carry the files)",
            )
            return None
        values |= {
            "filename": item.filename or source.filename,
            "mime_type": source.mime_type,
            "size_bytes": source.size_bytes,
            "technical_data": source.technical_data,
        }
        name = values["filename"]
    if "visibility" in given:
        values["visibility"] = given["visibility"]
    plan_item = MediaPlan(item, "create", new_id(), values, style)
    if values:
        plan_item.text = text_of({**values, "filename": name})
    return plan_item, ItemPlan("media", name, "create")
