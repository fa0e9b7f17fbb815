"""Project templates: the five built-in ones seeded by init, and custom ones (admin)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from moviecli.errors import Conflict, ValidationFailed
from moviecli.models import Template, User
from moviecli.services import access
from moviecli.services.pagination import Page, paginate
from moviecli.services.projects import Fields, get_template, or_defaults, validate

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_KEYS = {"name", "description", "genre", "targetAudience", "episodeCount", "projectSettings"}
_SETTINGS = {"aspectRatio", "episodeDuration", "qualityTier"}


def list_templates(session: Session, *, page: int = 1, limit: int = 20) -> Page[Template]:
    stmt = select(Template).order_by(col(Template.builtin).desc(), col(Template.name))
    return paginate(session, stmt, page=page, limit=limit)


def show_template(session: Session, name: str) -> Template:
    return get_template(session, name)


def read_template_file(path: Path) -> dict[str, Any]:
    """A template file: bounded before it is parsed, as apply files are."""
    from moviecli.services.tomlfile import read_toml

    return read_toml(path)


def add_template(session: Session, actor: User, data: dict[str, Any]) -> Template:
    """A custom template from the keys of a template file (the names of --json)."""
    access.require_admin(actor, "add templates")
    problems: dict[str, str] = {}
    for key in sorted(set(data) - _KEYS):
        problems[key] = "unknown key"
    settings = data.get("projectSettings", {})
    if not isinstance(settings, dict):
        problems["projectSettings"] = "must be a table"
        settings = {}
    for key in sorted(set(settings) - _SETTINGS):
        problems[f"projectSettings.{key}"] = "unknown key"
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems["name"] = "is required: lowercase letters, digits and dashes, up to 64"
    for key in ("genre", "episodeCount"):
        if key not in data:
            problems[key] = "is required"

    def typed(value: Any, kind: type, key: str) -> Any:
        if (value is not None and not isinstance(value, kind)) or isinstance(value, bool):
            problems[key] = f"must be a {'number' if kind is int else 'string'}"
            return None
        return value

    fields = Fields(
        description=typed(data.get("description"), str, "description"),
        genre=typed(data.get("genre"), str, "genre"),
        episode_count=typed(data.get("episodeCount"), int, "episodeCount"),
        target_audience=typed(data.get("targetAudience"), str, "targetAudience"),
        aspect_ratio=typed(settings.get("aspectRatio"), str, "projectSettings.aspectRatio"),
        episode_duration=typed(
            settings.get("episodeDuration"), int, "projectSettings.episodeDuration"
        ),
        quality_tier=typed(settings.get("qualityTier"), str, "projectSettings.qualityTier"),
    )
    problems.update({k: v for k, v in validate(fields).items() if k not in problems})
    if problems:
        raise ValidationFailed(problems)
    assert isinstance(name, str) and fields.genre and fields.episode_count
    if session.get(Template, name) is not None:
        raise Conflict(f"template {name!r} already exists")
    template = Template(
        name=name,
        genre=fields.genre,
        episode_count=fields.episode_count,
        **or_defaults(fields),
        builtin=False,
    )
    session.add(template)
    session.flush()
    return template


def deletable_template(session: Session, actor: User, name: str) -> Template:
    """The custom template ``name``, if the actor may delete it (checked before asking)."""
    access.require_admin(actor, "delete templates")
    template = get_template(session, name)
    if template.builtin:
        raise Conflict(f"{template.name!r} is a built-in template and cannot be deleted")
    return template


def delete_template(session: Session, actor: User, name: str) -> Template:
    template = deletable_template(session, actor, name)
    session.delete(template)
    session.flush()
    return template
