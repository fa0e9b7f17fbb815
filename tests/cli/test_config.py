"""moviecli config show | get | set | unset | path, and a broken config.toml (exit 6)."""

from __future__ import annotations

import stat
import tomllib

import pytest

KNOWN = (
    "auth.token_days, chat.api_key_env, chat.backend, chat.base_url, chat.max_tokens, "
    "chat.model, chat.timeout, database.url, media.group_access, media.store"
)


def test_path(cli, home):
    result = cli("config", "path")
    assert result.exit_code == 0
    assert result.stdout == f"{home / 'config.toml'}\n"


def test_show_defaults_without_a_file(cli, home):
    result = cli("config", "show", "--json")
    assert result.exit_code == 0, result.stderr
    values = {key: s["value"] for key, s in result.json().items()}
    assert values == {
        "database.url": f"sqlite:///{home / 'moviecli.db'}",
        "media.store": str(home / "media"),
        "media.group_access": False,
        "auth.token_days": 30,
        "chat.backend": "builtin",
        "chat.base_url": None,
        "chat.model": None,
        "chat.api_key_env": None,
        "chat.timeout": 60,
        "chat.max_tokens": 600,
    }
    assert {s["source"] for s in result.json().values()} == {"default"}
    assert not (home / "config.toml").exists()

    plain = cli("config", "show").stdout.splitlines()
    assert plain[0] == "key\tvalue\tsource\tdefault\tmeaning"
    assert "auth.token_days\t30\tdefault\t30\tdays a login token stays valid (1 to 3,650)" in plain
    assert len(plain) == 11


def test_set_get_unset_round_trip(cli, home):
    assert cli("config", "get", "chat.model").stdout == "\n"
    result = cli("config", "set", "auth.token_days", "7")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "auth.token_days = 7\n"
    assert cli("config", "set", "chat.backend", "openai").exit_code == 0
    assert cli("config", "set", "chat.base_url", "http://localhost:11434/v1").exit_code == 0

    assert cli("config", "get", "auth.token_days").stdout == "7\n"
    assert cli("config", "get", "auth.token_days", "--json").json() == 7
    assert cli("config", "get", "chat.backend", "--json").json() == "openai"

    path = home / "config.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tomllib.loads(path.read_text()) == {
        "auth": {"token_days": 7},
        "chat": {"backend": "openai", "base_url": "http://localhost:11434/v1"},
    }

    removed = cli("config", "unset", "auth.token_days")
    assert (removed.exit_code, removed.stdout) == (0, "Removed auth.token_days\n")
    again = cli("config", "unset", "auth.token_days")
    assert (again.exit_code, again.stdout) == (0, "auth.token_days was not set\n")
    assert cli("config", "get", "auth.token_days").stdout == "30\n"
    assert tomllib.loads(path.read_text()) == {
        "chat": {"backend": "openai", "base_url": "http://localhost:11434/v1"}
    }


def test_set_keeps_other_keys_and_quiet(cli, home):
    (home).mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('[chat]\nmodel = "llama3"\n')
    result = cli("-q", "config", "set", "chat.timeout", "90")
    assert (result.exit_code, result.stdout) == (0, "")
    assert tomllib.loads((home / "config.toml").read_text()) == {
        "chat": {"model": "llama3", "timeout": 90}
    }


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("auth.token_days", "0", "must be at least 1"),
        ("auth.token_days", "soon", "must be a whole number"),
        ("chat.backend", "gpt", "must be one of: builtin, openai"),
        ("chat.base_url", "ftp://example.com", "must be an http:// or https:// URL"),
        ("database.url", "mysql://db", "must be a sqlite:/// or postgresql+psycopg:// URL"),
        ("media.store", "  ", "must not be empty"),
    ],
)
def test_bad_value_is_refused_and_nothing_written(cli, home, key, value, problem):
    result = cli("config", "set", key, value)
    assert result.exit_code == 2
    assert result.stderr == f"Error: bad value for {key}: {problem}\n"
    assert not (home / "config.toml").exists()


