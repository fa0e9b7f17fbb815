"""moviecli story show | set | history | undo (issue 12 item 3): the story record and its
revisions, through the CLI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.projecthelp import new_project

Cli = Callable[..., Any]


def story_json(cli: Cli, project: str = "Heist") -> dict[str, Any]:
    result = cli("story", "show", project, "--json")
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = result.json()
    return data


def story_set(cli: Cli, *args: str, project: str = "Heist", input: str | None = None) -> Any:
    result = cli("story", "set", project, *args, input=input)
    assert result.exit_code == 0, result.stderr
    return result


def history(cli: Cli, project: str = "Heist", *args: str) -> dict[str, Any]:
    result = cli("story", "history", project, "--json", *args)
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = result.json()
    return data


@pytest.fixture
def heist(cli: Cli, admin: Any) -> dict[str, Any]:
    return new_project(cli, "Heist")


# --- show --------------------------------------------------------------------------------------


def test_show_an_empty_story(cli: Cli, heist: dict[str, Any]) -> None:
    assert story_json(cli) == {
        "concept": None,
        "logline": None,
        "synopsis": None,
        "characters": [],
        "scenes": [],
        "directions": [],
        "projectId": heist["id"],
        "title": "Heist",
    }
    plain = cli("story", "show", "Heist")
    assert plain.exit_code == 0
    assert plain.stdout.splitlines() == ["title\tHeist", "concept\t", "logline\t", "synopsis\t"]
    # The current project is the default (project create made it current).
    assert cli("story", "show", "--json").json()["projectId"] == heist["id"]


def test_show_is_read_access_and_an_invisible_project_is_not_found(
    cli: Cli, heist: dict[str, Any], make_user: Callable[..., Any], login_as: Any
) -> None:
    story_set(cli, "--concept", "A heist on the moon")
    login_as(make_user("pat@example.com", role="producer"))
    assert story_json(cli)["concept"] == "A heist on the moon"
    assert len(history(cli)["items"]) == 1
    login_as(make_user("out@example.com"))
    for args in (("show", "Heist"), ("history", "Heist"), ("set", "Heist", "--concept", "x")):
        result = cli("story", *args)
        assert result.exit_code == 3, args
        assert result.stderr == "Error: project 'Heist' not found\n"


# --- set ---------------------------------------------------------------------------------------


def test_set_every_field_then_show_it(cli: Cli, heist: dict[str, Any]) -> None:
    result = story_set(
        cli,
        "--concept",
        "A heist on the moon",
        "--logline",
        "Cats steal the moon.",
        "--synopsis",
        "Mia plans it.",
        "--character",
        "Mia: a thief",
        "--character",
        "Rex: her brother",
        "--scene",
        "Vault: the moon's vault: cold",
        "--scene",
        "Getaway",
    )
    assert result.stdout.splitlines() == [
        "Recorded the concept: 'A heist on the moon'.",
        "Recorded the logline: 'Cats steal the moon.'",
        "Recorded the synopsis (3 words).",
        "Recorded 2 characters: Mia, Rex.",
        "Recorded 2 scenes: Vault, Getaway.",
    ]
    data = story_json(cli)
    assert data["concept"] == "A heist on the moon"
    assert data["logline"] == "Cats steal the moon."
    assert data["synopsis"] == "Mia plans it."
    assert data["characters"] == [
        {"name": "Mia", "description": "a thief"},
        {"name": "Rex", "description": "her brother"},
    ]
    assert data["scenes"] == [
        {"title": "Vault", "description": "the moon's vault: cold"},
        {"title": "Getaway", "description": ""},
    ]
    # project show carries the same record, logline included
    shown = cli("project", "show", "Heist", "--json").json()["story"]
    assert {k: shown[k] for k in ("concept", "logline", "characters")} == {
        k: data[k] for k in ("concept", "logline", "characters")
    }
    plain = cli("story", "show", "Heist").stdout.splitlines()
    assert "character\tMia\ta thief" in plain
    assert "scene\tVault\tthe moon's vault: cold" in plain


def test_a_replacement_is_announced_with_the_old_text_and_undo_restores_it(
    cli: Cli, heist: dict[str, Any]
) -> None:
    story_set(cli, "--concept", "A heist on the moon")
    result = story_set(cli, "--concept", "Two brothers rob a bank")
    assert result.stdout == (
        "Replaced the concept; moviecli story undo restores: 'A heist on the moon'.\n"
    )
    undone = cli("story", "undo", "Heist")
    assert undone.exit_code == 0, undone.stderr
    lines = undone.stdout.splitlines()
    assert lines[0].startswith("Undid the command change of ")
    assert lines[1:] == [
        "Restored the concept: 'A heist on the moon' (it was 'Two brothers rob a bank')."
    ]
    assert story_json(cli)["concept"] == "A heist on the moon"


def test_characters_are_matched_by_name_case_insensitively(
    cli: Cli, heist: dict[str, Any]
) -> None:
    story_set(cli, "--character", "Mia: a thief", "--character", "Éve: a cop")
    result = story_set(cli, "--character", "MIA: a master thief", "--character", "éve")
    assert result.stdout.splitlines() == [
        "Updated the character Mia; moviecli story undo restores: 'a thief'.",
        "Already recorded as given: Éve.",
    ]
    assert story_json(cli)["characters"] == [
        {"name": "Mia", "description": "a master thief"},
        {"name": "Éve", "description": "a cop"},
    ]
    result = story_set(cli, "--remove-character", "mia")
    assert result.stdout == "Removed 1 character: Mia.\n"
    assert [c["name"] for c in story_json(cli)["characters"]] == ["Éve"]


def test_removing_what_is_not_there_is_exit_3_and_changes_nothing(
    cli: Cli, heist: dict[str, Any]
) -> None:
    story_set(cli, "--character", "Mia: a thief")
    before = story_json(cli)
    result = cli("story", "set", "Heist", "--concept", "x", "--remove-character", "Bob")
    assert result.exit_code == 3
    assert result.stderr == (
        "Error: project 'Heist' has no character named 'Bob' (its characters: Mia)\n"
    )
    result = cli("story", "set", "Heist", "--remove-scene", "Vault")
    assert result.exit_code == 3
    assert (
        result.stderr == "Error: project 'Heist' has no scene named 'Vault' (it has no scenes)\n"
    )
    assert story_json(cli) == before
    assert len(history(cli)["items"]) == 1


def test_a_blank_text_clears_the_field(cli: Cli, heist: dict[str, Any]) -> None:
    story_set(cli, "--logline", "Cats steal the moon.")
    result = story_set(cli, "--logline", "")
    assert result.stdout == (
        "Removed the logline; moviecli story undo restores: 'Cats steal the moon.'\n"
    )
    assert story_json(cli)["logline"] is None
    result = story_set(cli, "--logline", " ")
    assert result.stdout == "Heist: nothing changed.\nThere is no logline to remove.\n"


def test_an_equal_value_changes_nothing_and_records_no_revision(
    cli: Cli, heist: dict[str, Any]
) -> None:
    story_set(cli, "--concept", "A heist")
    stamp = cli("project", "show", "Heist", "--json").json()["updatedAt"]
    result = story_set(cli, "--concept", "  A heist ")
    assert result.stdout == "Heist: nothing changed.\nThe concept already is 'A heist'.\n"
    assert len(history(cli)["items"]) == 1
    assert cli("project", "show", "Heist", "--json").json()["updatedAt"] == stamp


def test_synopsis_from_stdin(cli: Cli, heist: dict[str, Any]) -> None:
    text = "Part one: the plan.\n\nPart two: the vault.\n"
    story_set(cli, "--synopsis", "-", input=text)
    assert story_json(cli)["synopsis"] == text.strip()


def test_set_json_prints_the_story_and_the_changes(cli: Cli, heist: dict[str, Any]) -> None:
    story_set(cli, "--concept", "old")
    result = cli("story", "set", "Heist", "--concept", "new", "--character", "Mia", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["story"]["concept"] == "new"
    assert data["story"]["projectId"] == heist["id"]
    assert data["changes"] == [
        {"field": "concept", "action": "replaced", "name": None, "before": "old", "after": "new"},
        {
            "field": "character",
            "action": "recorded",
            "name": "Mia",
            "before": None,
            "after": {"name": "Mia", "description": ""},
        },
    ]


# --- bad input: exit 2, one line (and one per problem), nothing changed -------------------


def test_nothing_to_change_is_exit_2(cli: Cli, heist: dict[str, Any]) -> None:
    result = cli("story", "set", "Heist")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: nothing to change (pass --concept, --logline")


def test_invalid_changes_are_all_reported_and_nothing_is_written(
    cli: Cli, heist: dict[str, Any]
) -> None:
    result = cli(
        "story",
        "set",
        "Heist",
        "--concept",
        "fine",
        "--character",
        ": nameless",
        "--scene",
        "x" * 201 + ": long",
        "--logline",
        "y" * (64 * 1024 + 1),
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: invalid story change",
        "  logline: text is 65,537 bytes, over the limit of 64 KiB (attach long texts as files)",
        "  character '': a name is required",
        f"  scene '{'x' * 40}': the title is 201 characters, over the limit of 200",
    ]
    assert story_json(cli)["concept"] is None
    assert history(cli)["total"] == 0


def test_stdin_over_the_limit_or_not_utf8_is_exit_2(cli: Cli, heist: dict[str, Any]) -> None:
    result = cli("story", "set", "Heist", "--synopsis", "-", input="z" * (64 * 1024 + 1))
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: the synopsis on stdin is over the limit of 64 KiB (attach long texts as files)\n"
    )


def test_stdin_not_utf8_is_exit_2(cli_process: Cli, cli: Cli, heist: dict[str, Any]) -> None:
    import os
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "moviecli", "story", "set", "Heist", "--synopsis", "-"],
        input=b"caf\xe9\n",
        capture_output=True,
        env=dict(os.environ),
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr == b"Error: the synopsis on stdin is not UTF-8 text\n"
    assert story_json(cli)["synopsis"] is None


# --- access ----------------------------------------------------------------------------------


def test_a_producer_reads_but_never_writes(
    cli: Cli, heist: dict[str, Any], make_user: Callable[..., Any], login_as: Any
) -> None:
    story_set(cli, "--concept", "A heist")
    login_as(make_user("pat@example.com", role="producer"))
    for args in (("set", "Heist", "--concept", "mine"), ("undo", "Heist")):
        result = cli("story", *args)
        assert result.exit_code == 4, args
        assert result.stderr == "Error: you can read but not change project 'Heist'\n"
    assert story_json(cli)["concept"] == "A heist"
    assert history(cli)["total"] == 1


def test_a_collaborator_writes(
    cli: Cli, heist: dict[str, Any], make_user: Callable[..., Any], login_as: Any
) -> None:
    carol = make_user("carol@example.com", name="Carol")
    assert cli("project", "collab", "add", "Heist", "carol@example.com").exit_code == 0
    login_as(carol)
    story_set(cli, "--concept", "Carol's idea", project=heist["id"])
    (revision,) = history(cli, heist["id"])["items"]
    assert (revision["user"], revision["userName"]) == (carol.id, "Carol")


def test_not_logged_in_is_exit_4(cli: Cli, db_url: str) -> None:
    for args in (("show", "X"), ("set", "X", "--concept", "c"), ("history", "X"), ("undo", "X")):
        assert cli("story", *args).exit_code == 4, args


# --- history and undo ----------------------------------------------------------------------


def test_history_is_a_page_newest_first(cli: Cli, heist: dict[str, Any], admin: Any) -> None:
    story_set(cli, "--concept", "one", "--character", "Mia: a thief")
    story_set(cli, "--concept", "two")
    data = history(cli)
    assert (data["total"], data["page"], data["limit"]) == (3, 1, 20)
    newest, *older = data["items"]
    assert {k: newest[k] for k in ("field", "name", "before", "after", "source", "user")} == {
        "field": "concept",
        "name": None,
        "before": "one",
        "after": "two",
        "source": "command",
        "user": admin.id,
    }
    assert [r["field"] for r in older] == ["character", "concept"]
    assert older[0]["group"] == older[1]["group"] != newest["group"]
    assert set(newest) == {
        "id",
        "projectId",
        "group",
        "user",
        "userName",
        "source",
        "messageId",
        "reverts",
        "field",
        "name",
        "before",
        "after",
        "createdAt",
    }
    assert history(cli, "Heist", "--limit", "1", "--page", "3")["items"][0]["after"] == "one"
    bad = cli("story", "history", "Heist", "--limit", "201")
    assert bad.exit_code == 2
    plain = cli("story", "history", "Heist").stdout.splitlines()
    assert plain[0] == "when\twho\tsource\tgroup\tchange"
    assert plain[1].endswith("\tcommand\t" + newest["group"] + "\tconcept: 'one' → 'two'")


def test_history_of_an_untouched_story(cli: Cli, heist: dict[str, Any]) -> None:
    result = cli("story", "history", "Heist")
    assert (result.exit_code, result.stdout) == (0, "Heist: no story changes recorded yet.\n")


def test_undo_walks_back_and_is_itself_a_revision(cli: Cli, heist: dict[str, Any]) -> None:
    story_set(cli, "--concept", "one", "--character", "Mia: a thief")
    story_set(cli, "--concept", "two", "--character", "Rex: a brother")
    story_set(cli, "--remove-character", "Mia")

    first = cli("story", "undo", "Heist", "--json")
    assert first.exit_code == 0, first.stderr
    data = first.json()
    assert data["undone"]["source"] == "command"
    assert [(c["field"], c["action"], c["name"]) for c in data["changes"]] == [
        ("character", "recorded", "Mia")
    ]
    assert [c["name"] for c in data["story"]["characters"]] == ["Mia", "Rex"]

    second = cli("story", "undo", "Heist")
    assert second.exit_code == 0
    assert second.stdout.splitlines()[1:] == [
        "Restored the concept: 'one' (it was 'two').",
        "Removed 1 character: Rex.",
    ]
    assert cli("story", "undo", "Heist").stdout.splitlines()[1:] == [
        "Removed the concept (it was 'one').",
        "Removed 1 character: Mia.",
    ]
    assert story_json(cli) | {"projectId": None} == {
        "concept": None,
        "logline": None,
        "synopsis": None,
        "characters": [],
        "scenes": [],
        "directions": [],
        "projectId": None,
        "title": "Heist",
    }
    nothing = cli("story", "undo", "Heist")
    assert nothing.exit_code == 5
    assert nothing.stderr == (
        "Error: nothing to undo in the story of 'Heist' (no recorded change is left to revert)\n"
    )
    revisions = history(cli, "Heist", "--limit", "200")["items"]
    undos = [r for r in revisions if r["source"] == "undo"]
    assert len(undos) == 5 and all(r["reverts"] for r in undos)


# --- every path is a revision: chat ----------------------------------------------------------


def test_what_the_chat_records_is_a_revision_that_undo_reverts(
    cli: Cli, heist: dict[str, Any]
) -> None:
    assert cli("chat", "Heist", "-m", "A heist on the moon", "--json").exit_code == 0
    said = cli("chat", "Heist", "-m", "Concept: Two brothers rob a bank", "--json")
    assert said.exit_code == 0, said.stderr
    assert story_json(cli)["concept"] == "Two brothers rob a bank"
    newest = history(cli)["items"][0]
    assert (newest["source"], newest["before"], newest["after"]) == (
        "chat",
        "A heist on the moon",
        "Two brothers rob a bank",
    )
    assert isinstance(newest["messageId"], int)
    assert cli("story", "undo", "Heist").exit_code == 0
    assert story_json(cli)["concept"] == "A heist on the moon"


def test_undo_can_unmeet_a_requirement_but_the_step_stays_completed(
    cli: Cli, heist: dict[str, Any]
) -> None:
    assert cli("chat", "Heist", "-m", "A heist on the moon", "--json").exit_code == 0
    moved = cli("chat", "Heist", "--choice", "story_development", "--json")
    assert moved.exit_code == 0, moved.stderr
    assert cli("story", "undo", "Heist").exit_code == 0
    progress = cli("project", "progress", "Heist", "--json").json()
    assert progress["completedSteps"] == ["initial_concept"]
    (concept_phase,) = [p for p in progress["phases"] if p["id"] == "initial_concept"]
    assert concept_phase["state"] == "done"
    assert story_json(cli)["concept"] is None


def test_deleting_a_project_takes_its_revisions(
    cli: Cli, heist: dict[str, Any], database: Any
) -> None:
    import sqlalchemy as sa

    from moviecli.models import StoryRevision

    assert cli("chat", "Heist", "-m", "A heist on the moon", "--json").exit_code == 0
    story_set(cli, "--concept", "Two brothers")
    deleted = cli("project", "delete", "Heist", "--yes")
    assert deleted.exit_code == 0, deleted.stderr
    with database.session() as session:
        count = session.execute(sa.select(sa.func.count()).select_from(StoryRevision)).scalar()
    assert count == 0
