"""Reference data seeded by ``moviecli init``: workflow steps, media types, templates.

The code is the source of truth; the tables hold a copy so that the database describes
itself to other tools. ``seed`` only adds what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from moviecli.enums import MEDIA_FAMILIES
from moviecli.models import MediaType, Template, WorkflowStep


@dataclass(frozen=True)
class StepDef:
    id: str
    title: str
    description: str
    prerequisites: tuple[str, ...]
    requirement: str
    estimated_time: str
    icon: str


WORKFLOW: tuple[StepDef, ...] = (
    StepDef(
        "initial_concept",
        "Initial concept",
        "Pin down what the series is: its premise, genre and audience.",
        (),
        "title, genre, targetAudience and a concept",
        "10 min",
        "💡",
    ),
    StepDef(
        "story_development",
        "Story development",
        "Write the synopsis: where the story starts, turns and ends.",
        ("initial_concept",),
        "a story synopsis",
        "30 min",
        "📖",
    ),
    StepDef(
        "character_creation",
        "Character creation",
        "Create the cast: who they are and what they want.",
        ("story_development",),
        "at least 2 characters",
        "30 min",
        "🎭",
    ),
    StepDef(
        "visual_design",
        "Visual design",
        "Set the look: style references, palettes, environments.",
        ("character_creation",),
        "at least 1 style reference",
        "45 min",
        "🎨",
    ),
    StepDef(
        "audio_design",
        "Audio design",
        "Give the series its sound: voices, music and effects.",
        ("character_creation",),
        "at least 1 audio asset",
        "45 min",
        "🎵",
    ),
    StepDef(
        "scene_production",
        "Scene production",
        "Break episodes into scenes and storyboard them.",
        ("character_creation", "visual_design"),
        "at least 1 scene",
        "2 h",
        "🎬",
    ),
    StepDef(
        "post_production",
        "Post-production",
        "Generate and edit the video segments.",
        ("scene_production",),
        "at least 1 video segment",
        "3 h",
        "🎞",
    ),
    StepDef(
        "final_assembly",
        "Final assembly",
        "Assemble and export the finished episodes.",
        ("post_production",),
        "overall progress of at least 80% and a final video",
        "1 h",
        "🏁",
    ),
)

MEDIA_TYPE_DESCRIPTIONS = {
    "style_reference": "User-uploaded visual references",
    "character_design": "Character visual designs",
    "environment_design": "Location and setting designs",
    "concept_art": "General concept illustrations",
    "storyboard": "Scene planning boards",
    "video_segment": "Generated video clips",
    "audio_clip": "Generated audio content",
    "voice_profile": "Character voice samples",
    "music_track": "Background music",
    "sound_effect": "Audio effects",
    "final_video": "Completed episode content",
}

# (name, description, genre, targetAudience, episodeCount, aspectRatio, episodeDuration,
#  qualityTier)
BUILTIN_TEMPLATES: tuple[tuple[str, str, str, str, int, str, int, str], ...] = (
    (
        "sitcom",
        "Half-hour ensemble comedy around one shared place.",
        "comedy",
        "family",
        8,
        "16:9",
        22,
        "standard",
    ),
    (
        "anime-action",
        "Serialised action anime with a tournament-style arc.",
        "action",
        "teen",
        12,
        "16:9",
        24,
        "premium",
    ),
    (
        "docu-series",
        "A four-part documentary that follows one subject in depth.",
        "documentary",
        "family",
        4,
        "16:9",
        45,
        "premium",
    ),
    (
        "horror-anthology",
        "Self-contained horror stories, one per episode, in widescreen.",
        "horror",
        "adult",
        6,
        "21:9",
        30,
        "premium",
    ),
    (
        "kids-cartoon",
        "Short episodic cartoon for young children, one lesson an episode.",
        "comedy",
        "children",
        10,
        "4:3",
        11,
        "draft",
    ),
)


def seed(session: Session) -> dict[str, int]:
    """Insert the reference rows that are missing; returns how many of each were added."""
    added = {"workflow steps": 0, "media types": 0, "templates": 0}
    have_steps = set(session.exec(select(WorkflowStep.id)).all())
    for position, step in enumerate(WORKFLOW, start=1):
        if step.id not in have_steps:
            session.add(
                WorkflowStep(
                    id=step.id,
                    position=position,
                    title=step.title,
                    description=step.description,
                    prerequisites=list(step.prerequisites),
                    requirement=step.requirement,
                    estimated_time=step.estimated_time,
                    icon=step.icon,
                )
            )
            added["workflow steps"] += 1
    have_types = set(session.exec(select(MediaType.id)).all())
    for type_id, family in MEDIA_FAMILIES.items():
        if type_id not in have_types:
            session.add(
                MediaType(id=type_id, family=family, description=MEDIA_TYPE_DESCRIPTIONS[type_id])
            )
            added["media types"] += 1
    have_templates = set(session.exec(select(Template.name)).all())
    for (
        name,
        description,
        genre,
        audience,
        episodes,
        ratio,
        duration,
        quality,
    ) in BUILTIN_TEMPLATES:
        if name not in have_templates:
            session.add(
                Template(
                    name=name,
                    description=description,
                    genre=genre,
                    target_audience=audience,
                    episode_count=episodes,
                    aspect_ratio=ratio,
                    episode_duration=duration,
                    quality_tier=quality,
                    builtin=True,
                )
            )
            added["templates"] += 1
    return added
