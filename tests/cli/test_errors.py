"""The one error form of SPEC section 1: ``Error: <what> (<hint>)`` on stderr, one indented
line per invalid field, the exit code, and ``{"error": …}`` on stdout with --json.
"""

from __future__ import annotations

import pytest

import moviecli

# --- typer's own usage errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bogus",), "No such command 'bogus' (see 'moviecli --help')"),
        (
            ("user", "lst"),
            "No such command 'lst'. Did you mean 'list'? (see 'moviecli user --help')",
        ),
        (("user", "list", "--bogus"), "No such option: --bogus (see 'moviecli user list --help')"),
        (
            ("user", "prefs", "get"),
            "Missing argument 'KEY' (see 'moviecli user prefs get --help')",
        ),
        (("--db",), "Option '--db' requires an argument (see 'moviecli --help')"),
    ],
)
def test_usage_errors_are_one_line(cli, home, args, message):
    result = cli(*args)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {message}\n"
    assert result.stdout == ""


def test_usage_error_with_json_prints_the_error_object(cli, home):
    result = cli("user", "list", "--bogus", "--json")
    assert result.exit_code == 2
    error = result.json()["error"]
    assert error["code"] == "usage"
    assert error["message"].startswith("No such option: --bogus")
    assert error["details"] == {}
    assert result.stderr.startswith("Error: No such option: --bogus")


def test_a_number_that_is_not_one_with_json(cli, home):
    result = cli("user", "list", "--limit", "many", "--json")
    assert result.exit_code == 2
    error = result.json()["error"]
    assert error == {
        "code": "validation",
        "message": "invalid input",
        "details": {"limit": "must be a whole number"},
    }
    assert result.stderr == "Error: invalid input\n  limit: must be a whole number\n"


def test_unknown_command_in_a_real_process(cli_process):
    result = cli_process("frobnicate")
    assert result.exit_code == 2
    assert result.stderr == "Error: No such command 'frobnicate' (see 'moviecli --help')\n"


@pytest.mark.parametrize(
    ("args", "usage", "command"),
    [((), "moviecli", "whoami"), (("user",), "moviecli user", "list")],
)
def test_a_group_without_a_command_shows_its_help(cli, home, args, usage, command):
    result = cli(*args)
    assert result.exit_code == 2
    text = result.stdout + result.stderr
    assert not text.startswith("Error:")
    assert f"Usage: {usage} [OPTIONS] COMMAND [ARGS]..." in text
    assert "Commands:" in text
    assert f"  {command} " in text


def test_help_and_version(cli, home):
    help_ = cli("--help")
    assert help_.exit_code == 0
    assert help_.stdout.startswith("Usage: moviecli [OPTIONS] COMMAND [ARGS]...")
    for command in ("init", "login", "logout", "whoami", "user", "config", "db"):
        assert f"  {command} " in help_.stdout
    version = cli("--version")
    assert (version.exit_code, version.stdout) == (0, f"moviecli {moviecli.__version__}\n")


# --- pagination options ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "lines"),
    [
        (("--limit", "500"), ["  limit: must be between 1 and 200"]),
        (("--limit", "201"), ["  limit: must be between 1 and 200"]),
        (("--limit", "0"), ["  limit: must be between 1 and 200"]),
        (("--page", "0"), ["  page: must be 1 or more"]),
        (
            ("--page", "-1", "--limit", "500"),
            ["  page: must be 1 or more", "  limit: must be between 1 and 200"],
        ),
    ],
)
def test_page_and_limit_are_checked(cli, admin, args, lines):
    result = cli("user", "list", *args)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["Error: invalid input", *lines]
    assert result.stdout == ""


def test_limit_200_is_allowed(cli, admin):
    result = cli("user", "list", "--limit", "200", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["limit"] == 200


def test_limit_error_as_json(cli, admin):
    result = cli("user", "list", "--limit", "500", "--json")
    assert result.exit_code == 2
    assert result.json() == {
        "error": {
            "code": "validation",
            "message": "invalid input",
            "details": {"limit": "must be between 1 and 200"},
        }
    }
    assert result.stderr == "Error: invalid input\n  limit: must be between 1 and 200\n"


# --- domain errors, each with its code --------------------------------------------------------


def test_json_error_objects_carry_the_kind_of_error(cli, admin, make_user):
    make_user("bob@example.com")
    cases = [
        (("user", "show", "ghost@example.com", "--json"), 3, "not_found"),
        (("user", "delete", "admin@example.com", "--yes", "--json"), 5, "conflict"),
        (("user", "update", "--role", "king", "--json"), 2, "validation"),
        (("config", "get", "no.such", "--json"), 2, "usage"),
    ]
    for args, code, kind in cases:
        result = cli(*args)
        assert result.exit_code == code, args
        error = result.json()["error"]
        assert error["code"] == kind, args
        assert result.stderr == f"Error: {error['message']}\n" + "".join(
            f"  {field}: {problem}\n" for field, problem in error["details"].items()
        )


def test_permission_denied_json(cli, make_user, login_as):
    login_as(make_user("bob@example.com"))
    result = cli("user", "create", "--email", "x@example.com", "--name", "X", "--json")
    assert result.exit_code == 4
    assert result.json() == {
        "error": {
            "code": "permission_denied",
            "message": "only an admin can create users",
            "details": {},
        }
    }


def test_not_logged_in_json(cli, db_url):
    result = cli("user", "list", "--json")
    assert result.exit_code == 4
    assert result.json() == {
        "error": {
            "code": "not_logged_in",
            "message": "not logged in (run moviecli login)",
            "details": {},
        }
    }
    assert result.stderr == "Error: not logged in (run moviecli login)\n"


def test_errors_without_json_print_nothing_on_stdout(cli, db_url):
    result = cli("user", "list")
    assert result.exit_code == 4
    assert result.stdout == ""


# --- the unexpected ------------------------------------------------------------------------------


def test_an_unexpected_error_is_one_line_without_traceback(cli, admin, monkeypatch):
    from moviecli.services import users

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(users, "list_users", broken)
    result = cli("user", "list", "--json")
    assert result.exit_code == 1
    message = (
        "unexpected error: RuntimeError: disk on fire (set MOVIECLI_DEBUG=1 to see the traceback)"
    )
    assert result.stderr == f"Error: {message}\n"
    assert result.json()["error"] == {"code": "unexpected", "message": message, "details": {}}


def test_debug_lets_the_traceback_through(cli, admin, monkeypatch):
    from moviecli.services import users

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(users, "list_users", broken)
    monkeypatch.setenv("MOVIECLI_DEBUG", "1")
    with pytest.raises(RuntimeError, match="disk on fire"):
        cli("user", "list")


def test_interrupt_exits_130(cli, admin, monkeypatch):
    from moviecli.services import users

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(users, "list_users", interrupted)
    result = cli("user", "list")
    assert result.exit_code == 130
    assert result.stderr == "\nError: interrupted\n"
    assert result.stdout == ""
    as_json = cli("user", "list", "--json")
    assert as_json.exit_code == 130
    assert as_json.json() == {
        "error": {"code": "interrupted", "message": "interrupted", "details": {}}
    }
