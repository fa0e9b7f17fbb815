"""What a plan is made of: per project, the field changes and the items (collaborators,
media, style references, characters, scenes, directions) with what apply will do to
each, and what the transaction needs to do it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from moviecli.models import Project
from moviecli.services.apply.validate import MediaEntry, ProgressEntry, ProjectEntry

if TYPE_CHECKING:
    from moviecli.services.story import StoryUpdate


@dataclass
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass
class ItemPlan:
    kind: str  # collaborator | media | styleReference | character | scene | direction
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
    story_updates: list[StoryUpdate] = field(default_factory=list)  # recorded as revisions
    progress: ProgressEntry | None = None  # the workflow position to set, when it moves

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
