"""Input that used to crash (issue 13 item 10): each case gives its documented exit code
and one line on stderr, and changes nothing in the database (a content digest before and
after), on SQLite and PostgreSQL.

Arguments that are not UTF-8 reach moviecli as Linux hands them over: bytes in argv of a
real process (``subprocess`` with bytes arguments).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Result
from tests.dbdigest import digest

NOT_UTF8 = (
    "is not valid UTF-8 text (pass text in UTF-8; a file whose name is not can still be added)"
)


def run_bytes(*argv: bytes, input: bytes = b"") -> Result:
    """moviecli in a real process with ``argv`` as bytes, as a shell passes them."""
    proc = subprocess.run(
        [sys.executable.encode(), b"-m", b"moviecli", *argv],
        input=input,
        capture_output=True,
        timeout=60,
        env={**os.environ, "LC_ALL": "C.UTF-8"},
    )
    return Result(
        proc.returncode,
        proc.stdout.decode("utf-8", "backslashreplace"),
        proc.stderr.decode("utf-8", "backslashreplace"),
    )


# --- arguments and stdin that are not UTF-8 ------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "stdin", "line"),
    [
        ([b"media", b"search", b"\xff\xfe neon"], b"", f"Error: QUERY {NOT_UTF8}"),
        ([b"project", b"create", b"Caf\xe9", b"--genre", b"drama", b"--episodes", b"2"], b"",
         f"Error: TITLE {NOT_UTF8}"),
        ([b"project", b"update", b"Film", b"--description", b"\xc3"], b"",
         f"Error: --description {NOT_UTF8}"),
        ([b"user", b"create", b"--email", b"b\xffb@example.com", b"--name", b"Bob",
          b"--password-stdin"], b"a long enough password\n", f"Error: --email {NOT_UTF8}"),
        ([b"login", b"\xff@example.com", b"--password-stdin"], b"a long enough password\n",
         f"Error: EMAIL {NOT_UTF8}"),
        ([b"user", b"prefs", b"set", b"theme", b"\xff"], b"", f"Error: VALUE {NOT_UTF8}"),
        ([b"story", b"set", b"Film", b"--concept", b"\xfe"], b"", f"Error: --concept {NOT_UTF8}"),
        ([b"chat", b"Film", b"-m", b"heist \xff"], b"", f"Error: --message {NOT_UTF8}"),
        ([b"media", b"list", b"Film", b"--tag", b"ok", b"--tag", b"\xff"], b"",
         f"Error: --tag {NOT_UTF8}"),
        ([b"session", b"search", b"\xff"], b"", f"Error: TEXT {NOT_UTF8}"),
        ([b"config", b"set", b"chat.model", b"\xff"], b"", f"Error: VALUE {NOT_UTF8}"),
        ([b"--db", b"sqlite:////tmp/\xff.db", b"project", b"list"], b"",
         f"Error: --db {NOT_UTF8}"),
        ([b"login", b"admin@example.com", b"--password-stdin"], b"pass\xffword123\n",
         "Error: the password on stdin is not valid UTF-8 text"),
        ([b"chat", b"Film", b"-m", b"-"], b"A heist \xff on the moon",
         "Error: the message on stdin is not valid UTF-8 text"),
    ],
    ids=["media-search", "title", "description", "email", "login", "prefs", "story", "chat-m",
         "tag", "session-search", "config", "db-url", "password-stdin", "chat-stdin"],
)  # fmt: skip
def test_13_10_non_utf8_argument(
    film: dict[str, Any], database: Any, home: Path, argv: list[bytes], stdin: bytes, line: str
) -> None:
    before = digest(database)
    result = run_bytes(*argv, input=stdin)
    assert (result.exit_code, result.stderr.splitlines()) == (2, [line])
    assert "Traceback" not in result.stdout
    assert digest(database) == before
    assert not (home / "config.toml").exists()


def test_13_10_non_utf8_line_of_a_piped_chat(film: dict[str, Any], database: Any) -> None:
    """Line mode refuses the line (one Error line), stores nothing of it, and goes on."""
    result = run_bytes(b"chat", b"Film", input=b"a heist \xff\xfe on the moon\n/quit\n")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == ["Error: the message is not valid UTF-8 text"]
    from sqlmodel import select

    from moviecli.models import Message

    with database.session() as session:
        assert session.exec(select(Message).where(Message.role == "user")).all() == []


def test_13_10_a_file_named_in_bytes_that_are_not_utf8_is_still_added(
    film: dict[str, Any], tmp_path: Path
) -> None:
    from tests import media_factory as mf

    image = mf.png(tmp_path / "x.png", seed=3)
    odd = os.fsencode(tmp_path) + b"/still-\xff.png"
    os.rename(image, odd)
    result = run_bytes(b"media", b"add", b"Film", odd, b"--type", b"concept_art", b"--json")
    assert result.exit_code == 0, result.stderr


# --- numbers past 64 bits -----------------------------------------------------------------------


def _number_options() -> list[tuple[str, str]]:
    """Every option of the tree that takes a number (int or float), as (command, option)."""
    from tests import clitree

    found = []
    for path, command in clitree.walk(clitree.root()):
        for param in command.params:
            if param.type_descriptor.annotation in (int, float):
                found.append((" ".join(path), param.opts[-1]))
    return found


NUMBER_OPTIONS = _number_options()


@pytest.fixture
def world(cli: Callable[..., Any], film: dict[str, Any], tmp_path: Path) -> dict[str, list[str]]:
    """Each command's other arguments: a project, a media record, a chat session."""
    from tests import media_factory as mf

    image = mf.png(tmp_path / "still.png", seed=5)
    added = cli("media", "add", "Film", str(image), "--type", "concept_art", "--json")
    assert added.exit_code == 0, added.stderr
    media_id = added.json()[0]["id"]
    turn = cli("chat", "Film", "-m", "A heist on the moon", "--json")
    assert turn.exit_code == 0, turn.stderr
    return {
        "project create": ["Big", "--genre", "drama", "--episodes", "2"],
        "project update": ["Film"],
        "project collab list": ["Film"],
        "story history": ["Film"],
        "media add": ["Film", str(tmp_path / "still.png"), "--type", "concept_art"],
        "media list": ["Film"],
        "media history": [media_id],
        "media update": [media_id],
        "media search": ["heist"],
        "session show": [turn.json()["sessionId"]],
        "session search": ["heist"],
    }


