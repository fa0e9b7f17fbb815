"""Checking an apply file's entries: every problem with its place, nothing written."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moviecli import suggest
from moviecli.enums import MEDIA_FAMILIES, MEDIA_STATUSES, VISIBILITIES
from moviecli.services import projects
from moviecli.text import fold

PROJECT_KEYS = {
    "title",
    "description",
    "genre",
    "episodeCount",
    "targetAudience",
    "template",
    "collaborators",
    "projectSettings",
    "story",
    "progress",
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
STORY_TEXTS = ("concept", "logline", "synopsis")
STORY_KEYS = {*STORY_TEXTS, "characters", "scenes", "directions"}
# story list → (the field of its items in story.StoryUpdate, the key that names an item)
STORY_LISTS = {"characters": ("character", "name"), "scenes": ("scene", "title")}
PROGRESS_KEYS = {"currentPhase", "completedSteps", "overallProgress"}


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
class StoryEntry:
    """The keys of a project's ``[project.story]`` table; None: not in the file (kept)."""

    texts: dict[str, str | None]  # concept/logline/synopsis given ("" → None: cleared)
    characters: list[tuple[str, str]] | None = None  # (name, description)
    scenes: list[tuple[str, str]] | None = None  # (title, description)
    directions: list[dict[str, str]] | None = None  # {step, text, at}


@dataclass
class ProgressEntry:
    """``[project.progress]``: the workflow position."""

    current_phase: str
    completed: list[str]


