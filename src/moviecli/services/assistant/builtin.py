"""The built-in assistant: offline and deterministic (golden tests pin its replies).

Each reply acknowledges attachments by filename, quotes what was recorded, reports the
move (or exactly what blocks it), lists what the current step still lacks according to the
engine's own requirement checker, and names the recommended choice.
"""

from __future__ import annotations

from collections.abc import Callable

from moviecli.services.assistant import Outcome, ReplyContext
from moviecli.services.assistant.knowledge import ASK as ASK  # openai.py reads it here
from moviecli.services.story import quote
from moviecli.services.workflow import LAST, STEPS


class BuiltinAssistant:
    name = "builtin"

    def reply(self, ctx: ReplyContext, on_chunk: Callable[[str], None] | None = None) -> str:
        text = render(ctx.outcome)
        if on_chunk is not None:
            on_chunk(text)
        return text


def greeting(project_title: str, outcome: Outcome) -> str:
    """The first message of a new interactive session."""
    step = STEPS[outcome.applied.current_phase]
    welcome = f"Welcome to {project_title!s}. We are on {step.title} {step.icon}: "
    lines = [welcome + step.description]
    if outcome.missing:  # what to send; a step that has everything needs no asking
        lines.append(ASK[step.id])
    lines.extend(_lacking(outcome))
    lines.extend(_recommend(outcome))
    return "\n".join(lines)


def render(outcome: Outcome, *, answer: bool = True) -> str:
    """The built-in reply; ``answer=False``: the engine's own lines only (what was
    recorded, the move, what the step still lacks, the recommended choice), which follow
    a model's prose, which answers instead."""
    lines: list[str] = []
    lines.extend(_attached(outcome))
    if answer:
        lines.extend(outcome.answer)
    lines.extend(outcome.recorded)
    lines.extend(_not_recorded(outcome))
    if outcome.override:
        step = STEPS[outcome.step]
        lines.append(
            f"Manual override for {step.title}: {quote(outcome.override)}. I will follow it "
            "from now on: it is kept in the project's story as a direction, so every session "
            "on this project builds on it. It does not skip requirements."
        )
    lines.extend(_move(outcome))
    if not outcome.applied.workflow_completed:
        said_already = set(outcome.missing) <= set(outcome.blocked) and outcome.missing
        if not said_already:
            lines.extend(line for line in _lacking(outcome) if line not in lines)
        lines.extend(_recommend(outcome))
    return "\n".join(lines)


def _attached(outcome: Outcome) -> list[str]:
    """The files a turn added, and those the project already held (the same bytes: the
    existing record is kept as it is, its type included)."""
    new = [(n, k) for n, k in outcome.attachments if n not in outcome.already]
    old = [(n, k) for n, k in outcome.attachments if n in outcome.already]
    lines = []
    if new:
        names = ", ".join(f"{name} ({kind})" for name, kind in new)
        lines.append(f"Attached {len(new)} {'file' if len(new) == 1 else 'files'}: {names}.")
    for name, kind in old:
        lines.append(f"{name} is already in the project as {kind}: nothing new attached.")
    return lines


def _not_recorded(outcome: Outcome) -> list[str]:
    """What a message of story material left out, and the form a step's items take when
    a message in character_creation or scene_production held none."""
    understood = outcome.understanding
    lines = [f"Not recorded: {reason}." for reason in understood.ignored]
    if understood.intent != "story":
        return lines
    fields = {u.field for u in understood.updates}
    for step, field, form in (
        ("character_creation", "character", "Name: description"),
        ("scene_production", "scene", "Title: description"),
    ):
        if outcome.step == step and field not in fields:
            lines.append(f"No {field}s in that message: send them one per line as '{form}'.")
    return lines


def _move(outcome: Outcome) -> list[str]:
    move = outcome.move
    if move is None:
        return []
    target = STEPS[move.target]
    if move.kind == "blocked":
        head = (
            f"Cannot complete {target.title} yet. Missing:"
            if move.target == move.source == LAST
            else f"Cannot move to {target.title} yet. Missing:"
        )
        lines = [head, *(f"- {reason}" for reason in move.blocked)]
        if move.hint:
            lines.append(f"Tip: {move.hint}.")
        return lines
    applied = outcome.applied
    if move.kind == "finish":
        return [
            f"Final assembly completed: the workflow is done ({applied.overall_progress}%) and "
            f"the project is {applied.status}. This session is now closed; "
            "moviecli chat starts a new one."
        ]
    if move.kind == "stay":
        return [f"We are already on {target.title}. {ASK[target.id]}"]
    lines = []
    if move.completes:
        lines.append(
            f"Completed {STEPS[move.completes].title} (progress {applied.overall_progress}%)."
        )
    where = "Back to" if move.kind == "back" else "Now on"
    lines.append(f"{where} {target.title} {target.icon}: {target.description}")
    lines.append(ASK[target.id])
    return lines


def _lacking(outcome: Outcome) -> list[str]:
    step = STEPS[outcome.applied.current_phase]
    if outcome.applied.current_phase in outcome.applied.completed:
        return [f"{step.title} is completed."]
    if not outcome.missing:
        return [f"{step.title} has everything it needs."]
    if len(outcome.missing) == 1:
        return [f"{step.title} still needs {outcome.missing[0]}."]
    return [f"{step.title} still needs:", *(f"- {m}" for m in outcome.missing)]


def _recommend(outcome: Outcome) -> list[str]:
    for number, choice in enumerate(outcome.choices, start=1):
        if choice.is_recommended:
            return [f"Recommended: {number}. {choice.title} (--choice {choice.id})."]
    first = outcome.choices[0] if outcome.choices else None
    if first is None or first.id == "manual_override":
        return []
    return [f"Next: 1. {first.title} (--choice {first.id}), once the above is done."]
