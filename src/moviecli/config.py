"""Where moviecli keeps its files, and config.toml.

With ``MOVIECLI_HOME=DIR`` everything lives flat in DIR (config.toml, moviecli.db,
token, media/). Without it, config and the token live in platformdirs'
``user_config_dir("moviecli")`` and the database and media store in
``user_data_dir("moviecli")``.

Only stdlib and platformdirs here: this module is imported by every command, ``--help``
included.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moviecli.errors import ConfigError, UsageError

HOME_ENV = "MOVIECLI_HOME"
DATABASE_URL_ENV = "MOVIECLI_DATABASE_URL"
TOKEN_ENV = "MOVIECLI_TOKEN"
MAX_TOKEN_DAYS = 3650  # ten years


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path
    # What can be made again from the data (thumbnails): safe to delete at any time.
    cache_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def token_file(self) -> Path:
        return self.config_dir / "token"

    @property
    def default_db_file(self) -> Path:
        return self.data_dir / "moviecli.db"

    @property
    def default_media_store(self) -> Path:
        return self.data_dir / "media"


def paths() -> Paths:
    home = os.environ.get(HOME_ENV)
    if home:
        base = Path(home).expanduser()
        return Paths(config_dir=base, data_dir=base, cache_dir=base / "cache")
    import platformdirs

    return Paths(
        config_dir=Path(platformdirs.user_config_dir("moviecli")),
        data_dir=Path(platformdirs.user_data_dir("moviecli")),
        cache_dir=Path(platformdirs.user_cache_dir("moviecli")),
    )


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (mode 0700) if missing; the token and database live there."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


# --- config.toml -----------------------------------------------------------------------


def _nonempty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _db_url(value: str) -> str:
    if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
        raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
    return value


def _choice(*allowed: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of: {', '.join(allowed)}")
        return value

    return check


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError("must be a whole number") from None
    if number < 1:
        raise ValueError("must be at least 1")
    return number


def _int_between(low: int, high: int) -> Callable[[str], int]:
    """A whole number in [low, high]: a config value past it would break what uses it
    (a token lifetime of 10**12 days is no date at all)."""

    def check(value: str) -> int:
        number = _positive_int(value)
        if not low <= number <= high:
            raise ValueError(f"must be between {low:,} and {high:,}")
        return number

    return check


def _absolute_path(value: str) -> str:
    """A directory named the same from wherever a command runs (a relative store would
    follow the working directory: records everywhere, their files in one place only)."""
    if not Path(_nonempty(value)).expanduser().is_absolute():
        raise ValueError("must be an absolute path (or start with ~)")
    return value


def _bool(value: str) -> bool:
    folded = value.strip().lower()
    if folded in ("true", "yes", "on", "1"):
        return True
    if folded in ("false", "no", "off", "0"):
        return False
    raise ValueError("must be true or false")


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


@dataclass(frozen=True)
class Key:
    name: str
    help: str
    parse: Callable[[str], Any]
    default: Any = None
    env: str | None = None  # an environment variable that overrides config.toml


# Every key config.toml may hold. ``config set`` refuses the rest.
KEYS: dict[str, Key] = {
    k.name: k
    for k in [
        Key(
            "database.url",
            "database URL (sqlite:///PATH or postgresql+psycopg://…)",
            _db_url,
            env=DATABASE_URL_ENV,
        ),
        Key("media.store", "directory of the content-addressed media store", _absolute_path),
        Key(
            "media.group_access",
            "true: the store's group may read and change it (a team's shared store)",
            _bool,
            False,
        ),
        Key(
            "auth.token_days",
            "days a login token stays valid (1 to 3,650)",
            _int_between(1, MAX_TOKEN_DAYS),
            30,
        ),
        Key(
            "chat.backend",
            "reply writer: builtin or openai",
            _choice("builtin", "openai"),
            "builtin",
        ),
        Key(
            "chat.base_url",
            "OpenAI-compatible endpoint, e.g. http://localhost:11434/v1",
            _http_url,
        ),
        Key("chat.model", "model name for the openai backend", _nonempty),
        Key("chat.api_key_env", "name of the env var holding the API key", _nonempty),
        Key(
            "chat.timeout",
            "seconds the openai backend waits for the server (to connect, for the first "
            "piece of the answer, between two pieces; at most a day)",
            _int_between(1, 86_400),
            60,
        ),
        Key(
            "chat.max_tokens",
            "most tokens the model may write in one answer (openai backend; at most 1,000,000)",
            _int_between(1, 1_000_000),
            600,
        ),
    ]
}


def load_config(path: Path | None = None) -> dict[str, Any]:
    """Read config.toml (missing file → empty). Unreadable or invalid → exit 6 with the line."""
    path = path or paths().config_file
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid config file {path}: {exc}") from exc
    except ValueError as exc:  # tomllib reads integers with int(): at most 4,300 digits
        raise ConfigError(f"invalid config file {path}: a number has over 4,300 digits") from exc
    for dotted, value in _flatten(data):
        key = KEYS.get(dotted)
        where = _where(path, text, dotted)
        if key is None:
            raise ConfigError(
                f"invalid config file {where}: unknown key {dotted!r}",
                hint="moviecli config show lists the known keys",
            )
        try:
            key.parse(str(value))
        except ValueError as exc:
            raise ConfigError(f"invalid config file {where}: {dotted} {exc}") from exc
    return data


_TABLE = re.compile(r"^\[+([^\]]*)\]+")


def _where(path: Path, text: str, dotted: str) -> str:
    """``path, line N`` for the line that sets ``dotted`` (best effort: just ``path``)."""
    table: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = _TABLE.match(stripped)
        if header:
            table = _key_parts(header.group(1))
            continue
        name, sep, _ = stripped.partition("=")
        if not sep or stripped.startswith("#"):
            continue
        full = ".".join([*table, *_key_parts(name)])
        if dotted == full or dotted.startswith(full + "."):  # inline tables too
            return f"{path}, line {number}"
    return str(path)


def _key_parts(key: str) -> list[str]:
    return [part.strip().strip("\"'") for part in key.split(".") if part.strip()]


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for name, value in data.items():
        dotted = f"{prefix}{name}"
        if isinstance(value, dict):
            items.extend(_flatten(value, dotted + "."))
        else:
            items.append((dotted, value))
    return items


def get_value(key: str, data: dict[str, Any] | None = None) -> Any:
    """The value of a dotted key from config.toml, or the key's default."""
    spec = _known(key)
    node: Any = load_config() if data is None else data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return spec.default
        node = node[part]
    return spec.parse(str(node))


