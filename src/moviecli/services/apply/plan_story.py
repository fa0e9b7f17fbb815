"""Planning the story and the workflow position of a project in an apply file: the story
updates that make the story what the file says (recorded as revisions, none when equal),
and the workflow position, every completed step's requirements checked by the workflow
engine against what the project will hold once the file is applied."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from moviecli.models import Media, Project, utcnow
from moviecli.services.apply.model import FieldChange, ItemPlan, ProjectPlan
from moviecli.services.apply.validate import STORY_LISTS, ProgressEntry, ProjectEntry

if TYPE_CHECKING:
    from moviecli.services.story import StoryUpdate
    from moviecli.services.workflow import Facts


def plan_story(entry: ProjectEntry, existing: Project | None, project_plan: ProjectPlan) -> None:
    """The story updates that make the project's story what the file says: texts and
    the lists of characters and scenes exactly (names matched case-insensitively),
    directions added when missing (the others kept). Equal values need none."""
    from moviecli.services.story import StoryUpdate, normalized

    if entry.story is None:
        return
    current = normalized(existing.story if existing else None)
    updates: list[StoryUpdate] = []
    for key, new in entry.story.texts.items():
        if current[key] != new:
            updates.append(StoryUpdate(key, "set" if new else "remove", new or ""))  # type: ignore[arg-type]
            project_plan.changes.append(FieldChange(f"story.{key}", current[key], new))
    for list_name, (field_name, name_key) in STORY_LISTS.items():
        wanted = getattr(entry.story, list_name)
        if wanted is not None:
            updates += _plan_story_items(
                current[list_name], wanted, field_name, name_key, project_plan
            )
    for direction in entry.story.directions or []:
        if direction not in current["directions"]:
            at = _parse_time(direction["at"])
            step, text = direction["step"], direction["text"]
            updates.append(StoryUpdate("direction", "extend", text, step=step, at=at))
            change = FieldChange("text", None, text)
            project_plan.items.append(ItemPlan("direction", step, "create", [change]))
    project_plan.story_updates = updates


def _parse_time(value: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _plan_story_items(
    current: list[dict[str, Any]],
    wanted: list[tuple[str, str]],
    field_name: str,
    name_key: str,
    project_plan: ProjectPlan,
) -> list[StoryUpdate]:
    from moviecli.services.story import StoryUpdate
    from moviecli.text import fold

    kind: Any = field_name
    have = {fold(str(i.get(name_key, ""))): i for i in current}
    keep = {fold(name) for name, _ in wanted}
    updates = []
    for item in current:
        name = str(item.get(name_key, ""))
        if fold(name) not in keep:
            updates.append(StoryUpdate(kind, "remove", name=name))
            project_plan.items.append(ItemPlan(field_name, name, "remove"))
    for name, description in wanted:
        old = have.get(fold(name))
        if old is None:
            updates.append(StoryUpdate(kind, "set", description, name=name))
            change = FieldChange("description", None, description)
            project_plan.items.append(ItemPlan(field_name, name, "create", [change]))
            continue
        recorded, before = str(old.get(name_key, "")), str(old.get("description", ""))
        if before == description:
            project_plan.items.append(ItemPlan(field_name, recorded, "unchanged"))
            continue
        if not description:  # a blank description keeps the recorded one: remove it first
            updates.append(StoryUpdate(kind, "remove", name=recorded))
        updates.append(StoryUpdate(kind, "set", description, name=recorded))
        change = FieldChange("description", before, description)
        project_plan.items.append(ItemPlan(field_name, recorded, "update", [change]))
    return updates


def plan_progress(
    entry: ProjectEntry,
    existing: Project | None,
    project_plan: ProjectPlan,
    problems: dict[str, str],
    current: dict[str, Media],
    styles: set[str],
) -> None:
    """The workflow position the file gives, and the status that follows it (forward
    only, as the chat moves it); every completed step must have its requirements met by
    what the project will hold (the workflow engine's own check)."""
    from moviecli.services import workflow

    wanted = entry.progress
    if wanted is None:
        return
    phase = existing.current_phase if existing else workflow.FIRST
    completed = list(existing.completed_steps) if existing else []
    facts = _facts_after(entry, existing, project_plan, current, styles)
    for index, step in enumerate(wanted.completed, start=1):
        lacking = workflow.missing(step, facts)
        if lacking:
            problems.setdefault(
                f"{entry.place}.progress.completedSteps[{index}]",
                f"{step} is completed, but the project would lack " + "; ".join(lacking),
            )
    if (wanted.current_phase, wanted.completed) == (phase, completed):
        return
    project_plan.progress = wanted
    if wanted.current_phase != phase:
        project_plan.changes.append(
            FieldChange("progress.currentPhase", phase, wanted.current_phase)
        )
    if wanted.completed != completed:
        project_plan.changes.append(
            FieldChange("progress.completedSteps", completed, wanted.completed)
        )
    status = existing.status if existing else "concept"
    new_status = workflow.follow_status(status, implied_status(wanted))
    if new_status != status:
        project_plan.changes.append(FieldChange("status", status, new_status))


def implied_status(progress: ProgressEntry) -> str:
    """The status a workflow position implies: that of its phase, completed at the end."""
    from moviecli.services import workflow

    if workflow.LAST in progress.completed:
        return "completed"
    return workflow.STATUS_OF_PHASE[progress.current_phase]


def _facts_after(
    entry: ProjectEntry,
    existing: Project | None,
    project_plan: ProjectPlan,
    current: dict[str, Media],
    styles: set[str],
) -> Facts:
    """What the workflow's requirement checks would see once the file is applied: the
    desired fields, the story after its updates, the media after the file's entries."""
    from moviecli.services import counting, projects, workflow
    from moviecli.services.story import preview

    assert entry.progress is not None

    def value(attr: str) -> Any:
        # a new project gets the defaults project create gives it
        default = getattr(existing, attr) if existing else projects.DEFAULTS.get(attr)
        return project_plan.desired.get(attr, default) or ""

    planned = {m.media_id: m for m in project_plan.media}
    rows = []
    for media in current.values():
        row = {c: getattr(media, c) for c in ("media_type", "status", "characters", "scene")}
        if media.id in planned:
            row |= {k: v for k, v in planned[media.id].values.items() if k in row}
        rows.append(row)
    for plan_item in project_plan.media:
        if plan_item.action == "create":
            rows.append({"media_type": plan_item.entry.media_type, **plan_item.values})
    usable = [r for r in rows if counting.counts_toward_steps(r.get("status"))]
    counts: dict[str, int] = {}
    for row in usable:
        counts[row["media_type"]] = counts.get(row["media_type"], 0) + 1
    refs = styles if entry.media is None else {m.media_id for m in project_plan.media if m.style}
    facts = workflow.Facts(
        title=str(value("title")),
        genre=str(value("genre")),
        target_audience=str(value("target_audience")),
        description=str(value("description")),
        current_phase=entry.progress.current_phase,
        completed=tuple(entry.progress.completed),
        style_references=len(refs),
        audio_assets=sum(counts.get(t, 0) for t in workflow.AUDIO_TYPES),
        video_segments=counts.get("video_segment", 0),
        final_videos=counts.get("final_video", 0),
        media_characters=tuple(
            str(n)
            for r in usable
            if r["media_type"] == "character_design"
            for n in r.get("characters") or []
        ),
        storyboard_scenes=tuple(
            {str(r["scene"]) for r in usable if r["media_type"] == "storyboard" and r.get("scene")}
        ),
    )
    story, _ = preview(
        existing.story if existing else None, project_plan.story_updates, at=utcnow()
    )
    return facts.with_story(story)
