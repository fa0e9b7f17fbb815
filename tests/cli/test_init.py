"""moviecli init: schema, reference data, the first admin and their login; idempotent."""

from __future__ import annotations

import os
import stat

import pytest

from tests.conftest import BACKEND, PASSWORD
from tests.future_schema import CURRENT, FUTURE, code_ahead

ADMIN = ("--name", "Ada Admin", "--email", "ada@example.com", "--password-stdin")


def _init(cli, *extra, password=PASSWORD):
    return cli("init", *ADMIN, *extra, input=password + "\n")


def test_first_init_creates_everything_and_logs_the_admin_in(cli, empty_db, home):
    result = _init(cli)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Created the moviecli database in ")
    assert lines[1:] == [
        "Added reference data: 8 workflow steps, 11 media types, 5 templates",
        "Created admin ada@example.com and logged in.",
    ]
    assert result.stderr.startswith("Next: moviecli project create")

    whoami = cli("whoami", "--json")
    assert whoami.exit_code == 0, whoami.stderr
    me = whoami.json()
    assert (me["email"], me["name"], me["role"]) == ("ada@example.com", "Ada Admin", "admin")
    assert me["subscription"] == {
        "tier": "enterprise",
        "maxProjects": 100,
        "maxEpisodesPerProject": 50,
    }
    token = home / "token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_second_init_says_nothing_is_missing(cli, empty_db):
    assert _init(cli).exit_code == 0
    again = cli("init")  # no flags, no terminal: nothing to ask
    assert again.exit_code == 0, again.stderr
    assert again.stdout == (
        "Reference data: nothing missing\n"
        "Admin ada@example.com already exists; nothing else to add.\n"
    )
    users = cli("user", "list", "--json").json()
    assert users["total"] == 1


def test_init_json_reports_what_it_did(cli, empty_db):
    first = cli("init", *ADMIN, "--json", input=PASSWORD + "\n")
    assert first.exit_code == 0, first.stderr
    data = first.json()
    assert data["schemaRevision"] == CURRENT
    assert data["schemaCreated"] is True
    assert data["referenceAdded"] == {"workflow steps": 8, "media types": 11, "templates": 5}
    assert data["adminCreated"] is True
    assert data["admin"]["email"] == "ada@example.com"
    assert data["loggedIn"] is True

    second = cli("init", "--json").json()
    assert second["schemaCreated"] is False
    assert second["referenceAdded"] == {"workflow steps": 0, "media types": 0, "templates": 0}
    assert second["adminCreated"] is False
    assert second["loggedIn"] is False


def test_init_adds_only_missing_reference_data(cli, empty_db, home):
    assert _init(cli).exit_code == 0
    from moviecli.storage.db import database

    with database(empty_db).write() as session:
        session.connection().exec_driver_sql("DELETE FROM media_types WHERE id = 'sound_effect'")
    again = cli("init")
    assert again.exit_code == 0, again.stderr
    assert "Added reference data: 1 media types\n" in again.stdout


def test_init_rerun_with_password_logs_the_admin_in_again(cli, empty_db):
    assert _init(cli).exit_code == 0
    assert cli("logout").stdout == "Logged out.\n"
    again = cli("init", "--password-stdin", input=PASSWORD + "\n")
    assert again.exit_code == 0, again.stderr
    assert again.stdout.endswith("already exists; nothing else to add.\nLogged in.\n")
    assert cli("whoami", "--json").json()["email"] == "ada@example.com"


def test_init_rerun_with_wrong_password_is_refused(cli, empty_db):
    assert _init(cli).exit_code == 0
    again = cli("init", "--password-stdin", input="not-the-password\n")
    assert again.exit_code == 4
    assert again.stderr == "Error: wrong email or password\n"


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        ((), "--name"),
        (("--name", "Ada"), "--email"),
    ],
)
def test_init_without_terminal_or_flags_names_the_missing_flag(cli, empty_db, args, flag):
    result = cli("init", *args)
    assert result.exit_code == 2
    assert result.stderr == f"Error: no value given (pass {flag})\n"
    assert result.stdout == ""


def test_init_without_password_flag_names_it(cli, empty_db):
    result = cli("init", "--name", "Ada", "--email", "ada@example.com")
    assert result.exit_code == 2
    assert result.stderr == "Error: no password given (pass --password-stdin)\n"


def test_init_with_empty_stdin_password(cli, empty_db):
    result = cli("init", *ADMIN, input="\n")
    assert result.exit_code == 2
    assert result.stderr == "Error: no password on stdin\n"


def test_init_reports_every_invalid_admin_field(cli, empty_db):
    result = cli(
        "init", "--name", " ", "--email", "ada@example", "--password-stdin", input="short\n"
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: invalid input\n"
        "  email: 'ada@example' is not a valid email address\n"
        "  name: is required\n"
        "  password: must be at least 10 characters\n"
    )
    # Nobody was created: a corrected run creates the admin.
    fixed = _init(cli)
    assert fixed.exit_code == 0, fixed.stderr
    assert "Created admin ada@example.com and logged in." in fixed.stdout


