"""The production workflow (SPEC section 5): the step table and its rules, as pure
functions over a project's state, so that they are easy to test step by step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from moviecli.services.reference import WORKFLOW, StepDef

STEPS: dict[str, StepDef] = {step.id: step for step in WORKFLOW}
ORDER: tuple[str, ...] = tuple(step.id for step in WORKFLOW)


def overall_progress(completed: list[str]) -> int:
    """floor(100 * completed / 8 + 0.5): half up, 13, 25, 38, 50, 63, 75, 88, 100."""
    done = len(set(completed) & set(ORDER))
    return (200 * done + len(ORDER)) // (2 * len(ORDER))


@dataclass
class PhaseState:
    id: str
    title: str
    state: str  # done | current | available | blocked
    blocked_by: list[str] = field(default_factory=list)
    icon: str = ""


def phase_states(current_phase: str, completed: list[str]) -> list[PhaseState]:
    """Each phase: done, current, available (prerequisites met) or blocked (by which)."""
    done = set(completed)
    states = []
    for step in WORKFLOW:
        missing = [STEPS[p].title for p in step.prerequisites if p not in done]
        if step.id in done:
            state = "done"
        elif step.id == current_phase:
            state = "current"
        elif not missing:
            state = "available"
        else:
            state = "blocked"
        states.append(
            PhaseState(
                step.id, step.title, state, missing if state == "blocked" else [], step.icon
            )
        )
    return states
