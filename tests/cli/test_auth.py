"""login, logout, whoami: the token file, MOVIECLI_TOKEN, lockout, expiry."""

from __future__ import annotations

import hashlib
import re
import stat
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD


def _login(cli, email, password=PASSWORD, *extra):
    return cli("login", email, "--password-stdin", *extra, input=password + "\n")


def _user_row(database, email):
    from moviecli.models import User
    from moviecli.services.resolve import user_by_email

    with database.session() as session:
        user = user_by_email(session, email)
        assert isinstance(user, User)
        return user


def _token_hashes(database, user_id):
    from moviecli.models import LoginToken

    with database.session() as session:
        rows = session.execute(
            sa.select(LoginToken.token_hash).where(LoginToken.user_id == user_id)
        ).all()
    return {row[0] for row in rows}


@pytest.fixture
def bob(make_user):
    return make_user("bob@example.com", name="Bob")


# --- login ---------------------------------------------------------------------------------


def test_login_writes_a_private_token_file(cli, bob, home, database):
    result = _login(cli, "bob@example.com")
    assert result.exit_code == 0, result.stderr
    token_file = home / "token"
    assert result.stdout == f"Logged in as Bob <bob@example.com> (token saved to {token_file})\n"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700

    # Only the SHA-256 of the token is stored, with an expiry 30 days out.
    token = token_file.read_text().strip()
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert digest in _token_hashes(database, bob.id)
    from moviecli.models import LoginToken

    with database.session() as session:
        row = session.get(LoginToken, digest)
        assert row is not None
        assert row.expires_at - datetime.now(UTC) > timedelta(days=29, hours=23)

    whoami = cli("whoami", "--json")
    assert whoami.exit_code == 0, whoami.stderr
    assert whoami.json()["email"] == "bob@example.com"


