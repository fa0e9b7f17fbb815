"""The chat understands the creator (issue 12 items 1, 2 and 4), through the CLI.

One test per failure of the issue's first paragraph (each failed before this change):
"hi" replaced the concept; "what does this step need?" and "/help" typed in the story
phase were appended to the synopsis; "2 brothers rob a bank" picked choice 2; three
characters typed as one message became one; the reply broke words at the terminal edge.
Then labels, choices by number, the size limit and the REPL in a real pseudo-terminal.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.chathelp import chatter
from tests.ptyhelp import Terminal

PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"


def _project(cli: Any, title: str = "Heist") -> Any:
    result = cli("project", "create", title, "--genre", "thriller", "--episodes", "2")
    assert result.exit_code == 0, result.stderr
    return chatter(cli, title)


def _story(cli: Any, title: str = "Heist") -> dict[str, Any]:
    story: dict[str, Any] = cli("project", "show", title, "--json").json()["story"]
    return story


def _messages(cli: Any, sid: str) -> list[dict[str, Any]]:
    result = cli("session", "show", sid, "--limit", "200", "--json")
    assert result.exit_code == 0, result.stderr
    items: list[dict[str, Any]] = result.json()["items"]
    return items


def _to_story_development(turn: Any) -> dict[str, Any]:
    turn("-m", "Two brothers rob the bank that ruined their father")
    data = turn("--choice", "story_development")
    assert data["currentStep"] == "story_development", data["response"]
    return data


def _to_character_creation(turn: Any) -> dict[str, Any]:
    _to_story_development(turn)
    turn("-m", "They plan it for months; the vault is empty.")
    data = turn("--choice", "character_creation")
    assert data["currentStep"] == "character_creation", data["response"]
    return data


# --- the failures of the issue ------------------------------------------------------------------


def test_hi_never_replaces_the_concept(cli, admin):
    turn = _project(cli)
    turn("-m", "A heist on the moon")
    for text in ("hi", "hi!", "thx", "ok"):
        data = turn("-m", text)
        assert _story(cli)["concept"] == "A heist on the moon"
        assert data["intent"] == "smalltalk"
        assert "Nothing recorded." in data["response"].splitlines()[0]
        assert data["response"].splitlines()[1:] == [
            "Initial concept has everything it needs.",
            "Recommended: 1. Story development (--choice story_development).",
        ]
    # line mode too
    result = cli("chat", "Heist", input="hi\nhello there\n")
    assert result.exit_code == 0, result.stderr
    assert "> hi\nHello! We are on Initial concept. Nothing recorded.\n" in result.stdout
    assert _story(cli)["concept"] == "A heist on the moon"


def test_questions_and_slash_commands_never_reach_the_synopsis(cli, admin):
    turn = _project(cli)
    _to_story_development(turn)
    script = "The brothers plan it for months.\nwhat does this step need?\n/help\nhelp\n"
    result = cli("chat", "Heist", input=script)
    assert result.exit_code == 0, result.stderr
    assert _story(cli)["synopsis"] == "The brothers plan it for months."
    out = result.stdout
    assert (
        "> what does this step need?\n"
        "Story development needs a story synopsis.\n"
        "Story development has everything it needs.\n"
    ) in out
    assert "> /help\n  <number>          pick that choice" in out
    assert "> help\nWe are on Story development: " in out
    # -m: a question is answered, a command runs, nothing is sent for it
    data = turn("-m", "what does this step need")
    assert (data["intent"], data["currentStep"]) == ("question", "story_development")
    sid = data["sessionId"]
    before = len(_messages(cli, sid))
    result = cli("chat", "Heist", "-m", "/help")
    assert (result.exit_code, result.stderr) == (0, "")
    assert "  /story            what the story holds so far\n" in result.stdout
    result = cli("chat", "Heist", "-m", "/nonsense")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: unknown command /nonsense (commands: /help, /choices, /progress, /story, "
        "/undo, /history, /attach, /override, /pause, /quit)\n"
    )
    assert len(_messages(cli, sid)) == before
    assert _story(cli)["synopsis"] == "The brothers plan it for months."


def test_a_message_starting_with_a_digit_is_a_message(cli, admin):
    turn = _project(cli)
    data = turn("-m", "2 brothers rob a bank")
    assert data["intent"] == "story"
    assert data["currentStep"] == "initial_concept"
    assert data["response"].startswith("Recorded the concept: '2 brothers rob a bank'.")
    assert _story(cli)["concept"] == "2 brothers rob a bank"
    user = _messages(cli, data["sessionId"])[0]
    assert user["metadata"] == {"step": "initial_concept", "intent": "story"}
    # only a number picks: choice 2 is the manual override, which needs a direction
    result = cli("chat", "Heist", "-m", "2")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: custom input required")
    data = turn("-m", "1")
    assert (data["intent"], data["currentStep"]) == ("choice", "story_development")


def test_three_characters_in_one_message_are_three(cli, admin):
    turn = _project(cli)
    _to_character_creation(turn)
    data = turn("-m", "Mia: a thief; Rex: her brother; Ada: the cop")
    assert data["response"].startswith("Recorded 3 characters: Mia, Rex, Ada.\n")
    data = turn("-m", "- mia: the brains of the operation\n- Zed - the fence")
    assert data["response"].startswith(
        "Updated the character Mia; /undo restores: 'a thief'.\nRecorded 1 character: Zed.\n"
    )
    assert _story(cli)["characters"] == [
        {"name": "Mia", "description": "the brains of the operation"},
        {"name": "Rex", "description": "her brother"},
        {"name": "Ada", "description": "the cop"},
        {"name": "Zed", "description": "the fence"},
    ]


def _reply_block(screen: str) -> list[str]:
    """The reply's lines of a one-turn chat's screen (before its choices)."""
    return screen.split("\n\nChoices:\n", 1)[0].splitlines()


@pytest.mark.parametrize("columns", [60, 120])
def test_replies_wrap_at_word_boundaries(cli, admin, columns):
    from rich.cells import cell_len as cells

    _project(cli)
    concept = (
        "A heist on the moon, where two estranged brothers, a retired safecracker and "
        "a cat who understands vaults plan the theft of the century under the lunar dome"
    )
    term = Terminal("chat", "Heist", "-m", concept, columns=columns)
    assert term.finish() == 0
    lines = _reply_block(term.text)
    stored = cli("session", "list", "--json").json()["items"][0]["id"]
    reply = _messages(cli, stored)[-1]["content"]
    assert len(lines) > len(reply.splitlines())  # wrapped, at this width
    assert all(cells(line) <= columns for line in lines)
    # the same words in the same order: no word was cut
    assert " ".join(" ".join(lines).split()) == " ".join(reply.split())
    # each line of the reply takes screen lines as full as they can be: the next word
    # would not have fitted on the line before
    screen = iter(lines)
    for logical in reply.splitlines():
        group = [next(screen)]
        while " ".join(" ".join(group).split()) != " ".join(logical.split()):
            group.append(next(screen))
        for line, following in itertools.pairwise(group):
            first = following.split()[0]
            assert cells(line) + 1 + cells(first) > columns, (line, following)
    choices = term.text.split("\n\nChoices:\n", 1)[1].splitlines()
    assert all(cells(line) <= columns for line in choices)


# --- labels in any step, several items, what a reply says ------------------------------------


def test_labels_work_in_any_step_and_undo_restores(cli, admin):
    turn = _project(cli)
    _to_character_creation(turn)
    data = turn(
        "-m",
        "Concept: A heist on the moon\nLogline: Two brothers, one vault, no way back.\n"
        "Scene Vault: the breach goes wrong\nConcept:",
    )
    assert data["response"].splitlines()[:4] == [
        "Replaced the concept; /undo restores: 'Two brothers rob the bank that ruined their "
        "father'.",
        "Recorded the logline: 'Two brothers, one vault, no way back.'",
        "Recorded 1 scene: Vault.",
        "Not recorded: 'Concept:' with nothing after it.",
    ]
    story = _story(cli)
    assert story["concept"] == "A heist on the moon"
    assert [s["title"] for s in story["scenes"]] == ["Vault"]
    result = cli("chat", "Heist", "-m", "/undo")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Undid the chat change of ")
    story = _story(cli)
    assert story["concept"] == "Two brothers rob the bank that ruined their father"
    assert story["scenes"] == [] and story["logline"] is None


def test_other_steps_record_directions_and_questions_quote_the_story(cli, admin):
    turn = _project(cli)
    _to_character_creation(turn)
    turn("-m", "Mia: a thief\nRex: her brother")
    data = turn("--choice", "visual_design")
    data = turn("-m", "neon noir, rain on chrome")
    assert data["response"].startswith(
        "Noted as a direction for Visual design: 'neon noir, rain on chrome'."
    )
    data = turn("-m", "what is my concept?")
    assert data["response"].startswith(
        "Your concept: 'Two brothers rob the bank that ruined their father'\n"
    )
    data = turn("-m", "who are my characters?")
    assert data["response"].startswith(
        "Your 2 characters:\n- Mia: 'a thief'\n- Rex: 'her brother'\n"
    )
    assert [d["text"] for d in _story(cli)["directions"]] == ["neon noir, rain on chrome"]


def test_choice_by_number_or_step_id(cli, admin):
    turn = _project(cli)
    turn("-m", "A heist on the moon")
    data = turn("--choice", "1")
    assert data["currentStep"] == "story_development"
    data = turn("-m", "character creation")  # a step's title is a choice too
    assert data["intent"] == "choice"
    assert data["blocked"] == ["a story synopsis (send it as a message in Story development)"]
    result = cli("chat", "Heist", "--choice", "7")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: no choice 7 (the choices shown: 1. character_creation, 2. manual_override)\n"
    )
    result = cli("chat", "Heist", "-m", "2", "--choice", "1")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: the message '2' is a choice, and --choice")


def test_a_message_over_the_size_limit_stores_nothing(cli, cli_process, admin):
    """Issue 13 item 10: a message (or a concept) over 64 KiB is exit 2, nothing stored."""
    _project(cli)
    big = "x" * (64 * 1024 + 1)
    for args, stdin in ((("-m", big), None), (("-m", "-"), big), (("--custom", big), None)):
        result = cli_process("chat", "Heist", *args, input=stdin)
        assert result.exit_code == 2, result.stderr
        assert len(result.stderr.splitlines()) == 1
        assert "over the limit of 64 KiB" in result.stderr
    assert cli("session", "list", "--json").json()["total"] == 0
    assert _story(cli)["concept"] is None
    result = cli_process("chat", "Heist", "-m", "y" * (64 * 1024), "--json")
    assert result.exit_code == 0, result.stderr
    assert len(_story(cli)["concept"]) == 64 * 1024


# --- the REPL in a real terminal ---------------------------------------------------------------


def test_the_repl_in_a_pseudo_terminal(cli, admin):
    """Typed in the REPL, "2 brothers rob a bank" picked choice 2 as soon as the 2 was
    typed; now it is the concept, and only a message that is just a number picks."""
    _project(cli)
    term = Terminal("chat", "Heist", columns=80)
    term.answer("", "you>")

    def say(keys: str, reply: str) -> None:
        term.answer(keys, reply, "you>")

    say("2 brothers rob a bank\r", "Recorded the concept: '2 brothers rob a bank'.")
    say("what is my concept?\r", "Your concept: '2 brothers rob a bank'")
    say("1\r", "Now on Story development")
    say(
        PASTE_START + "They plan it.\r\rThe vault is empty." + PASTE_END + "\r",
        "Recorded the synopsis (7 words).",
    )
    say("/story\r", "│ They plan it.")  # story show's panel
    term.send("\x04")  # Ctrl-D: pause and leave
    assert term.finish() == 0
    assert "paused. Resume with: moviecli chat Heist" in term.text
    story = _story(cli)
    assert story["concept"] == "2 brothers rob a bank"
    assert story["synopsis"] == "They plan it.\n\nThe vault is empty."