def test_the_number_options_are_known() -> None:
    """A new number option gets its cases below (the list is walked from the tree)."""
    assert len(NUMBER_OPTIONS) >= 25
    assert ("media list", "--episode") in NUMBER_OPTIONS


@pytest.mark.parametrize(("command", "option"), NUMBER_OPTIONS)
def test_13_10_integer_beyond_64_bits(
    cli: Callable[..., Any],
    world: dict[str, list[str]],
    database: Any,
    command: str,
    option: str,
) -> None:
    base = list(world.get(command, []))
    if option in base:  # the option under test replaces the base's value
        at = base.index(option)
        del base[at : at + 2]
    before = digest(database)
    for value in (str(2**63), str(-(2**63) - 1), "1" + "0" * 400):
        result = cli(*command.split(), *base, option, value)
        assert result.exit_code == 2, (value, result.exit_code, result.stderr)
        lines = result.stderr.splitlines()
        assert lines[0].startswith("Error: ") and "Traceback" not in result.stderr
        assert all(line.startswith("  ") for line in lines[1:]), lines
    assert digest(database) == before


def test_13_10_media_list_episode_past_64_bits(
    cli: Callable[..., Any], world: dict[str, list[str]]
) -> None:
    """The case that crashed (OverflowError in the SQLite driver), with its exact lines."""
    result = cli("media", "list", "Film", "--episode", "9223372036854775808")
    assert (result.exit_code, result.stderr.splitlines()) == (
        2,
        ["Error: invalid input", "  episode: must be between 1 and 50"],
    )
    timestamp = cli("media", "update", world["media history"][0], "--timestamp", "1e308")
    assert timestamp.stderr.splitlines()[1:] == [
        "  relatedElements.timestamp: must be 0 or more seconds, under 1,000,000,000"
    ]


