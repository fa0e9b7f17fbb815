"""overall_progress (SPEC section 5): floor(100 * completed / 8 + 0.5), half up."""

from __future__ import annotations

import pytest

from moviecli.enums import WORKFLOW_STEP_IDS
from moviecli.services import workflow

# half up: round() would give 12 and 62 (to even) for 12.5 and 62.5
EXPECTED = [0, 13, 25, 38, 50, 63, 75, 88, 100]


@pytest.mark.parametrize(("done", "percent"), list(enumerate(EXPECTED)))
def test_half_up_values(done, percent):
    assert workflow.overall_progress(list(WORKFLOW_STEP_IDS[:done])) == percent


def test_order_does_not_matter():
    assert workflow.overall_progress(["visual_design", "initial_concept"]) == 25


def test_duplicates_and_unknown_steps_do_not_count():
    assert workflow.overall_progress(["initial_concept", "initial_concept"]) == 13
    assert workflow.overall_progress(["initial_concept", "manual_override", "nope"]) == 13
    assert workflow.overall_progress([]) == 0


def test_phase_states_of_a_new_project():
    states = workflow.phase_states("initial_concept", [])
    assert [s.id for s in states] == list(WORKFLOW_STEP_IDS)
    assert [s.state for s in states] == ["current"] + ["blocked"] * 7
    scene = states[WORKFLOW_STEP_IDS.index("scene_production")]
    assert scene.blocked_by == ["Character creation", "Visual design"]


def test_phase_states_after_characters():
    done = ["initial_concept", "story_development", "character_creation"]
    states = {s.id: s for s in workflow.phase_states("visual_design", done)}
    assert [states[s].state for s in done] == ["done"] * 3
    assert states["visual_design"].state == "current"
    assert states["audio_design"].state == "available"
    assert states["audio_design"].blocked_by == []
    assert states["scene_production"].state == "blocked"
    assert states["scene_production"].blocked_by == ["Visual design"]
    assert states["final_assembly"].blocked_by == ["Post-production"]