@dataclass
class ProjectEntry:
    place: str
    title: str
    fields: projects.Fields
    template: str | None
    collaborators: list[str] | None
    media: list[MediaEntry] | None
    story: StoryEntry | None = None
    progress: ProgressEntry | None = None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Checker:
    """Checks the data of a file, collecting every problem by its place."""

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

    def string_list(self, place: str, value: Any) -> list[str] | None:
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(place, "must be a list of strings")
            return None
        return [v.strip() for v in value]

    def table(self, place: str, value: Any, known: set[str] | dict[str, Any]) -> dict[str, Any]:
        """A sub-table (``{}`` when missing or not a table), its unknown keys reported."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(place, "must be a table")
            return {}
        for key in sorted(set(value) - set(known)):
            self.problem(f"{place}.{key}", "unknown field")
        return value

    # --- projects ------------------------------------------------------------------------

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
            key = fold(entry.title)
            if key in seen:
                self.problem(f"{place}.title", f"{entry.title!r} is also {seen[key]}'s title")
            seen.setdefault(key, place)
            out.append(entry)
        return out

    def project(self, place: str, item: dict[str, Any]) -> ProjectEntry:
        for key in sorted(set(item) - PROJECT_KEYS):
            self.problem(f"{place}.{key}", "unknown field")
        fields = self.fields(place, item)
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
        story = self.story(f"{place}.story", item["story"]) if "story" in item else None
        progress = None
        if "progress" in item:
            progress = self.progress(f"{place}.progress", item["progress"])
        return ProjectEntry(place, title, fields, template, collaborators, media, story, progress)

    def fields(self, place: str, item: dict[str, Any]) -> projects.Fields:
        """The project's fields and settings, typed and validated by the project rules."""
        values: dict[str, Any] = {}
        for key, attr in FIELD_KEYS.items():
            kind: type = int if key == "episodeCount" else str
            values[attr] = self.typed(
                f"{place}.{key}",
                item.get(key),
                kind,
                "a whole number" if kind is int else "a string",
            )
        settings_place = f"{place}.projectSettings"
        settings = self.table(settings_place, item.get("projectSettings"), SETTINGS_KEYS)
        for key, attr in SETTINGS_KEYS.items():
            kind = int if key == "episodeDuration" else str
            values[attr] = self.typed(
                f"{settings_place}.{key}",
                settings.get(key),
                kind,
                "a whole number" if kind is int else "a string",
            )
        fields = projects.Fields(**values)
        for name, message in projects.validate(fields).items():
            self.problem(f"{place}.{name}", message)
        return fields

    # --- media ---------------------------------------------------------------------------

    def media(self, place: str, item: Any) -> MediaEntry | None:
        if not isinstance(item, dict):
            self.problem(place, "must be a table")
            return None
        for key in sorted(set(item) - MEDIA_KEYS):
            self.problem(f"{place}.{key}", "unknown field")
        media_type = self.enum(f"{place}.mediaType", item.get("mediaType"), MEDIA_FAMILIES)
        if "mediaType" not in item:
            self.problem(f"{place}.mediaType", "is required")
        status = self.enum(f"{place}.status", item.get("status"), MEDIA_STATUSES)
        visibility = self.enum(f"{place}.visibility", item.get("visibility"), VISIBILITIES)
        path, sha = self.content(place, item)
        related = self.related(f"{place}.relatedElements", item.get("relatedElements"))
        style = self.typed(
            f"{place}.styleReference", item.get("styleReference"), bool, "true or false"
        )
        filename = self.filename(f"{place}.filename", item.get("filename"))
        if sha is None or media_type is None:
            return None
        return MediaEntry(
            place=place,
            media_type=media_type,
            path=path,
            sha256=sha,
            description=self.typed(
                f"{place}.description", item.get("description"), str, "a string"
            ),
            tags=self.string_list(f"{place}.tags", item.get("tags")),
            related=related,
            style_reference=bool(style),
            status=status,
            visibility=visibility,
            filename=filename,
        )

    def enum(self, place: str, value: Any, allowed: Iterable[str]) -> str | None:
        """The allowed value ``value`` names, whatever its case (as the command line
        takes them); None when it is absent or names none (a problem then)."""
        if value is None:
            return None
        found = suggest.canonical(value, allowed) if isinstance(value, str) else None
        if found is None:
            self.problem(place, suggest.not_one_of(value, allowed))
        return found

    def content(self, place: str, item: dict[str, Any]) -> tuple[Path | None, str | None]:
        """The entry's file (resolved against the file's directory) and its sha256."""
        if "file" in item:
            rel = self.typed(f"{place}.file", item["file"], str, "a path")
            if rel is None:
                return None, None
            path = (self.base / rel).resolve()
            if not path.is_file():
                what = "not a regular file" if path.exists() else "no such file"
                self.problem(f"{place}.file", f"{what}: {rel}")
                return None, None
            # Hashed here; probed by the plan, and only when the content is new to the
            # project (a re-apply does not probe what it already stored).
            return path, sha256_of(path)
        if "sha256" in item:
            sha = self.typed(f"{place}.sha256", item["sha256"], str, "a hex digest")
            if sha is not None and (
                len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha)
            ):
                self.problem(f"{place}.sha256", "must be 64 lowercase hex digits")
                sha = None
            return None, sha
        self.problem(f"{place}.file", "is required (or sha256 of media already stored)")
        return None, None

    def related(self, place: str, related: Any) -> dict[str, Any] | None:
        if related is None:
            return None
        if not isinstance(related, dict):
            self.problem(place, "must be a table")
            return None
        for key in sorted(set(related) - RELATED_KEYS):
            self.problem(f"{place}.{key}", "unknown field")
        self.typed(f"{place}.episode", related.get("episode"), int, "a whole number")
        self.typed(f"{place}.scene", related.get("scene"), str, "a string")
        self.string_list(f"{place}.characters", related.get("characters"))
        self.typed(
            f"{place}.timestamp", related.get("timestamp"), (int, float), "a number of seconds"
        )
        return related

    def filename(self, place: str, value: Any) -> str | None:
        filename = self.typed(place, value, str, "a string")
        if filename is not None and (
            filename.strip() in ("", ".", "..")
            or "/" in filename
            or "\\" in filename
            or len(filename) > 255
        ):
            self.problem(place, "must be a plain file name (1-255 characters)")
            return None
        return filename.strip() if filename else None

    def duplicate_media(self, media: list[MediaEntry]) -> None:
        seen: dict[str, str] = {}
        for entry in media:
            if entry.sha256 in seen:
                self.problem(entry.place, f"the same content as {seen[entry.sha256]}")
            seen.setdefault(entry.sha256, entry.place)

    # --- the story and the workflow position ---------------------------------------------

    def story(self, place: str, value: Any) -> StoryEntry | None:
        """``[project.story]``, checked by the story service's own rules (sizes, names)."""
        from moviecli.services.story import MAX_ITEMS

        if not isinstance(value, dict):
            self.problem(place, "must be a table")
            return None
        table = self.table(place, value, STORY_KEYS)
        entry = StoryEntry(texts={})
        for key in STORY_TEXTS:
            text = self.typed(f"{place}.{key}", table.get(key), str, "a string")
            if text is not None and self.story_problems(f"{place}.{key}", key, text):
                entry.texts[key] = text.strip() or None
        for key, (field_name, name_key) in STORY_LISTS.items():
            items = self.story_items(f"{place}.{key}", table.get(key), field_name, name_key)
            if items is not None and len(items) > MAX_ITEMS:
                self.problem(
                    f"{place}.{key}", f"holds {len(items)}, over the limit of {MAX_ITEMS}"
                )
            setattr(entry, key, items)
        entry.directions = self.directions(f"{place}.directions", table.get("directions"))
        return entry

    def story_problems(
        self, place: str, field_name: str, text: str, name: str | None = None
    ) -> bool:
        """Whether the story service would record this (problems noted at ``place``)."""
        from moviecli.services.story import StoryUpdate, problems_of

        if field_name in STORY_TEXTS and not text.strip():
            return True  # a blank text clears the field
        update = StoryUpdate(field_name, "set", text, name=name)  # type: ignore[arg-type]
        problems = problems_of(update)
        for message in problems:
            self.problem(place, message)
        return not problems

    def story_items(
        self, place: str, value: Any, field_name: str, name_key: str
    ) -> list[tuple[str, str]] | None:
        """Characters (``{name, description}``) or scenes (``{title, description}``), each
        name once (compared as the story service compares them)."""
        from moviecli.text import fold

        if value is None:
            return None
        if not isinstance(value, list):
            self.problem(place, f"must be an array of tables ({{{name_key}, description}})")
            return None
        out: list[tuple[str, str]] = []
        seen: dict[str, str] = {}
        for index, raw in enumerate(value, start=1):
            at = f"{place}[{index}]"
            item = self.table(at, raw, {name_key, "description"})
            name = self.typed(f"{at}.{name_key}", item.get(name_key), str, "a string") or ""
            text = self.typed(f"{at}.description", item.get("description"), str, "a string")
            if not self.story_problems(f"{at}.{name_key}", field_name, text or "", name):
                continue
            key = fold(name.strip())
            if key in seen:
                self.problem(f"{at}.{name_key}", f"{name.strip()!r} is also {seen[key]}")
                continue
            seen[key] = at
            out.append((name.strip(), (text or "").strip()))
        return out

    def directions(self, place: str, value: Any) -> list[dict[str, str]] | None:
        """Directions ``{step, text, at}``; ``at`` an ISO 8601 time (or a TOML datetime)."""
        from moviecli.services.story import StoryUpdate, problems_of

        if value is None:
            return None
        if not isinstance(value, list):
            self.problem(place, "must be an array of tables ({step, text, at})")
            return None
        out = []
        for index, raw in enumerate(value, start=1):
            at_place = f"{place}[{index}]"
            item = self.table(at_place, raw, {"step", "text", "at"})
            step = self.typed(f"{at_place}.step", item.get("step"), str, "a string")
            text = self.typed(f"{at_place}.text", item.get("text"), str, "a string") or ""
            when = _iso_time(item.get("at"))
            if when is None:
                self.problem(f"{at_place}.at", "must be a time (ISO 8601, with its zone)")
            update = StoryUpdate("direction", "extend", text, step=step)
            problems = problems_of(update)
            for message in problems:
                self.problem(at_place, message)
            if when is not None and not problems:
                out.append({"step": str(step), "text": text.strip(), "at": when})
        return out

    def progress(self, place: str, value: Any) -> ProgressEntry | None:
        """``[project.progress]``: steps the workflow knows, each completed step's
        prerequisites completed too, and the current phase reachable from them."""
        from moviecli.services import workflow

        if not isinstance(value, dict):
            self.problem(place, "must be a table")
            return None
        table = self.table(place, value, PROGRESS_KEYS)
        phase = self.typed(f"{place}.currentPhase", table.get("currentPhase"), str, "a string")
        if phase is None and "currentPhase" not in table:
            self.problem(f"{place}.currentPhase", "is required")
        elif phase is not None:
            phase = self.enum(f"{place}.currentPhase", phase, workflow.ORDER)
        completed = self.string_list(f"{place}.completedSteps", table.get("completedSteps"))
        if completed is None and "completedSteps" not in table:
            self.problem(f"{place}.completedSteps", "is required")
        steps = self.completed_steps(f"{place}.completedSteps", completed or [])
        overall = self.typed(
            f"{place}.overallProgress", table.get("overallProgress"), int, "a whole number"
        )
        if overall is not None and overall != workflow.overall_progress(steps):
            self.problem(
                f"{place}.overallProgress",
                f"is {workflow.overall_progress(steps)} for these completedSteps "
                "(it follows from them; leave it out)",
            )
        if phase is None or completed is None:
            return None
        unmet = workflow.unmet_prerequisites(phase, set(steps))
        if unmet and phase not in steps:
            titles = ", ".join(workflow.STEPS[s].title for s in unmet)
            self.problem(f"{place}.currentPhase", f"{phase} needs {titles} completed first")
        return ProgressEntry(phase, steps)

    def completed_steps(self, place: str, steps: list[str]) -> list[str]:
        from moviecli.services import workflow

        named = [
            self.enum(f"{place}[{index}]", step, workflow.ORDER)
            for index, step in enumerate(steps, start=1)
        ]
        given = {step for step in named if step is not None}
        out: list[str] = []
        for index, step in enumerate(named, start=1):
            at = f"{place}[{index}]"
            if step is None:
                continue
            if step in out:
                self.problem(at, f"{step} is listed twice")
            else:
                unmet = workflow.unmet_prerequisites(step, given)
                if unmet:
                    titles = ", ".join(workflow.STEPS[s].title for s in unmet)
                    self.problem(at, f"{step} needs {titles} completed too")
                out.append(step)
        return out


def _iso_time(value: Any) -> str | None:
    """``value`` (an ISO 8601 string with its zone, or a TOML datetime) as the story
    record keeps times: UTC, ``…Z``."""
    from datetime import UTC, datetime

    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
