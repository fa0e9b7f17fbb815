"""A project walked from initial_concept to final_assembly completed through one-turn
``chat -m/--choice`` calls alone, asserting the state at every step (SPEC section 5)."""

from __future__ import annotations

from typing import Any

from tests.chathelp import chatter, choice_ids, insert_media, state

IC, SD, CC, VD, AD, SP, PP, FA = (
    "initial_concept",
    "story_development",
    "character_creation",
    "visual_design",
    "audio_design",
    "scene_production",
    "post_production",
    "final_assembly",
)


def _messages(cli: Any, session_id: str) -> list[dict[str, Any]]:
    result = cli("session", "show", session_id, "--limit", "200", "--json")
    assert result.exit_code == 0, result.stderr
    items: list[dict[str, Any]] = result.json()["items"]
    return items


def test_the_whole_workflow_through_one_turn_calls(cli, admin, database):
    created = cli(
        "project", "create", "Space Heist", "--genre", "sci-fi", "--episodes", "3", "--json"
    ).json()
    pid = created["id"]
    turn = chatter(cli, "Space Heist")

    # initial_concept: nothing recorded yet, so the move is blocked (stored, exit 0)
    data = turn("--choice", SD)
    sid = data["sessionId"]
    assert state(data) == (IC, [], 0, "concept")
    assert data["blocked"] == ["a concept (describe the series in a message)"]
    assert data["response"].startswith(
        "Cannot move to Story development yet. Missing:\n"
        "- a concept (describe the series in a message)\n"
    )
    assert choice_ids(data) == [SD, "manual_override"]

    # manual_override without input: exit 2, nothing stored
    before = len(_messages(cli, sid))
    result = cli("chat", "Space Heist", "--choice", "manual_override")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: custom input required (")
    assert len(_messages(cli, sid)) == before

    # manual_override with input: a direction, quoted, no move, requirements not bypassed
    data = turn("--choice", "manual_override", "--custom", "Keep the pacing of a heist movie")
    assert data["sessionId"] == sid
    assert state(data) == (IC, [], 0, "concept")
    assert (
        "Manual override for Initial concept: 'Keep the pacing of a heist movie'."
        in (data["response"])
    )
    assert "Initial concept still needs a concept" in data["response"]

    data = turn("-m", "A heist in space: cats steal the moon")
    assert state(data) == (IC, [], 0, "concept")
    assert data["response"].startswith(
        "Recorded the concept: 'A heist in space: cats steal the moon'."
    )
    assert data["choices"][0] == {
        "id": SD,
        "title": "Story development",
        "description": "Write the synopsis: where the story starts, turns and ends.",
        "isRecommended": True,
        "estimatedTime": "30 min",
        "icon": "📖",
    }

    data = turn("--choice", SD)
    assert state(data) == (SD, [IC], 13, "pre-production")
    assert data["blocked"] == []

    # story_development
    data = turn("--choice", CC)
    assert state(data) == (SD, [IC], 13, "pre-production")
    assert data["blocked"] == ["a story synopsis (send it as a message in Story development)"]
    data = turn("-m", "The crew of cats plans the theft of the century.")
    assert "Recorded the synopsis (10 words)." in data["response"]
    data = turn("--choice", VD)
    assert data["blocked"] == ["Character creation completed first"]
    data = turn("--choice", CC)
    assert state(data) == (CC, [IC, SD], 25, "pre-production")
    assert choice_ids(data) == [VD, AD, "manual_override"]

    # character_creation: one character from the story, one from a design's relatedElements
    data = turn("-m", "Mia: the pilot who never lands")
    assert "Recorded 1 character: Mia." in data["response"]
    data = turn("--choice", VD)
    assert data["blocked"] == [
        "at least 2 characters (1 recorded: Mia; send 'Name: description' lines or add "
        "character_design media)"
    ]
    assert state(data) == (CC, [IC, SD], 25, "pre-production")
    insert_media(database, pid, admin.id, "character_design", characters=["Rex", "mia"])
    data = turn("--choice", VD)
    assert state(data) == (VD, [IC, SD, CC], 38, "pre-production")
    assert choice_ids(data) == [AD, SP, "manual_override"]

    # visual_design
    data = turn("--choice", SP)
    assert data["blocked"] == [
        "at least 1 style reference (attach an image or moviecli project style add)"
    ]
    insert_media(database, pid, admin.id, "style_reference", style_reference=True)
    data = turn("--choice", AD)
    assert state(data) == (AD, [IC, SD, CC, VD], 50, "pre-production")

    # audio_design
    data = turn("--choice", SP)
    assert data["blocked"] == [
        "at least 1 audio asset (voice_profile, music_track, sound_effect or audio_clip)"
    ]
    insert_media(database, pid, admin.id, "music_track")
    data = turn("--choice", SP)
    assert state(data) == (SP, [IC, SD, CC, VD, AD], 63, "production")

    # back to a completed step: nothing needed, nothing completed, status never backward
    data = turn("--choice", IC)
    assert state(data) == (IC, [IC, SD, CC, VD, AD], 63, "production")
    assert data["response"].startswith("Back to Initial concept")
    data = turn("--choice", SP)
    assert state(data) == (SP, [IC, SD, CC, VD, AD], 63, "production")

    # scene_production
    data = turn("--choice", PP)
    assert data["blocked"] == [
        "at least 1 scene (send 'Scene title: description' lines or add a storyboard with --scene)"
    ]
    data = turn(
        "-m", "Vault breach: the cats crack the lunar vault\nEscape: a chase through the rings"
    )
    assert "Recorded 2 scenes: Vault breach, Escape." in data["response"]
    data = turn("--choice", PP)
    assert state(data) == (PP, [IC, SD, CC, VD, AD, SP], 75, "post-production")

    # post_production
    data = turn("--choice", FA)
    assert data["blocked"] == ["at least 1 video segment (attach or add video_segment media)"]
    insert_media(database, pid, admin.id, "video_segment")
    data = turn("--choice", FA)
    assert state(data) == (FA, [IC, SD, CC, VD, AD, SP, PP], 88, "post-production")
    assert choice_ids(data) == [FA, "manual_override"]

    # final_assembly: completing it needs a final video
    data = turn("--choice", FA)
    assert data["blocked"] == ["a final video (attach or add final_video media)"]
    assert data["sessionState"] == "active"
    insert_media(database, pid, admin.id, "final_video")
    data = turn("--choice", FA)
    assert state(data) == (FA, [IC, SD, CC, VD, AD, SP, PP, FA], 100, "completed")
    assert data["sessionState"] == "completed"
    assert data["choices"] == []
    assert data["blocked"] == []

    # the story record holds what the chat recorded
    story = cli("project", "show", pid, "--json").json()["story"]
    assert story["concept"] == "A heist in space: cats steal the moon"
    assert story["synopsis"] == "The crew of cats plans the theft of the century."
    assert [c["name"] for c in story["characters"]] == ["Mia"]
    assert [s["title"] for s in story["scenes"]] == ["Vault breach", "Escape"]
    assert [(d["step"], d["text"]) for d in story["directions"]] == [
        (IC, "Keep the pacing of a heist movie")
    ]

    # every turn is stored once, user then assistant, numbered in order
    messages = _messages(cli, sid)
    assert [m["role"] for m in messages] == ["user", "assistant"] * (len(messages) // 2)
    assert [m["id"] for m in messages] == sorted(m["id"] for m in messages)
    assert messages[-2]["metadata"] == {"step": FA, "choiceId": FA}  # no message, no intent
    assert messages[-1]["metadata"] == {"step": FA, "backend": "builtin", "choiceId": FA}

    # the completed session is read-only: chat starts a new one and says so
    result = cli("chat", "Space Heist", "--session", sid, "-m", "What next?", "--json")
    assert result.exit_code == 0, result.stderr
    again = result.json()
    assert again["sessionId"] != sid
    assert again["notice"] == (
        f"Session {sid[:8]} is completed (read-only); started a new session on 'Space Heist'."
    )
    assert len(_messages(cli, sid)) == len(messages)


def test_on_hold_refuses_moves_but_records_messages(cli, admin):
    cli("project", "create", "Held", "--genre", "drama", "--episodes", "2")
    turn = chatter(cli, "Held")
    turn("-m", "A family saga")
    assert cli("project", "hold", "Held").exit_code == 0
    data = turn("--choice", SD)
    assert data["blocked"] == [
        "the project is on hold (moviecli project resume takes it off hold)"
    ]
    assert state(data) == (IC, [], 0, "on-hold")
    assert data["choices"][0]["isRecommended"] is False
    data = turn("-m", "Three generations under one roof")
    assert (
        "Added to the concept: 'A family saga. Three generations under one roof'."
        in (data["response"])
    )
    assert cli("project", "resume", "Held").exit_code == 0
    data = turn("--choice", SD)
    assert state(data) == (SD, [IC], 13, "pre-production")


def test_unknown_choice_is_exit_2_listing_the_valid_ones(cli, admin):
    cli("project", "create", "P", "--genre", "drama", "--episodes", "2")
    result = cli("chat", "P", "--choice", "editing")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: unknown choice 'editing' (valid choices: initial_concept, story_development, "
        "character_creation, visual_design, audio_design, scene_production, post_production, "
        "final_assembly, manual_override)\n"
    )
    assert cli("session", "list", "--json").json()["total"] == 0


def test_plain_output_prints_the_reply_and_numbered_choices(cli, admin):
    cli("project", "create", "P", "--genre", "drama", "--episodes", "2")
    result = cli("chat", "P", "-m", "A lighthouse keeper's last winter")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "Recorded the concept: 'A lighthouse keeper's last winter'.\n"
        "Initial concept has everything it needs.\n"
        "Recommended: 1. Story development (--choice story_development).\n"
        "\n"
        "Choices:\n"
        "  1. 📖 Story development ★ recommended (30 min): Write the synopsis: where the story "
        "starts, turns and ends.\n"
        "  2. ✍ Manual override (varies): Give your own direction in your words (needs custom "
        "input); it does not skip requirements.\n"
    )


def test_message_from_stdin(cli, admin):
    cli("project", "create", "P", "--genre", "drama", "--episodes", "2")
    result = cli("chat", "P", "-m", "-", "--json", input="A long\nconcept text\n")
    assert result.exit_code == 0, result.stderr
    assert result.json()["response"].startswith("Recorded the concept: 'A long concept text'.")


def test_the_media_steps_with_attachments(cli, admin, tmp_path):
    """From character_creation to the end with files attached to chat turns: their types
    are inferred from the family and the step, and each reply names them."""
    from tests import media_factory as mf

    cli("project", "create", "Lamp", "--genre", "drama", "--episodes", "2")
    turn = chatter(cli, "Lamp")
    turn("-m", "A lighthouse film", "--choice", SD)
    turn("-m", "The keeper stays through the storm.", "--choice", CC)

    # an image in character_creation is a character design; characters still come from text
    face = mf.png(tmp_path / "ada-face.png", seed=1)
    data = turn("-m", "Ada: the keeper\nBen: the radio voice", "--attach", str(face))
    assert data["response"].startswith(
        "Attached 1 file: ada-face.png (character_design).\nRecorded 2 characters: Ada, Ben."
    )
    data = turn("--choice", VD)
    assert state(data) == (VD, [IC, SD, CC], 38, "pre-production")

    # visual_design: an image becomes a style reference of the project (two at once here)
    look = mf.png(tmp_path / "look.png", seed=2)
    rain = mf.jpeg(tmp_path / "rain.jpg", seed=3)
    data = turn("--attach", str(look), "--attach", str(rain), "--choice", AD)
    assert data["response"].startswith(
        "Attached 2 files: look.png (style_reference), rain.jpg (style_reference).\n"
        "Completed Visual design (progress 50%)."
    )
    assert state(data) == (AD, [IC, SD, CC, VD], 50, "pre-production")
    project = cli("project", "show", "Lamp", "--json").json()
    assert len(project["styleReferences"]) == 2

    # audio_design: a sound is a music track
    score = mf.wav(tmp_path / "score.wav", seed=4)
    data = turn("--attach", str(score), "--choice", SP)
    assert "score.wav (music_track)" in data["response"]
    assert state(data) == (SP, [IC, SD, CC, VD, AD], 63, "production")

    # scene_production: an explicit --attach-type (a storyboard with no scene does not count)
    board = mf.png(tmp_path / "board.png", seed=5)
    data = turn("--attach", str(board), "--attach-type", "storyboard", "--choice", PP)
    assert "board.png (storyboard)" in data["response"]
    assert data["blocked"] != []
    data = turn("-m", "Storm: the lamp fails", "--choice", PP)
    assert state(data) == (PP, [IC, SD, CC, VD, AD, SP], 75, "post-production")

    # post_production: a video is a segment; final_assembly: a video is the final video
    clip = mf.mp4(tmp_path / "clip.mp4", seed=6)
    data = turn("--attach", str(clip), "--choice", FA)
    assert "clip.mp4 (video_segment)" in data["response"]
    assert state(data) == (FA, [IC, SD, CC, VD, AD, SP, PP], 88, "post-production")
    # the same bytes again, asked as the final video: the project already holds them as a
    # segment, and the reply says so instead of claiming a final video was attached
    data = turn("--attach", str(clip), "--attach-type", "final_video")
    assert data["response"].startswith(
        "clip.mp4 is already in the project as video_segment: nothing new attached.\n"
        "Final assembly still needs a final video"
    )
    final = mf.mp4(tmp_path / "final.mp4", seed=7)
    data = turn("--attach", str(final), "--choice", FA)
    assert "final.mp4 (final_video)" in data["response"]
    assert state(data) == (FA, [IC, SD, CC, VD, AD, SP, PP, FA], 100, "completed")

    # the attachments are media of the project, listed on the user messages
    history = cli("session", "export", data["sessionId"]).json()["conversationHistory"]
    attached = [m["attachments"] for m in history if m["role"] == "user" and m["attachments"]]
    assert [len(a) for a in attached] == [1, 2, 1, 1, 1, 1, 1]
    media = cli("media", "list", "Lamp", "--json").json()
    assert media["total"] == 7
    assert {m["id"] for m in media["items"]} == {i for a in attached for i in a}


def test_a_bad_attachment_stores_nothing(cli, admin, tmp_path):
    from tests import media_factory as mf

    cli("project", "create", "Lamp", "--genre", "drama", "--episodes", "2")
    good = mf.png(tmp_path / "good.png")
    bad = mf.exe(tmp_path / "bad.png")
    result = cli("chat", "Lamp", "-m", "hi", "--attach", str(good), "--attach", str(bad))
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: cannot attach these files\n")
    assert "bad.png: file type not supported" in result.stderr
    result = cli("chat", "Lamp", "-m", "hi", "--attach", str(tmp_path / "missing.png"))
    assert result.exit_code == 2
    assert "missing.png: no such file" in result.stderr
    result = cli("chat", "Lamp", "--attach", str(good), "--attach-type", "final_video")
    assert result.exit_code == 2
    assert cli("session", "list", "--json").json()["total"] == 0
    assert cli("media", "list", "Lamp", "--json").json()["total"] == 0


def test_the_greeting_asks_only_for_what_the_step_lacks(cli, admin):
    """A step that has everything needs no asking ("Describe the series…" beside "has
    everything it needs" read as a contradiction); one that lacks something says what
    to send and what is missing."""
    cli("project", "create", "Bare", "--genre", "drama", "--episodes", "2")
    cli(
        "project", "create", "Ready", "--genre", "drama", "--episodes", "2",
        "--description", "A keeper's last winter",
    )  # fmt: skip
    greetings = {}
    for title in ("Bare", "Ready"):
        result = cli("chat", title, input="/quit\n")
        assert result.exit_code == 0, result.stderr
        sid = cli("session", "list", "--project", title, "--json").json()["items"][0]["id"]
        first = cli("session", "show", sid, "--json").json()["items"][0]
        assert first["role"] == "assistant"
        greetings[title] = first["content"].splitlines()
    assert greetings["Bare"][1:] == [
        "Describe the series in a message: its premise, world and tone.",
        "Initial concept still needs a concept (describe the series in a message).",
        "Next: 1. Story development (--choice story_development), once the above is done.",
    ]
    assert greetings["Ready"][1:] == [
        "Initial concept has everything it needs.",
        "Recommended: 1. Story development (--choice story_development).",
    ]