def test_init_upgrades_an_outdated_schema(cli, empty_db, home, monkeypatch, tmp_path):
    assert _init(cli).exit_code == 0
    code_ahead(monkeypatch, tmp_path)
    assert cli("whoami").exit_code == 6

    result = cli("init")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"Upgraded database schema {CURRENT} → {FUTURE}\n")
    if BACKEND == "sqlite":
        backups = sorted(p.name for p in home.glob(f"moviecli.db.{CURRENT}.*.bak"))
        assert len(backups) == 1
        assert f"Backup of the previous database: {home / backups[0]}\n" in result.stdout
    assert "Admin ada@example.com already exists" in result.stdout
    assert cli("whoami", "--json").json()["email"] == "ada@example.com"


def test_init_quiet_prints_nothing(cli, empty_db):
    result = cli("-q", "init", *ADMIN, input=PASSWORD + "\n")
    assert result.exit_code == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", "")
    assert cli("whoami", "--json").json()["role"] == "admin"


def test_init_in_a_real_process(cli_process, empty_db, home):
    result = cli_process("init", *ADMIN, input=PASSWORD + "\n")
    assert result.exit_code == 0, result.stderr
    assert "Created admin ada@example.com and logged in." in result.stdout
    whoami = cli_process("whoami", "--json")
    assert whoami.exit_code == 0, whoami.stderr
    assert whoami.json()["role"] == "admin"
    assert oct(os.stat(home / "token").st_mode & 0o777) == oct(0o600)


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("          ", "must not be blank"),
        ("ada-123", "must be at least 10 characters"),
        ("ada@example.com", "must not contain the name part of the email address"),
    ],
)
def test_13_9_init_refuses_a_weak_password(cli, empty_db, home, password, rule):
    result = _init(cli, password=password)
    assert result.exit_code == 2
    assert result.stderr == f"Error: invalid input\n  password: {rule}\n"
    assert not (home / "token").exists()


# --- forgiving input (issue 14 item 6) ----------------------------------------------------


def test_14_6_init_on_a_terminal_asks_each_answer_again_until_it_passes(empty_db, cli):
    from tests.ptyhelp import CLEAR, Terminal

    term = Terminal("init", columns=80)
    answer = term.answer
    answer("", "Your name:")
    answer("   \r", "is required")
    answer(CLEAR + "Ada Admin\r", "Your email:")
    answer("ada@example\r", "'ada@example' is not a valid email address")
    answer(CLEAR + "ada@example.com\r", "Choose a password:")
    answer("short\r", "must be at least 10 characters")
    # (the terminal redraws only what changed: the tail of the new rule is what shows whole)
    answer(CLEAR + "ada-is-my-password\r", "of the email address")
    answer(CLEAR + PASSWORD + "\r", "Repeat it:")
    answer("something-else-1\r", "The two passwords differ; try again.")
    answer(PASSWORD + "\r", "Repeat it:")
    answer(PASSWORD + "\r", "Created admin ada@example.com and logged in.")
    answer("", "Create your first project from a template now?")
    # "y" waits for its Enter, which no longer leaks into the template choice: the second
    # template is picked, as the down arrow says.
    answer("y\r", "Start from which template?")
    answer("\x1b[B\r", "Title of the series:")
    answer("Heist\r", "Open the guided chat on it now?")
    answer("n\r", "Next: moviecli chat Heist")
    assert term.finish() == 0
    second = cli("template", "list", "--json").json()["items"][1]["name"]
    assert f"from the {second} template" in term.text
    assert cli("whoami", "--json").json()["email"] == "ada@example.com"


def test_14_6_a_refused_or_interrupted_init_leaves_no_database(cli, empty_db, home, monkeypatch):
    from moviecli.services import reference
    from moviecli.storage.db import database, dispose_all

    def nothing_there() -> bool:
        dispose_all()
        db = database(empty_db)
        return not db.exists() or db.current_revision() is None

    refused = cli(
        "init", "--name", "Ada", "--email", "ada@example", "--password-stdin",
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert refused.exit_code == 2
    assert refused.stderr == (
        "Error: invalid input\n  email: 'ada@example' is not a valid email address\n"
    )
    assert nothing_there()

    def interrupted(session):
        raise KeyboardInterrupt

    monkeypatch.setattr(reference, "seed", interrupted)  # after the schema was made
    result = _init(cli)
    assert result.exit_code == 130
    if BACKEND == "sqlite":
        assert sorted(p.name for p in home.iterdir() if p.name.startswith("moviecli.db")) == []
        assert nothing_there()


def test_14_6_user_create_checks_the_fields_before_asking_a_password(cli, admin, monkeypatch):
    from moviecli.cli import env

    monkeypatch.setattr(env, "stdin_is_terminal", lambda: True)
    asked = []
    import questionary

    monkeypatch.setattr(questionary, "password", lambda *a, **k: asked.append(a) or None)
    result = cli("user", "create", "--email", "bob@example", "--name", "Bob")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: invalid input\n  email: 'bob@example' is not a valid email address\n"
    )
    assert asked == []
