"""Checking an apply file's entries: every problem with its place, nothing written."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moviecli.enums import MEDIA_FAMILIES, MEDIA_STATUSES, VISIBILITIES
from moviecli.services import projects

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
            key = entry.title.lower()
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
        return ProjectEntry(place, title, fields, template, collaborators, media)

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
        path, sha = self.content(place, item)
        related = self.related(f"{place}.relatedElements", item.get("relatedElements"))
        style = self.typed(
            f"{place}.styleReference", item.get("styleReference"), bool, "true or false"
        )
        filename = self.filename(f"{place}.filename", item.get("filename"))
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
            filename=filename,
        )

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
