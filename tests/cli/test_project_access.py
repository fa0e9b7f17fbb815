"""The access matrix of SPEC section 2 for projects: five kinds of actor by the actions.

A project is visible to its creator, its collaborators, producers and admins; creator,
collaborators and admins change it; only the creator or an admin deletes it or manages
its collaborators. What the actor may not see is "not found" (exit 3); what they see but
may not do is exit 4.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.projecthelp import new_project

ACTORS = ("creator", "collaborator", "producer", "admin", "outsider")

NOT_FOUND = (3, "Error: project 'Heist' not found\n")
READ_ONLY = (4, "Error: you can read but not change project 'Heist'\n")
NOT_COLLABS = (
    4,
    "Error: only the project's creator or an admin can manage its collaborators\n",
)
NOT_DELETE = (4, "Error: only the project's creator or an admin can delete it\n")
OK = (0, "")


@dataclass
class World:
    accounts: dict
    project: dict
    login_as: object

    def act_as(self, actor):
        return self.login_as(self.accounts[actor])


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch):
    """Six users per test: a cheap scrypt cost keeps the matrix fast (the cost is stored
    with each hash, so logins still verify; nothing here tests the KDF)."""
    monkeypatch.setattr("moviecli.services.passwords._N", 2**4)


@pytest.fixture
def world(cli, make_user, login_as):
    accounts = {
        "creator": make_user("olive@example.com", tier="pro", name="Olive"),
        "collaborator": make_user("carol@example.com", tier="pro", name="Carol"),
        "producer": make_user("pat@example.com", role="producer", tier="pro", name="Pat"),
        "admin": make_user("ada@example.com", role="admin", tier="enterprise", name="Ada"),
        "outsider": make_user("otto@example.com", tier="pro", name="Otto"),
    }
    make_user("newbie@example.com", name="Newbie")
    login_as(accounts["outsider"])
    new_project(cli, "Otto's Own")
    login_as(accounts["creator"])
    project = new_project(cli, "Heist")
    assert cli("project", "collab", "add", "Heist", "carol@example.com").exit_code == 0
    return World(accounts, project, login_as)


def outcome(result):
    return (result.exit_code, result.stderr)


def stored(cli, world):
    """The project as its creator sees it now."""
    world.act_as("creator")
    result = cli("project", "show", world.project["id"], "--json")
    return result.json() if result.exit_code == 0 else None


# --- show ------------------------------------------------------------------------------------

SHOW = {
    "creator": OK,
    "collaborator": OK,
    "producer": OK,
    "admin": OK,
    "outsider": NOT_FOUND,
}


@pytest.mark.parametrize("actor", ACTORS)
def test_show(cli, world, actor):
    world.act_as(actor)
    result = cli("project", "show", "Heist", "--json")
    assert outcome(result)[0] == SHOW[actor][0]
    if SHOW[actor] == OK:
        assert result.json()["id"] == world.project["id"]
    else:
        assert result.stderr == SHOW[actor][1]
        # by id too: the id does not leak
        result = cli("project", "show", world.project["id"])
        assert outcome(result) == (3, f"Error: project {world.project['id']!r} not found\n")


# --- list ------------------------------------------------------------------------------------

LISTED = {
    "creator": ["Heist"],
    "collaborator": ["Heist"],
    "producer": ["Heist", "Otto's Own"],
    "admin": ["Heist", "Otto's Own"],
    "outsider": ["Otto's Own"],
}


@pytest.mark.parametrize("actor", ACTORS)
def test_list(cli, world, actor):
    world.act_as(actor)
    result = cli("project", "list", "--sort", "title", "--json")
    assert result.exit_code == 0
    data = result.json()
    assert [item["title"] for item in data["items"]] == LISTED[actor]
    assert data["total"] == len(LISTED[actor])
    # filters do not widen what is visible
    assert cli("project", "list", "--genre", "drama", "--json").json()["total"] == len(
        LISTED[actor]
    )


# --- update ----------------------------------------------------------------------------------

UPDATE = {
    "creator": OK,
    "collaborator": OK,
    "producer": READ_ONLY,
    "admin": OK,
    "outsider": NOT_FOUND,
}


@pytest.mark.parametrize("actor", ACTORS)
def test_update(cli, world, actor):
    world.act_as(actor)
    result = cli("project", "update", "Heist", "--description", f"by {actor}")
    expected = UPDATE[actor]
    assert (result.exit_code, result.stderr) == expected
    description = stored(cli, world)["description"]
    assert description == (f"by {actor}" if expected == OK else "")


# --- status ----------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ACTORS)
def test_status(cli, world, actor):
    world.act_as(actor)
    result = cli("project", "status", "Heist", "pre-production")
    assert outcome(result) == UPDATE[actor]
    status = stored(cli, world)["status"]
    assert status == ("pre-production" if UPDATE[actor] == OK else "concept")


@pytest.mark.parametrize("actor", ACTORS)
def test_hold_and_resume(cli, world, actor):
    world.act_as(actor)
    assert outcome(cli("project", "hold", "Heist")) == UPDATE[actor]
    world.act_as("creator")
    cli("project", "hold", "Heist")
    world.act_as(actor)
    assert outcome(cli("project", "resume", "Heist")) == UPDATE[actor]


# --- collaborators ---------------------------------------------------------------------------

COLLABS = {
    "creator": OK,
    "collaborator": NOT_COLLABS,
    "producer": NOT_COLLABS,
    "admin": OK,
    "outsider": NOT_FOUND,
}


@pytest.mark.parametrize("actor", ACTORS)
def test_collab_add(cli, world, actor):
    world.act_as(actor)
    result = cli("project", "collab", "add", "Heist", "newbie@example.com")
    assert outcome(result) == COLLABS[actor]
    collaborators = stored(cli, world)["collaborators"]
    assert len(collaborators) == (2 if COLLABS[actor] == OK else 1)


@pytest.mark.parametrize("actor", ACTORS)
def test_collab_remove(cli, world, actor):
    world.act_as(actor)
    result = cli("project", "collab", "remove", "Heist", "carol@example.com")
    assert outcome(result) == COLLABS[actor]
    collaborators = stored(cli, world)["collaborators"]
    assert len(collaborators) == (0 if COLLABS[actor] == OK else 1)


@pytest.mark.parametrize("actor", ACTORS)
def test_collab_list(cli, world, actor):
    world.act_as(actor)
    result = cli("project", "collab", "list", "Heist", "--json")
    assert result.exit_code == SHOW[actor][0]
    if SHOW[actor] == OK:
        assert [u["email"] for u in result.json()["items"]] == ["carol@example.com"]


# --- delete ----------------------------------------------------------------------------------

DELETE = {
    "creator": OK,
    "collaborator": NOT_DELETE,
    "producer": NOT_DELETE,
    "admin": OK,
    "outsider": NOT_FOUND,
}


@pytest.mark.parametrize("actor", ACTORS)
def test_delete(cli, world, actor):
    world.act_as(actor)
    # refused before the confirmation is asked for: the same answer with or without --yes
    if DELETE[actor] != OK:
        assert outcome(cli("project", "delete", "Heist")) == DELETE[actor]
    result = cli("project", "delete", "Heist", "--yes")
    assert result.exit_code == DELETE[actor][0]
    if DELETE[actor] == OK:
        assert result.stdout.startswith("Deleted project 'Heist'")
        assert stored(cli, world) is None
    else:
        assert result.stderr == DELETE[actor][1]
        assert stored(cli, world) is not None


# --- the read-only commands follow visibility -----------------------------------------------


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("command", [("episodes",), ("export",), ("use",)])
def test_reads(cli, world, actor, command):
    world.act_as(actor)
    result = cli("project", *command, "Heist")
    assert result.exit_code == SHOW[actor][0]
    if SHOW[actor] != OK:
        assert result.stderr == NOT_FOUND[1]


def test_outsider_cannot_guess_by_prefix(cli, world):
    world.act_as("outsider")
    result = cli("project", "show", world.project["id"][:6])
    assert result.exit_code == 3


def test_deleted_creators_project_stays_with_admins(cli, world):
    world.act_as("admin")
    assert cli("user", "delete", "olive@example.com", "--yes").exit_code == 0
    assert cli("project", "update", "Heist", "--description", "rescued").exit_code == 0
    world.act_as("collaborator")
    assert cli("project", "show", "Heist", "--json").json()["description"] == "rescued"
    world.act_as("creator")
    assert cli("project", "show", "Heist").exit_code == 4


# --- the story: read like show, changed like update ----------------------------------------


@pytest.mark.parametrize("actor", ACTORS)
def test_story(cli, world, actor):
    world.act_as("creator")
    assert cli("story", "set", "Heist", "--concept", "the creator's").exit_code == 0
    world.act_as(actor)
    for command in (("show",), ("history",)):
        result = cli("story", *command, "Heist", "--json")
        assert outcome(result)[0] == SHOW[actor][0], command
        if SHOW[actor] != OK:
            assert result.stderr == SHOW[actor][1]
    for command in (("set", "Heist", "--concept", f"by {actor}"), ("undo", "Heist")):
        result = cli("story", *command)
        expected = UPDATE[actor]
        assert result.exit_code == expected[0], command
        if expected != OK:
            assert result.stderr == expected[1]
    world.act_as("creator")
    concept = cli("story", "show", "Heist", "--json").json()["concept"]
    # set then undo: the story is back to the creator's text whoever may change it
    assert concept == "the creator's"
    history = cli("story", "history", "Heist", "--json").json()
    assert history["total"] == (3 if UPDATE[actor] == OK else 1)
