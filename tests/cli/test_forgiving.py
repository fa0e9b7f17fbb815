"""Issue 14, items 8-13: forgiving input and documents (the current project everywhere, did
you mean, declined confirmations, session export, config sources, exact search totals)."""

from __future__ import annotations

import pytest

from tests.projecthelp import add_media, new_project

ENTER = "\r"


@pytest.fixture
def keys():
    """Run a function with these keystrokes as the terminal's input."""
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    def run(text, fn, *args):
        with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
            pipe.send_text(text)
            return fn(*args)

    return run


# --- 10. declining a confirmation ---------------------------------------------------------------

NOIR = """\
name = "noir-mini"
description = "Short noir."
genre = "thriller"
targetAudience = "adult"
episodeCount = 3
"""


def _doomed(kind, cli, admin, make_user, database, tmp_path):
    """Something to delete, and how to see that it is still there."""
    if kind == "project":
        new_project(cli, "Keep Me")
        return ["project", "delete", "Keep Me"], ["project", "show", "Keep Me"]
    if kind == "media":
        project = new_project(cli, "Keep Me")
        media_id = add_media(database, project["id"], admin.id, "concept_art")
        return ["media", "delete", media_id], ["media", "show", media_id]
    if kind == "user":
        bob = make_user("bob@example.com")
        return ["user", "delete", bob.email], ["user", "show", bob.email]
    path = tmp_path / "noir.toml"
    path.write_text(NOIR)
    assert cli("template", "add", str(path)).exit_code == 0
    return ["template", "delete", "noir-mini"], ["template", "show", "noir-mini"]


@pytest.mark.parametrize("kind", ["project", "media", "user", "template"])
def test_14_10_declining_a_confirmation_deletes_nothing_and_exits_0(
    kind, cli, admin, make_user, database, tmp_path, keys, monkeypatch
):
    from moviecli.cli import env

    delete, check = _doomed(kind, cli, admin, make_user, database, tmp_path)
    monkeypatch.setattr(env, "stdin_is_terminal", lambda: True)
    result = keys("n" + ENTER, cli, *delete)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip().endswith("Nothing deleted.")
    assert result.stderr == ""
    monkeypatch.setattr(env, "stdin_is_terminal", lambda: False)
    assert cli(*check).exit_code == 0
