"""moviecli.config: where files live, config.toml, the database URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from moviecli import config
from moviecli.errors import ConfigError, UsageError


def test_home_puts_everything_in_one_directory(home):
    paths = config.paths()
    assert paths.config_file == home / "config.toml"
    assert paths.token_file == home / "token"
    assert paths.default_db_file == home / "moviecli.db"
    assert paths.default_media_store == home / "media"


def test_home_with_a_tilde(monkeypatch):
    monkeypatch.setenv("MOVIECLI_HOME", "~/movies")
    assert config.paths().config_dir == Path("~/movies").expanduser()


def test_without_home_platformdirs_decide(monkeypatch, tmp_path):
    import platformdirs

    monkeypatch.delenv("MOVIECLI_HOME", raising=False)
    monkeypatch.setattr(platformdirs, "user_config_dir", lambda app: str(tmp_path / "cfg" / app))
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda app: str(tmp_path / "data" / app))
    paths = config.paths()
    assert paths.config_file == tmp_path / "cfg" / "moviecli" / "config.toml"
    assert paths.token_file == tmp_path / "cfg" / "moviecli" / "token"
    assert paths.default_db_file == tmp_path / "data" / "moviecli" / "moviecli.db"
    assert paths.default_media_store == tmp_path / "data" / "moviecli" / "media"


def test_ensure_private_dir(tmp_path):
    made = config.ensure_private_dir(tmp_path / "a" / "b")
    assert made.is_dir()
    assert made.stat().st_mode & 0o777 == 0o700


# --- config.toml -----------------------------------------------------------------------------


def test_missing_file_is_empty(home):
    assert config.load_config() == {}
    assert config.get_value("auth.token_days") == 30
    assert config.get_value("chat.model") is None


def test_values_are_parsed_by_their_key(home):
    home.mkdir()
    (home / "config.toml").write_text('[auth]\ntoken_days = "12"\n[chat]\ntimeout = 5\n')
    assert config.get_value("auth.token_days") == 12
    assert config.effective()["chat.timeout"] == 5


def test_set_and_unset_write_the_file(home):
    assert config.set_value("chat.timeout", "15") == 15
    assert config.set_value("media.store", "~/store") == "~/store"
    assert (home / "config.toml").stat().st_mode & 0o777 == 0o600
    assert config.load_config() == {"chat": {"timeout": 15}, "media": {"store": "~/store"}}
    assert config.media_store() == Path("~/store").expanduser()
    assert config.unset_value("media.store") is True
    assert config.unset_value("media.store") is False
    assert config.load_config() == {"chat": {"timeout": 15}}
    assert config.media_store() == home / "media"
    assert not list(home.glob("*.tmp"))


def test_unknown_key_and_bad_value(home):
    with pytest.raises(UsageError) as unknown:
        config.get_value("auth.days")
    assert unknown.value.exit_code == 2
    assert unknown.value.message == "unknown config key 'auth.days'"
    with pytest.raises(UsageError) as bad:
        config.set_value("chat.timeout", "-5")
    assert str(bad.value) == "bad value for chat.timeout: must be at least 1"
    assert not (home / "config.toml").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[auth\n", "Expected ']' at the end of a table declaration (at line 1, column 6)"),
        ("a = 1\na = 2\n", "Cannot overwrite a value (at line 2, column 6)"),
        ("\n\n[chat]\nmodel = \n", "Invalid value (at line 4, column 9)"),
    ],
)
def test_syntax_errors_name_file_and_line(home, text, message):
    home.mkdir()
    path = home / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        config.load_config()
    assert caught.value.exit_code == 6
    assert str(caught.value) == f"invalid config file {path}: {message}"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[auth]\ntoken_days = 7\nlifetime = 2\n", 3),
        ("# comment\nauth.lifetime = 2\n", 2),
        ("[[auth]]\nx = 1\n", None),  # an array of tables: no key line to point at
        ("colour = 'red'\n", 1),
        ("[chat]\n[chat.extra]\nx = 1\n", 3),
    ],
)
def test_unknown_keys_in_the_file(home, text, line):
    home.mkdir()
    path = home / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        config.load_config()
    where = f"{path}, line {line}" if line else str(path)
    assert caught.value.message.startswith(f"invalid config file {where}: unknown key ")
    assert caught.value.hint == "moviecli config show lists the known keys"


# --- the database URL ------------------------------------------------------------------------


def test_database_url_order(home, monkeypatch):
    assert config.database_url() == f"sqlite:///{home / 'moviecli.db'}"
    config.set_value("database.url", "sqlite:////srv/from-config.db")
    assert config.database_url() == "sqlite:////srv/from-config.db"
    monkeypatch.setenv("MOVIECLI_DATABASE_URL", "postgresql+psycopg://db/env")
    assert config.database_url() == "postgresql+psycopg://db/env"
    assert config.database_url("sqlite:////srv/flag.db") == "sqlite:////srv/flag.db"


def test_every_key_has_help_and_a_parseable_default():
    for name, key in config.KEYS.items():
        assert key.name == name
        assert key.help
        if key.default is not None:
            assert key.parse(str(key.default)) == key.default