def test_login_email_is_case_insensitive_and_json(cli, bob):
    result = _login(cli, "  BOB@Example.COM ", PASSWORD, "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert (data["id"], data["email"], data["role"]) == (bob.id, "bob@example.com", "user")
    assert data["subscription"]["tier"] == "free"


def test_login_token_lifetime_comes_from_config(cli, bob, home, database):
    assert cli("config", "set", "auth.token_days", "7").exit_code == 0
    assert _login(cli, "bob@example.com").exit_code == 0
    from moviecli.models import LoginToken

    digest = hashlib.sha256((home / "token").read_text().strip().encode()).hexdigest()
    with database.session() as session:
        row = session.get(LoginToken, digest)
        assert row is not None
        left = row.expires_at - datetime.now(UTC)
    assert timedelta(days=6, hours=23) < left <= timedelta(days=7)


def test_wrong_password_and_unknown_email_look_the_same(cli, bob, database):
    wrong = _login(cli, "bob@example.com", "not-the-password")
    assert wrong.exit_code == 4
    assert wrong.stderr == "Error: wrong email or password\n"
    assert wrong.stdout == ""
    unknown = _login(cli, "nobody@example.com")
    assert unknown.exit_code == 4
    assert unknown.stderr == "Error: wrong email or password\n"
    # The failed login is counted, although the command failed.
    assert _user_row(database, "bob@example.com").failed_logins == 1


def test_wrong_password_json_error(cli, bob):
    result = _login(cli, "bob@example.com", "not-the-password", "--json")
    assert result.exit_code == 4
    assert result.json() == {
        "error": {"code": "auth", "message": "wrong email or password", "details": {}}
    }


def test_five_failures_lock_the_account_for_ten_minutes(cli, bob, database):
    for attempt in range(1, 5):
        result = _login(cli, "bob@example.com", "wrong-password")
        assert result.exit_code == 4
        assert result.stderr == "Error: wrong email or password\n"
        assert _user_row(database, "bob@example.com").failed_logins == attempt

    fifth = _login(cli, "bob@example.com", "wrong-password")
    assert fifth.exit_code == 4
    match = re.fullmatch(r"Error: account locked until (\d\d):(\d\d) UTC \(.*\)\n", fifth.stderr)
    assert match, fifth.stderr
    locked_until = _user_row(database, "bob@example.com").locked_until
    assert locked_until is not None
    assert (int(match[1]), int(match[2])) == (locked_until.hour, locked_until.minute)
    assert timedelta(minutes=9) < locked_until - datetime.now(UTC) <= timedelta(minutes=10)

    # Even the right password is refused while the lock holds.
    right = _login(cli, "bob@example.com")
    assert right.exit_code == 4
    assert right.stderr.startswith(f"Error: account locked until {match[1]}:{match[2]} UTC")


def test_lock_expires(cli, bob, database):
    from moviecli.models import User

    with database.write() as session:
        user = session.get(User, bob.id)
        assert user is not None
        user.locked_until = datetime.now(UTC) - timedelta(seconds=1)
        session.add(user)
    result = _login(cli, "bob@example.com")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Logged in as Bob")


def test_a_good_login_resets_the_failure_count(cli, bob, database):
    for _ in range(3):
        assert _login(cli, "bob@example.com", "wrong-password").exit_code == 4
    assert _user_row(database, "bob@example.com").failed_logins == 3
    assert _login(cli, "bob@example.com").exit_code == 0
    assert _user_row(database, "bob@example.com").failed_logins == 0


def test_login_without_terminal_needs_email_and_password_flag(cli, bob):
    no_email = cli("login")
    assert no_email.exit_code == 2
    assert no_email.stderr == "Error: no value given (pass EMAIL)\n"
    no_password = cli("login", "bob@example.com")
    assert no_password.exit_code == 2
    assert no_password.stderr == "Error: no password given (pass --password-stdin)\n"


def test_login_before_init(cli, empty_db):
    result = _login(cli, "bob@example.com")
    assert result.exit_code == 6
    assert result.stderr.startswith("Error: ")
    assert result.stderr.endswith("(run moviecli init to create it)\n")


# --- deleted accounts --------------------------------------------------------------------


def test_deleted_user_cannot_log_in_and_their_tokens_are_revoked(
    cli, admin, bob, database, login_as
):
    assert _token_hashes(database, bob.id)
    deleted = cli("user", "delete", "bob@example.com", "--yes")
    assert deleted.exit_code == 0, deleted.stderr
    assert _token_hashes(database, bob.id) == set()

    login = _login(cli, "bob@example.com")
    assert login.exit_code == 4
    assert login.stderr == "Error: this account has been deleted\n"

    login_as(bob)  # the token Bob had before
    whoami = cli("whoami")
    assert whoami.exit_code == 4
    assert whoami.stderr == (
        "Error: not logged in: MOVIECLI_TOKEN is no longer valid (run moviecli login)\n"
    )


# --- logout ------------------------------------------------------------------------------


def test_logout_revokes_the_token_and_removes_the_file(cli, bob, home, database):
    assert _login(cli, "bob@example.com").exit_code == 0
    token = (home / "token").read_text().strip()
    out = cli("logout")
    assert out.exit_code == 0, out.stderr
    assert out.stdout == "Logged out.\n"
    assert not (home / "token").exists()
    assert hashlib.sha256(token.encode()).hexdigest() not in _token_hashes(database, bob.id)

    whoami = cli("whoami")
    assert whoami.exit_code == 4
    assert whoami.stderr == "Error: not logged in (run moviecli login)\n"
    again = cli("logout")
    assert again.exit_code == 0
    assert again.stdout == "Not logged in; nothing to do.\n"


def test_a_revoked_saved_token_says_so(cli, bob, home, database):
    assert _login(cli, "bob@example.com").exit_code == 0
    from moviecli.models import LoginToken

    with database.write() as session:
        session.execute(sa.delete(LoginToken))
    result = cli("whoami")
    assert result.exit_code == 4
    assert result.stderr == (
        "Error: not logged in: the saved login is no longer valid (run moviecli login)\n"
    )


# --- the token file and MOVIECLI_TOKEN ---------------------------------------------------


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_token_file_readable_by_others_is_refused(cli, bob, home, mode):
    assert _login(cli, "bob@example.com").exit_code == 0
    token_file = home / "token"
    token_file.chmod(mode)
    result = cli("whoami")
    assert result.exit_code == 4
    assert result.stderr == (
        f"Error: token file {token_file} is readable by others; refusing to use it "
        f"(chmod 600 {token_file})\n"
    )
    token_file.chmod(0o600)
    assert cli("whoami").exit_code == 0


def test_movie_cli_token_authenticates_without_a_file(cli, bob, home, monkeypatch):
    assert not (home / "token").exists()
    monkeypatch.setenv("MOVIECLI_TOKEN", bob.token)
    result = cli("whoami", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["email"] == "bob@example.com"


def test_movie_cli_token_wins_over_the_token_file(cli, admin, bob, home, monkeypatch):
    monkeypatch.delenv("MOVIECLI_TOKEN")
    assert _login(cli, "bob@example.com").exit_code == 0
    assert cli("whoami", "--json").json()["email"] == "bob@example.com"
    monkeypatch.setenv("MOVIECLI_TOKEN", admin.token)
    assert cli("whoami", "--json").json()["email"] == "admin@example.com"


def test_logout_with_movie_cli_token_revokes_it_but_keeps_the_file(
    cli, admin, bob, home, database, monkeypatch
):
    monkeypatch.delenv("MOVIECLI_TOKEN")
    assert _login(cli, "bob@example.com").exit_code == 0
    monkeypatch.setenv("MOVIECLI_TOKEN", admin.token)
    out = cli("logout")
    assert out.exit_code == 0
    assert out.stdout == "Logged out.\n"
    assert hashlib.sha256(admin.token.encode()).hexdigest() not in _token_hashes(
        database, admin.id
    )
    assert (home / "token").exists()
    monkeypatch.delenv("MOVIECLI_TOKEN")
    assert cli("whoami", "--json").json()["email"] == "bob@example.com"


def test_invalid_movie_cli_token(cli, bob, monkeypatch):
    monkeypatch.setenv("MOVIECLI_TOKEN", "not-a-token")
    result = cli("whoami", "--json")
    assert result.exit_code == 4
    assert result.json()["error"] == {
        "code": "not_logged_in",
        "message": "not logged in: MOVIECLI_TOKEN is no longer valid (run moviecli login)",
        "details": {},
    }


def test_expired_token(cli, bob, login_as, database):
    from moviecli.models import LoginToken

    with database.write() as session:
        session.execute(
            sa.update(LoginToken)
            .where(LoginToken.user_id == bob.id)
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    login_as(bob)
    result = cli("whoami")
    assert result.exit_code == 4
    assert result.stderr == "Error: your login has expired (run moviecli login)\n"


def test_login_sweeps_expired_tokens(cli, bob, database):
    from moviecli.models import LoginToken

    old = next(iter(_token_hashes(database, bob.id)))
    with database.write() as session:
        session.execute(
            sa.update(LoginToken)
            .where(LoginToken.token_hash == old)
            .values(expires_at=datetime.now(UTC) - timedelta(days=1))
        )
    assert _login(cli, "bob@example.com").exit_code == 0
    hashes = _token_hashes(database, bob.id)
    assert old not in hashes
    assert len(hashes) == 1


# --- whoami ----------------------------------------------------------------------------------


def test_whoami_plain(cli, bob, login_as):
    login_as(bob)
    result = cli("whoami")
    assert result.exit_code == 0, result.stderr
    fields = dict(line.split("\t", 1) for line in result.stdout.splitlines())
    assert fields["id"] == bob.id
    assert fields["email"] == "bob@example.com"
    assert fields["name"] == "Bob"
    assert fields["role"] == "user"
    assert fields["tier"] == "free"
    assert fields["max projects"] == "1"
    assert fields["max episodes/project"] == "3"


def test_whoami_json_shape(cli, admin):
    result = cli("whoami", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert set(data) == {
        "id",
        "email",
        "name",
        "role",
        "preferences",
        "activeProjects",
        "subscription",
        "createdAt",
        "updatedAt",
        "deletedAt",
    }
    assert data["createdAt"].endswith("Z")
    assert data["deletedAt"] is None
    assert data["activeProjects"] == []


def test_whoami_not_logged_in(cli, db_url):
    result = cli("whoami")
    assert result.exit_code == 4
    assert result.stderr == "Error: not logged in (run moviecli login)\n"
    assert result.stdout == ""
