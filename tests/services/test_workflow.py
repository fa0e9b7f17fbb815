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


# --- the facts as stored: which media count toward a step (services/counting.py) --------------


@pytest.fixture
def stored(database):
    """A project whose media are of every status and version, beside another project's."""
    from moviecli.models import Project, StyleReference
    from tests.projecthelp import add_media, user_row

    wf._fact_queries.cache_clear()  # built from services/counting.py as it is now
    with database.write() as session:
        owner = user_row("o@example.com", tier="pro")
        session.add(owner)
        session.flush()
        projects = [
            Project(title=t, genre="drama", episode_count=3, created_by=owner.id)
            for t in ("Heist", "Other")
        ]
        session.add_all(projects)
        session.flush()
        pid, other, uid = projects[0].id, projects[1].id, owner.id

    def media(media_type: str, status: str = "active", **fields: object) -> str:
        return add_media(database, pid, uid, media_type, status=status, **fields)

    # audio: two count (active, draft), three do not (archived, processing, failed)
    for status, kind in (
        ("active", "voice_profile"),
        ("draft", "music_track"),
        ("archived", "sound_effect"),
        ("processing", "audio_clip"),
        ("failed", "audio_clip"),
    ):
        media(kind, status)
    # a video segment in two versions counts once; a final video whose newest version is
    # archived does not count
    first = media("video_segment", name="cut-v1.mp4")
    media("video_segment", name="cut-v2.mp4", previous_version=first, version=2)
    final = media("final_video", name="final-v1.mp4")
    media("final_video", "archived", name="final-v2.mp4", previous_version=final, version=2)
    media("final_video", "draft", name="final-b.mp4")
    media("character_design", characters=["Mia"], name="mia.png")
    media("character_design", "draft", characters=["Rex", "Mia"], name="rex.png")
    media("character_design", "archived", characters=["Zed"], name="zed.png")
    media("storyboard", scene="Vault", name="vault.png")
    media("storyboard", "draft", scene="Vault", name="vault-2.png")
    media("storyboard", "failed", scene="Roof", name="roof.png")
    media("storyboard", name="no-scene.png")
    style = media("style_reference", name="look.png")
    # another project's media count for that project only
    add_media(database, other, uid, "final_video", name="elsewhere.mp4")
    add_media(database, other, uid, "voice_profile", name="elsewhere.mp3")
    with database.write() as session:
        session.add(StyleReference(project_id=pid, media_id=style))
    return pid


def test_15_1_which_media_count_one_rule_in_sql_and_in_memory(database, stored) -> None:
    """services/counting.py: the newest version of each asset; toward a step, active or
    draft; on the dashboard, anything not archived; apply's in-memory rule agrees."""
    import sqlalchemy as sa
    from sqlmodel import col

    from moviecli.models import Media
    from moviecli.services import counting

    def names(where) -> set[str]:
        with database.session() as session:
            return set(
                session.execute(
                    sa.select(col(Media.filename)).where(col(Media.project_id) == stored, where)
                ).scalars()
            )

    everything = names(sa.true())
    superseded = {"cut-v1.mp4", "final-v1.mp4"}
    assert names(counting.newest()) == everything - superseded
    toward = names(counting.toward_steps())
    assert toward == {
        "voice_profile-None-active-1.bin",
        "music_track-None-draft-1.bin",
        "cut-v2.mp4",
        "mia.png",
        "rex.png",
        "vault.png",
        "vault-2.png",
        "no-scene.png",
        "look.png",
        "final-b.mp4",
    }
    board = names(counting.on_the_board())
    assert board == toward | {
        "audio_clip-None-processing-1.bin",
        "audio_clip-None-failed-1.bin",
        "roof.png",
    }
    with database.session() as session:
        rows = session.execute(
            sa.select(col(Media.filename), col(Media.status)).where(
                col(Media.project_id) == stored, counting.newest()
            )
        ).all()
    assert {f for f, status in rows if counting.counts_toward_steps(status)} == toward
    assert counting.counts_toward_steps(None)  # a file entry without a status: active
    assert counting.COUNTED_STATUSES == ("active", "draft")


