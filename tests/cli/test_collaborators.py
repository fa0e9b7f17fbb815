"""moviecli project collab add | remove | list."""

from __future__ import annotations

import pytest

from tests.projecthelp import new_project


@pytest.fixture
def team(cli, make_user, login_as):
    """Olive owns "Heist" (pro tier); Carol and Dan are plain users."""
    olive = login_as(make_user("olive@example.com", tier="pro", name="Olive"))
    carol = make_user("carol@example.com", name="Carol")
    dan = make_user("dan@example.com", name="Dan")
    project = new_project(cli, "Heist")
    return olive, carol, dan, project


def test_add_list_remove(cli, team):
    _olive, carol, dan, project = team
    result = cli("project", "collab", "add", "Heist", "carol@example.com")
    assert (result.exit_code, result.stdout) == (
        0,
        "carol@example.com now collaborates on 'Heist'\n",
    )
    data = cli("project", "collab", "add", "Heist", "DAN@example.com", "--json").json()
    assert data["id"] == project["id"]
    assert data["collaborators"] == [carol.id, dan.id]
    listed = cli("project", "collab", "list", "Heist", "--json").json()
    assert listed == {
        "items": [
            {"id": carol.id, "email": "carol@example.com", "name": "Carol"},
            {"id": dan.id, "email": "dan@example.com", "name": "Dan"},
        ],
        "total": 2,
        "page": 1,
        "limit": 20,
    }
    plain = cli("project", "collab", "list", "Heist").stdout.splitlines()
    assert plain == [
        "id\temail\tname",
        f"{carol.id}\tcarol@example.com\tCarol",
        f"{dan.id}\tdan@example.com\tDan",
    ]
    result = cli("project", "collab", "remove", "Heist", "carol@example.com")
    assert (result.exit_code, result.stdout) == (
        0,
        "carol@example.com no longer collaborates on 'Heist'\n",
    )
    data = cli("project", "collab", "remove", "Heist", "dan@example.com", "--json").json()
    assert data["collaborators"] == []
    assert cli("project", "collab", "list", "Heist", "--json").json()["total"] == 0


def test_add_twice_is_harmless(cli, team):
    cli("project", "collab", "add", "Heist", "carol@example.com")
    result = cli("project", "collab", "add", "Heist", "carol@example.com")
    assert (result.exit_code, result.stdout) == (
        0,
        "carol@example.com already collaborates on 'Heist'\n",
    )
    assert cli("project", "collab", "list", "Heist", "--json").json()["total"] == 1


def test_add_updates_the_project(cli, team):
    before = cli("project", "show", "Heist", "--json").json()["updatedAt"]
    cli("project", "collab", "add", "Heist", "carol@example.com")
    assert cli("project", "show", "Heist", "--json").json()["updatedAt"] > before


def test_collaborator_sees_and_edits(cli, team, login_as):
    _, carol, _, project = team
    cli("project", "collab", "add", "Heist", "carol@example.com")
    login_as(carol)
    assert cli("project", "show", "Heist", "--json").json()["id"] == project["id"]
    assert [i["title"] for i in cli("project", "list", "--json").json()["items"]] == ["Heist"]
    assert cli("project", "update", "Heist", "--description", "by Carol").exit_code == 0
    assert cli("project", "collab", "list", "Heist", "--json").json()["total"] == 1


def test_removed_collaborator_loses_sight(cli, team, login_as):
    _olive, carol, _, _ = team
    cli("project", "collab", "add", "Heist", "carol@example.com")
    cli("project", "collab", "remove", "Heist", "carol@example.com")
    login_as(carol)
    result = cli("project", "show", "Heist")
    assert (result.exit_code, result.stderr) == (3, "Error: project 'Heist' not found\n")
    assert cli("project", "list", "--json").json()["total"] == 0


