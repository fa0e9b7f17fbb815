"""The workflow engine (SPEC section 5), step by step, as pure functions over Facts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from moviecli.errors import UsageError
from moviecli.services import workflow as wf
from moviecli.services.workflow import Facts

ORDER = list(wf.ORDER)

BASE = Facts(title="Space Heist", genre="sci-fi", target_audience="teen")


def at(step: str, completed: list[str] | None = None, **kw: object) -> Facts:
    """Facts on ``step`` with every earlier step completed (unless ``completed`` is given)."""
    done = ORDER[: ORDER.index(step)] if completed is None else completed
    return replace(BASE, current_phase=step, completed=tuple(done), **kw)  # type: ignore[arg-type]


READY = {
    "initial_concept": {"concept": "A heist in space"},
    "story_development": {"synopsis": "They rob the moon."},
    "character_creation": {"story_characters": ("Mia", "Rex")},
    "visual_design": {"style_references": 1},
    "audio_design": {"audio_assets": 1},
    "scene_production": {"story_scenes": ("Vault",)},
    "post_production": {"video_segments": 1},
    "final_assembly": {"final_videos": 1},
}


def ready(step: str, completed: list[str] | None = None, **kw: object) -> Facts:
    values: dict[str, object] = {}
    for s in ORDER:
        values.update(READY[s])
    values.update(kw)
    return at(step, completed, **values)


def test_overall_progress_rounds_half_up() -> None:
    assert [wf.overall_progress(ORDER[:n]) for n in range(9)] == [
        0,
        13,
        25,
        38,
        50,
        63,
        75,
        88,
        100,
    ]
    assert wf.overall_progress(["initial_concept", "initial_concept", "bogus"]) == 13


# --- requirements -----------------------------------------------------------------------------


def test_initial_concept_needs_a_concept_or_the_description() -> None:
    assert wf.missing("initial_concept", at("initial_concept")) == [
        "a concept (describe the series in a message)"
    ]
    assert wf.missing("initial_concept", at("initial_concept", concept="x")) == []
    assert wf.missing("initial_concept", at("initial_concept", description="Cats")) == []
    assert wf.missing(
        "initial_concept", replace(at("initial_concept", concept="x"), genre="")
    ) == ["a genre (moviecli project update --genre)"]


def test_story_development_needs_a_synopsis() -> None:
    assert wf.missing("story_development", at("story_development")) == [
        "a story synopsis (send it as a message in Story development)"
    ]
    assert wf.missing("story_development", at("story_development", synopsis="s")) == []


def test_character_creation_counts_story_and_design_names_once() -> None:
    one = at("character_creation", story_characters=("Mia",), media_characters=("mia",))
    assert one.characters == ("Mia",)
    assert wf.missing("character_creation", one) == [
        "at least 2 characters (1 recorded: Mia; send 'Name: description' lines or add "
        "character_design media)"
    ]
    two = replace(one, media_characters=("mia", "Rex", "rex"))
    assert two.characters == ("Mia", "Rex")
    assert wf.missing("character_creation", two) == []


def test_media_requirements() -> None:
    assert wf.missing("visual_design", at("visual_design")) != []
    assert wf.missing("visual_design", at("visual_design", style_references=1)) == []
    assert wf.missing("audio_design", at("audio_design", audio_assets=1)) == []
    assert wf.missing("scene_production", at("scene_production")) != []
    assert wf.missing("scene_production", at("scene_production", storyboard_scenes=("x",))) == []
    assert wf.missing("post_production", at("post_production", video_segments=1)) == []


def test_final_assembly_needs_progress_and_a_final_video() -> None:
    six = [s for s in ORDER if s not in ("audio_design", "final_assembly")]
    facts = at("final_assembly", six)
    assert wf.missing("final_assembly", facts) == [
        "overall progress of at least 80% (now 75%)",
        "a final video (attach or add final_video media)",
    ]
    assert wf.missing("final_assembly", at("final_assembly", final_videos=1)) == []


# --- moves ------------------------------------------------------------------------------------


def test_forward_completes_the_current_step() -> None:
    move = wf.plan_move(ready("initial_concept"), "story_development")
    assert (move.kind, move.completes, move.blocked) == ("forward", "initial_concept", ())
    applied = wf.apply_move(ready("initial_concept"), move)
    assert applied.current_phase == "story_development"
    assert applied.completed == ("initial_concept",)
    assert applied.overall_progress == 13
    assert applied.status == "pre-production"


def test_forward_blocked_by_the_current_steps_requirements() -> None:
    move = wf.plan_move(at("story_development"), "character_creation")
    assert move.kind == "blocked"
    assert move.blocked == ("a story synopsis (send it as a message in Story development)",)
    applied = wf.apply_move(at("story_development"), move)
    assert applied.current_phase == "story_development"
    assert applied.completed == ("initial_concept",)


def test_forward_blocked_by_prerequisites() -> None:
    move = wf.plan_move(ready("character_creation"), "scene_production")
    assert move.blocked == ("Visual design completed first",)
    # both at once: the current step's requirements and the target's prerequisites
    move = wf.plan_move(at("story_development"), "visual_design")
    assert move.blocked == (
        "a story synopsis (send it as a message in Story development)",
        "Character creation completed first",
    )


def test_skipping_ahead_to_any_step_whose_prerequisites_are_met() -> None:
    move = wf.plan_move(ready("character_creation"), "audio_design")
    assert (move.kind, move.completes) == ("forward", "character_creation")


def test_back_needs_nothing_and_completes_nothing() -> None:
    facts = at("character_creation")  # no characters yet
    move = wf.plan_move(facts, "initial_concept")
    assert (move.kind, move.completes, move.blocked) == ("back", None, ())
    applied = wf.apply_move(replace(facts, status="pre-production"), move)
    assert applied.current_phase == "initial_concept"
    assert applied.completed == ("initial_concept", "story_development")
    assert applied.status == "pre-production"  # never backward


def test_from_a_completed_step_only_prerequisites_count() -> None:
    # back on story_development (completed), synopsis gone: forward to visual_design is fine
    facts = at("story_development", ["initial_concept", "story_development", "character_creation"])
    move = wf.plan_move(facts, "visual_design")
    assert (move.kind, move.completes, move.blocked) == ("forward", None, ())
    assert wf.apply_move(facts, move).completed == facts.completed


def test_choosing_the_current_step_stays() -> None:
    move = wf.plan_move(at("story_development"), "story_development")
    assert move.kind == "stay" and move.allowed


def test_final_assembly_while_on_it_completes_the_workflow() -> None:
    facts = ready("final_assembly", status="post-production")
    move = wf.plan_move(facts, "final_assembly")
    assert (move.kind, move.completes) == ("finish", "final_assembly")
    applied = wf.apply_move(facts, move)
    assert applied.workflow_completed
    assert applied.overall_progress == 100
    assert applied.status == "completed"


def test_final_assembly_blocked_below_80_percent_with_a_way_round() -> None:
    six = [s for s in ORDER if s not in ("audio_design", "final_assembly")]
    facts = ready("final_assembly", six)
    move = wf.plan_move(facts, "final_assembly")
    assert move.blocked == ("overall progress of at least 80% (now 75%)",)
    assert move.hint == (
        "to finish Audio design first, go back to Post-production (--choice "
        "post_production), then choose audio_design"
    )
    back = wf.plan_move(facts, "post_production")
    on_post = replace(facts, current_phase="post_production")
    assert back.kind == "back"
    assert wf.plan_move(on_post, "audio_design").kind == "forward"


def test_on_hold_refuses_every_move_and_keeps_the_status() -> None:
    facts = ready("initial_concept", status="on-hold")
    move = wf.plan_move(facts, "story_development")
    assert move.blocked == ("the project is on hold (moviecli project resume takes it off hold)",)
    assert wf.apply_move(facts, move).status == "on-hold"
    assert wf.follow_status("on-hold", "production") == "on-hold"


def test_status_follows_the_phase_forward_only() -> None:
    assert wf.follow_status("concept", "pre-production") == "pre-production"
    assert wf.follow_status("production", "pre-production") == "production"
    assert wf.follow_status("post-production", "completed") == "completed"
    phases = [wf.STATUS_OF_PHASE[s] for s in ORDER]
    assert phases == [
        "concept",
        "pre-production",
        "pre-production",
        "pre-production",
        "pre-production",
        "production",
        "post-production",
        "post-production",
    ]


def test_unknown_choice_is_a_usage_error_listing_the_valid_ones() -> None:
    with pytest.raises(UsageError) as err:
        wf.plan_move(BASE, "editing")
    assert "valid choices: initial_concept, story_development" in str(err.value)
    assert str(err.value).endswith("final_assembly, manual_override)")


# --- choices ----------------------------------------------------------------------------------


def ids(facts: Facts) -> list[tuple[str, bool]]:
    return [(c.id, c.is_recommended) for c in wf.choices(facts)]


def test_choices_step_by_step() -> None:
    assert ids(at("initial_concept")) == [
        ("story_development", False),
        ("manual_override", False),
    ]
    assert ids(ready("initial_concept")) == [
        ("story_development", True),
        ("manual_override", False),
    ]
    assert ids(ready("character_creation")) == [
        ("visual_design", True),
        ("audio_design", False),
        ("manual_override", False),
    ]
    assert ids(ready("visual_design")) == [
        ("audio_design", True),
        ("scene_production", False),
        ("manual_override", False),
    ]
    assert ids(ready("audio_design")) == [("scene_production", True), ("manual_override", False)]
    assert ids(ready("scene_production")) == [
        ("post_production", True),
        ("manual_override", False),
    ]
    assert ids(ready("final_assembly")) == [("final_assembly", True), ("manual_override", False)]


def test_choices_never_more_than_four_and_override_last() -> None:
    facts = ready("character_creation", ["initial_concept", "story_development"])
    for step in ORDER:
        listed = wf.choices(replace(facts, current_phase=step))
        assert 1 <= len(listed) <= 4
        assert listed[-1].id == "manual_override"
        assert sum(c.is_recommended for c in listed) <= 1


def test_choices_at_final_assembly_with_a_step_left() -> None:
    six = [s for s in ORDER if s not in ("audio_design", "final_assembly")]
    listed = wf.choices(ready("final_assembly", six))
    assert [(c.id, c.title, c.is_recommended) for c in listed] == [
        ("final_assembly", "Complete the workflow", False),
        ("audio_design", "Audio design", False),
        ("manual_override", "Manual override", False),
    ]


def test_choices_after_going_back() -> None:
    facts = ready("initial_concept", ORDER[:4])
    assert ids(facts) == [
        ("audio_design", True),
        ("scene_production", False),
        ("manual_override", False),
    ]


def test_choice_json_shape() -> None:
    choice = wf.choices(ready("initial_concept"))[0]
    assert choice.as_json() == {
        "id": "story_development",
        "title": "Story development",
        "description": "Write the synopsis: where the story starts, turns and ends.",
        "isRecommended": True,
        "estimatedTime": "30 min",
        "icon": "📖",
    }


def test_no_choices_are_recommended_on_hold() -> None:
    assert ids(ready("initial_concept", status="on-hold"))[0] == ("story_development", False)


# --- the checklist ------------------------------------------------------------------------------


def test_phase_states_with_needs() -> None:
    facts = at("character_creation", story_characters=("Mia",))
    states = wf.phase_states(facts.current_phase, list(facts.completed), facts)
    summary = [(s.id, s.state, s.blocked_by, bool(s.needs)) for s in states]
    assert summary == [
        ("initial_concept", "done", [], False),
        ("story_development", "done", [], False),
        ("character_creation", "current", [], True),
        ("visual_design", "blocked", ["Character creation"], True),
        ("audio_design", "blocked", ["Character creation"], True),
        ("scene_production", "blocked", ["Character creation", "Visual design"], True),
        ("post_production", "blocked", ["Scene production"], True),
        ("final_assembly", "blocked", ["Post-production"], True),
    ]
