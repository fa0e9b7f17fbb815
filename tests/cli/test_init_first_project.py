"""moviecli init: on a terminal it offers a first project and the chat; a script never
gets a prompt (SPEC section 2, "init")."""

from __future__ import annotations

import functools

import pytest

from tests.projecthelp import new_project

ENTER, DOWN = "\r", "\x1b[B"
NEXT = (
    'Next: moviecli project create "My Series" --template sitcom, then moviecli chat "My Series"\n'
)


def test_init_without_a_terminal_never_prompts(cli_process, empty_db):
    result = cli_process(
        "init", "--name", "Ada", "--email", "ada@example.com", "--password-stdin",
        input="pw-123456789\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "?" not in result.stdout  # no questionary prompt
    assert "Created admin ada@example.com and logged in." in result.stdout
    assert result.stderr == NEXT
    listed = cli_process("project", "list", "--json")
    assert listed.json()["total"] == 0


def test_init_without_a_terminal_needs_the_flags(cli_process, empty_db):
    result = cli_process("init", input="")
    assert result.exit_code == 2
    assert result.stderr == "Error: no value given (pass --name)\n"


def test_init_in_process_prints_the_next_steps(cli, empty_db):
    result = cli(
        "init", "--name", "Ada", "--email", "ada@example.com", "--password-stdin",
        input="pw-123456789\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stderr == NEXT


# --- the offer on a terminal, driven by keys --------------------------------------------------


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


def test_offer_creates_a_project_from_the_chosen_template(cli, admin, keys, capsys):
    from moviecli.cli import onboarding

    # yes; the fifth template (sitcom); a title; no chat now
    chosen = keys(
        "y" + ENTER + DOWN * 4 + ENTER + "Office Hours" + ENTER + "n" + ENTER,
        onboarding.offer_first_project,
    )
    assert chosen is None
    out, err = capsys.readouterr()
    assert "Created project 'Office Hours' (" in out
    assert "from the sitcom template: comedy, 8 episodes, family" in out
    assert err == "Next: moviecli chat 'Office Hours'\n"
    data = cli("project", "show", "Office Hours", "--json").json()
    assert (data["genre"], data["episodeCount"]) == ("comedy", 8)


def test_offer_then_chat(cli, admin, keys):
    from moviecli.cli import onboarding

    chosen = keys(ENTER + ENTER + "Ronin" + ENTER + ENTER, onboarding.offer_first_project)
    project = cli("project", "show", "Ronin", "--json").json()
    assert chosen == project["id"]
    assert project["genre"] == "action"  # anime-action, the first template
    argv = onboarding.chat_command(chosen)
    assert argv[1:] == ["-m", "moviecli", "chat", chosen]


def test_offer_declined(cli, admin, keys, capsys):
    from moviecli.cli import onboarding

    assert keys("n" + ENTER, onboarding.offer_first_project) is None
    assert capsys.readouterr().err == NEXT
    assert cli("project", "list", "--json").json()["total"] == 0


def test_empty_title_is_asked_again(cli, admin, keys):
    from moviecli.cli import onboarding

    keys(
        ENTER + ENTER + "   " + ENTER + "Kept" + ENTER + "n" + ENTER,
        onboarding.offer_first_project,
    )
    assert cli("project", "list", "--json").json()["items"][0]["title"] == "Kept"


def test_nothing_offered_to_someone_with_a_project(cli, admin, keys):
    from moviecli.cli import onboarding

    new_project(cli, "Existing")
    assert keys("", onboarding.offer_first_project) is None
    assert cli("project", "list", "--json").json()["total"] == 1


def test_chat_command_keeps_the_database_option(monkeypatch):
    from moviecli.cli import onboarding
    from moviecli.cli.env import env

    monkeypatch.setattr(env, "db_url", "sqlite:////tmp/x.db")
    assert onboarding.chat_command("abc")[3:] == ["--db", "sqlite:////tmp/x.db", "chat", "abc"]


def test_init_on_a_terminal_offers_and_opens_the_chat(cli, empty_db, keys, monkeypatch):
    """The whole init on a (simulated) terminal: admin, first project, then the chat."""
    from moviecli import render
    from moviecli.cli import auth, onboarding

    opened = []
    monkeypatch.setattr(auth, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(render, "stdout_is_terminal", lambda: True)
    monkeypatch.setattr(onboarding, "open_chat", opened.append)
    init = functools.partial(
        cli, "init", "--name", "Ada", "--email", "ada@example.com", "--password-stdin",
        input="pw-123456789\n",
    )  # fmt: skip
    result = keys(ENTER + ENTER + "Heist" + ENTER + ENTER, init)
    assert result.exit_code == 0, result.stderr
    assert "Next:" not in result.stderr
    monkeypatch.setattr(render, "stdout_is_terminal", lambda: False)
    project = cli("project", "show", "Heist", "--json").json()
    assert opened == [project["id"]]


def test_init_again_offers_nothing(cli, empty_db, keys, monkeypatch):
    from moviecli import render
    from moviecli.cli import auth, onboarding

    args = ("init", "--name", "Ada", "--email", "ada@example.com", "--password-stdin")
    assert cli(*args, input="pw-123456789\n").exit_code == 0
    monkeypatch.setattr(auth, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(render, "stdout_is_terminal", lambda: True)
    monkeypatch.setattr(onboarding, "offer_first_project", lambda: pytest.fail("offered"))
    # no password given: not logged in again, so no onboarding
    result = cli("init")
    assert result.exit_code == 0, result.stderr