def _facts(database, project_id):
    from moviecli.models import Project

    with database.session() as session:
        return wf.load_facts(session, session.get(Project, project_id))


def test_15_1_load_facts_counts_the_newest_active_and_draft_media_only(database, stored) -> None:
    import sqlalchemy as sa
    from sqlmodel import col

    from moviecli.models import Project

    facts = _facts(database, stored)
    assert facts.audio_assets == 2  # active + draft; not archived, processing nor failed
    assert facts.video_segments == 1  # two versions of one asset
    assert facts.final_videos == 1  # not the one whose newest version is archived
    assert sorted(facts.media_characters) == ["Mia", "Mia", "Rex"]  # not the archived Zed
    assert facts.storyboard_scenes == ("Vault",)  # distinct; not the failed Roof
    assert facts.style_references == 1
    assert (facts.title, facts.genre, facts.status) == ("Heist", "drama", "concept")
    assert (facts.current_phase, facts.completed) == ("initial_concept", ())
    with database.session() as session:
        other = session.execute(
            sa.select(col(Project.id)).where(col(Project.id) != stored)
        ).scalar_one()
    elsewhere = _facts(database, other)
    assert (elsewhere.audio_assets, elsewhere.final_videos) == (1, 1)
    assert (elsewhere.video_segments, elsewhere.style_references) == (0, 0)
    assert (elsewhere.media_characters, elsewhere.storyboard_scenes) == ((), ())


def test_load_facts_reads_the_story(database, stored) -> None:
    from moviecli.models import Project

    with database.write() as session:
        project = session.get(Project, stored)
        project.story = {"concept": "A heist", "characters": [{"name": "Ada"}]}
        project.description = "On the moon"
        project.status = "production"
        project.current_phase = "scene_production"
        project.completed_steps = ["initial_concept"]
        project.target_audience = "teen"
        session.add(project)
    facts = _facts(database, stored)
    assert facts.concept == "A heist"
    assert facts.description == "On the moon"
    assert facts.target_audience == "teen"
    assert "Ada" in facts.story_characters
    assert facts.status == "production"
    assert (facts.current_phase, facts.completed) == ("scene_production", ("initial_concept",))


def test_the_story_record_becomes_facts() -> None:
    story = {
        "concept": "A heist",
        "synopsis": "They rob the moon.",
        "characters": [{"name": "Mia"}, {"description": "no name"}],
        "scenes": [{"title": "Vault"}, {}],
    }
    facts = BASE.with_story(story)
    assert (facts.concept, facts.synopsis) == ("A heist", "They rob the moon.")
    assert facts.story_characters == ("Mia", "")
    assert facts.story_scenes == ("Vault", "")
    assert facts.characters == ("Mia",) and facts.scenes == ("Vault",)
    empty = facts.with_story({"concept": "", "synopsis": ""})
    assert (empty.concept, empty.synopsis) == (None, None)
    assert (empty.story_characters, empty.story_scenes) == ((), ())
    assert empty.title == BASE.title  # the rest of the facts stay


def test_the_workflow_table_as_seeded(database) -> None:
    with database.session() as session:
        page = wf.list_steps(session)
    assert [s.id for s in page.items] == ORDER
    assert [s.position for s in page.items] == list(range(1, len(ORDER) + 1))
    assert (page.total, page.page, page.limit) == (len(ORDER), 1, len(ORDER))
    first, last = page.items[0], page.items[-1]
    assert (first.title, first.prerequisites) == (wf.STEPS[ORDER[0]].title, [])
    assert last.prerequisites == list(wf.STEPS[wf.LAST].prerequisites)
    assert all(s.description and s.requirement and s.estimated_time for s in page.items)
    assert [s.icon for s in page.items] == [wf.STEPS[s].icon for s in ORDER]


# --- word for word: what a person is told -----------------------------------------------------


