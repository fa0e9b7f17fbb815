"""Hostile input: each case ends with its exact exit code and one-line message, never a
traceback (SPEC sections 1, 4 and 7).

Real processes where the process boundary matters (stdin, argv bytes, files the command
opens before anything else); in-process runs elsewhere.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import media_factory as mf

NOT_UTF8 = (
    "Error: {} is not valid UTF-8 text "
    "(pass text in UTF-8; a file whose name is not can still be added)"
)


def no_traceback(result: Any) -> None:
    assert "Traceback" not in result.stderr + result.stdout


# --- chat ---------------------------------------------------------------------------------------


def test_a_10_mb_message_through_stdin(cli_process, film, database):
    """A message over the 64 KiB limit is refused at once, one line, nothing stored (issue
    13 item 10); stdin is read no further than the limit."""
    line = "The crew rehearses the vault scene under the lunar dome. " * 40 + "\n"
    text = line * (10 * 1024 * 1024 // len(line) + 1)
    assert len(text.encode()) > 10 * 1024 * 1024
    result = cli_process("chat", "Film", "-m", "-", "--json", input=text, timeout=300)
    no_traceback(result)
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: the message on stdin is over the limit of 64 KiB "
        "(send a long text in parts: each adds to the story)\n"
    )
    with database.session() as session:
        from sqlmodel import select

        from moviecli.models import ChatSession

        assert session.exec(select(ChatSession)).all() == []


# --- files --------------------------------------------------------------------------------------


def test_an_empty_file(cli, film, tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    result = cli("media", "add", "Film", str(empty), "--type", "concept_art")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: {empty}: the file is empty",
        "0 added to 'Film', 0 already present, 1 rejected",
    ]


def test_a_truncated_png(cli, film, tmp_path):
    whole = mf.png(tmp_path / "whole.png", size=(64, 48), seed=3)
    cut = mf.truncated(whole, tmp_path / "cut.png", keep=0.6)
    result = cli("media", "add", "Film", str(cut), "--type", "concept_art")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: {cut}: the image is damaged or truncated (image file is truncated)",
        "0 added to 'Film', 0 already present, 1 rejected",
    ]


def test_a_file_named_with_a_newline_reached_through_dotdot(cli, film, tmp_path):
    (tmp_path / "sub").mkdir()
    mf.png(tmp_path / "evil\nname.png", seed=5)
    path = tmp_path / "sub" / ".." / "evil\nname.png"
    result = cli("media", "add", "Film", str(path), "--type", "concept_art", "--json")
    assert result.exit_code == 0, result.stderr
    record = result.json()[0]
    assert record["filename"] == "evil\nname.png"  # the name, not the path
    shown = cli("media", "add", "Film", str(path), "--type", "concept_art")
    assert shown.exit_code == 0
    assert shown.stdout.splitlines() == [
        f"Already present: evil\\nname.png ({record['id']}, concept_art)"
    ]
    listed = cli("media", "list", "Film")
    assert len(listed.stdout.splitlines()) == 2  # header + one line for the record
    out = tmp_path / "out"
    out.mkdir()
    exported = cli("media", "export", record["id"], str(out))
    assert exported.exit_code == 0, exported.stderr
    assert [p.name for p in out.iterdir()] == ["evil\nname.png"]
    # rejected, the name still makes one line
    (tmp_path / "bad\nname.png").write_bytes(b"")
    bad = cli("media", "add", "Film", str(tmp_path / "bad\nname.png"), "--type", "concept_art")
    assert bad.exit_code == 2
    assert bad.stderr.splitlines()[0] == f"Error: {tmp_path}/bad\\nname.png: the file is empty"


def test_record_names_cannot_leave_the_export_directory(cli, film, tmp_path, database):
    team = tmp_path / "team"
    team.mkdir()
    mf.png(team / "dots.png", seed=9)
    (team / "setup.toml").write_text(
        '[[project]]\ntitle = "Dots"\ngenre = "drama"\nepisodeCount = 2\n\n'
        '[[project.media]]\nfile = "dots.png"\nmediaType = "concept_art"\nfilename = ".."\n'
    )
    refused = cli("apply", str(team / "setup.toml"))
    assert refused.exit_code == 2
    assert refused.stderr.splitlines() == [
        "Error: 1 problem(s) in the file; nothing was applied",
        "  project[1].media[1].filename: must be a plain file name (1-255 characters)",
    ]
    # a record whose name is ".." anyway (edited by hand) exports under its id
    added = cli("media", "add", "Film", str(team / "dots.png"), "--type", "concept_art", "--json")
    media_id = added.json()[0]["id"]
    from moviecli.models import Media

    with database.write() as session:
        media = session.get(Media, media_id)
        media.filename = ".."
        session.add(media)
    out = tmp_path / "out"
    out.mkdir()
    exported = cli("media", "export", media_id, str(out), "--force")
    assert exported.exit_code == 0, exported.stderr
    assert [p.name for p in out.iterdir()] == [media_id]


def test_arguments_that_are_not_utf8(cli_process, film, tmp_path):
    # Linux passes such bytes as lone surrogates (surrogateescape); subprocess turns them
    # back into the same bytes.
    title = cli_process(
        "project", "create", "Bad \udcff title", "--genre", "drama", "--episodes", "2"
    )
    assert (title.exit_code, title.stderr.splitlines()) == (2, [NOT_UTF8.format("TITLE")])
    shown = cli_process("project", "show", "\udcff\udcfe", "--json")
    assert (shown.exit_code, shown.stderr.splitlines()) == (2, [NOT_UTF8.format("PROJECT")])
    no_traceback(shown)
    # a file whose name is not UTF-8 is still added, under a readable name
    image = mf.png(tmp_path / "x.png", seed=11)
    odd = tmp_path / "still-\udcff.png"
    os.rename(image, odd)
    added = cli_process("media", "add", "Film", str(odd), "--type", "concept_art", "--json")
    assert added.exit_code == 0, added.stderr
    assert added.json()[0]["filename"] == "still-\ufffd.png"


# --- storage and configuration -------------------------------------------------------------------


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"hello, I am a text file\n", id="text"),
        pytest.param(bytes(range(256)) * 40, id="binary"),
        pytest.param(b"SQLite format 3\x00" + b"\x00" * 80, id="sqlite-header-only"),
    ],
)
def test_a_database_file_that_is_not_sqlite(cli_process, home, content):
    home.mkdir(parents=True, exist_ok=True)
    db = home / "moviecli.db"
    db.write_bytes(content)
    result = cli_process("project", "list")
    no_traceback(result)
    assert result.exit_code == 6
    assert result.stderr.splitlines() == [
        f"Error: {db} is not a SQLite database or is corrupt "
        "(restore it from a backup made with moviecli db backup)"
    ]


@pytest.mark.sqlite_only
def test_a_sqlite_database_of_another_program(cli_process, home):
    home.mkdir(parents=True, exist_ok=True)
    db = home / "moviecli.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE recipes (name TEXT)")
    result = cli_process("whoami")
    no_traceback(result)
    assert result.exit_code == 6
    assert result.stderr.splitlines() == [
        f"Error: {db} is not a moviecli database "
        "(point --db or MOVIECLI_DATABASE_URL at a moviecli database)"
    ]


@pytest.mark.sqlite_only
def test_a_moviecli_database_cut_in_half(cli_process, film, db_url):
    from moviecli.storage.db import dispose_all

    dispose_all()
    path = Path(db_url.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    result = cli_process("project", "list")
    no_traceback(result)
    assert result.exit_code == 6
    assert result.stderr.splitlines() == [
        f"Error: {path} is not a SQLite database or is corrupt "
        "(restore it from a backup made with moviecli db backup)"
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[database\n", "invalid config file {path}: Expected ']' at the end of a table "
         "declaration (at line 1, column 10)"),
        (b"a = 1\na = 2\n", "invalid config file {path}: Cannot overwrite a value "
         "(at line 2, column 6)"),
        (b"\xff\xfe\x00garbage", "cannot read config file {path}: 'utf-8' codec can't decode "
         "byte 0xff in position 0: invalid start byte"),
        (b"database = 5\n", "invalid config file {path}, line 1: unknown key 'database' "
         "(moviecli config show lists the known keys)"),
    ],
    ids=["not-toml", "duplicate-key", "not-utf8", "unknown-key"],
)  # fmt: skip
def test_a_config_file_that_is_not_toml(cli_process, film, home, content, message):
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_bytes(content)
    result = cli_process("project", "list")
    no_traceback(result)
    assert result.exit_code == 6
    assert result.stderr.splitlines() == ["Error: " + message.format(path=path)]


# --- logins -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o666])
def test_a_token_file_others_can_read(cli_process, admin, home, monkeypatch, mode):
    monkeypatch.delenv("MOVIECLI_TOKEN")
    from moviecli.services import auth

    path = auth.write_token(admin.token)
    assert cli_process("whoami").exit_code == 0  # 0600: fine
    path.chmod(mode)
    result = cli_process("whoami")
    no_traceback(result)
    assert result.exit_code == 4
    assert result.stderr.splitlines() == [
        f"Error: token file {path} is readable by others; refusing to use it (chmod 600 {path})"
    ]


def test_an_expired_token(cli, admin, database):
    import sqlalchemy as sa

    from moviecli.models import LoginToken, utcnow
    from moviecli.services import auth

    with database.write() as session:
        session.execute(
            sa.update(LoginToken)
            .where(LoginToken.token_hash == auth.token_hash(admin.token))  # type: ignore[arg-type]
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    result = cli("whoami")
    assert result.exit_code == 4
    assert result.stderr.splitlines() == ["Error: your login has expired (run moviecli login)"]
    assert cli("project", "list", "--json").json()["error"]["code"] == "not_logged_in"


def test_python_minus_m_has_no_traceback_either(home):
    """The guard holds for ``python -m moviecli`` with an unknown command too."""
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-m", "moviecli", "no-such-command"],
        capture_output=True,
        text=True,
        env={**os.environ, "MOVIECLI_HOME": str(home)},
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "Error: No such command 'no-such-command' (see 'moviecli --help')"
    ]
