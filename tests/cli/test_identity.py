"""Who is who: emails and titles compared by their fold key (issue 13 item 4)."""

from __future__ import annotations

import sqlalchemy as sa

from tests.conftest import PASSWORD


def _login(cli, email, password=PASSWORD):
    return cli("login", email, "--password-stdin", input=password + "\n")


def _failed_logins(database, user_id):
    from moviecli.models import User

    with database.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.failed_logins


def test_13_4_a_unicode_admin_logs_in_whatever_the_case(cli, make_user, monkeypatch):
    admin = make_user("Ádmin@example.com", role="admin", tier="enterprise")
    monkeypatch.delenv("MOVIECLI_TOKEN", raising=False)
    result = _login(cli, "ádmin@EXAMPLE.com")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Logged in as Ádmin <Ádmin@example.com>")
    whoami = cli("whoami", "--json")
    assert whoami.json()["id"] == admin.id
    # Named by email in any case, as any other user is.
    shown = cli("user", "show", "ÁDMIN@example.COM", "--json")
    assert shown.exit_code == 0, shown.stderr
    assert shown.json()["id"] == admin.id


def test_13_4_emails_unique_by_fold_and_failures_counted_on_the_right_account(
    cli, admin, make_user, database
):
    eve = make_user("Éve@example.com", name="Eve")
    other = make_user("eve@example.com", name="Plain Eve")  # e and é are different letters
    twin = cli(
        "user", "create", "--email", "éVE@example.com", "--name", "Twin", "--password-stdin",
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert twin.exit_code == 5
    assert twin.stderr == "Error: a user with email Éve@example.com already exists\n"
    renamed = cli("user", "update", "eve@example.com", "--email", "ÉVE@example.com")
    assert renamed.exit_code == 5
    assert renamed.stderr == "Error: a user with email Éve@example.com already exists\n"

    wrong = _login(cli, "éVE@EXAMPLE.com", "not-the-password")
    assert wrong.exit_code == 4
    assert _failed_logins(database, eve.id) == 1
    assert _failed_logins(database, other.id) == 0


def test_13_4_titles_unique_per_owner_by_fold(cli, admin):
    created = cli("project", "create", "Über Heist", "--genre", "drama", "--episodes", "2")
    assert created.exit_code == 0, created.stderr
    twin = cli("project", "create", "über heist", "--genre", "drama", "--episodes", "2")
    assert twin.exit_code == 5
    assert twin.stderr == "Error: you already have a project titled 'über heist'\n"
    # NFKC too: the ligature "ﬁ" is "fi".
    assert (
        cli("project", "create", "Fine Cut", "--genre", "drama", "--episodes", "1").exit_code == 0
    )
    ligature = cli("project", "create", "ﬁne cut", "--genre", "drama", "--episodes", "1")
    assert ligature.exit_code == 5

    shown = cli("project", "show", "ÜBER HEIST", "--json")
    assert shown.exit_code == 0, shown.stderr
    assert shown.json()["title"] == "Über Heist"
    other = cli("project", "update", "Fine Cut", "--title", "ÜBER heist")
    assert other.exit_code == 5
    # Changing only the case of its own title is fine.
    recased = cli("project", "update", "über heist", "--title", "ÜBER HEIST")
    assert recased.exit_code == 0, recased.stderr
    listed = cli("project", "list", "--sort", "title", "--json").json()
    assert [p["title"] for p in listed["items"]] == ["Fine Cut", "ÜBER HEIST"]


def test_13_4_apply_matches_titles_and_emails_by_fold(cli, admin, make_user, tmp_path):
    make_user("Éve@example.com", name="Eve")
    assert (
        cli("project", "create", "Über Heist", "--genre", "drama", "--episodes", "2").exit_code
        == 0
    )
    path = tmp_path / "setup.toml"
    path.write_text(
        '[[project]]\ntitle = "über heist"\ngenre = "drama"\nepisodeCount = 2\n'
        'collaborators = ["éVE@example.com"]\n',
        encoding="utf-8",
    )
    result = cli("apply", str(path))
    assert result.exit_code == 0, result.stderr
    listed = cli("project", "list", "--json").json()
    # The same project, its title now spelt as the file spells it: not a second one.
    assert [p["title"] for p in listed["items"]] == ["über heist"]
    collaborators = cli("project", "collab", "list", "ÜBER HEIST", "--json")
    assert collaborators.exit_code == 0, collaborators.stderr
    assert "Éve@example.com" in collaborators.stdout

    twice = tmp_path / "twice.toml"
    twice.write_text(
        '[[project]]\ntitle = "Straße"\ngenre = "drama"\nepisodeCount = 1\n'
        '[[project]]\ntitle = "STRASSE"\ngenre = "drama"\nepisodeCount = 1\n',
        encoding="utf-8",
    )
    refused = cli("apply", str(twice))
    assert refused.exit_code == 2
    assert "project[2].title: 'STRASSE' is also project[1]'s title" in refused.stderr


def test_13_4_the_keys_are_stored_and_indexed(database):
    with database.engine.connect() as conn:
        inspector = sa.inspect(conn)
        user_indexes = {i["name"]: i for i in inspector.get_indexes("users")}
        project_indexes = {i["name"]: i for i in inspector.get_indexes("projects")}
    assert user_indexes["ux_users_email_key"]["column_names"] == ["email_key"]
    assert user_indexes["ux_users_email_key"]["unique"]
    key = project_indexes["ux_projects_creator_title_key"]
    assert (key["column_names"], bool(key["unique"])) == (["created_by", "title_key"], True)


# --- the lockout does not tell who has an account (issue 13 item 6) -----------------------


def test_13_6_known_and_unknown_emails_answer_alike_before_and_after_the_lock(
    cli, make_user, monkeypatch
):
    import re

    from moviecli.services import auth

    make_user("bob@example.com")
    kdf_runs: list[str] = []
    real = auth.verify_password

    def counted(password, stored):
        kdf_runs.append(stored)
        return real(password, stored)

    monkeypatch.setattr(auth, "verify_password", counted)

    def answers(email, password="wrong-password-1", times=7):
        seen = []
        for _ in range(times):
            kdf_runs.clear()
            result = _login(cli, email, password)
            shown = re.sub(r"\d\d:\d\d", "HH:MM", result.stderr)
            seen.append((result.exit_code, shown, result.stdout, len(kdf_runs)))
        return seen

    known = answers("bob@example.com")
    unknown = answers("nobody@example.com")
    assert known == unknown
    assert known[0] == (4, "Error: wrong email or password\n", "", 1)
    assert known[4] == (
        4, "Error: account locked until HH:MM UTC (5 failed logins in a row)\n", "", 1
    )  # fmt: skip
    assert (
        known[5]
        == known[6]
        == (
            4,
            "Error: account locked until HH:MM UTC (too many failed logins; try again later)\n",
            "",
            1,
        )
    )
    # While locked, even the right password gets that answer, after the same work.
    assert answers("bob@example.com", PASSWORD, 1) == [known[5]]


# --- login on a terminal, unlock (issue 14 item 7) ----------------------------------------


def _lock(cli, email):
    for _ in range(5):
        assert _login(cli, email, "wrong-password-1").exit_code == 4


def test_14_7_login_on_a_terminal_asks_again_saying_the_tries_left(cli, make_user):
    from tests.ptyhelp import Terminal

    make_user("bob@example.com")
    term = Terminal("login", "bob@example.com", columns=80)
    at = term.expect("Password:")
    term.send("wrong-password-1\r")
    at = term.expect("Wrong email or password; 4 tries left before a 10-minute lock.", after=at)
    at = term.expect("Password:", after=at)
    term.send("wrong-password-2\r")
    at = term.expect("Wrong email or password; 3 tries left before a 10-minute lock.", after=at)
    at = term.expect("Password:", after=at)
    term.send("wrong-password-3\r")
    at = term.expect(
        "Error: wrong email or password (2 tries left before a 10-minute lock)", after=at
    )
    assert term.finish() == 4

    # The right password at the second prompt logs in (and the count starts again).
    term = Terminal("login", "bob@example.com", columns=80)
    at = term.expect("Password:")
    term.send("wrong-password-4\r")
    at = term.expect("1 try left before a 10-minute lock.", after=at)
    at = term.expect("Password:", after=at)
    term.send(PASSWORD + "\r")
    term.expect("Logged in as Bob <bob@example.com>", after=at)
    assert term.finish() == 0


def test_14_7_an_admin_unlocks_a_user(cli, admin, make_user, login_as, monkeypatch):
    bob = make_user("bob@example.com")
    monkeypatch.delenv("MOVIECLI_TOKEN")
    _lock(cli, "bob@example.com")
    assert _login(cli, "bob@example.com").stderr.startswith("Error: account locked until")

    login_as(bob)
    refused = cli("user", "unlock", "bob@example.com")
    assert refused.exit_code == 4
    assert refused.stderr == "Error: only an admin can unlock users\n"

    login_as(admin)
    result = cli("user", "unlock", "BOB@example.com")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Unlocked bob@example.com: they can log in again.\n"
    again = cli("user", "unlock", "bob@example.com")
    assert again.stdout == "bob@example.com was not locked; failed logins reset.\n"
    unknown = cli("user", "unlock", "ghost@example.com")
    assert unknown.exit_code == 3
    monkeypatch.delenv("MOVIECLI_TOKEN")
    assert _login(cli, "bob@example.com").exit_code == 0


def test_14_7_the_only_admin_unlocks_a_local_database(cli, admin, monkeypatch):
    from tests.conftest import BACKEND

    monkeypatch.delenv("MOVIECLI_TOKEN")
    _lock(cli, "admin@example.com")
    result = cli("user", "unlock", "admin@example.com", "--local")
    if BACKEND == "postgresql":
        assert result.exit_code == 2
        assert result.stderr == (
            "Error: --local works on a local SQLite database only "
            "(on PostgreSQL another admin runs moviecli user unlock EMAIL)\n"
        )
        return
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Unlocked admin@example.com: they can log in again.\n"
    assert _login(cli, "admin@example.com").exit_code == 0


def test_13_5_passwd_on_a_terminal_asks_the_current_password_first(cli, make_user, login_as):
    from tests.ptyhelp import Terminal

    login_as(make_user("bob@example.com"))
    term = Terminal("user", "passwd", columns=80)
    at = term.expect("Current password:")
    assert "New password:" not in term.text
    term.send(PASSWORD + "\r")
    at = term.expect("New password:", after=at)
    term.send("short\r")
    at = term.expect("must be at least 10 characters", after=at)  # asked again
    term.send("\x15a-new-password\r")
    at = term.expect("Repeat it:", after=at)
    term.send("a-new-password\r")
    term.expect("Password changed.", after=at)
    assert term.finish() == 0
    assert _login(cli, "bob@example.com", "a-new-password").exit_code == 0