def test_what_each_step_needs_word_for_word() -> None:
    empty = Facts(title=" ", genre="", target_audience="", description=" ")
    assert {step: wf.missing(step, empty) for step in ORDER} == {
        "initial_concept": [
            "a title (moviecli project update --title)",
            "a genre (moviecli project update --genre)",
            "a target audience (moviecli project update --audience)",
            "a concept (describe the series in a message)",
        ],
        "story_development": ["a story synopsis (send it as a message in Story development)"],
        "character_creation": [
            "at least 2 characters (0 recorded; send 'Name: description' lines or add "
            "character_design media)"
        ],
        "visual_design": [
            "at least 1 style reference (attach an image or moviecli project style add)"
        ],
        "audio_design": [
            "at least 1 audio asset (voice_profile, music_track, sound_effect or audio_clip)"
        ],
        "scene_production": [
            "at least 1 scene (send 'Scene title: description' lines or add a storyboard "
            "with --scene)"
        ],
        "post_production": ["at least 1 video segment (attach or add video_segment media)"],
        "final_assembly": [
            "overall progress of at least 80% (now 0%)",
            "a final video (attach or add final_video media)",
        ],
    }
    one = replace(BASE, story_characters=("Mia",), media_characters=("Rex",))
    assert wf.missing("character_creation", one) == []
    assert wf.missing("character_creation", replace(BASE, story_characters=("Mia", "mia"))) == [
        "at least 2 characters (1 recorded: Mia; send 'Name: description' lines or add "
        "character_design media)"
    ]
    with pytest.raises(ValueError, match="unknown step 'nap'"):
        wf.missing("nap", BASE)


def test_final_assembly_needs_80_percent() -> None:
    seven = replace(BASE, completed=tuple(ORDER[:-1]), final_videos=1)  # 88%
    assert wf.missing("final_assembly", seven) == []
    five = replace(BASE, completed=tuple(ORDER[:5]), final_videos=1)  # 63%
    assert wf.missing("final_assembly", five) == ["overall progress of at least 80% (now 63%)"]


def test_an_unknown_choice_names_itself_and_the_valid_ones() -> None:
    with pytest.raises(UsageError) as raised:
        wf.check_choice_id("nap")
    assert raised.value.message == "unknown choice 'nap'"
    assert raised.value.hint == "valid choices: " + ", ".join((*ORDER, "manual_override"))
    with pytest.raises(UsageError) as raised:
        wf.check_choice_id("visual_desing")
    assert raised.value.hint == "did you mean 'visual_design'? valid choices: " + ", ".join(
        (*ORDER, "manual_override")
    )
    assert wf.check_choice_id("Visual-Design") == "visual_design"
    with pytest.raises(ValueError, match=r"^manual_override is not a move$"):
        wf.plan_move(at("visual_design"), "manual_override")


def test_every_move_names_where_it_goes_from_and_to() -> None:
    on = at("visual_design", style_references=1)
    assert wf.plan_move(on, "visual_design") == wf.Move("visual_design", "visual_design", "stay")
    assert wf.plan_move(on, "story_development") == wf.Move(
        "visual_design", "story_development", "back"
    )
    assert wf.plan_move(on, "audio_design") == wf.Move(
        "visual_design", "audio_design", "forward", completes="visual_design"
    )
    lacking = at("visual_design")
    assert wf.plan_move(lacking, "audio_design") == wf.Move(
        "visual_design",
        "audio_design",
        "blocked",
        blocked=("at least 1 style reference (attach an image or moviecli project style add)",),
    )
    held = replace(on, status="on-hold")
    assert wf.plan_move(held, "audio_design") == wf.Move(
        "visual_design",
        "audio_design",
        "blocked",
        blocked=("the project is on hold (moviecli project resume takes it off hold)",),
    )
    last = ready("final_assembly")
    assert wf.plan_move(last, wf.LAST) == wf.Move(wf.LAST, wf.LAST, "finish", completes=wf.LAST)
    again = replace(last, completed=tuple(ORDER))
    assert wf.plan_move(again, wf.LAST) == wf.Move(wf.LAST, wf.LAST, "finish")


