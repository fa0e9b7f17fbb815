"""services/access.py, the one home of who may see and do what (SPEC section 2).

Every predicate is checked against the whole matrix of actors on one seeded database:
a creator, a collaborator, a producer, an admin and an outsider, two projects, private and
public media, and sessions. These are the focused tests of ``scripts/mutation access``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from moviecli.errors import PermissionDenied
from moviecli.models import ChatSession, Media, Project, User
from moviecli.services import access
from tests.projecthelp import add_media, add_session, cast_and_projects


@dataclass
class World:
    users: dict[str, User]
    projects: dict[str, str]  # title -> id
    media: dict[str, str]  # name -> id
    sessions: dict[str, str]  # name -> id


@pytest.fixture
def world(database: Any) -> World:
    """Cleo's project Lighthouse (Bob collaborates) and Eve's project Desert; in each a
    private asset, in Desert also a public one; Cleo's, Bob's and Eve's sessions."""
    users, ids = cast_and_projects(database, {"Lighthouse": "cleo", "Desert": "eve"})
    media = {
        "lighthouse": add_media(database, ids["Lighthouse"], users["cleo"].id, "concept_art"),
        "desert": add_media(database, ids["Desert"], users["eve"].id, "concept_art"),
        "desert-public": add_media(
            database, ids["Desert"], users["eve"].id, "storyboard", name="public.png"
        ),
    }
    with database.write() as session:
        session.execute(
            sa.update(Media)
            .where(col(Media.id) == media["desert-public"])
            .values(visibility="public")
        )
    sessions = {
        "cleo@lighthouse": add_session(database, ids["Lighthouse"], users["cleo"].id),
        "bob@desert": add_session(database, ids["Desert"], users["bob"].id),
        "eve@desert": add_session(database, ids["Desert"], users["eve"].id),
    }
    return World(users, ids, media, sessions)


def _names(ids: dict[str, str], found: set[str]) -> set[str]:
    return {name for name, i in ids.items() if i in found}


def _select(database: Any, column: Any, where: Any) -> set[str]:
    with database.session() as session:
        return set(session.execute(sa.select(column).where(where)).scalars())


# --- the SQL predicates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "visible", "editable"),
    [
        ("cleo", {"Lighthouse"}, {"Lighthouse"}),
        ("bob", {"Lighthouse"}, {"Lighthouse"}),
        ("pat", {"Lighthouse", "Desert"}, set()),
        ("ada", {"Lighthouse", "Desert"}, {"Lighthouse", "Desert"}),
        ("eve", {"Desert"}, {"Desert"}),
    ],
)
def test_visible_and_editable_projects(database, world, actor, visible, editable):
    user = world.users[actor]
    seen = _select(database, col(Project.id), access.visible_projects(user))
    assert _names(world.projects, seen) == visible
    changed = _select(database, col(Project.id), access.editable_projects(user))
    assert _names(world.projects, changed) == editable
    ids = _select(database, col(Project.id), col(Project.id).in_(access.visible_project_ids(user)))
    assert ids == seen


@pytest.mark.parametrize(
    ("actor", "media"),
    [
        ("cleo", {"lighthouse", "desert-public"}),
        ("bob", {"lighthouse", "desert-public"}),
        ("pat", {"lighthouse", "desert", "desert-public"}),
        ("ada", {"lighthouse", "desert", "desert-public"}),
        ("eve", {"desert", "desert-public"}),
    ],
)
def test_visible_media(database, world, actor, media):
    found = _select(database, col(Media.id), access.visible_media(world.users[actor]))
    assert _names(world.media, found) == media


@pytest.mark.parametrize(
    ("actor", "sessions"),
    [
        # their own sessions, and every session on a project they may see
        ("cleo", {"cleo@lighthouse"}),
        ("bob", {"cleo@lighthouse", "bob@desert"}),
        ("pat", {"cleo@lighthouse", "bob@desert", "eve@desert"}),
        ("ada", {"cleo@lighthouse", "bob@desert", "eve@desert"}),
        ("eve", {"bob@desert", "eve@desert"}),
    ],
)
def test_readable_sessions(database, world, actor, sessions):
    found = _select(database, col(ChatSession.id), access.readable_sessions(world.users[actor]))
    assert _names(world.sessions, found) == sessions


def test_only_the_owner_or_an_admin_writes_to_a_session(database, world):
    with database.session() as session:
        chat = session.get(ChatSession, world.sessions["bob@desert"])
    writers = {n for n, u in world.users.items() if access.can_write_session(u, chat)}
    assert writers == {"bob", "ada"}


# --- the checks on one project -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "see", "edit", "own"),
    [
        ("cleo", True, True, True),
        ("bob", True, True, False),
        ("pat", True, False, False),
        ("ada", True, True, True),
        ("eve", False, False, False),
    ],
)
def test_one_project(database, world, actor, see, edit, own):
    user = world.users[actor]
    with database.session() as session:
        project = session.get(Project, world.projects["Lighthouse"])
        assert access.is_collaborator(session, user, project) is (actor == "bob")
        assert access.can_see_project(session, user, project) is see
        assert access.can_edit_project(session, user, project) is edit
        if edit:
            access.require_edit_project(session, user, project)
        else:
            with pytest.raises(PermissionDenied, match="you can read but not change project"):
                access.require_edit_project(session, user, project)
    if own:
        access.require_owner_or_admin(user, project, "delete it")
    else:
        with pytest.raises(PermissionDenied) as raised:
            access.require_owner_or_admin(user, project, "delete it")
        assert str(raised.value) == "only the project's creator or an admin can delete it"


# --- roles and users ---------------------------------------------------------------------------


def _user(name: str, role: str) -> User:
    return User(id=f"id-{name}", email=f"{name}@example.com", name=name, role=role)


@pytest.mark.parametrize(
    ("role", "admin", "reads_all"),
    [("user", False, False), ("producer", False, True), ("admin", True, True)],
)
def test_roles(role, admin, reads_all):
    actor = _user("x", role)
    assert access.is_admin(actor) is admin
    assert access.reads_all(actor) is reads_all
    if admin:
        access.require_admin(actor, "create users")
    else:
        with pytest.raises(PermissionDenied) as raised:
            access.require_admin(actor, "create users")
        assert str(raised.value) == "only an admin can create users"


def test_users_see_themselves_and_admins_see_everyone():
    ann, ben = _user("ann", "user"), _user("ben", "producer")
    ada = _user("ada", "admin")
    assert access.can_see_user(ann, ann) and access.can_see_user(ada, ann)
    assert not access.can_see_user(ben, ann)  # a producer reads projects, not users
    access.require_self_or_admin(ann, ann, "change this user")
    access.require_self_or_admin(ada, ann, "change this user")
    with pytest.raises(PermissionDenied) as raised:
        access.require_self_or_admin(ben, ann, "change this user")
    assert str(raised.value) == "only ann@example.com or an admin can change this user"
