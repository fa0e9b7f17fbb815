"""The chat driven through a pipe: one line per turn, numbers pick choices, slash commands,
the session paused at the end of input and resumed where it was."""

from __future__ import annotations

from typing import Any


def _project(cli: Any, title: str = "P") -> dict[str, Any]:
    result = cli("project", "create", title, "--genre", "drama", "--episodes", "2", "--json")
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = result.json()
    return data


def _only_session(cli: Any) -> dict[str, Any]:
    listed = cli("session", "list", "--json").json()
    assert listed["total"] == 1
    item: dict[str, Any] = listed["items"][0]
    return item


def test_printf_a_message_and_a_choice_into_a_real_process(cli, cli_process, admin):
    _project(cli, "Space Heist")
    result = cli_process("chat", "Space Heist", input="A heist in space\n1\n")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("Started session ")
    assert "> A heist in space\nRecorded the concept: 'A heist in space'.\n" in result.stdout
    assert "> 1\nCompleted Initial concept (progress 13%).\n" in result.stdout
    assert result.stdout.endswith("paused. Resume with: moviecli chat 'Space Heist'\n")
    progress = cli("project", "progress", "Space Heist", "--json").json()
    assert progress["currentPhase"] == "story_development"
    assert progress["completedSteps"] == ["initial_concept"]
    assert progress["overallProgress"] == 13
    assert progress["status"] == "pre-production"
    session = _only_session(cli)
    assert session["sessionState"] == "paused"
    # greeting, then two turns
    assert session["messageCount"] == 5


def test_slash_commands_in_line_mode(cli, admin):
    _project(cli)
    script = "\n".join(
        [
            "/help",
            "A lighthouse keeper's last winter",
            "/choices",
            "2",  # manual_override picked by number: needs /override TEXT, nothing stored
            "/override Keep it quiet and cold",
            "/progress",
            "/history 2",
            "7",
            "/bogus",
            "",
        ]
    )
    result = cli("chat", "P", input=script)
    assert result.exit_code == 0
    out = result.stdout
    assert "  /override TEXT    manual override: your own direction\n" in out
    assert "> /choices\n  1. 📖 Story development ★ recommended (30 min)" in out
    assert "Manual override for Initial concept: 'Keep it quiet and cold'." in out
    assert "> /progress\nP: concept, 0% (0/8 steps), on initial_concept\n" in out
    assert "  ▶ Initial concept (current)\n" in out
    assert "  ✗ Story development (blocked): after Initial concept\n" in out
    assert "> /history 2\n  you: Keep it quiet and cold\n  assistant: Manual override" in out
    assert result.stderr == (
        "Error: custom input required (give your direction: /override TEXT)\n"
        "Error: no choice 7 (the choices shown: 1. story_development, 2. manual_override)\n"
        "Error: unknown command /bogus (commands: /help, /choices, /progress, /story, /undo, "
        "/history, /attach, /override, /pause, /quit)\n"
    )
    session = _only_session(cli)
    assert session["messageCount"] == 5  # greeting + 2 turns: nothing stored for the errors
    assert session["contextData"]["directions"][0]["text"] == "Keep it quiet and cold"


def test_pause_stops_reading_and_resume_shows_where_it_was(cli, admin):
    _project(cli)
    result = cli("chat", "P", input="A quiet film\n/pause\nnever sent\n")
    assert result.exit_code == 0
    assert "never sent" not in result.stdout
    session = _only_session(cli)
    assert (session["sessionState"], session["messageCount"]) == ("paused", 3)

    result = cli("chat", "P", input="")
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith(
        f"Resumed session {session['id'][:8]} on 'P': Initial concept (0%, 0/8 steps done)\n"
        "Last exchange:\n"
        "  you: A quiet film\n"
        "  assistant: Recorded the concept: 'A quiet film'.\n"
    )
    assert "Choices:\n  1. 📖 Story development ★ recommended (30 min)" in out
    assert _only_session(cli)["sessionState"] == "paused"


def test_the_walk_through_a_pipe_until_the_session_completes(cli, admin, database):
    from tests.chathelp import insert_media

    pid = _project(cli)["id"]
    for media_type, extra in (
        ("style_reference", {"style_reference": True}),
        ("music_track", {}),
        ("video_segment", {}),
        ("final_video", {}),
    ):
        insert_media(database, pid, admin.id, media_type, **extra)
    lines = [
        "A film about a lighthouse",
        "1",
        "The keeper stays through the storm.",
        "1",
        "Ada: the keeper\nBen: the radio voice",
        "1",  # visual_design
        "1",  # audio_design
        "1",  # scene_production
        "Storm: the night the lamp fails",
        "1",  # post_production
        "1",  # final_assembly
        "1",  # complete the workflow: the session closes, the rest is not read
        "after the end",
    ]
    result = cli("chat", "P", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.stderr
    assert "This session is now closed; moviecli chat starts a new one.\n" in result.stdout
    assert "after the end" not in result.stdout
    progress = cli("project", "progress", "P", "--json").json()
    assert (progress["overallProgress"], progress["status"]) == (100, "completed")
    assert _only_session(cli)["sessionState"] == "completed"


def test_attach_in_line_mode(cli, admin, tmp_path):
    from tests import media_factory as mf

    _project(cli)
    image = mf.png(tmp_path / "mood board.png")
    result = cli("chat", "P", input=f"/attach {image} concept_art\n/attach\n")
    assert result.exit_code == 0
    assert "Attached 1 file: mood board.png (concept_art).\n" in result.stdout
    assert result.stderr == "Error: /attach needs a file (/attach FILE [TYPE])\n"
    media = cli("media", "list", "P", "--json").json()["items"]
    assert [(m["mediaType"], m["filename"]) for m in media] == [("concept_art", "mood board.png")]
