"""The interactive REPL's prompt line, driven by keys through prompt_toolkit's pipe input:
↓ and Enter pick a highlighted choice, a message that is only a number picks it (a digit
alone never does: "2 brothers rob a bank" is a message), a pasted block is one message, a
line ending in \\ goes on, slash commands work, Ctrl-C and Ctrl-D pause the session and
leave with exit 0."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

DOWN, UP, ENTER, CTRL_C, CTRL_D = "\x1b[B", "\x1b[A", "\r", "\x03", "\x04"


@pytest.fixture
def repl(cli, admin, database) -> Iterator[Any]:
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from moviecli.cli.chat import Conversation
    from moviecli.services import auth, chat

    assert cli("project", "create", "P", "--genre", "drama", "--episodes", "2").exit_code == 0
    with database.session() as session:
        actor = auth.current_user(session)

    def run(keys: str) -> int:
        opened = chat.open_chat(database, actor, project_ref="P")
        with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
            pipe.send_text(keys)
            return Conversation(database, actor, opened).run_repl()

    yield run


def _session(cli: Any) -> dict[str, Any]:
    item: dict[str, Any] = cli("session", "list", "--json").json()["items"][0]
    return item


def _contents(cli: Any, sid: str) -> list[tuple[str, str]]:
    items = cli("session", "show", sid, "--limit", "200", "--json").json()["items"]
    return [(m["role"], m["content"].splitlines()[0]) for m in items]


def test_keys_pick_choices_and_text_is_a_message(cli, repl, capsys):
    code = repl(
        "A film about a lighthouse"
        + ENTER  # a message
        + DOWN
        + DOWN
        + ENTER  # ↓ wraps round the two choices: story_development
        + "The keeper stays."
        + ENTER
        + "/choices"
        + ENTER
        + "1"
        + ENTER  # only a number: picks character_creation
        + CTRL_D
    )
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("Started session ")
    # /choices lists them with the recommended one marked
    assert "\n  1. 🎭 Character creation ★ recommended (30 min): " in out
    assert out.endswith("paused. Resume with: moviecli chat P\n")
    session = _session(cli)
    assert session["sessionState"] == "paused"
    assert session["currentStep"] == "character_creation"
    assert _contents(cli, session["id"])[1:] == [
        ("user", "A film about a lighthouse"),
        ("assistant", "Recorded the concept: 'A film about a lighthouse'."),
        ("user", "Choose: Story development"),
        ("assistant", "Completed Initial concept (progress 13%)."),
        ("user", "The keeper stays."),
        ("assistant", "Recorded the synopsis (3 words)."),
        ("user", "Choose: Character creation"),
        ("assistant", "Completed Story development (progress 25%)."),
    ]


def test_up_and_enter_on_manual_override_asks_for_the_direction(cli, repl, capsys):
    code = repl(UP + ENTER + "Darker, please" + ENTER + CTRL_C)
    assert code == 0
    assert "Manual override for Initial concept: 'Darker, please'." in capsys.readouterr().out
    session = _session(cli)
    assert session["sessionState"] == "paused"
    assert session["contextData"]["directions"][0]["text"] == "Darker, please"


def test_an_empty_direction_cancels_and_stores_nothing(cli, repl, capsys):
    assert repl("2" + ENTER + ENTER + CTRL_D) == 0
    captured = capsys.readouterr()
    assert "Error: custom input required" in captured.err
    assert _session(cli)["messageCount"] == 1  # the greeting only


def test_ctrl_c_pauses_and_resume_shows_where_it_was(cli, repl, capsys):
    assert repl("A quiet film" + ENTER + CTRL_C) == 0
    capsys.readouterr()
    assert repl("/pause" + ENTER) == 0
    out = capsys.readouterr().out
    assert (
        out.startswith("Resumed session ")
        and "on 'P': Initial concept (0%, 0/8 steps done)\nLast exchange:\n" in out
    )
    assert "  you: A quiet film\n  assistant: Recorded the concept: 'A quiet film'.\n" in out
    assert _session(cli)["sessionState"] == "paused"


PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"


def test_a_message_starting_with_a_digit_is_not_a_choice(cli, repl, capsys):
    """Issue 12: typing "2 brothers rob a bank" picked choice 2."""
    assert repl("2 brothers rob a bank" + ENTER + CTRL_C) == 0
    assert "Recorded the concept: '2 brothers rob a bank'." in capsys.readouterr().out
    session = _session(cli)
    assert session["currentStep"] == "initial_concept"
    story = cli("project", "show", "P", "--json").json()["story"]
    assert story["concept"] == "2 brothers rob a bank"


def test_a_pasted_block_and_continued_lines_are_one_message_each(cli, repl, capsys):
    pasted = "Mia: a thief\nRex: her brother\nAda: the cop"
    keys = (
        "A heist" + ENTER + "1" + ENTER + "They rob it." + ENTER + "1" + ENTER
        + PASTE_START + pasted + PASTE_END + ENTER
        + "Zed: the fence \\" + ENTER + "who knows everyone" + ENTER
        + CTRL_C
    )  # fmt: skip
    assert repl(keys) == 0
    out = capsys.readouterr().out
    assert "Recorded 3 characters: Mia, Rex, Ada." in out
    assert "Recorded 1 character: Zed." in out
    contents = _contents(cli, _session(cli)["id"])
    assert ("user", "Mia: a thief") in contents  # the first line of one message
    characters = cli("project", "show", "P", "--json").json()["story"]["characters"]
    assert [c["name"] for c in characters] == ["Mia", "Rex", "Ada", "Zed"]
    assert characters[3]["description"] == "the fence"


def test_slash_commands_never_reach_the_story(cli, repl, capsys):
    assert (
        repl("A heist" + ENTER + "/help" + ENTER + "/story" + ENTER + "/nope" + ENTER + CTRL_C)
        == 0
    )
    captured = capsys.readouterr()
    assert "  /undo             undo the latest change to the story\n" in captured.out
    assert "concept\tA heist\n" in captured.out  # story show's plain lines
    assert "Error: unknown command /nope (commands: /help, /choices," in captured.err
    story = cli("project", "show", "P", "--json").json()["story"]
    assert story["concept"] == "A heist"
    assert _session(cli)["messageCount"] == 3  # the greeting and one turn