# --- preferences --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("[" * 100_000 + "]" * 100_000, "must be at most 64 KiB (attach long texts as files)"),
        ('{"a":' * 10_000 + "1" + "}" * 10_000, "must be nested at most 32 deep"),
        ("[" * 33 + "]" * 33, "must be nested at most 32 deep"),
        ("NaN", "NaN is not a JSON number (quote it for text)"),
        ("Infinity", "Infinity is not a JSON number (quote it for text)"),
        ('{"speed": [1, -Infinity]}', "-Infinity is not a JSON number (quote it for text)"),
        ('{"speed": 1e400}', "holds a number too large to store (over 1.8e308)"),
        ("x" * (64 * 1024 + 1), "must be at most 64 KiB (attach long texts as files)"),
    ],
    ids=["100k-deep", "10k-deep-objects", "33-deep", "nan", "inf", "neg-inf", "1e400", "64k"],
)
def test_13_10_preferences_nested_or_not_finite(
    cli: Callable[..., Any], admin: Any, database: Any, value: str, problem: str
) -> None:
    before = digest(database)
    result = cli("user", "prefs", "set", "look", value)
    assert (result.exit_code, result.stderr.splitlines()) == (
        2,
        ["Error: invalid input", f"  look: {problem}"],
    )
    assert digest(database) == before
    assert cli("user", "prefs", "get", "look").exit_code == 3


def test_preferences_within_the_bounds_are_kept(cli: Callable[..., Any], admin: Any) -> None:
    deep = "[" * 32 + "]" * 32
    assert cli("user", "prefs", "set", "deep", deep).exit_code == 0
    assert cli("user", "prefs", "set", "word", '"NaN"').exit_code == 0
    assert cli("user", "prefs", "set", "brackets", "[[[ not json").exit_code == 0
    shown = cli("user", "prefs", "--json").json()
    assert shown["word"] == "NaN" and shown["brackets"] == "[[[ not json"
    assert len(json.dumps(shown["deep"])) == 64


# --- the token file -----------------------------------------------------------------------------


def _not_utf8(path: Path) -> None:
    path.write_bytes(b"\xff\xfe token \x00")
    path.chmod(0o600)


def _fifo(path: Path) -> None:
    os.mkfifo(path, 0o600)


def _directory(path: Path) -> None:
    path.mkdir(mode=0o700)


def _link_to_directory(path: Path) -> None:
    target = path.parent / "elsewhere"
    target.mkdir(mode=0o700)
    path.symlink_to(target)


def _huge(path: Path) -> None:
    path.write_bytes(b"A" * 5_000_000)
    path.chmod(0o600)


@pytest.mark.parametrize(
    ("make", "what"),
    [
        (_not_utf8, "does not hold a moviecli token"),
        (_fifo, "is not a regular file"),
        (_directory, "is a directory"),
        (_link_to_directory, "is a directory"),
        (_huge, "does not hold a moviecli token"),
    ],
    ids=["not-utf8", "fifo", "directory", "link-to-directory", "5-mb"],
)
def test_13_10_token_file(
    cli_process: Callable[..., Result],
    admin: Any,
    database: Any,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    make: Callable[[Path], None],
    what: str,
) -> None:
    """whoami used to hang on a FIFO and crash on the others; now exit 4 at once, one line
    saying how to fix it; logout removes what is not a directory."""
    monkeypatch.delenv("MOVIECLI_TOKEN")
    home.mkdir(mode=0o700, parents=True, exist_ok=True)  # on PostgreSQL it holds nothing yet
    path = home / "token"
    make(path)
    before = digest(database)
    result = cli_process("whoami", timeout=20)
    assert (result.exit_code, result.stderr.splitlines()) == (
        4,
        [f"Error: not logged in: the token file {path} {what} (remove it and run moviecli login)"],
    )
    assert cli_process("project", "list", timeout=20).exit_code == 4
    assert digest(database) == before
    logout = cli_process("logout", timeout=20)
    if make is _directory:
        assert logout.stderr.splitlines() == [
            f"Error: the token file {path} is a directory (remove it, then log in)"
        ]
        assert logout.exit_code == 6 and path.is_dir()
    else:
        assert logout.exit_code == 0, logout.stderr
        assert not path.exists() and not path.is_symlink()


def test_13_10_login_over_a_token_directory_makes_no_login(
    cli_process: Callable[..., Result], admin: Any, database: Any, home: Path
) -> None:
    from sqlmodel import func, select

    from moviecli.models import LoginToken

    (home / "token").mkdir(mode=0o700, parents=True)
    with database.session() as session:
        tokens = session.exec(select(func.count()).select_from(LoginToken)).one()
    result = cli_process("login", admin.email, "--password-stdin", input=admin.password + "\n")
    assert (result.exit_code, result.stderr.splitlines()) == (
        6,
        [f"Error: the token file {home / 'token'} is a directory (remove it, then log in)"],
    )
    with database.session() as session:
        assert session.exec(select(func.count()).select_from(LoginToken)).one() == tokens