@pytest.mark.parametrize("command", [("get",), ("set", "1"), ("unset",)])
def test_unknown_key(cli, home, command):
    verb, *rest = command
    result = cli("config", verb, "chat.colour", *rest)
    assert result.exit_code == 2
    assert result.stderr == f"Error: unknown config key 'chat.colour' (known keys: {KNOWN})\n"


def test_bad_value_json_error(cli, home):
    result = cli("config", "get", "nope", "--json")
    assert result.exit_code == 2
    assert result.json()["error"]["code"] == "usage"


# --- a broken config.toml --------------------------------------------------------------------


def _write_config(home, text):
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "args", [("config", "show"), ("config", "get", "chat.model"), ("whoami",), ("user", "list")]
)
def test_invalid_toml_names_the_file_and_line(cli, home, args):
    path = _write_config(home, '[auth]\ntoken_days = 7\n[chat\nbackend = "builtin"\n')
    result = cli(*args)
    assert result.exit_code == 6
    assert result.stderr == (
        f"Error: invalid config file {path}: Expected ']' at the end of a table declaration "
        "(at line 3, column 6)\n"
    )
    assert result.stdout == ""


def test_unknown_key_in_the_file_names_the_line(cli, home):
    path = _write_config(home, "# settings\n[auth]\ntoken_days = 7\ntoken_dayz = 8\n")
    result = cli("config", "show")
    assert result.exit_code == 6
    assert result.stderr == (
        f"Error: invalid config file {path}, line 4: unknown key 'auth.token_dayz' "
        "(moviecli config show lists the known keys)\n"
    )


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (
            "[chat]\nmodel = 'x'\nbackend = 'gpt'\n",
            3,
            "chat.backend must be one of: builtin, openai",
        ),
        ("auth.token_days = 0\n", 1, "auth.token_days must be at least 1"),
        ("auth = { token_days = -2 }\n", 1, "auth.token_days must be at least 1"),
        ('\n["database"]\n"url" = "mysql://x"\n', 3, "database.url must be a sqlite:/// or "),
    ],
)
def test_bad_value_in_the_file_names_the_line(cli, home, text, line, problem):
    path = _write_config(home, text)
    result = cli("whoami")
    assert result.exit_code == 6
    assert result.stderr.startswith(f"Error: invalid config file {path}, line {line}: {problem}")


def test_unreadable_config_file(cli, home):
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").mkdir()  # a directory cannot be read as a file
    result = cli("config", "show")
    assert result.exit_code == 6
    assert result.stderr.startswith(f"Error: cannot read config file {home / 'config.toml'}: ")


def test_config_that_is_not_utf8(cli, home):
    path = _write_config(home, "")
    path.write_bytes(b"\xff\xfe[auth]\n")
    result = cli("config", "show")
    assert result.exit_code == 6
    assert result.stderr.startswith(f"Error: cannot read config file {path}: ")


def test_broken_config_does_not_break_help_or_path(cli, home):
    path = _write_config(home, "[[[")
    assert cli("config", "path").stdout == f"{path}\n"
    help_ = cli("--help")
    assert help_.exit_code == 0
    assert "Usage: moviecli" in help_.stdout


def test_broken_config_in_a_real_process_shows_no_traceback(cli_process, home):
    _write_config(home, "[auth\n")
    result = cli_process("whoami")
    assert result.exit_code == 6
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1


# --- the database URL: --db, then MOVIECLI_DATABASE_URL, then database.url -----------------


def _db_in_use(cli, *global_opts):
    result = cli(*global_opts, "db", "current", "--json")
    assert result.exit_code == 0, result.stderr
    return result.json()["database"]


def test_database_url_precedence(cli, home, tmp_path, monkeypatch):
    assert _db_in_use(cli) == str(home / "moviecli.db")

    from_config = tmp_path / "config.db"
    assert cli("config", "set", "database.url", f"sqlite:///{from_config}").exit_code == 0
    assert _db_in_use(cli) == str(from_config)

    from_env = tmp_path / "env.db"
    monkeypatch.setenv("MOVIECLI_DATABASE_URL", f"sqlite:///{from_env}")
    assert _db_in_use(cli) == str(from_env)

    from_flag = tmp_path / "flag.db"
    assert _db_in_use(cli, "--db", f"sqlite:///{from_flag}") == str(from_flag)
