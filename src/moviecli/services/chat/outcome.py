"""The outcome of a turn, decided by the engine before any reply is written (pure): what
the message is (the understanding), which choice it picks, what it changes in the story
(``story.preview``: the same code that ``story.record`` writes with), the move, progress,
what the phase still lacks, the choices, and the answer to a question or small talk."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from moviecli.enums import MANUAL_OVERRIDE
from moviecli.errors import UsageError
from moviecli.services import story as story_service
from moviecli.services import workflow
from moviecli.services.assistant import Outcome, answers
from moviecli.services.assistant.understanding import Understanding
from moviecli.services.story import StoryUpdate


def turn_updates(
    understanding: Understanding, override: str | None, step: str
) -> list[StoryUpdate]:
    """What a turn records: the message's story material, then a manual override's
    direction (kept in the story, so every session on the project builds on it)."""
    updates = list(understanding.updates)
    if override:
        updates.append(StoryUpdate("direction", "extend", override, step=step))
    return updates


def compute_outcome(
    facts: workflow.Facts,
    story: dict[str, Any],
    understanding: Understanding,
    choice: str | None,
    *,
    at: datetime,
    attachments: tuple[tuple[str, str], ...] = (),
    already: tuple[str, ...] = (),
    override: str | None = None,
) -> tuple[Outcome, dict[str, Any]]:
    """What the turn does to the project: the story with the message's updates (checked:
    a story grown past its limits is exit 2), the move (if a step was chosen), progress,
    status, what the phase still lacks, the choices; and the new story record."""
    step = facts.current_phase
    updates = turn_updates(understanding, override, step)
    new_story, changes = story_service.preview(story, updates, at=at) if updates else (story, [])
    if override and changes and changes[-1].field == "direction":
        changes = changes[:-1]  # the override is quoted in a sentence of its own
    facts = facts.with_story(new_story)
    move = None
    if choice and choice != MANUAL_OVERRIDE:
        move = workflow.plan_move(facts, choice)
    if move is not None:
        applied = workflow.apply_move(facts, move)
    else:
        applied = workflow.Applied(
            facts.current_phase, facts.completed, facts.progress, facts.status, False
        )
    after = replace(
        facts,
        current_phase=applied.current_phase,
        completed=applied.completed,
        status=applied.status,
    )
    choices = () if applied.workflow_completed else tuple(workflow.choices(after))
    outcome = Outcome(
        step=step,
        understanding=understanding,
        recorded=tuple(story_service.describe(changes)),
        move=move,
        applied=applied,
        missing=tuple(workflow.missing(applied.current_phase, after)),
        choices=choices,
        attachments=attachments,
        already=already,
        answer=tuple(_answer(understanding, after, new_story, choices)),
        override=override,
    )
    return outcome, new_story


def _answer(
    understanding: Understanding,
    facts: workflow.Facts,
    story: dict[str, Any],
    choices: Sequence[workflow.Choice],
) -> list[str]:
    if understanding.intent == "question":
        return answers.answer(understanding.text, facts=facts, story=story, choices=choices)
    if understanding.intent == "smalltalk":
        return answers.small_talk(understanding.text, facts=facts)
    return []


def resolve_choice(
    given: str | None,
    understanding: Understanding,
    shown: Sequence[Mapping[str, Any]],
    custom: str | None,
) -> str | None:
    """The choice id a turn picks: ``--choice`` (a step id, or the number shown), or a
    message that is only a number or a step id. Exit 2 (nothing stored) for a number
    that was not shown, a choice given twice, or manual_override without custom input."""
    choice = given
    if understanding.intent == "choice":
        if given is not None:
            raise UsageError(
                f"the message {understanding.text.strip()!r} is a choice, and --choice was "
                "given too",
                hint="pass the choice once",
            )
        choice = understanding.choice or str(understanding.number)
    if choice is not None and choice.isdigit():
        number = int(choice)
        if not 1 <= number <= len(shown):
            listed = ", ".join(f"{n}. {c['id']}" for n, c in enumerate(shown, start=1))
            raise UsageError(f"no choice {number}", hint=f"the choices shown: {listed}")
        choice = str(shown[number - 1]["id"])
    has_custom = bool((custom or "").strip())
    if choice == MANUAL_OVERRIDE and not has_custom:
        raise UsageError(
            "custom input required",
            hint="manual_override needs your direction: --custom TEXT or /override TEXT",
        )
    if has_custom and choice != MANUAL_OVERRIDE:
        raise UsageError("--custom goes with --choice manual_override")
    return choice
