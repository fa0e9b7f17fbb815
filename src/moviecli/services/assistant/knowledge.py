"""What the assistant knows about each step, in one place: what to send in it, what an
attached file becomes there, and the words a creator meets along the way."""

from __future__ import annotations

# What to send in each step.
ASK = {
    "initial_concept": "Describe the series in a message: its premise, world and tone.",
    "story_development": "Send the synopsis as a message: how the story starts, turns and ends.",
    "character_creation": (
        "Send the characters one per line as 'Name: description', or attach character designs."
    ),
    "visual_design": "Attach style reference images and describe the look you want.",
    "audio_design": "Attach voices, music or sound effects, and describe the sound.",
    "scene_production": (
        "Send the scenes one per line as 'Scene title: description', or attach storyboards."
    ),
    "post_production": "Attach the video segments as you produce them.",
    "final_assembly": "Attach the final video, then choose 'Complete the workflow'.",
}

# What an attachment becomes when no type is given (SPEC section 5).
INFERRED_TYPES = {
    "image": {
        "character_creation": "character_design",
        "visual_design": "style_reference",
        "scene_production": "storyboard",
    },
    "video": {"final_assembly": "final_video"},
    "audio": {"character_creation": "voice_profile", "audio_design": "music_track"},
}
DEFAULT_TYPES = {"image": "concept_art", "video": "video_segment", "audio": "audio_clip"}


def infer_type(family: str, step: str) -> str:
    """The media type a file of ``family`` (image, video, audio) attached in ``step`` gets."""
    return INFERRED_TYPES[family].get(step, DEFAULT_TYPES[family])


# Words a creator asks about ("what's a logline?").
GLOSSARY = {
    "concept": (
        "The concept is what the series is in a few sentences: its premise, world and tone. "
        "In Initial concept every message adds to it; 'Concept: …' replaces it in any step."
    ),
    "logline": (
        "A logline is the whole story in one sentence: who wants what, and what stands in "
        "the way. Send it as 'Logline: …' in any step."
    ),
    "synopsis": (
        "The synopsis tells the story from start to end: how it starts, turns and ends. In "
        "Story development each message adds a paragraph; 'Synopsis: …' replaces it."
    ),
    "character": (
        "Characters are recorded as 'Name: description', one per line or separated by ';' "
        "in Character creation ('Character Name: …' in any step); sending a name again "
        "updates that character."
    ),
    "scene": (
        "A scene is one piece of an episode, recorded as 'Title: description' in Scene "
        "production ('Scene Title: …' in any step), or a storyboard image attached there."
    ),
    "style reference": (
        "A style reference is an image that sets the look of the series (a palette, a "
        "frame, a mood). An image attached in Visual design becomes one."
    ),
    "storyboard": (
        "A storyboard is an image of a scene's shots. An image attached in Scene production "
        "becomes one; add it with --scene TITLE to count as that scene."
    ),
    "direction": (
        "A direction is a note on how to make the series ('neon noir, rain on chrome'). What "
        "you send in the steps after Character creation is kept as one, step by step."
    ),
    "manual override": (
        "Manual override gives your own direction in your words (/override TEXT, or "
        "--choice manual_override --custom TEXT); it is kept but skips no requirement."
    ),
}