def test_blocked_at_final_assembly_says_the_way_round() -> None:
    skipped = at("final_assembly", [s for s in ORDER[:-1] if s != "audio_design"])
    hint = (
        "to finish Audio design first, go back to Post-production (--choice post_production), "
        "then choose audio_design"
    )
    blocked_finish = wf.plan_move(skipped, wf.LAST)
    assert (blocked_finish.source, blocked_finish.target) == (wf.LAST, wf.LAST)
    assert blocked_finish.kind == "blocked" and blocked_finish.hint == hint
    # a forward move blocked by prerequisites carries the same hint
    nothing_done = at("final_assembly", [])
    assert wf.plan_move(nothing_done, wf.LAST).hint is None  # nothing to go back to
    forward = wf.plan_move(skipped, "audio_design")  # its own requirements unmet
    assert (forward.kind, forward.hint) == ("blocked", hint)
    assert wf.plan_move(at("visual_design", []), "audio_design").hint is None
    done_last = at("final_assembly", [*ORDER[:-2], wf.LAST])
    assert wf.plan_move(done_last, "post_production").hint is None


def test_a_blocked_move_changes_nothing_and_finishes_nothing() -> None:
    facts = at("visual_design")
    applied = wf.apply_move(facts, wf.plan_move(facts, "audio_design"))
    assert applied == wf.Applied(
        "visual_design",
        facts.completed,
        wf.overall_progress(list(facts.completed)),
        "concept",
        False,
    )
    assert applied.workflow_completed is False
    moved = wf.apply_move(
        at("visual_design", style_references=1),
        wf.plan_move(at("visual_design", style_references=1), "audio_design"),
    )
    assert moved.workflow_completed is False and moved.current_phase == "audio_design"


def test_status_stays_when_the_phase_implies_the_same() -> None:
    assert wf.follow_status("production", "production") == "production"
    assert wf.follow_status("production", "pre-production") == "production"
    assert wf.follow_status("on-hold", "completed") == "on-hold"


def test_three_step_choices_at_most_before_the_override() -> None:
    # back on the concept with the cast and the scenes done (a file can say so): four
    # steps would be open, three are offered, then the override
    facts = at("initial_concept", ["character_creation", "scene_production"])
    assert [c.id for c in wf.choices(facts)] == [
        "story_development",
        "visual_design",
        "audio_design",
        "manual_override",
    ]


def test_the_last_choice_while_on_final_assembly() -> None:
    (finish, override) = wf.choices(ready("final_assembly"))
    step = wf.STEPS[wf.LAST]
    assert finish == wf.Choice(
        wf.LAST,
        "Complete the workflow",
        "Finish final assembly: the series is done.",
        True,
        step.estimated_time,
        step.icon,
    )
    assert override == wf.OVERRIDE_CHOICE
    (first, *_rest) = wf.choices(ready("visual_design"))
    audio = wf.STEPS["audio_design"]
    assert first == wf.Choice(
        "audio_design", audio.title, audio.description, True, audio.estimated_time, audio.icon
    )


def test_phase_states_name_title_icon_and_what_blocks() -> None:
    states = wf.phase_states("visual_design", list(ORDER[:3]), at("visual_design"))
    by_id = {s.id: s for s in states}
    for step in ORDER:
        assert (by_id[step].title, by_id[step].icon) == (
            wf.STEPS[step].title,
            wf.STEPS[step].icon,
        )
    assert by_id["visual_design"].state == "current"
    assert by_id["visual_design"].blocked_by == []
    assert by_id["audio_design"].state == "available" and by_id["audio_design"].blocked_by == []
    blocked = by_id["final_assembly"]
    assert blocked.state == "blocked" and blocked.blocked_by
    assert by_id["initial_concept"].needs == []  # done: needs nothing
    # a step done before its prerequisites (a file can say so) is done, not blocked by them
    (audio,) = [s for s in wf.phase_states(ORDER[0], ["audio_design"]) if s.id == "audio_design"]
    assert (audio.state, audio.blocked_by) == ("done", [])


def test_distinct_names_fold_as_the_story_matches_characters() -> None:
    """'Straße' and 'STRASSE' are one character to the story (text.fold), so they count
    once toward character_creation's minimum of two (str.lower kept them apart)."""
    from moviecli.services.workflow import distinct_names

    assert distinct_names(("Straße", " STRASSE "), ("Mia", "")) == ("Straße", "Mia")
