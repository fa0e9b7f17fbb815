"""What a user says about media (SPEC section 4), checked before anything is stored.

Pure rules, no database: the fields of ``media add`` and ``media update`` with their limits
(every problem reported at once, exit 2), the generation metadata of agent-made assets, the
name a record keeps, and the text an asset's embedding stands for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moviecli import suggest
from moviecli.enums import MEDIA_STATUSES, MEDIA_TYPES
from moviecli.errors import ValidationFailed
from moviecli.models import utcnow

if TYPE_CHECKING:
    from moviecli.models import Media, Project

MAX_TAGS = 50
MAX_TEXT = 10_000
MAX_TIMESTAMP = 1e9  # seconds into an episode: far beyond any, and finite (no NaN, no inf)
# The columns an embedding's text is made of: changing one re-embeds the asset.
TEXT_COLUMNS = {"description", "tags", "episode", "scene", "characters"}


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
    if timestamp is not None and not (timestamp >= 0 and timestamp < MAX_TIMESTAMP):
        problems["relatedElements.timestamp"] = (
            f"must be 0 or more seconds, under {MAX_TIMESTAMP:,.0f}"
        )
    if status is not None and status not in MEDIA_STATUSES:
        problems["status"] = suggest.not_one_of(status, MEDIA_STATUSES)


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


def media_type_problem(media_type: str) -> str | None:
    """What is wrong with a mediaType (one of the eleven of SPEC section 4), or None."""
    if suggest.canonical(media_type, MEDIA_TYPES) is None:  # any case
        return suggest.not_one_of(media_type, MEDIA_TYPES)
    return None


def validate_fields(fields: AssetFields, project: Project | None) -> dict[str, Any]:
    """Every problem at once (exit 2); returns the columns the fields give."""
    problems: dict[str, str] = {}
    if (problem := media_type_problem(fields.media_type)) is not None:
        problems["mediaType"] = problem
    else:  # any case: --type Concept-Art is concept_art
        fields.media_type = suggest.canonical(fields.media_type, MEDIA_TYPES) or fields.media_type
    if fields.status is not None:
        fields.status = suggest.canonical(fields.status, MEDIA_STATUSES) or fields.status
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


def validate_changes(media: Media, changes: Changes, project: Project) -> dict[str, Any]:
    """The new values of the changed columns (validated; exit 2 lists every problem)."""
    problems: dict[str, str] = {}
    add = _clean_list(changes.add_tags)
    remove = set(_clean_list(changes.remove_tags))
    tags = [t for t in media.tags if t not in remove]
    tags += [t for t in add if t not in tags]
    characters = _clean_list(changes.characters) if changes.characters is not None else None
    if changes.status is not None:
        changes.status = suggest.canonical(changes.status, MEDIA_STATUSES) or changes.status
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


# --- names and the text an embedding stands for ------------------------------------------------


def filename_of(path: Path) -> str:
    """The original name a record keeps: valid UTF-8 (bytes of a name that is not, as Linux
    allows, become U+FFFD), at most 255 characters."""
    name = path.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if len(name) <= 255:
        return name
    stem, dot, ext = name.rpartition(".")
    return (stem[: 254 - len(ext)] + dot + ext) if dot and len(ext) < 20 else name[:255]


def export_name(filename: str, fallback: str) -> str:
    """A record's name as a file name in a directory of the user's (``media export``,
    ``project export --with-media``). Names come from the database, which anyone with
    write access may have edited: no way out of the directory ("/" and NUL become "_"),
    nothing hidden (leading dots and spaces go), at most 255 bytes; ``fallback`` (the
    record's id) when nothing is left ("..")."""
    name = re.sub(r"[/\\\x00]", "_", filename).lstrip(". ")
    if not name:
        return fallback
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 20:
        stem, dot, ext = name, "", ""
    while len((stem + dot + ext).encode("utf-8")) > 255:
        stem = stem[:-1]
    return (stem + dot + ext) if stem else fallback


class ExportNames:
    """Distinct file names for the media of one export directory: two records with one
    name get distinct files (the second prefixed with its content's sha256), compared as
    the file system may (case-insensitively), and never a ``reserved`` name (the exported
    apply file beside them)."""

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        from moviecli.text import fold

        self._fold = fold
        self._used = {fold(name) for name in reserved}

    def pick(self, filename: str, sha256: str, media_id: str) -> str:
        for candidate in (filename, f"{sha256[:8]}-{filename}", f"{media_id}-{filename}"):
            name = export_name(candidate, media_id)
            if self._fold(name) not in self._used:
                break
        self._used.add(self._fold(name))
        return name


def embedding_text(
    *,
    description: str,
    tags: Sequence[str],
    media_type: str,
    filename: str,
    characters: Sequence[str] = (),
    episode: int | None = None,
    scene: str | None = None,
    prompt: str | None = None,
) -> str:
    """The text around an asset that its embedding stands for (SPEC section 8): its
    description, then the prompt it was generated from (so that search finds an image by
    what it was asked to show), then the rest.

    The file name contributes its words only ("Stormy_Sea-v3.png" → "Stormy Sea"):
    numbers and extensions mean nothing to a sentence model, and without them the files
    of a bulk add (frame-0001.png, frame-0002.png, …) share one text, embedded once.
    """
    parts = [description.strip()] if description.strip() else []
    if prompt and prompt.strip():
        # The model reads 128 tokens: the start of a long prompt is what it gets anyway.
        parts.append("Prompt: " + " ".join(prompt.split())[:MAX_PROMPT_TEXT])
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


MAX_PROMPT_TEXT = 600


def text_of(media: Media | dict[str, Any]) -> str:
    get = media.get if isinstance(media, dict) else lambda k: getattr(media, k)
    meta = get("generation_metadata") if get("agent_generated") else None
    prompt = meta.get("promptUsed") if isinstance(meta, dict) else None
    return embedding_text(
        description=get("description") or "",
        tags=get("tags") or [],
        media_type=str(get("media_type")),
        filename=str(get("filename")),
        characters=get("characters") or [],
        episode=get("episode"),
        scene=get("scene"),
        prompt=prompt if isinstance(prompt, str) else None,
    )