# --- auth.token_days ----------------------------------------------------------------------------


@pytest.mark.parametrize("days", ["0", "3651", "1000000000000", "9" * 5000, "-5", "1.5"])
def test_13_10_token_days_out_of_range(
    cli: Callable[..., Any],
    cli_process: Callable[..., Result],
    admin: Any,
    database: Any,
    home: Path,
    days: str,
) -> None:
    from sqlmodel import func, select

    from moviecli.models import LoginToken

    result = cli("config", "set", "--", "auth.token_days", days)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0].startswith("Error: bad value for auth.token_days: must ")
    assert not (home / "config.toml").exists()
    # a hand-edited config: a config error naming the key and its line, never a broken login
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    (home / "config.toml").write_text(f"[auth]\ntoken_days = {days}\n")
    with database.session() as session:
        tokens = session.exec(select(func.count()).select_from(LoginToken)).one()
    login = cli_process("login", admin.email, "--password-stdin", input=admin.password + "\n")
    assert login.exit_code == 6
    [line] = login.stderr.splitlines()
    if len(days) > 4300:  # past what TOML's reader takes
        assert (
            line
            == f"Error: invalid config file {home / 'config.toml'}: a number has over 4,300 digits"
        )
    else:
        assert line.startswith(f"Error: invalid config file {home / 'config.toml'}, line 2: ")
        assert "auth.token_days must be" in line
    with database.session() as session:
        assert session.exec(select(func.count()).select_from(LoginToken)).one() == tokens
    assert not (home / "token").exists()


def test_token_days_at_the_bound_logs_in(cli: Callable[..., Any], admin: Any) -> None:
    assert cli("config", "set", "auth.token_days", "3650").exit_code == 0
    login = cli("login", admin.email, "--password-stdin", "--json", input=admin.password + "\n")
    assert login.exit_code == 0, login.stderr


# --- texts over their size limit ----------------------------------------------------------------

LONG = "The crew rehearses the vault scene. " * 2000  # 72,000 bytes: over 64 KiB and 10,000


def _apply_file(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    head = '[[project]]\ntitle = "Film"\ngenre = "drama"\nepisodeCount = 3\n'
    path.write_text(head + body)
    return str(path)


@pytest.mark.parametrize(
    ("case", "lines"),
    [
        ("chat-m", ["Error: the message is 72,000 bytes, over the limit of 64 KiB "
                    "(send a long text in parts: each adds to the story)"]),
        ("chat-stdin", ["Error: the message on stdin is over the limit of 64 KiB "
                        "(send a long text in parts: each adds to the story)"]),
        ("story-concept", ["Error: invalid story change",
                           "  concept: text is 72,000 bytes, over the limit of 64 KiB "
                           "(attach long texts as files)"]),
        ("project-create", ["Error: invalid input",
                            "  description: must be at most 10000 characters"]),
        ("project-update", ["Error: invalid input",
                            "  description: must be at most 10000 characters"]),
        ("apply-description", ["Error: 1 problem(s) in the file; nothing was applied",
                               "  project[1].description: must be at most 10000 characters"]),
        ("apply-concept", ["Error: 1 problem(s) in the file; nothing was applied",
                           "  project[1].story.concept: text is 72,000 bytes, over the limit "
                           "of 64 KiB (attach long texts as files)"]),
    ],
)  # fmt: skip
def test_13_10_text_over_its_size_limit(
    cli: Callable[..., Any],
    film: dict[str, Any],
    database: Any,
    tmp_path: Path,
    case: str,
    lines: list[str],
) -> None:
    argv = {
        "chat-m": ["chat", "Film", "-m", LONG],
        "chat-stdin": ["chat", "Film", "-m", "-"],
        "story-concept": ["story", "set", "Film", "--concept", LONG],
        "project-create": ["project", "create", "Long", "--genre", "drama", "--episodes", "2",
                           "--description", LONG],
        "project-update": ["project", "update", "Film", "--description", LONG],
        "apply-description": ["apply", _apply_file(tmp_path, "d.toml",
                                                   f'description = "{LONG}"\n')],
        "apply-concept": ["apply", _apply_file(tmp_path, "c.toml",
                                               f'[project.story]\nconcept = "{LONG}"\n')],
    }[case]  # fmt: skip
    before = digest(database)
    result = cli(*argv, input=LONG if case == "chat-stdin" else None)
    assert (result.exit_code, result.stderr.splitlines()) == (2, lines)
    assert digest(database) == before


def test_13_10_a_long_line_of_a_piped_chat(cli: Callable[..., Any], film: dict[str, Any]) -> None:
    result = cli("chat", "Film", input=LONG + "\n/quit\n")
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "Error: the message is 72,000 bytes, over the limit of 64 KiB "
        "(send a long text in parts: each adds to the story)"
    ]


