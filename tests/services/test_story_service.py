"""The story record and its revisions (services/story.py), without the CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import col, select

from moviecli.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from moviecli.models import Project, StoryRevision, User
from moviecli.services import projects, workflow
from moviecli.services import story as st
from moviecli.services.story import Source, StoryUpdate
from moviecli.storage.db import lock_row

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def owner(make_user: Any) -> Any:
    return make_user("olive@example.com", tier="pro", name="Olive")


@pytest.fixture
def project_id(database: Any, owner: Any) -> str:
    with database.write() as session:
        actor = session.get(User, owner.id)
        project = projects.create_project(
            session, actor, projects.Fields(title="Space Heist", genre="sci-fi", episode_count=2)
        )
        return project.id


def record(database: Any, owner: Any, project_id: str, *updates: StoryUpdate, **kw: Any) -> Any:
    source = kw.pop("source", Source("command"))
    with database.write() as session:
        actor = session.get(User, owner.id)
        project = lock_row(session, Project, project_id)
        return st.record(session, project, list(updates), actor=actor, source=source, at=AT)


def undo(database: Any, owner: Any, project_id: str) -> list[st.Change]:
    with database.write() as session:
        actor = session.get(User, owner.id)
        project = lock_row(session, Project, project_id)
        return st.undo(session, project, actor=actor)


def story_of(database: Any, project_id: str) -> dict[str, Any]:
    with database.session() as session:
        project = session.get(Project, project_id)
        assert project is not None
        return st.normalized(project.story)


def revisions(database: Any, project_id: str) -> list[StoryRevision]:
    with database.session() as session:
        return list(
            session.exec(
                select(StoryRevision)
                .where(col(StoryRevision.project_id) == project_id)
                .order_by(col(StoryRevision.id))
            ).all()
        )


def concept(text: str, op: str = "set") -> StoryUpdate:
    return StoryUpdate("concept", op, text)  # type: ignore[arg-type]


def character(name: str, text: str = "", op: str = "set") -> StoryUpdate:
    return StoryUpdate("character", op, text, name=name)  # type: ignore[arg-type]


# --- check_updates ---------------------------------------------------------------------------


def test_check_updates_trims_and_lists_every_problem() -> None:
    valid, problems = st.check_updates(
        [
            concept("  A heist  "),
            StoryUpdate("plot", "set", "x"),  # type: ignore[arg-type]
            StoryUpdate("character", "extend", "x", name="Mia"),
            character("  ", "nobody"),
            character("Mia\x1b[2J", "escape"),
            character("x" * 201),
            StoryUpdate("logline", "set", "   "),
            StoryUpdate("synopsis", "set", "é" * (st.MAX_TEXT_BYTES // 2 + 1)),
            StoryUpdate("direction", "extend", "more rain", step="nowhere"),
            StoryUpdate("scene", "remove", name=" Opening "),
        ]
    )
    assert valid == [concept("A heist"), StoryUpdate("scene", "remove", name="Opening")]
    assert problems == [
        "plot: unknown field 'plot' (one of: concept, logline, synopsis, character, scene, "
        "direction)",
        "character 'Mia': 'extend' does not apply to character (use set, remove)",
        "character '': a name is required",
        r"character 'Mia\x1b[2J': the name must be one line without control characters",
        f"character '{'x' * 40}': the name is 201 characters, over the limit of 200",
        "logline: is blank (remove clears it)",
        "synopsis: text is 65,538 bytes, over the limit of 64 KiB (attach long texts as files)",
        "direction: step 'nowhere' is not a workflow step (initial_concept, story_development, "
        "character_creation, visual_design, audio_design, scene_production, post_production, "
        "final_assembly)",
    ]


def test_the_text_limit_is_64_kib_of_utf8() -> None:
    at_limit = "a" * st.MAX_TEXT_BYTES
    assert st.check_updates([concept(at_limit)])[1] == []
    assert st.check_updates([concept(at_limit + "a")])[1] != []


def test_record_refuses_invalid_updates_and_writes_nothing(
    database: Any, owner: Any, project_id: str
) -> None:
    with pytest.raises(ValidationFailed) as raised:
        record(database, owner, project_id, concept("ok"), character(""))
    assert raised.value.details == {"character ''": "a name is required"}
    assert story_of(database, project_id)["concept"] is None
    assert revisions(database, project_id) == []


# --- record ------------------------------------------------------------------------------------


def test_record_writes_one_revision_per_changed_field_in_one_group(
    database: Any, owner: Any, project_id: str
) -> None:
    changes = record(
        database,
        owner,
        project_id,
        concept("A heist on the moon"),
        StoryUpdate("logline", "set", "Cats steal the moon."),
        character("Mia", "a thief"),
        character("Rex", "her brother"),
        source=Source("chat", message_id=None),
    )
    assert [(c.field, c.action, c.name) for c in changes] == [
        ("concept", "recorded", None),
        ("logline", "recorded", None),
        ("character", "recorded", "Mia"),
        ("character", "recorded", "Rex"),
    ]
    story = story_of(database, project_id)
    assert story["concept"] == "A heist on the moon"
    assert story["logline"] == "Cats steal the moon."
    assert story["characters"] == [
        {"name": "Mia", "description": "a thief"},
        {"name": "Rex", "description": "her brother"},
    ]
    rows = revisions(database, project_id)
    assert len(rows) == 4
    assert {r.group_id for r in rows} == {rows[0].group_id}
    assert {(r.source, r.user_id, r.created_at) for r in rows} == {("chat", owner.id, AT)}
    assert (rows[0].field, rows[0].before, rows[0].after) == (
        "concept",
        None,
        "A heist on the moon",
    )
    assert (rows[2].field, rows[2].name, rows[2].before, rows[2].after) == (
        "character",
        "Mia",
        None,
        {"name": "Mia", "description": "a thief"},
    )


def test_an_equal_value_writes_no_revision(database: Any, owner: Any, project_id: str) -> None:
    record(database, owner, project_id, concept("A heist"), character("Mia", "a thief"))
    with database.session() as session:
        stamp = session.get(Project, project_id).updated_at  # type: ignore[union-attr]
    changes = record(database, owner, project_id, concept("A heist"), character("MIA", "a thief"))
    assert [c.action for c in changes] == ["unchanged", "unchanged"]
    assert len(revisions(database, project_id)) == 2
    with database.session() as session:
        assert session.get(Project, project_id).updated_at == stamp  # type: ignore[union-attr]


def test_characters_match_by_folded_name_and_keep_their_spelling(
    database: Any, owner: Any, project_id: str
) -> None:
    record(database, owner, project_id, character("Über", "a driver"), character("Mia", "a thief"))
    changes = record(
        database, owner, project_id, character("über", "a getaway driver"), character("mia")
    )
    assert [(c.action, c.name) for c in changes] == [("updated", "Über"), ("unchanged", "Mia")]
    assert story_of(database, project_id)["characters"] == [
        {"name": "Über", "description": "a getaway driver"},
        {"name": "Mia", "description": "a thief"},  # a blank description keeps hers
    ]


def test_extend_adds_a_sentence_to_the_concept_and_a_paragraph_to_the_synopsis(
    database: Any, owner: Any, project_id: str
) -> None:
    record(database, owner, project_id, concept("Cats rob a bank", "extend"))
    changes = record(
        database,
        owner,
        project_id,
        concept("On the moon.", "extend"),
        StoryUpdate("synopsis", "extend", "Part one."),
        StoryUpdate("synopsis", "extend", "Part two."),
    )
    assert [(c.field, c.action) for c in changes] == [
        ("concept", "extended"),
        ("synopsis", "recorded"),
    ]
    story = story_of(database, project_id)
    assert story["concept"] == "Cats rob a bank. On the moon."
    assert story["synopsis"] == "Part one.\n\nPart two."
    # Two extends of one field in one call are one revision.
    assert [r.field for r in revisions(database, project_id)] == [
        "concept",
        "concept",
        "synopsis",
    ]


def test_remove_and_directions(database: Any, owner: Any, project_id: str) -> None:
    record(database, owner, project_id, character("Mia"), character("Rex"), concept("x"))
    changes = record(
        database,
        owner,
        project_id,
        character("mia", op="remove"),
        character("Ada", op="remove"),
        StoryUpdate("concept", "remove"),
        StoryUpdate("direction", "extend", "more rain", step="visual_design"),
    )
    assert [(c.field, c.action, c.name) for c in changes] == [
        ("character", "removed", "Mia"),
        ("character", "unchanged", "Ada"),
        ("concept", "removed", None),
        ("direction", "recorded", "visual_design"),
    ]
    story = story_of(database, project_id)
    assert [c["name"] for c in story["characters"]] == ["Rex"]
    assert story["concept"] is None
    assert story["directions"] == [
        {"step": "visual_design", "text": "more rain", "at": "2026-12-01T09:30:00Z"}
    ]


def test_size_of_a_grown_field_and_count_of_items_are_bounded(
    database: Any, owner: Any, project_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(st, "MAX_FIELD_BYTES", 10)
    monkeypatch.setattr(st, "MAX_ITEMS", 2)
    record(database, owner, project_id, concept("12345"))
    with pytest.raises(ValidationFailed) as raised:
        record(database, owner, project_id, concept("67890", "extend"))
    assert "over the limit of" in raised.value.details["concept"]
    with pytest.raises(ValidationFailed) as raised:
        record(database, owner, project_id, character("A"), character("B"), character("C"))
    assert raised.value.details == {"characters": "would hold 3, over the limit of 2"}
    assert story_of(database, project_id)["concept"] == "12345"
    assert len(revisions(database, project_id)) == 1


# --- undo ------------------------------------------------------------------------------------


def test_undo_reverts_the_latest_group_and_walks_further_back(
    database: Any, owner: Any, project_id: str
) -> None:
    record(database, owner, project_id, concept("A heist on the moon"), character("Mia", "thief"))
    record(database, owner, project_id, concept("Two brothers rob a bank"), character("Rex"))
    record(database, owner, project_id, character("Mia", op="remove"))

    changes = undo(database, owner, project_id)
    assert [(c.field, c.action, c.name) for c in changes] == [("character", "recorded", "Mia")]
    assert [c["name"] for c in story_of(database, project_id)["characters"]] == ["Mia", "Rex"]

    changes = undo(database, owner, project_id)
    assert [(c.field, c.action) for c in changes] == [
        ("concept", "replaced"),
        ("character", "removed"),
    ]
    story = story_of(database, project_id)
    assert story["concept"] == "A heist on the moon"
    assert story["characters"] == [{"name": "Mia", "description": "thief"}]

    undo(database, owner, project_id)
    assert story_of(database, project_id) == st.normalized({})
    assert undo(database, owner, project_id) == []

    rows = revisions(database, project_id)
    undos = [r for r in rows if r.source == "undo"]
    assert len({r.group_id for r in undos}) == 3
    assert {r.reverts for r in undos} == {r.group_id for r in rows if r.source != "undo"}


def test_undo_puts_a_removed_item_back_in_its_place(
    database: Any, owner: Any, project_id: str
) -> None:
    record(database, owner, project_id, character("A"), character("B"), character("C"))
    record(database, owner, project_id, character("B", op="remove"))
    undo(database, owner, project_id)
    assert [c["name"] for c in story_of(database, project_id)["characters"]] == ["A", "B", "C"]


def test_undo_can_unmeet_a_requirement_but_completed_steps_stay(
    database: Any, owner: Any, project_id: str
) -> None:
    record(database, owner, project_id, character("Mia"), character("Rex"))
    with database.write() as session:
        project = lock_row(session, Project, project_id)
        assert project is not None
        project.completed_steps = ["initial_concept", "story_development", "character_creation"]
        session.add(project)
    undo(database, owner, project_id)
    with database.session() as session:
        project = session.get(Project, project_id)
        assert project is not None
        facts = workflow.load_facts(session, project)
    assert workflow.missing("character_creation", facts) != []
    assert "character_creation" in project.completed_steps


def test_undo_of_a_direction_removes_that_direction(
    database: Any, owner: Any, project_id: str
) -> None:
    note = StoryUpdate("direction", "extend", "rain", step="visual_design")
    record(database, owner, project_id, note)
    record(database, owner, project_id, note)
    undo(database, owner, project_id)
    assert len(story_of(database, project_id)["directions"]) == 1


def test_a_group_already_matching_is_skipped(database: Any, owner: Any, project_id: str) -> None:
    record(database, owner, project_id, concept("one"))
    record(database, owner, project_id, concept("two"))
    with database.write() as session:  # changed outside any revision (an older moviecli)
        project = lock_row(session, Project, project_id)
        assert project is not None
        project.story = {"concept": "one"}
        session.add(project)
    changes = undo(database, owner, project_id)
    assert [(c.before, c.after) for c in changes] == [("one", None)]


# --- describe ------------------------------------------------------------------------------


def test_describe_says_what_was_recorded_replaced_and_removed() -> None:
    changes = [
        st.Change("concept", "replaced", None, "A heist on the moon", "Two brothers"),
        st.Change("character", "recorded", "Mia", None, {}),
        st.Change("character", "recorded", "Rex", None, {}),
        st.Change("synopsis", "extended", None, "a", "a b c"),
        st.Change("character", "updated", "Ada", {}, {}),
        st.Change("scene", "unchanged", "Vault", None, None),
        st.Change("logline", "removed", None, "Cats", None),
        st.Change(
            "direction",
            "recorded",
            "visual_design",
            None,
            {"step": "visual_design", "text": "neon"},
        ),
    ]
    assert st.describe(changes) == [
        "Replaced the concept; /undo restores: 'A heist on the moon'.",
        "Recorded 2 characters: Mia, Rex.",
        "Added to the synopsis (now 3 words).",
        "Updated 1 character: Ada.",
        "No scene to remove: Vault.",
        "Removed the logline; /undo restores: 'Cats'.",
        "Noted as a direction for Visual design: 'neon'.",
    ]
    assert st.describe_undo(
        [
            st.Change("concept", "replaced", None, "Two brothers", "A heist"),
            st.Change("logline", "recorded", None, None, "Cats"),
            st.Change("character", "recorded", "Mia", None, {}),
            st.Change("character", "removed", "Rex", {}, None),
            st.Change("synopsis", "removed", None, "Once", None),
        ]
    ) == [
        "Restored the concept: 'A heist' (it was 'Two brothers').",
        "Restored the logline: 'Cats'.",
        "Restored 1 character: Mia.",
        "Removed 1 character: Rex.",
        "Removed the synopsis (it was 'Once').",
    ]
    assert st.describe(changes[:1], undo="moviecli story undo") == [
        "Replaced the concept; moviecli story undo restores: 'A heist on the moon'."
    ]
    assert st.describe(changes[:1], undo=None) == [
        "Replaced the concept (it was 'A heist on the moon')."
    ]


# --- the command functions -------------------------------------------------------------------


def test_update_story_needs_edit_access_and_existing_names(
    database: Any, owner: Any, project_id: str, make_user: Any
) -> None:
    producer = make_user("pat@example.com", role="producer")
    outsider = make_user("out@example.com")
    for account, error in ((producer, PermissionDenied), (outsider, NotFound)):
        with pytest.raises(error), database.write() as session:
            actor = session.get(User, account.id)
            st.update_story(session, actor, project_id, [concept("mine now")])
    with pytest.raises(NotFound) as raised, database.write() as session:
        actor = session.get(User, owner.id)
        st.update_story(session, actor, project_id, [character("Bob", op="remove")])
    assert (
        str(raised.value)
        == "project 'Space Heist' has no character named 'Bob' (it has no characters)"
    )
    with database.write() as session:  # added and removed in one command: fine
        actor = session.get(User, owner.id)
        _, changes = st.update_story(
            session, actor, project_id, [character("Bob"), character("bob", op="remove")]
        )
    assert [c.action for c in changes] == ["unchanged"]
    assert revisions(database, project_id) == []
    with pytest.raises(Conflict), database.write() as session:
        actor = session.get(User, owner.id)
        st.undo_story(session, actor, project_id)


def test_history_pages_newest_first_and_producers_read_it(
    database: Any, owner: Any, project_id: str, make_user: Any
) -> None:
    record(database, owner, project_id, concept("one"))
    record(database, owner, project_id, concept("two"))
    producer = make_user("pat@example.com", role="producer")
    with database.session() as session:
        actor = session.get(User, producer.id)
        _, page = st.history(session, actor, project_id, page=1, limit=1)
        assert (page.total, len(page.items)) == (2, 1)
        assert (page.items[0].before, page.items[0].after) == ("one", "two")
        assert page.items[0].user_name == "Olive"
        assert st.show(session, actor, project_id).concept == "two"
