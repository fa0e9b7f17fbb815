"""Enumerated values of SPEC sections 2-5.

Plain tuples with no imports, so that the CLI can offer them for shell completion without
loading the database stack. The service layer validates against them (typer's Choice
would stop at the first bad option; services report every invalid field at once).
"""

ROLES = ("user", "producer", "admin")
TIERS = ("free", "pro", "enterprise")
GENRES = ("action", "comedy", "drama", "horror", "sci-fi", "thriller", "romance", "documentary")
AUDIENCES = ("children", "family", "teen", "adult")
AUDIENCE_RATINGS = {"children": "G", "family": "PG", "teen": "PG-13", "adult": "R"}
# The order a project's status moves forward in (the workflow never moves it back).
STATUS_ORDER = ("concept", "pre-production", "production", "post-production", "completed")
PROJECT_STATUSES = (*STATUS_ORDER, "on-hold")
ASPECT_RATIOS = ("16:9", "4:3", "21:9")
QUALITY_TIERS = ("draft", "standard", "premium")
MEDIA_STATUSES = ("active", "draft", "archived", "processing", "failed")
VISIBILITIES = ("private", "public")
SESSION_STATES = ("active", "paused", "completed", "error")
MESSAGE_ROLES = ("user", "assistant", "system")
MEDIA_FAMILIES = {
    "style_reference": "image",
    "character_design": "image",
    "environment_design": "image",
    "concept_art": "image",
    "storyboard": "image",
    "video_segment": "video",
    "final_video": "video",
    "audio_clip": "audio",
    "voice_profile": "audio",
    "music_track": "audio",
    "sound_effect": "audio",
}
MEDIA_TYPES = tuple(MEDIA_FAMILIES)
WORKFLOW_STEP_IDS = (
    "initial_concept",
    "story_development",
    "character_creation",
    "visual_design",
    "audio_design",
    "scene_production",
    "post_production",
    "final_assembly",
)
# The choice that is no step: leave the workflow's order (chat choose manual_override).
MANUAL_OVERRIDE = "manual_override"
CHOICE_IDS = (*WORKFLOW_STEP_IDS, MANUAL_OVERRIDE)


def completer(values: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """A typer ``autocompletion`` callback offering ``values`` that start with the input."""

    def complete(incomplete: str) -> list[str]:
        return [v for v in values if v.startswith(incomplete)]

    return complete
