"""moviecli user create | list | show | update | delete | passwd | prefs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD


def _create(cli, email, *extra, name="Bob", password=PASSWORD):
    return cli(
        "user",
        "create",
        "--email",
        email,
        "--name",
        name,
        "--password-stdin",
        *extra,
        input=password + "\n",
    )


@pytest.fixture
def bob(make_user):
    return make_user("bob@example.com", name="Bob")


@pytest.fixture
def carol(make_user):
    return make_user("carol@example.com", name="Carol")


# --- create --------------------------------------------------------------------------------


def test_admin_creates_a_user_with_defaults(cli, admin, database):
    result = _create(cli, "bob@example.com")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Created user bob@example.com (")
    assert result.stdout.endswith(", free tier)\n")

    shown = cli("user", "show", "bob@example.com", "--json").json()
    assert shown["role"] == "user"
    assert shown["subscription"] == {"tier": "free", "maxProjects": 1, "maxEpisodesPerProject": 3}
    assert shown["preferences"] == {}
    # The password is stored as a salted scrypt hash only.
    from moviecli.models import User

    with database.session() as session:
        stored = session.get(User, shown["id"])
        assert stored is not None
        assert stored.password_hash.startswith("scrypt$")
        assert PASSWORD not in stored.password_hash
    assert result.stdout.split("(")[1].startswith(shown["id"][:8])


@pytest.mark.parametrize(
    ("role", "tier", "limits"),
    [
        ("producer", "pro", {"maxProjects": 10, "maxEpisodesPerProject": 20}),
        ("admin", "enterprise", {"maxProjects": 100, "maxEpisodesPerProject": 50}),
        ("user", "free", {"maxProjects": 1, "maxEpisodesPerProject": 3}),
    ],
)
def test_create_with_role_and_tier_json(cli, admin, role, tier, limits):
    result = _create(cli, "pat@example.com", "--role", role, "--tier", tier, "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["email"] == "pat@example.com"
    assert data["role"] == role
    assert data["subscription"] == {"tier": tier, **limits}
    assert data["deletedAt"] is None


def test_created_user_can_log_in(cli, admin, monkeypatch):
    assert _create(cli, "bob@example.com").exit_code == 0
    monkeypatch.delenv("MOVIECLI_TOKEN")
    login = cli("login", "bob@example.com", "--password-stdin", input=PASSWORD + "\n")
    assert login.exit_code == 0, login.stderr
    assert cli("whoami", "--json").json()["email"] == "bob@example.com"


@pytest.mark.parametrize("email", ["bob@example.com", "BOB@EXAMPLE.COM", "Bob@Example.Com"])
def test_duplicate_email_in_any_case(cli, admin, bob, email):
    result = _create(cli, email)
    assert result.exit_code == 5
    assert result.stderr == "Error: a user with email bob@example.com already exists\n"


def test_duplicate_email_of_a_deleted_user(cli, admin, bob):
    assert cli("user", "delete", "bob@example.com", "--yes").exit_code == 0
    result = _create(cli, "bob@example.com")
    assert result.exit_code == 5
    assert result.stderr == "Error: a user with email bob@example.com already exists\n"


@pytest.mark.parametrize(
    "email", ["bob", "bob@example", "bob@@example.com", "bob @example.com", "@example.com"]
)
def test_invalid_email(cli, admin, email):
    result = _create(cli, email)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: invalid input\n  email: {email!r} is not a valid email address\n"
    )


def test_unknown_role(cli, admin):
    result = _create(cli, "bob@example.com", "--role", "director")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: invalid input\n  role: 'director' is not one of: user, producer, admin\n"
    )


def test_every_invalid_field_is_reported_at_once(cli, admin):
    result = _create(
        cli, "not-an-email", "--role", "king", "--tier", "gold", name="  ", password="short"
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: invalid input\n"
        "  email: 'not-an-email' is not a valid email address\n"
        "  name: is required\n"
        "  role: 'king' is not one of: user, producer, admin\n"
        "  subscription.tier: 'gold' is not one of: free, pro, enterprise\n"
        "  password: must be at least 10 characters\n"
    )
    assert cli("user", "list", "--json").json()["total"] == 1


def test_validation_error_as_json(cli, admin):
    result = _create(cli, "nope", "--role", "king", "--json")
    assert result.exit_code == 2
    assert result.json() == {
        "error": {
            "code": "validation",
            "message": "invalid input",
            "details": {
                "email": "'nope' is not a valid email address",
                "role": "'king' is not one of: user, producer, admin",
            },
        }
    }


@pytest.mark.parametrize("role", ["user", "producer"])
def test_non_admins_cannot_create_users(cli, make_user, login_as, role):
    login_as(make_user("someone@example.com", role=role))
    for args in (("--password-stdin",), ()):
        result = cli(
            "user", "create", "--email", "x@example.com", "--name", "X", *args, input="pw\n"
        )
        assert result.exit_code == 4
        assert result.stderr == "Error: only an admin can create users\n"


def test_create_needs_a_login(cli, db_url):
    result = _create(cli, "bob@example.com")
    assert result.exit_code == 4
    assert result.stderr == "Error: not logged in (run moviecli login)\n"


def test_create_without_terminal_needs_password_stdin(cli, admin):
    result = cli("user", "create", "--email", "bob@example.com", "--name", "Bob")
    assert result.exit_code == 2
    assert result.stderr == "Error: no password given (pass --password-stdin)\n"


def test_create_missing_option_is_a_usage_error(cli, admin):
    result = cli("user", "create", "--name", "Bob")  # no terminal: nothing is asked
    assert result.exit_code == 2
    assert result.stderr == "Error: no value given (pass --email)\n"


# --- list ----------------------------------------------------------------------------------


def test_admin_lists_everyone_as_a_page(cli, admin, bob, carol):
    result = cli("user", "list", "--json")
    assert result.exit_code == 0, result.stderr
    page = result.json()
    assert set(page) == {"items", "total", "page", "limit"}
    assert (page["total"], page["page"], page["limit"]) == (3, 1, 20)
    assert [u["email"] for u in page["items"]] == [
        "admin@example.com",
        "bob@example.com",
        "carol@example.com",
    ]


def test_list_pages(cli, admin, bob, carol):
    second = cli("user", "list", "--limit", "2", "--page", "2", "--json").json()
    assert (second["total"], second["page"], second["limit"]) == (3, 2, 2)
    assert [u["email"] for u in second["items"]] == ["carol@example.com"]
    beyond = cli("user", "list", "--limit", "2", "--page", "9", "--json").json()
    assert (beyond["items"], beyond["total"]) == ([], 3)


def test_list_plain_is_tab_separated(cli, admin, bob):
    result = cli("user", "list")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "id\temail\tname\trole\ttier\tlimits\tstate\tcreated"
    rows = [line.split("\t") for line in lines[1:]]
    assert [r[1:7] for r in rows] == [
        ["admin@example.com", "Ada Admin", "admin", "enterprise", "100/50", "active"],
        ["bob@example.com", "Bob", "user", "free", "1/3", "active"],
    ]
    assert rows[1][0] == bob.id
    assert result.stderr == ""


def test_list_caption_when_there_are_more_pages(cli, admin, bob, carol):
    result = cli("user", "list", "--limit", "1")
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 2
    assert result.stderr == "page 1 of 3 (3 users; --page N for more)\n"


@pytest.mark.parametrize("role", ["user", "producer"])
def test_non_admins_list_only_themselves(cli, admin, bob, make_user, login_as, role):
    me = login_as(make_user("me@example.com", role=role))
    page = cli("user", "list", "--json").json()
    assert page["total"] == 1
    assert [u["id"] for u in page["items"]] == [me.id]
    with_deleted = cli("user", "list", "--deleted", "--json").json()
    assert [u["id"] for u in with_deleted["items"]] == [me.id]


def test_deleted_users_are_listed_only_with_deleted(cli, admin, bob):
    assert cli("user", "delete", "bob@example.com", "--yes").exit_code == 0
    active = cli("user", "list", "--json").json()
    assert [u["email"] for u in active["items"]] == ["admin@example.com"]
    everyone = cli("user", "list", "--deleted", "--json").json()
    assert everyone["total"] == 2
    gone = next(u for u in everyone["items"] if u["email"] == "bob@example.com")
    assert gone["deletedAt"].endswith("Z")
    plain = cli("user", "list", "--deleted").stdout
    assert "bob@example.com\tBob\tuser\tfree\t1/3\tdeleted" in plain


# --- show ----------------------------------------------------------------------------------


def test_show_defaults_to_yourself(cli, bob, login_as):
    login_as(bob)
    result = cli("user", "show", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["id"] == bob.id
    plain = cli("user", "show").stdout
    assert f"id\t{bob.id}\n" in plain
    assert "email\tbob@example.com\n" in plain


@pytest.mark.parametrize("ref", ["BOB@example.com", "full-id", "prefix"])
def test_admin_shows_any_user_by_email_id_or_prefix(cli, admin, bob, ref):
    ref = {"full-id": bob.id, "prefix": bob.id[:8]}.get(ref, ref)
    result = cli("user", "show", ref, "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert (data["id"], data["email"], data["role"]) == (bob.id, "bob@example.com", "user")
    assert "subscription" in data


@pytest.mark.parametrize("role", ["user", "producer"])
def test_non_admin_sees_only_id_name_email_of_another_user(
    cli, admin, bob, make_user, login_as, role
):
    login_as(make_user("me@example.com", role=role))
    result = cli("user", "show", "Bob@Example.com", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == {"id": bob.id, "email": "bob@example.com", "name": "Bob"}
    plain = cli("user", "show", "bob@example.com")
    assert plain.stdout == f"id\t{bob.id}\nemail\tbob@example.com\nname\tBob\n"


@pytest.mark.parametrize("how", ["id", "prefix"])
def test_non_admin_naming_another_user_by_id_gets_not_found(cli, bob, carol, login_as, how):
    login_as(bob)
    ref = carol.id if how == "id" else carol.id[:6]
    result = cli("user", "show", ref)
    assert result.exit_code == 3
    assert result.stderr == f"Error: user {ref!r} not found\n"


def test_show_unknown_user(cli, admin):
    result = cli("user", "show", "ghost@example.com")
    assert result.exit_code == 3
    assert result.stderr == "Error: user 'ghost@example.com' not found\n"
    short = cli("user", "show", "abc")
    assert short.exit_code == 3
    assert short.stderr == "Error: user 'abc' not found\n"


def test_show_not_logged_in(cli, db_url):
    result = cli("user", "show")
    assert result.exit_code == 4
    assert result.stderr == "Error: not logged in (run moviecli login)\n"


# --- update --------------------------------------------------------------------------------


def test_update_own_name_and_email(cli, bob, login_as):
    login_as(bob)
    result = cli("user", "update", "--name", "Robert", "--email", "robert@example.com")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Updated robert@example.com\n"
    me = cli("whoami", "--json").json()
    assert (me["name"], me["email"]) == ("Robert", "robert@example.com")
    assert me["updatedAt"] > me["createdAt"]


def test_update_email_case_only(cli, bob, login_as):
    login_as(bob)
    result = cli("user", "update", "--email", "Bob@Example.com", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["email"] == "Bob@Example.com"


def test_update_to_a_taken_email(cli, bob, carol, login_as):
    login_as(bob)
    result = cli("user", "update", "--email", "CAROL@example.com")
    assert result.exit_code == 5
    assert result.stderr == "Error: a user with email carol@example.com already exists\n"
    assert cli("whoami", "--json").json()["email"] == "bob@example.com"


def test_admin_updates_role_tier_and_limits(cli, admin, bob):
    result = cli("user", "update", "bob@example.com", "--role", "producer", "--tier", "pro")
    assert result.exit_code == 0, result.stderr
    data = cli("user", "show", "bob@example.com", "--json").json()
    assert data["role"] == "producer"
    assert data["subscription"] == {"tier": "pro", "maxProjects": 10, "maxEpisodesPerProject": 20}

    limits = cli(
        "user", "update", bob.id[:6], "--max-projects", "3", "--max-episodes", "7", "--json"
    )
    assert limits.exit_code == 0, limits.stderr
    assert limits.json()["subscription"] == {
        "tier": "pro",
        "maxProjects": 3,
        "maxEpisodesPerProject": 7,
    }


def test_update_reports_every_invalid_field(cli, admin, bob):
    result = cli(
        "user",
        "update",
        "bob@example.com",
        "--email",
        "bob@",
        "--role",
        "boss",
        "--tier",
        "platinum",
        "--max-projects",
        "-1",
        "--max-episodes",
        "51",
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: invalid input\n"
        "  email: 'bob@' is not a valid email address\n"
        "  role: 'boss' is not one of: user, producer, admin\n"
        "  subscription.tier: 'platinum' is not one of: free, pro, enterprise\n"
        "  subscription.maxProjects: must be between 0 and 100000\n"
        "  subscription.maxEpisodesPerProject: must be between 1 and 50\n"
    )


def test_update_with_nothing_to_change(cli, bob, login_as):
    login_as(bob)
    result = cli("user", "update")
    assert result.exit_code == 2
    assert result.stderr == "Error: nothing to change (pass --name, --email, --role, --tier, …)\n"


@pytest.mark.parametrize(
    ("args", "flags"),
    [
        (("--role", "admin"), "--role"),
        (("--tier", "enterprise"), "--tier"),
        (("--max-projects", "50", "--max-episodes", "50"), "--max-projects, --max-episodes"),
    ],
)
def test_admin_only_update_flags_are_refused_to_others(cli, bob, login_as, args, flags):
    login_as(bob)
    result = cli("user", "update", *args)
    assert result.exit_code == 4
    assert result.stderr == f"Error: only an admin can change {flags}\n"
    me = cli("whoami", "--json").json()
    assert me["role"] == "user"
    assert me["subscription"]["tier"] == "free"


def test_producer_cannot_change_roles_either(cli, bob, make_user, login_as):
    login_as(make_user("pro@example.com", role="producer"))
    result = cli("user", "update", "--role", "admin")
    assert result.exit_code == 4
    assert result.stderr == "Error: only an admin can change --role\n"


def test_non_admin_cannot_update_another_user(cli, bob, carol, login_as):
    login_as(bob)
    by_email = cli("user", "update", "carol@example.com", "--name", "Mallory")
    assert by_email.exit_code == 4
    assert by_email.stderr == "Error: only carol@example.com or an admin can change this user\n"
    by_id = cli("user", "update", carol.id, "--name", "Mallory")
    assert by_id.exit_code == 3
    assert by_id.stderr == f"Error: user {carol.id!r} not found\n"


def test_the_last_admin_cannot_be_demoted(cli, admin):
    result = cli("user", "update", "--role", "user")
    assert result.exit_code == 5
    assert result.stderr == (
        "Error: admin@example.com is the last admin (make another user admin first)\n"
    )
    assert cli("whoami", "--json").json()["role"] == "admin"


def test_an_admin_can_be_demoted_when_another_remains(cli, admin, make_user):
    make_user("second@example.com", role="admin")
    result = cli("user", "update", "second@example.com", "--role", "producer", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["role"] == "producer"


def test_update_a_deleted_user(cli, admin, bob):
    assert cli("user", "delete", "bob@example.com", "--yes").exit_code == 0
    result = cli("user", "update", "bob@example.com", "--name", "Ghost")
    assert result.exit_code == 5
    assert result.stderr == "Error: user bob@example.com is deleted\n"


# --- delete --------------------------------------------------------------------------------


def test_admin_deletes_a_user_softly(cli, admin, bob, database):
    result = cli("user", "delete", "bob@example.com", "--yes")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Deleted user bob@example.com (their content is kept)\n"
    shown = cli("user", "show", "bob@example.com", "--json").json()
    assert shown["deletedAt"].endswith("Z")
    from moviecli.models import LoginToken

    with database.session() as session:
        tokens = session.execute(
            sa.select(sa.func.count()).where(LoginToken.user_id == bob.id)
        ).scalar_one()
    assert tokens == 0


def test_delete_json(cli, admin, bob):
    result = cli("user", "delete", bob.id[:6], "-y", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["id"] == bob.id
    assert data["deletedAt"] is not None


def test_delete_without_yes_off_a_terminal_is_refused(cli, admin, bob):
    result = cli("user", "delete", "bob@example.com")
    assert result.exit_code == 2
    assert result.stderr == "Error: refusing to continue without confirmation (pass --yes)\n"
    assert cli("user", "show", "bob@example.com", "--json").json()["deletedAt"] is None


@pytest.mark.parametrize("yes", [(), ("--yes",)])
def test_non_admins_cannot_delete_users(cli, bob, carol, login_as, yes):
    login_as(bob)
    result = cli("user", "delete", "carol@example.com", *yes)
    assert result.exit_code == 4
    assert result.stderr == "Error: only an admin can delete users\n"


@pytest.mark.parametrize("yes", [(), ("--yes",)])
def test_the_last_admin_cannot_be_deleted(cli, admin, yes):
    result = cli("user", "delete", "admin@example.com", *yes)
    assert result.exit_code == 5
    assert result.stderr == (
        "Error: admin@example.com is the last admin (make another user admin first)\n"
    )
    assert cli("whoami", "--json").json()["deletedAt"] is None


def test_delete_twice_and_delete_unknown(cli, admin, bob):
    assert cli("user", "delete", "bob@example.com", "--yes").exit_code == 0
    again = cli("user", "delete", "bob@example.com", "--yes")
    assert again.exit_code == 5
    assert again.stderr == "Error: user bob@example.com is already deleted\n"
    unknown = cli("user", "delete", "ghost@example.com", "--yes")
    assert unknown.exit_code == 3
    assert unknown.stderr == "Error: user 'ghost@example.com' not found\n"


def test_delete_needs_a_user_argument(cli, admin):
    result = cli("user", "delete", "--yes")
    assert result.exit_code == 2
    assert result.stderr == "Error: Missing argument 'USER' (see 'moviecli user delete --help')\n"


# --- passwd --------------------------------------------------------------------------------


def test_passwd_changes_the_password_and_signs_out_other_logins(
    cli, bob, login_as, database, monkeypatch
):
    from moviecli.services import auth

    with database.write() as session:  # a second login of Bob's, elsewhere
        from moviecli.models import User

        user = session.get(User, bob.id)
        assert user is not None
        other = auth.issue_token(session, user)
    login_as(bob)
    result = cli("user", "passwd", "--password-stdin", input=f"{PASSWORD}\na-new-password\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Password changed; signed out 1 other login(s).\n"

    assert cli("whoami").exit_code == 0  # this login is kept
    monkeypatch.setenv("MOVIECLI_TOKEN", other)
    assert cli("whoami").exit_code == 4

    monkeypatch.delenv("MOVIECLI_TOKEN")
    old = cli("login", "bob@example.com", "--password-stdin", input=PASSWORD + "\n")
    assert old.exit_code == 4
    new = cli("login", "bob@example.com", "--password-stdin", input="a-new-password\n")
    assert new.exit_code == 0, new.stderr


def test_passwd_rejects_a_short_password(cli, bob, login_as):
    login_as(bob)
    result = cli("user", "passwd", "--password-stdin", input=f"{PASSWORD}\nshort\n")
    assert result.exit_code == 2
    assert result.stderr == "Error: invalid input\n  password: must be at least 10 characters\n"


def test_passwd_not_logged_in(cli, db_url):
    for args, text in ((("--password-stdin",), "long-enough-pw\n"), ((), None)):
        result = cli("user", "passwd", *args, input=text)
        assert result.exit_code == 4
        assert result.stderr == "Error: not logged in (run moviecli login)\n"


def test_passwd_without_terminal_needs_the_flag(cli, bob, login_as):
    login_as(bob)
    result = cli("user", "passwd")
    assert result.exit_code == 2
    assert result.stderr == "Error: no password given (pass --password-stdin)\n"


# --- prefs ---------------------------------------------------------------------------------


def test_prefs_set_get_unset(cli, bob, login_as):
    login_as(bob)
    empty = cli("user", "prefs")
    assert empty.exit_code == 0
    assert empty.stdout == "No preferences set (moviecli user prefs set KEY VALUE).\n"

    genre = cli("user", "prefs", "set", "defaultGenre", "comedy")
    assert genre.exit_code == 0, genre.stderr
    assert genre.stdout == 'defaultGenre = "comedy"\n'
    episodes = cli("user", "prefs", "set", "defaultEpisodes", "6")
    assert episodes.stdout == "defaultEpisodes = 6\n"
    nested = cli("user", "prefs", "set", "palette", '{"main": ["#fff", "#000"]}')
    assert nested.stdout == 'palette = {"main": ["#fff", "#000"]}\n'

    assert cli("user", "prefs", "get", "defaultGenre").stdout == "comedy\n"
    assert cli("user", "prefs", "get", "defaultEpisodes").stdout == "6\n"
    assert cli("user", "prefs", "get", "palette", "--json").json() == {"main": ["#fff", "#000"]}
    assert cli("user", "prefs", "--json").json() == {
        "defaultGenre": "comedy",
        "defaultEpisodes": 6,
        "palette": {"main": ["#fff", "#000"]},
    }
    assert cli("whoami", "--json").json()["preferences"]["defaultEpisodes"] == 6
    listing = cli("user", "prefs").stdout.splitlines()
    assert listing == [
        "defaultEpisodes\t6",
        "defaultGenre\tcomedy",
        'palette\t{"main": ["#fff", "#000"]}',
    ]

    removed = cli("user", "prefs", "unset", "defaultGenre")
    assert (removed.exit_code, removed.stdout) == (0, "Removed defaultGenre\n")
    again = cli("user", "prefs", "unset", "defaultGenre")
    assert (again.exit_code, again.stdout) == (0, "defaultGenre was not set\n")
    missing = cli("user", "prefs", "get", "defaultGenre")
    assert missing.exit_code == 3
    assert missing.stderr == "Error: preference 'defaultGenre' is not set\n"


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        (
            "defaultGenre",
            "western",
            "'western' is not one of: action, comedy, drama, horror, sci-fi, thriller, "
            "romance, documentary",
        ),
        ("defaultAudience", "toddlers", "'toddlers' is not one of: children, family, teen, adult"),
        ("defaultEpisodes", "51", "must be a whole number from 1 to 50"),
        ("defaultEpisodes", "three", "must be a whole number from 1 to 50"),
    ],
)
def test_prefs_with_a_meaning_are_checked(cli, bob, login_as, key, value, problem):
    login_as(bob)
    result = cli("user", "prefs", "set", key, value)
    assert result.exit_code == 2
    assert result.stderr == f"Error: invalid input\n  {key}: {problem}\n"
    assert cli("user", "prefs", "--json").json() == {}


def test_current_project_is_not_set_through_prefs(cli, bob, login_as):
    login_as(bob)
    result = cli("user", "prefs", "set", "currentProject", "abcd")
    assert result.exit_code == 2
    assert result.stderr == "Error: currentProject is set with moviecli project use\n"


def test_prefs_need_a_login(cli, db_url):
    result = cli("user", "prefs", "set", "defaultGenre", "comedy")
    assert result.exit_code == 4
    assert result.stderr == "Error: not logged in (run moviecli login)\n"


def test_prefs_are_per_user(cli, bob, carol, login_as):
    login_as(bob)
    assert cli("user", "prefs", "set", "defaultGenre", "drama").exit_code == 0
    login_as(carol)
    assert cli("user", "prefs", "--json").json() == {}


# --- weak passwords (issue 13 item 9) ----------------------------------------------------


WEAK = [
    (" " * 12, "must not be blank"),
    ("short-pw1", "must be at least 10 characters"),
    ("bob@example.com", "must not contain the name part of the email address"),
    ("my-BOB-password", "must not contain the name part of the email address"),
]


@pytest.mark.parametrize(("password", "rule"), WEAK)
def test_13_9_weak_passwords_are_refused_saying_which_rule(cli, admin, password, rule):
    created = _create(cli, "bob@example.com", password=password)
    assert created.exit_code == 2
    assert created.stderr == f"Error: invalid input\n  password: {rule}\n"
    assert cli("user", "list", "--json").json()["total"] == 1  # nothing created
    assert _create(cli, "bob@example.com", password="a-good-password").exit_code == 0


def test_13_9_the_name_part_rule_folds_case_and_short_parts_only_match_whole(cli, admin):
    assert _create(cli, "Éve@example.com", password="ÉVE").exit_code == 2
    eve = _create(cli, "Éve@example.com", password="my-éve-password")
    assert eve.stderr == (
        "Error: invalid input\n  password: must not contain the name part of the email address\n"
    )
    # A one- or two-letter name part forbids only itself, not every password holding it.
    assert _create(cli, "al@example.com", name="Al", password="all-alone-now").exit_code == 0


# --- passwd needs the current password (issue 13 item 5) ----------------------------------


def _can_log_in(cli, email, password):
    from moviecli.services import auth

    result = cli("login", email, "--password-stdin", input=password + "\n")
    if result.exit_code == 0:
        auth.remove_token_file()
    return result.exit_code == 0


def test_13_5_passwd_needs_the_current_password(cli, bob, login_as, monkeypatch):
    login_as(bob)
    alone = cli("user", "passwd", "--password-stdin", input="a-new-password\n")
    assert alone.exit_code == 2
    assert alone.stderr == (
        "Error: --password-stdin needs two lines for your own password: "
        "the current one, then the new one\n"
    )
    wrong = cli("user", "passwd", "--password-stdin", input="not-my-password\na-new-password\n")
    assert wrong.exit_code == 4
    assert wrong.stderr == (
        "Error: wrong current password (4 tries left before a 10-minute lock)\n"
    )
    monkeypatch.delenv("MOVIECLI_TOKEN")
    assert _can_log_in(cli, "bob@example.com", PASSWORD)  # nothing changed
    assert not _can_log_in(cli, "bob@example.com", "a-new-password")

    login_as(bob)
    right = cli("user", "passwd", "--password-stdin", input=f"{PASSWORD}\na-new-password\n")
    assert right.exit_code == 0, right.stderr
    monkeypatch.delenv("MOVIECLI_TOKEN")
    assert _can_log_in(cli, "bob@example.com", "a-new-password")


def test_13_5_guessing_the_current_password_locks_the_account(cli, bob, login_as):
    login_as(bob)
    for _ in range(4):
        guess = cli("user", "passwd", "--password-stdin", input="a-guess-0000\na-new-password\n")
        assert guess.exit_code == 4
    fifth = cli("user", "passwd", "--password-stdin", input="a-guess-0000\na-new-password\n")
    assert fifth.exit_code == 4
    assert fifth.stderr.startswith("Error: account locked until ")
    right = cli("user", "passwd", "--password-stdin", input=f"{PASSWORD}\na-new-password\n")
    assert right.exit_code == 4
    assert right.stderr.startswith("Error: account locked until ")


def test_13_5_an_admin_sets_another_users_password_without_it(
    cli, admin, bob, login_as, monkeypatch
):
    result = cli("user", "passwd", "bob@example.com", "--password-stdin", input="a-fresh-secret\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Password of bob@example.com changed; signed out 1 login(s).\n"
    login_as(bob)  # the token Bob had is revoked
    assert cli("whoami").exit_code == 4
    monkeypatch.delenv("MOVIECLI_TOKEN")
    assert _can_log_in(cli, "bob@example.com", "a-fresh-secret")
    # The password rules hold for it too.
    login_as(admin)
    weak = cli("user", "passwd", "bob@example.com", "--password-stdin", input="bob-bob-bob\n")
    assert weak.exit_code == 2
    assert weak.stderr == (
        "Error: invalid input\n  password: must not contain the name part of the email address\n"
    )


def test_13_5_a_user_cannot_set_another_users_password(cli, bob, carol, login_as):
    login_as(bob)
    result = cli("user", "passwd", "carol@example.com", "--password-stdin", input="x-y-z-w-v-u\n")
    assert result.exit_code == 4
    assert result.stderr == (
        "Error: only carol@example.com or an admin can change this user's password\n"
    )


def test_13_5_logout_revokes_the_token_in_the_database(cli, bob, home, monkeypatch):
    login = cli("login", "bob@example.com", "--password-stdin", input=PASSWORD + "\n")
    assert login.exit_code == 0
    copy = (home / "token").read_text()
    assert cli("logout").stdout == "Logged out.\n"
    (home / "token").write_text(copy)
    (home / "token").chmod(0o600)
    stolen = cli("whoami")
    assert stolen.exit_code == 4
    assert stolen.stderr == (
        "Error: not logged in: the saved login is no longer valid (run moviecli login)\n"
    )


# --- forgiving input (issue 14 item 6) ----------------------------------------------------


def test_14_6_user_create_on_a_terminal_asks_each_answer_again(cli, admin):
    from tests.ptyhelp import CLEAR, Terminal

    term = Terminal("user", "create", columns=80)
    answer = term.answer
    answer("", "Email:")
    answer("bob@example\r", "'bob@example' is not a valid email address")
    answer(CLEAR + "bob@example.com\r", "Name:")
    answer("  \r", "is required")
    answer(CLEAR + "Bob\r", "Password for the new user:")
    answer("short\r", "must be at least 10 characters")
    answer(CLEAR + PASSWORD + "\r", "Repeat it:")
    answer(PASSWORD + "\r", "Created user bob@example.com (")
    assert term.finish() == 0
    assert cli("user", "show", "bob@example.com", "--json").json()["name"] == "Bob"