def _known(key: str) -> Key:
    spec = KEYS.get(key)
    if spec is None:
        from moviecli import suggest

        known = "known keys: " + ", ".join(sorted(KEYS))
        guess = suggest.did_you_mean(key, KEYS)
        raise UsageError(
            f"unknown config key {key!r}", hint=f"{guess} {known}" if guess else known
        )
    return spec


def set_value(key: str, raw: str) -> Any:
    spec = _known(key)
    try:
        value = spec.parse(raw)
    except ValueError as exc:
        raise UsageError(f"bad value for {key}: {exc}") from exc
    data = load_config()
    section, _, name = key.rpartition(".")
    data.setdefault(section, {})[name] = value
    _write(data)
    return value


def unset_value(key: str) -> bool:
    _known(key)
    data = load_config()
    section, _, name = key.rpartition(".")
    table = data.get(section, {})
    if name not in table:
        return False
    del table[name]
    if not table:
        data.pop(section, None)
    _write(data)
    return True


def effective() -> dict[str, Any]:
    """Every known key with its effective value (config.toml or default)."""
    data = load_config()
    return {name: get_value(name, data) for name in KEYS}


@dataclass(frozen=True)
class Setting:
    """A key's effective value, its default, and where the value came from: ``default``,
    ``file`` (config.toml), ``environment`` (the key's env variable) or ``option``
    (``--db``)."""

    key: str
    value: Any
    default: Any
    source: str
    env: str | None
    meaning: str


def default_of(key: str) -> Any:
    """What a key is when nothing sets it (the paths of this machine for the database and
    the media store)."""
    if key == "database.url":
        return f"sqlite:///{paths().default_db_file}"
    if key == "media.store":
        return str(paths().default_media_store)
    return _known(key).default


def settings(db_option: str | None = None) -> list[Setting]:
    """Every known key, in the order of KEYS, with its value and its source: ``--db``
    (``db_option``), then the environment, then config.toml, then the default — the order
    every command reads them in."""
    data = load_config()
    result = []
    for name, spec in KEYS.items():
        default = default_of(name)
        in_file = _lookup(data, name)
        env_value = os.environ.get(spec.env) if spec.env else None
        if name == "database.url" and db_option:
            value, source = db_option, "option"
        elif env_value:
            value, source = env_value, "environment"
        elif in_file is not _MISSING:
            value, source = spec.parse(str(in_file)), "file"
        else:
            value, source = default, "default"
        result.append(Setting(name, value, default, source, spec.env, spec.help))
    return result


_MISSING = object()


def _lookup(data: dict[str, Any], key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _write(data: dict[str, Any]) -> None:
    import tomli_w

    path = paths().config_file
    ensure_private_dir(path.parent)
    tmp = path.with_suffix(".toml.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        tomli_w.dump(data, out)
    os.replace(tmp, path)


def database_url(override: str | None = None) -> str:
    """``--db``, then MOVIECLI_DATABASE_URL, then database.url, then the default file.

    config.toml is read (and checked) even when it is not the one that names the database:
    an invalid config file stops every command that opens the database (exit 6).
    """
    data = load_config()
    if override:
        return override
    env = os.environ.get(DATABASE_URL_ENV)
    if env:
        return env
    configured = get_value("database.url", data)
    if configured:
        return str(configured)
    return f"sqlite:///{paths().default_db_file}"


def media_store() -> Path:
    configured = get_value("media.store")
    return Path(configured).expanduser() if configured else paths().default_media_store
