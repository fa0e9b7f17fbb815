"""Issue 13 item 7: text from the database, files and arguments never rewrites the
terminal. Control characters (C0 but tab and newline, DEL, C1, ESC) are shown as
``\\x1b``-style escapes in rich and plain output; JSON keeps the text as it is (escaped by
the encoder).
"""

from __future__ import annotations

import re

import pytest

from tests.projecthelp import new_project

# clear the screen, turn red, set the window title, a C1 CSI, DEL and a carriage return
EVIL = "Evil \x1b[2J\x1b[31mRED\x1b]0;pwned\x07 \x9b1m\x7f\rX"
SHOWN = "Evil \\x1b[2J\\x1b[31mRED\\x1b]0;pwned\\x07 \\x9b1m\\x7f\\x0dX"
STYLE_CODES = re.compile(r"\x1b\[[0-9;]*m")  # the only escapes rich itself may write


def no_controls(text: str) -> None:
    """Nothing in ``text`` but rich's own colour codes, tabs and newlines is a control."""
    text = STYLE_CODES.sub("", text)
    bad = [c for c in text if (ord(c) < 32 and c not in "\t\n") or 0x7F <= ord(c) < 0xA0]
    assert bad == [], text


@pytest.fixture
def evil(cli, admin):
    project = new_project(cli, EVIL, "--description", "about \x1b[5mblinking")
    result = cli("chat", project["id"], "-m", "A heist \x1b[2J on the moon")
    assert result.exit_code == 0, result.stderr
    sessions = cli("session", "list", "--json").json()["items"]
    return project, sessions[0]["id"]


COMMANDS = {
    "project list": lambda p, s: ("project", "list"),
    "project show": lambda p, s: ("project", "show", p["id"]),
    "session show": lambda p, s: ("session", "show", s),
    "session list": lambda p, s: ("session", "list"),
}


@pytest.mark.parametrize("command", COMMANDS)
def test_escapes_in_plain_output(cli, evil, command):
    project, session_id = evil
    result = cli(*COMMANDS[command](project, session_id))
    assert result.exit_code == 0, result.stderr
    no_controls(result.stdout)
    no_controls(result.stderr)
    assert "Evil \\x1b[2J\\x1b[31mRED" in result.stdout


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("command", COMMANDS)
def test_escapes_on_a_terminal(cli, evil, terminal, command, width):
    project, session_id = evil
    terminal(width, colour=True)
    result = cli(*COMMANDS[command](project, session_id))
    assert result.exit_code == 0, result.stderr
    assert STYLE_CODES.search(result.stdout)  # rich did write its colours
    no_controls(result.stdout)
    assert "\\x1b[2J" in STYLE_CODES.sub("", result.stdout)


def test_whole_title_is_shown_in_project_show(cli, evil, terminal):
    project, _ = evil
    terminal(120)
    result = cli("project", "show", project["id"])
    assert SHOWN in result.stdout
    assert "about \\x1b[5mblinking" in result.stdout


def test_session_messages_and_chat_replies(cli, evil):
    _, session_id = evil
    result = cli("session", "show", session_id)
    assert "A heist \\x1b[2J on the moon" in result.stdout
    reply = cli("chat", "--session", session_id, "-m", "more \x1b]0;title\x07 please")
    assert reply.exit_code == 0, reply.stderr
    no_controls(reply.stdout)
    no_controls(reply.stderr)


def test_chat_line_mode(cli, evil):
    _, session_id = evil
    result = cli("chat", "--session", session_id, input="a \x1b[2J line\n/history 4\n/progress\n")
    assert result.exit_code == 0, result.stderr
    no_controls(result.stdout)
    assert "a \\x1b[2J line" in result.stdout
    assert SHOWN.split(" \\x9b")[0] in result.stdout  # the title in /progress


def test_messages_and_errors(cli, evil):
    project, _ = evil
    created = cli("project", "create", "B\x1b[2J", "--genre", "drama", "--episodes", "1")
    assert created.exit_code == 0
    no_controls(created.stdout + created.stderr)
    assert "B\\x1b[2J" in created.stdout
    missing = cli("project", "show", "nope\x1b[2J")
    assert missing.exit_code == 3
    no_controls(missing.stderr)
    renamed = cli("project", "update", project["id"], "--title", "Calm")
    no_controls(renamed.stdout)


def test_json_keeps_the_text(cli, evil):
    project, session_id = evil
    assert cli("project", "show", project["id"], "--json").json()["title"] == EVIL.strip()
    history = cli("session", "show", session_id, "--json").json()
    assert history["items"][0]["content"] == "A heist \x1b[2J on the moon"


def test_media_filenames_and_user_names(cli, admin, make_user, tmp_path, terminal):
    from tests.media_factory import png

    new_project(cli, "Plain")
    image = png(tmp_path / "ev\x1b[2Jil.png")
    added = cli("media", "add", "Plain", str(image), "--type", "concept_art", "--no-embed")
    assert added.exit_code == 0, added.stderr
    no_controls(added.stdout + added.stderr)
    listed = cli("media", "list", "Plain")
    no_controls(listed.stdout)
    assert "ev\\x1b[2Jil.png" in listed.stdout
    make_user("mallory@example.com", name="Mal\x1b[2Jlory")
    for rich in (False, True):
        if rich:
            terminal(120, colour=True)
        users = cli("user", "list")
        no_controls(users.stdout)
        assert "Mal\\x1b[2Jlory" in STYLE_CODES.sub("", users.stdout)