def test_removal_clears_their_active_and_current_project(cli, team, login_as, database):
    from moviecli.models import User

    _, carol, _, project = team
    cli("project", "collab", "add", "Heist", "carol@example.com")
    login_as(carol)
    assert cli("project", "use", "Heist").exit_code == 0
    login_as(team[0])
    cli("project", "collab", "remove", "Heist", "carol@example.com")
    login_as(carol)
    me = cli("whoami", "--json").json()
    assert me["activeProjects"] == []
    assert "currentProject" not in me["preferences"]
    result = cli("project", "show")
    assert result.stderr == "Error: no project given (pass one or run moviecli project use)\n"
    with database.session() as session:
        assert session.get(User, carol.id).preferences == {}
    assert project["id"]


def test_add_unknown_user(cli, team):
    result = cli("project", "collab", "add", "Heist", "nobody@example.com")
    assert (result.exit_code, result.stderr) == (
        3,
        "Error: user 'nobody@example.com' not found\n",
    )


def test_non_admin_cannot_name_users_by_id(cli, team):
    _, carol, _, _ = team
    result = cli("project", "collab", "add", "Heist", carol.id)
    assert result.exit_code == 3
    assert result.stderr == f"Error: user {carol.id!r} not found\n"


def test_admin_names_users_by_id(cli, team, admin, login_as):
    _, carol, _, _ = team
    login_as(admin)
    result = cli("project", "collab", "add", "Heist", carol.id[:8])
    assert result.exit_code == 0, result.stderr
    assert cli("project", "collab", "list", "Heist", "--json").json()["items"][0]["id"] == carol.id


def test_add_the_creator(cli, team):
    result = cli("project", "collab", "add", "Heist", "olive@example.com")
    assert (result.exit_code, result.stderr) == (
        5,
        "Error: olive@example.com created the project; they need not collaborate\n",
    )


def test_add_a_deleted_user(cli, team, admin, login_as):
    olive = team[0]
    login_as(admin)
    assert cli("user", "delete", "dan@example.com", "--yes").exit_code == 0
    # an admin is told why; others do not find a deleted user at all
    result = cli("project", "collab", "add", "Heist", "dan@example.com")
    assert (result.exit_code, result.stderr) == (5, "Error: user dan@example.com is deleted\n")
    login_as(olive)
    result = cli("project", "collab", "add", "Heist", "dan@example.com")
    assert (result.exit_code, result.stderr) == (3, "Error: user 'dan@example.com' not found\n")


def test_remove_someone_who_is_not_a_collaborator(cli, team):
    result = cli("project", "collab", "remove", "Heist", "carol@example.com")
    assert (result.exit_code, result.stderr) == (
        3,
        "Error: carol@example.com is not a collaborator on 'Heist'\n",
    )


def test_unknown_project(cli, team):
    for args in (
        ("add", "Ghost", "carol@example.com"),
        ("remove", "Ghost", "carol@example.com"),
        ("list", "Ghost"),
    ):
        result = cli("project", "collab", *args)
        assert (result.exit_code, result.stderr) == (3, "Error: project 'Ghost' not found\n")


def test_add_and_remove_need_a_user(cli, team):
    for command in ("add", "remove"):
        result = cli("project", "collab", command)
        assert result.exit_code == 2
        assert result.stderr.startswith("Error: Missing argument 'USER'")
        assert len(result.stderr.splitlines()) == 1


def test_list_paging(cli, team, make_user):
    for n in range(3):
        make_user(f"extra{n}@example.com")
        cli("project", "collab", "add", "Heist", f"extra{n}@example.com")
    data = cli(
        "project", "collab", "list", "Heist", "--limit", "2", "--page", "2", "--json"
    ).json()
    assert [u["email"] for u in data["items"]] == ["extra2@example.com"]
    assert (data["total"], data["page"], data["limit"]) == (3, 2, 2)
    result = cli("project", "collab", "list", "Heist", "--limit", "500")
    assert result.exit_code == 2


def test_deleted_collaborator_is_shown_as_such(cli, team, admin, login_as):
    olive = team[0]
    cli("project", "collab", "add", "Heist", "carol@example.com")
    login_as(admin)
    cli("user", "delete", "carol@example.com", "--yes")
    login_as(olive)
    items = cli("project", "collab", "list", "Heist", "--json").json()["items"]
    assert items[0]["name"] == "(deleted user)"