# --- an empty alembic_version -------------------------------------------------------------------


def _empty_alembic_version(database: Any, *also: str) -> None:
    import sqlalchemy as sa

    from moviecli.storage.db import dispose_all

    with database.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM alembic_version"))
        for statement in also:
            conn.execute(sa.text(statement))
    dispose_all()


def test_13_10_empty_alembic_version(
    cli_process: Callable[..., Result], film: dict[str, Any], database: Any, db_url: str
) -> None:
    """Every command says how to repair it (exit 6); init repairs it when the tables are
    the code's: it stamps the head revision, and everything works again."""
    from moviecli.storage import schema

    _empty_alembic_version(database)
    where = database.describe()
    said = (
        f"Error: {where} has moviecli tables but an empty alembic_version table (its schema "
        "revision is unknown) (run moviecli init to repair it)"
    )
    for argv in (["project", "list"], ["db", "current"], ["db", "check"], ["db", "upgrade"]):
        result = cli_process(*argv)
        assert (result.exit_code, result.stderr.splitlines()) == (6, [said]), argv
    before = digest(database)
    init = cli_process("init")
    assert init.exit_code == 0, init.stderr
    assert init.stdout.splitlines()[0] == (
        f"Repaired the schema revision: the tables are those of {schema.HEAD}, "
        "and alembic_version says so again"
    )
    assert digest(database) == before
    assert cli_process("db", "current").stdout.split()[-1:] != []
    listed = cli_process("project", "list", "--json")
    assert listed.exit_code == 0 and listed.json()["total"] == 1
    assert cli_process("init").stdout.splitlines()[0] == "Reference data: nothing missing"


def test_13_10_empty_alembic_version_over_other_tables(
    cli_process: Callable[..., Result], film: dict[str, Any], database: Any
) -> None:
    """Tables that are not the code's: init repairs nothing and says how (exit 6)."""
    _empty_alembic_version(database, "ALTER TABLE projects ADD COLUMN extra INTEGER")
    init = cli_process("init")
    assert init.exit_code == 6
    [line] = init.stderr.splitlines()
    assert "an empty alembic_version table" in line
    assert line.endswith(
        "(remove_column projects extra) (restore it from a backup made with moviecli db backup)"
    )
    import sqlalchemy as sa

    with database.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 0


# --- found by the fuzzer (issue 13 item 11) -----------------------------------------------------

TOO_LONG = "1" + "0" * 400  # a file name longer than Linux takes (255 bytes)


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["project", "bible", "Film", "-o", TOO_LONG],
         f"Error: cannot write {TOO_LONG}: File name too long"),
        (["project", "export", "Film", "-o", TOO_LONG],
         "Error: -o is too long a path (at most 255 bytes a name, 4095 in all)"),
        (["project", "export", "Film", "--with-media", TOO_LONG],
         "Error: --with-media is too long a path (at most 255 bytes a name, 4095 in all)"),
        (["db", "backup", TOO_LONG],
         "Error: DEST is too long a path (at most 255 bytes a name, 4095 in all)"),
        (["chat", "Film", "--attach", TOO_LONG],
         "Error: --attach is too long a path (at most 255 bytes a name, 4095 in all)"),
        (["media", "add", "Film", "x/" * 2100 + "a.png", "--type", "concept_art"],
         "Error: FILES is too long a path (at most 255 bytes a name, 4095 in all)"),
    ],
    ids=["bible", "export", "with-media", "backup", "attach", "path-max"],
)  # fmt: skip
def test_13_11_a_path_too_long(
    cli: Callable[..., Any], film: dict[str, Any], database: Any, argv: list[str], line: str
) -> None:
    """The fuzzer's find: a 401-byte file name was exit 1 (OSError ENAMETOOLONG)."""
    before = digest(database)
    result = cli(*argv)
    assert (result.exit_code, result.stderr.splitlines()) == (2, [line])
    assert digest(database) == before
