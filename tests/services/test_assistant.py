"""The built-in assistant's replies, pinned: one per step and one per blocked case.

The replies live in ``golden_assistant.json`` beside this file; after a deliberate change
of wording, regenerate it with ``MOVIECLI_UPDATE_GOLDEN=1 pytest tests/services/
test_assistant.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from moviecli.services.assistant.builtin import greeting, render
from moviecli.services.assistant.understanding import Understanding, understand
from moviecli.services.chat import compute_outcome
from moviecli.services.workflow import ORDER, Facts

GOLDEN = Path(__file__).with_name("golden_assistant.json")
AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
BASE = Facts(title="Space Heist", genre="sci-fi", target_audience="teen")
STORY: dict[str, Any] = {
    "concept": "A heist in space",
    "synopsis": "Cats rob the moon.",
    "characters": [{"name": "Mia", "description": "pilot"}, {"name": "Rex", "description": "x"}],
    "scenes": [{"title": "Vault", "description": "the breach"}],
    "directions": [],
}
MEDIA = {"style_references": 1, "audio_assets": 1, "video_segments": 1, "final_videos": 1}


def facts(step: str, *, done: list[str] | None = None, **kw: Any) -> Facts:
    completed = ORDER[: ORDER.index(step)] if done is None else tuple(done)
    return replace(BASE, current_phase=step, completed=tuple(completed), **kw)


def reply(
    f: Facts,
    story: dict[str, Any],
    text: str = "",
    choice: str | None = None,
    custom: str | None = None,
    attachments: tuple[tuple[str, str], ...] = (),
) -> str:
    understood = understand(text, step=f.current_phase)
    outcome, _ = compute_outcome(
        f, story, understood, choice, at=AT, attachments=attachments, override=custom
    )
    return render(outcome)


EMPTY: dict[str, Any] = {}
ALL_BUT_FINAL = [s for s in ORDER if s != "final_assembly"]
CASES: dict[str, Any] = {
    # one reply per step
    "initial_concept: the concept": lambda: reply(
        facts("initial_concept"), EMPTY, "A heist in space"
    ),
    "story_development: the synopsis": lambda: reply(
        facts("story_development"), {"concept": "x"}, "The cats plan it. Then they rob the moon."
    ),
    "character_creation: two characters": lambda: reply(
        facts("character_creation"), {}, "Mia: the pilot\nRex: the safecracker"
    ),
    "visual_design: a direction": lambda: reply(
        facts("visual_design"), STORY, "Neon noir, rain on chrome"
    ),
    "audio_design: a direction, the asset there": lambda: reply(
        facts("audio_design", audio_assets=1), STORY, "Synthwave score"
    ),
    "scene_production: two scenes": lambda: reply(
        facts("scene_production"), STORY | {"scenes": []}, "Vault: breach\nEscape: the chase"
    ),
    "post_production: a direction": lambda: reply(facts("post_production"), STORY, "Cut it tight"),
    "final_assembly: completed": lambda: reply(
        facts("final_assembly", **MEDIA), STORY, choice="final_assembly"
    ),
    # moves
    "forward: initial_concept to story_development": lambda: reply(
        facts("initial_concept"), STORY, choice="story_development"
    ),
    "forward with material: synopsis then character_creation": lambda: reply(
        facts("story_development"), {}, "They rob the moon.", choice="character_creation"
    ),
    "back: to initial_concept": lambda: reply(
        facts("visual_design"), STORY, choice="initial_concept"
    ),
    "stay: the current step": lambda: reply(
        facts("story_development"), STORY, choice="story_development"
    ),
    "manual_override": lambda: reply(
        facts("story_development"),
        {},
        choice="manual_override",
        custom="Make it darker",
    ),
    "attachments acknowledged": lambda: reply(
        facts("visual_design", style_references=1),
        STORY,
        attachments=(("look.png", "style_reference"), ("rain.jpg", "style_reference")),
    ),
    "no characters found": lambda: reply(
        facts("character_creation"), {}, "some cast ideas, not yet written down"
    ),
    # what a message is (issue 12 item 1): only story material is recorded
    "smalltalk: hi in initial_concept": lambda: reply(
        facts("initial_concept"), {"concept": "A heist on the moon"}, "hi!"
    ),
    "question: what does this step need, in character_creation": lambda: reply(
        facts("character_creation"), STORY | {"characters": []}, "what does this step need?"
    ),
    "question: what is my concept": lambda: reply(
        facts("story_development"), STORY, "what is my concept?"
    ),
    "question: how do I attach, in visual_design": lambda: reply(
        facts("visual_design"), STORY, "how do i attach a style reference"
    ),
    "question: what does a later phase mean": lambda: reply(
        facts("story_development"), STORY, "explain scene production"
    ),
    # labels and several items (issue 12 item 2)
    "labels: the concept replaced": lambda: reply(
        facts("story_development"), STORY, "Concept: A heist on the moon"
    ),
    "labels: three characters in one message": lambda: reply(
        facts("character_creation"), {}, "Mia: a thief; Rex: her brother; Ada: the cop"
    ),
    "labels: a character and a scene in visual_design": lambda: reply(
        facts("visual_design"), STORY, "Character mia: now the getaway driver\nScene Roof: dawn"
    ),
    "labels: an empty label is ignored": lambda: reply(
        facts("initial_concept"), EMPTY, "Concept:\nLogline: Cats. Moon. Money."
    ),
    "initial_concept: a second message extends the concept": lambda: reply(
        facts("initial_concept"), {"concept": "A heist in space"}, "the cats are brothers"
    ),
    # one reply per blocked case
    "blocked: no concept": lambda: reply(
        facts("initial_concept"), EMPTY, choice="story_development"
    ),
    "blocked: no synopsis": lambda: reply(
        facts("story_development"), EMPTY, choice="character_creation"
    ),
    "blocked: one character": lambda: reply(
        facts("character_creation"),
        {"characters": [{"name": "Mia"}]},
        choice="visual_design",
    ),
    "blocked: no style reference": lambda: reply(
        facts("visual_design"), STORY, choice="audio_design"
    ),
    "blocked: no audio asset": lambda: reply(
        facts("audio_design", style_references=1), STORY, choice="scene_production"
    ),
    "blocked: no scene": lambda: reply(
        facts("scene_production"), STORY | {"scenes": []}, choice="post_production"
    ),
    "blocked: no video segment": lambda: reply(
        facts("post_production"), STORY, choice="final_assembly"
    ),
    "blocked: no final video": lambda: reply(
        facts("final_assembly"), STORY, choice="final_assembly"
    ),
    "blocked: below 80 percent": lambda: reply(
        facts(
            "final_assembly",
            done=[s for s in ALL_BUT_FINAL if s != "audio_design"],
            final_videos=1,
        ),
        STORY,
        choice="final_assembly",
    ),
    "blocked: prerequisites": lambda: reply(
        facts("character_creation"), STORY, choice="scene_production"
    ),
    "blocked: on hold": lambda: reply(
        facts("initial_concept", status="on-hold"), STORY, choice="story_development"
    ),
    "greeting": lambda: greeting(
        "Space Heist",
        compute_outcome(facts("initial_concept"), {}, Understanding(None), None, at=AT)[0],
    ),
}


def _golden() -> dict[str, str]:
    if not GOLDEN.exists():
        return {}
    data: dict[str, str] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    return data


def test_golden_file_covers_every_case() -> None:
    if os.environ.get("MOVIECLI_UPDATE_GOLDEN"):
        replies = {name: make() for name, make in CASES.items()}
        GOLDEN.write_text(
            json.dumps(replies, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    assert sorted(_golden()) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_reply(name: str) -> None:
    assert CASES[name]() == _golden()[name]


def test_replies_are_deterministic() -> None:
    for make in CASES.values():
        assert make() == make()


# --- what a message records (the story service merges it) ----------------------------------------


def _recorded(step: str, text: str, story: dict[str, Any] | None = None) -> dict[str, Any]:
    _, new = compute_outcome(facts(step), story or {}, understand(text, step=step), None, at=AT)
    return new


def test_characters_are_merged_by_name_whatever_the_case() -> None:
    story = _recorded("character_creation", "Mia: pilot\nRex: thief")
    story = _recorded("character_creation", "MIA: captain; Lu: cook", story)
    assert story["characters"] == [
        {"name": "Mia", "description": "captain"},
        {"name": "Rex", "description": "thief"},
        {"name": "Lu", "description": "cook"},
    ]


def test_the_synopsis_grows_by_paragraphs_and_a_label_replaces_it() -> None:
    story = _recorded("story_development", "They meet.")
    story = _recorded("story_development", "They fall out.", story)
    assert story["synopsis"] == "They meet.\n\nThey fall out."
    story = _recorded("visual_design", "Synopsis: All new.", story)
    assert story["synopsis"] == "All new."


def test_questions_and_small_talk_record_nothing() -> None:
    for step in ORDER:
        for text in ("hi", "thx", "what does this step need?", "/help"):
            assert _recorded(step, text, STORY) == STORY, (step, text)


def test_override_is_a_direction_of_the_step() -> None:
    outcome, story = compute_outcome(
        facts("visual_design"), {}, Understanding(None), None, at=AT, override="Darker"
    )
    assert story["directions"] == [
        {"step": "visual_design", "text": "Darker", "at": "2026-01-02T03:04:05Z"}
    ]
    assert outcome.recorded == ()
