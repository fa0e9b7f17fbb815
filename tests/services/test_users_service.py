"""The rules of moviecli.services.users, below the CLI."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from moviecli.errors import Conflict, NotFound, PermissionDenied, UsageError, ValidationFailed
from moviecli.models import LoginToken, User, UserPublic, UserRef, utcnow
from moviecli.services import auth, users
from moviecli.services.passwords import verify_password
from tests.projecthelp import user_row


def _insert(session, email, *, role="user", tier="free", deleted=False):
    user = user_row(email, role=role, tier=tier, deleted_at=utcnow() if deleted else None)
    session.add(user)
    session.flush()
    return user


@pytest.fixture
def team(database):
    """An admin, a producer and two users."""
    with database.write() as session:
        made = {
            "admin": _insert(session, "admin@example.com", role="admin", tier="enterprise"),
            "producer": _insert(session, "pat@example.com", role="producer"),
            "bob": _insert(session, "bob@example.com"),
            "carol": _insert(session, "carol@example.com"),
        }
    return made


# --- create --------------------------------------------------------------------------------


def test_create_user_defaults_and_cleanup(database, team):
    with database.write() as session:
        user = users.create_user(
            session,
            actor=team["admin"],
            email="  dan@example.com ",
            name="  Dan  ",
            password="long-enough",
        )
    assert (user.email, user.name, user.role, user.tier) == (
        "dan@example.com",
        "Dan",
        "user",
        "free",
    )
    assert (user.max_projects, user.max_episodes_per_project) == (1, 3)
    assert verify_password("long-enough", user.password_hash)
    assert user.created_at.tzinfo is not None
    assert user.deleted_at is None


def test_create_user_collects_every_problem(database, team):
    with database.write() as session, pytest.raises(ValidationFailed) as caught:
        users.create_user(
            session,
            actor=team["admin"],
            email="",
            name="x" * 201,
            password="short",
            role="boss",
            tier="gold",
        )
    assert caught.value.details == {
        "email": "is required",
        "name": "must be at most 200 characters",
        "role": "'boss' is not one of: user, producer, admin",
        "subscription.tier": "'gold' is not one of: free, pro, enterprise",
        "password": "must be at least 10 characters",
    }


@pytest.mark.parametrize("actor", ["producer", "bob"])
def test_only_admins_create_users(database, team, actor):
    with database.write() as session, pytest.raises(PermissionDenied) as caught:
        users.create_user(
            session, actor=team[actor], email="x@example.com", name="X", password="long-enough"
        )
    assert str(caught.value) == "only an admin can create users"
    with pytest.raises(PermissionDenied):
        users.check_can_create(team[actor])
    users.check_can_create(team["admin"])


def test_duplicate_email_is_a_conflict_whatever_the_case(database, team):
    with database.write() as session, pytest.raises(Conflict) as caught:
        users.create_user(
            session, actor=None, email="CAROL@Example.com", name="C", password="long-enough"
        )
    assert str(caught.value) == "a user with email carol@example.com already exists"
    assert caught.value.exit_code == 5


def test_the_database_enforces_unique_emails_too(database, team):
    # The race the service check cannot see: the unique index on email_key catches it.
    with database.write() as session:
        session.add(
            User(
                email="BOB@EXAMPLE.COM",
                name="Bob 2",
                max_projects=1,
                max_episodes_per_project=3,
                password_hash="x",
            )
        )
        with pytest.raises(Conflict):
            users._flush_unique(session, "BOB@EXAMPLE.COM")
        session.rollback()


# --- list, show ----------------------------------------------------------------------------


def test_list_users_for_each_role(database, team):
    with database.write() as session:
        _insert(session, "gone@example.com", deleted=True)
    with database.session() as session:
        everyone = users.list_users(session, team["admin"])
        with_deleted = users.list_users(session, team["admin"], deleted=True)
        producer = users.list_users(session, team["producer"], deleted=True)
        bob = users.list_users(session, team["bob"])
    assert [u.email for u in everyone.items] == [
        "admin@example.com",
        "pat@example.com",
        "bob@example.com",
        "carol@example.com",
    ]
    assert with_deleted.total == 5
    assert [u.email for u in producer.items] == ["pat@example.com"]
    assert (bob.total, bob.items[0].email) == (1, "bob@example.com")
    assert all(isinstance(u, UserPublic) for u in everyone.items)


def test_show_user(database, team):
    with database.session() as session:
        me = users.show_user(session, team["bob"], None)
        other = users.show_user(session, team["bob"], "carol@example.com")
        as_admin = users.show_user(session, team["admin"], "carol@example.com")
        with pytest.raises(NotFound):
            users.show_user(session, team["bob"], team["carol"].id)
    assert isinstance(me, UserPublic)
    assert me.email == "bob@example.com"
    assert type(other) is UserRef
    assert other.model_dump(by_alias=True) == {
        "id": team["carol"].id,
        "email": "carol@example.com",
        "name": "Carol",
    }
    assert isinstance(as_admin, UserPublic)


# --- update --------------------------------------------------------------------------------


def test_admin_only_flags(database, team):
    changes = users.UserChanges(name="B", role="admin", max_episodes=4)
    assert changes.admin_only() == ["--role", "--max-episodes"]
    with database.write() as session, pytest.raises(PermissionDenied) as caught:
        users.update_user(session, team["bob"], None, changes)
    assert str(caught.value) == "only an admin can change --role, --max-episodes"


def test_a_new_tier_resets_the_limits_and_explicit_limits_win(database, team):
    with database.write() as session:
        user = users.update_user(
            session,
            team["admin"],
            "bob@example.com",
            users.UserChanges(tier="pro", max_projects=0),
        )
    assert (user.tier, user.max_projects, user.max_episodes_per_project) == ("pro", 0, 20)


@pytest.mark.parametrize(
    ("changes", "details"),
    [
        (users.UserChanges(name=""), {"name": "is required"}),
        (
            users.UserChanges(max_projects=100_001),
            {"subscription.maxProjects": "must be between 0 and 100000"},
        ),
        (
            users.UserChanges(max_episodes=0),
            {"subscription.maxEpisodesPerProject": "must be between 1 and 50"},
        ),
    ],
)
def test_update_validation(database, team, changes, details):
    with database.write() as session, pytest.raises(ValidationFailed) as caught:
        users.update_user(session, team["admin"], "bob@example.com", changes)
    assert caught.value.details == details


def test_update_with_no_changes(database, team):
    with database.write() as session, pytest.raises(UsageError) as caught:
        users.update_user(session, team["bob"], None, users.UserChanges())
    assert caught.value.message == "nothing to change"


def test_update_other_user_as_non_admin(database, team):
    with database.write() as session, pytest.raises(PermissionDenied):
        users.update_user(
            session, team["producer"], "bob@example.com", users.UserChanges(name="Robert")
        )


def test_last_admin_rule_ignores_deleted_admins(database, team):
    with database.write() as session:
        _insert(session, "old-admin@example.com", role="admin", deleted=True)
    with database.write() as session, pytest.raises(Conflict) as caught:
        users.update_user(session, team["admin"], None, users.UserChanges(role="producer"))
    assert str(caught.value) == (
        "admin@example.com is the last admin (make another user admin first)"
    )


def test_demote_an_admin_when_another_remains(database, team):
    with database.write() as session:
        users.update_user(
            session, team["admin"], "pat@example.com", users.UserChanges(role="admin")
        )
    with database.write() as session:
        me = users.update_user(session, team["admin"], None, users.UserChanges(role="user"))
    assert me.role == "user"


# --- delete --------------------------------------------------------------------------------


def test_delete_user_is_soft_and_revokes_tokens(database, team):
    with database.write() as session:
        bob = session.get(User, team["bob"].id)
        assert bob is not None
        auth.issue_token(session, bob)
        auth.issue_token(session, bob)
    with database.write() as session:
        deleted = users.delete_user(session, team["admin"], "bob@example.com")
    assert deleted.deleted_at is not None
    with database.session() as session:
        assert session.get(User, team["bob"].id) is not None
        tokens = session.execute(
            sa.select(sa.func.count()).where(LoginToken.user_id == team["bob"].id)
        ).scalar_one()
    assert tokens == 0


def test_user_to_delete_checks_before_confirmation(database, team):
    with database.session() as session:
        assert users.user_to_delete(session, team["admin"], "bob@example.com").id == team["bob"].id
        with pytest.raises(PermissionDenied):
            users.user_to_delete(session, team["producer"], "bob@example.com")
        with pytest.raises(Conflict):
            users.user_to_delete(session, team["admin"], "admin@example.com")
        with pytest.raises(NotFound):
            users.user_to_delete(session, team["admin"], "ghost@example.com")
    with database.write() as session:
        users.delete_user(session, team["admin"], "bob@example.com")
    with database.session() as session, pytest.raises(Conflict) as caught:
        users.user_to_delete(session, team["admin"], "bob@example.com")
    assert str(caught.value) == "user bob@example.com is already deleted"


# --- passwords -----------------------------------------------------------------------------


def test_change_password_keeps_one_login_and_clears_the_lock(database, team):
    with database.write() as session:
        bob = session.get(User, team["bob"].id)
        assert bob is not None
        keep = auth.issue_token(session, bob)
        auth.issue_token(session, bob)
        bob.failed_logins = 3
        bob.locked_until = utcnow()
        session.add(bob)
    with database.write() as session:
        revoked = users.change_password(
            session, team["bob"], "brand-new-pass", keep_token_hash=auth.token_hash(keep)
        )
    assert revoked == 1
    with database.session() as session:
        bob = session.get(User, team["bob"].id)
        assert bob is not None
        assert verify_password("brand-new-pass", bob.password_hash)
        assert (bob.failed_logins, bob.locked_until) == (0, None)
        hashes = session.execute(
            sa.select(LoginToken.token_hash).where(LoginToken.user_id == bob.id)
        ).all()
    assert [row[0] for row in hashes] == [auth.token_hash(keep)]


def test_check_password():
    users.check_password("10 chars!!", "bob@example.com")
    with pytest.raises(ValidationFailed) as caught:
        users.check_password("9 chars!!", "bob@example.com")
    assert caught.value.details == {"password": "must be at least 10 characters"}


# --- preferences ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("5", 5),
        ("2.5", 2.5),
        ("true", True),
        ("null", None),
        ('"5"', "5"),
        ("[1, 2]", [1, 2]),
        ('{"a": {"b": 1}}', {"a": {"b": 1}}),
        ("comedy", "comedy"),
        ("{not json", "{not json"),
        ("", ""),
    ],
)
def test_pref_values_are_json_when_they_parse(raw, value):
    assert users.parse_pref_value(raw) == value


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("defaultEpisodes", "true"),  # bool is an int in Python, not a number of episodes
        ("defaultEpisodes", "0"),
        ("defaultEpisodes", "2.5"),
        ("defaultEpisodes", '"5"'),
        ("defaultGenre", '["comedy"]'),
        ("defaultAudience", "Teenage"),
    ],
)
def test_meaningful_prefs_are_checked(database, team, key, raw):
    with database.write() as session, pytest.raises(ValidationFailed) as caught:
        users.set_preference(session, team["bob"], key, raw)
    assert list(caught.value.details) == [key]


def test_set_get_unset_preference(database, team):
    with database.write() as session:
        assert users.set_preference(session, team["bob"], " defaultEpisodes ", "12") == 12
        assert users.set_preference(session, team["bob"], "mood", '{"x": [1]}') == {"x": [1]}
    with database.session() as session:
        bob = session.get(User, team["bob"].id)
        assert bob is not None
        assert bob.preferences == {"defaultEpisodes": 12, "mood": {"x": [1]}}
        assert users.get_preference(bob, "mood") == {"x": [1]}
        with pytest.raises(NotFound):
            users.get_preference(bob, "nothing")
    with database.write() as session:
        assert users.unset_preference(session, team["bob"], "mood") is True
        assert users.unset_preference(session, team["bob"], "mood") is False
    with database.session() as session:
        bob = session.get(User, team["bob"].id)
        assert bob is not None
        assert bob.preferences == {"defaultEpisodes": 12}


@pytest.mark.parametrize(("key", "message"), [(" ", "preference key must not be empty")])
def test_empty_preference_key(database, team, key, message):
    with database.write() as session, pytest.raises(UsageError) as caught:
        users.set_preference(session, team["bob"], key, "1")
    assert str(caught.value) == message
