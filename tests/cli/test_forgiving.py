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


# --- 8. an optional PROJECT is the current project, everywhere -----------------------------------

BOB = "bob@example.com"
# command → (setup commands, the command without its PROJECT, (check command or None, text)):
# the text is looked for in the check command's output (on "Second", named), or in the
# command's own output. {second} is Second's id, {media} an image of Second.
CURRENT_PROJECT_CASES = {
    "chat": ([], ["chat", "-m", "A heist on the moon"], (["story", "show", "Second"], "heist")),
    "project show": ([], ["project", "show", "--json"], (None, "{second}")),
    "project episodes": ([], ["project", "episodes", "--json"], (None, "{second}")),
    "project progress": ([], ["project", "progress", "--json"], (None, "{second}")),
    "project update": (
        [],
        ["project", "update", "--description", "Moon heist"],
        (["project", "show", "Second", "--json"], '"description": "Moon heist"'),
    ),
    "project status": (
        [],
        ["project", "status", "pre-production"],
        (["project", "show", "Second", "--json"], '"status": "pre-production"'),
    ),
    "project hold": (
        [],
        ["project", "hold"],
        (["project", "show", "Second", "--json"], '"status": "on-hold"'),
    ),
    "project resume": (
        [["project", "hold", "Second"]],
        ["project", "resume"],
        (None, "Second: on-hold → concept"),
    ),
    "project export": ([], ["project", "export", "--format", "json"], (None, "{second}")),
    "project bible": ([], ["project", "bible", "-o", "-"], (None, "<title>Second")),
    "project collab add": (
        [],
        ["project", "collab", "add", BOB],
        (["project", "collab", "list", "Second", "--json"], BOB),
    ),
    "project collab remove": (
        [["project", "collab", "add", "Second", BOB]],
        ["project", "collab", "remove", BOB],
        (None, f"{BOB} no longer collaborates on 'Second'"),
    ),
    "project collab list": (
        [["project", "collab", "add", "Second", BOB]],
        ["project", "collab", "list", "--json"],
        (None, BOB),
    ),
    "project style add": (
        [],
        ["project", "style", "add", "{media}"],
        (["project", "show", "Second", "--json"], '"styleReferences": [\n    "{media}"'),
    ),
    "project style remove": (
        [["project", "style", "add", "Second", "{media}"]],
        ["project", "style", "remove", "{media}"],
        (None, "is no longer a style reference of 'Second'"),
    ),
    "story show": ([], ["story", "show", "--json"], (None, "{second}")),
    "story set": (
        [],
        ["story", "set", "--concept", "Moon"],
        (["story", "show", "Second", "--json"], '"concept": "Moon"'),
    ),
    "story history": (
        [["story", "set", "Second", "--concept", "Moon"]],
        ["story", "history", "--json"],
        (None, "{second}"),
    ),
    "story undo": (
        [["story", "set", "Second", "--concept", "Moon"]],
        ["story", "undo", "--json"],
        (None, "{second}"),
    ),
    "media list": ([], ["media", "list", "--json"], (None, "{second}")),
}


def test_14_8_every_optional_project_command_is_listed():
    from tests import clitree

    optional = {
        " ".join(path)
        for path, command in clitree.walk(clitree.root())
        if any(
            p.param_type_name == "argument" and p.name == "project" and not p.required
            for p in command.params
        )
    }
    # project use takes PROJECT or --clear: it sets the current project
    assert optional - {"project use"} == set(CURRENT_PROJECT_CASES)


@pytest.mark.parametrize("command", sorted(CURRENT_PROJECT_CASES))
def test_14_8_optional_project_means_the_current_project(command, cli, admin, make_user, database):
    new_project(cli, "First")
    second = new_project(cli, "Second")
    assert cli("project", "use", "Second").exit_code == 0
    make_user(BOB)
    media = add_media(database, second["id"], admin.id, "style_reference", name="look.png")
    setup, args, (check, text) = CURRENT_PROJECT_CASES[command]

    def fill(items):
        return [item.format(second=second["id"], media=media) for item in items]

    for step in setup:
        assert cli(*fill(step)).exit_code == 0
    result = cli(*fill(args))
    assert result.exit_code == 0, result.stderr
    if check is not None:
        result = cli(*fill(check))
        assert result.exit_code == 0, result.stderr
    assert text.format(second=second["id"], media=media) in result.stdout


def test_14_8_one_argument_is_the_value_and_none_is_a_usage_error(cli, admin):
    new_project(cli, "Only")
    result = cli("project", "status")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: Missing argument 'NEW' (see 'moviecli project status --help')\n"
    )
    assert cli("project", "use", "--clear").exit_code == 0
    result = cli("project", "status", "production")
    assert result.exit_code == 2
    assert result.stderr == ("Error: no project given (pass one or run moviecli project use)\n")
    result = cli("project", "status", "Only", "pre-production")
    assert (result.exit_code, result.stdout) == (0, "Only: concept → pre-production\n")


# --- 12. every config key: documented, shown with its default and its source -------------------


def test_14_12_readme_documents_every_config_key():
    from pathlib import Path

    from moviecli import config

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for key in config.KEYS:
        assert f"| `{key}` |" in readme, key


def test_14_12_config_show_says_where_each_value_comes_from(cli, home, monkeypatch):
    assert cli("config", "set", "chat.timeout", "90").exit_code == 0
    monkeypatch.setenv("MOVIECLI_DATABASE_URL", f"sqlite:///{home / 'other.db'}")
    result = cli("config", "show", "--json")
    assert result.exit_code == 0, result.stderr
    shown = result.json()
    assert list(shown) == [
        "database.url",
        "media.store",
        "media.group_access",
        "auth.token_days",
        "chat.backend",
        "chat.base_url",
        "chat.model",
        "chat.api_key_env",
        "chat.timeout",
        "chat.max_tokens",
    ]
    assert shown["chat.timeout"] == {
        "value": 90,
        "source": "file",
        "default": 60,
        "environment": None,
        "meaning": shown["chat.timeout"]["meaning"],
    }
    assert shown["database.url"]["value"] == f"sqlite:///{home / 'other.db'}"
    assert shown["database.url"]["source"] == "environment"
    assert shown["database.url"]["default"] == f"sqlite:///{home / 'moviecli.db'}"
    assert shown["database.url"]["environment"] == "MOVIECLI_DATABASE_URL"
    assert shown["media.store"] == {
        **shown["media.store"],
        "value": str(home / "media"),
        "source": "default",
        "default": str(home / "media"),
    }
    assert shown["chat.model"]["value"] is None
    assert shown["chat.model"]["source"] == "default"

    plain = cli("--db", "sqlite:////tmp/x.db", "config", "show").stdout.splitlines()
    assert plain[0] == "key\tvalue\tsource\tdefault\tmeaning"
    assert plain[1].startswith("database.url\tsqlite:////tmp/x.db\toption\t")
    assert "chat.timeout\t90\tfile\t60\t" in "\n".join(plain)
    assert "chat.model\t—\tdefault\t—\t" in "\n".join(plain)


def test_14_12_config_show_fits_80_columns(cli, home, terminal):
    assert cli("config", "set", "chat.timeout", "90").exit_code == 0
    terminal(80)
    result = cli("config", "show")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if "Key" in line)  # under the file's path
    assert "Value" in header and "Source" in header
    assert any("│ chat.max_tokens    │ 600" in line and "│ default" in line for line in lines)
    timeout = next(i for i, line in enumerate(lines) if "│ chat.timeout" in line)
    assert "│ file (default: 60)" in "".join(lines[timeout : timeout + 2])


# --- 11. session export --format json|markdown [-o FILE] ---------------------------------------


@pytest.fixture
def chatted(cli, admin, tmp_path):
    """A session of four turns: a concept, a choice, a synopsis with an image, an override
    holding an escape sequence."""
    from tests.media_factory import png

    new_project(cli, "Heist")
    first = cli("chat", "Heist", "-m", "A heist on the moon", "--json")
    assert first.exit_code == 0, first.stderr
    sid = first.json()["sessionId"]
    for args in (
        ["--choice", "story_development"],
        ["-m", "Synopsis: Mia steals the moon", "--attach", str(png(tmp_path / "look.png"))],
        ["--choice", "manual_override", "--custom", "Make it \x1b[31mred"],
    ):
        result = cli("chat", "Heist", *args)
        assert result.exit_code == 0, result.stderr
    return sid


def test_14_11_session_export_markdown_is_a_transcript(cli, chatted):
    result = cli("session", "export", chatted[:8], "--format", "markdown")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert text.startswith(f"# Heist: chat session {chatted[:8]}\n")
    assert "- User: Ada Admin\n" in text
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## Initial concept", "## Story development"]
    assert "**Ada Admin** · " in text
    assert "\n> A heist on the moon\n" in text
    assert "**Ada Admin** chose **Story development** · " in text
    assert "Choose: Story development" not in text
    assert "**Assistant** · " in text
    assert "> Recorded the concept: 'A heist on the moon'." in text
    assert "\nAttached: look.png (concept_art)\n" in text
    assert "**Ada Admin** chose **Manual override** · " in text
    assert "> Make it \\x1b[31mred" in text
    assert "\x1b" not in text


def test_14_11_session_export_json_and_files(cli, chatted, tmp_path):
    import json
    import stat

    data = cli("session", "export", chatted).json()
    assert data["id"] == chatted
    assert data["projectTitle"] == "Heist"
    assert [m["role"] for m in data["conversationHistory"]] == ["user", "assistant"] * 4
    assert data["conversationHistory"][4]["attachments"]  # the image's media id

    out = tmp_path / "session.md"
    result = cli("session", "export", chatted, "--format", "markdown", "-o", str(out))
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", f"Wrote {out}\n")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text().startswith("# Heist: chat session")

    result = cli("session", "export", chatted, "-o", str(out))
    assert result.exit_code == 5
    assert result.stderr == f"Error: {out} already exists (pass --force to replace it)\n"
    assert out.read_text().startswith("# Heist")  # unchanged
    result = cli("session", "export", chatted, "-o", str(out), "--force")
    assert result.exit_code == 0, result.stderr
    assert json.loads(out.read_text())["id"] == chatted

    result = cli("session", "export", chatted, "--format", "html")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: invalid input\n  format: 'html' is not one of: json, markdown\n"
    )
    result = cli("session", "export", chatted, "-o", str(tmp_path / "nowhere" / "s.md"))
    assert result.exit_code == 2
    assert result.stderr == f"Error: no such directory: {tmp_path / 'nowhere'}\n"
    result = cli("session", "export", "ffffffff", "--format", "markdown")
    assert (result.exit_code, result.stderr) == (3, "Error: session 'ffffffff' not found\n")


# --- 9. did you mean; enumerations in any case; plain words -------------------------------------


def test_14_9_enumerated_values_in_any_case(cli, admin, make_user):
    result = cli(
        "project", "create", "Moon", "--genre", "Sci-Fi", "--episodes", "3",
        "--audience", "Teen", "--quality", "PREMIUM", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert (data["genre"], data["targetAudience"]) == ("sci-fi", "teen")
    assert data["projectSettings"]["qualityTier"] == "premium"
    assert cli("project", "list", "--genre", "SCI-FI", "--json").json()["total"] == 1
    assert cli("project", "list", "--status", "Concept", "--json").json()["total"] == 1
    moved = cli("project", "status", "Moon", "Pre-Production", "--json")
    assert moved.json()["status"] == "pre-production"
    assert cli("media", "list", "--type", "Concept-Art", "--json").json()["total"] == 0
    assert cli("session", "list", "--state", "Active", "--json").json()["total"] == 0
    made = cli("user", "create", "--email", "p@example.com", "--name", "P", "--role", "Producer",
               "--password-stdin", "--json", input="pw-1234567890\n")  # fmt: skip
    assert made.exit_code == 0, made.stderr
    assert made.json()["role"] == "producer"


@pytest.mark.parametrize(
    ("args", "code", "error"),
    [
        (
            ["project", "create", "X", "--genre", "scifi", "--episodes", "3"],
            2,
            "Error: invalid input\n  genre: 'scifi' is not one of: action, comedy, drama, "
            "horror, sci-fi, thriller, romance, documentary (did you mean 'sci-fi'?)\n",
        ),
        (
            ["media", "list", "--type", "concpt_art"],
            2,
            "Error: invalid input\n  mediaType: 'concpt_art' is not one of: style_reference, "
            "character_design, environment_design, concept_art, storyboard, video_segment, "
            "final_video, audio_clip, voice_profile, music_track, sound_effect "
            "(did you mean 'concept_art'?)\n",
        ),
        (["project", "show", "Space Heistt"], 3,
         "Error: project 'Space Heistt' not found (did you mean 'Space Heist'?)\n"),
        (["user", "show", "bob@exampel.com"], 3,
         "Error: user 'bob@exampel.com' not found (did you mean 'bob@example.com'?)\n"),
        (["config", "get", "chat.modle"], 2,
         "Error: unknown config key 'chat.modle' (did you mean 'chat.model'? known keys: "
         "auth.token_days, chat.api_key_env, chat.backend, chat.base_url, chat.max_tokens, "
         "chat.model, chat.timeout, database.url, media.group_access, media.store)\n"),
        (["chat", "Space Heist", "--choice", "story_developmnt"], 2,
         "Error: unknown choice 'story_developmnt' (did you mean 'story_development'? valid "
         "choices: initial_concept, story_development, character_creation, visual_design, "
         "audio_design, scene_production, post_production, final_assembly, manual_override)\n"),
        (["template", "show", "sitcon"], 3,
         "Error: template 'sitcon' not found (did you mean 'sitcom'? known: anime-action, "
         "docu-series, horror-anthology, kids-cartoon, sitcom)\n"),
    ],
)  # fmt: skip
def test_14_9_did_you_mean(args, code, error, cli, admin, make_user):
    new_project(cli, "Space Heist")
    make_user("bob@example.com")
    result = cli(*args)
    assert (result.exit_code, result.stderr) == (code, error)


def test_14_9_suggestions_never_name_what_the_actor_cannot_see(cli, admin, make_user, login_as):
    new_project(cli, "Secret Plan")
    make_user("carol@example.com")
    bob = make_user("bob@example.com")
    login_as(bob)
    result = cli("project", "show", "Secret Plann")
    assert (result.exit_code, result.stderr) == (3, "Error: project 'Secret Plann' not found\n")
    result = cli("user", "show", "carol@exampel.com")
    assert (result.exit_code, result.stderr) == (
        3,
        "Error: user 'carol@exampel.com' not found\n",
    )
    assert cli("user", "show", "bob@exampel.com").stderr == (
        "Error: user 'bob@exampel.com' not found\n"
    )


@pytest.mark.parametrize(
    ("args", "field", "problem"),
    [
        (["project", "create", "X", "--genre", "drama", "--episodes", "abc"],
         "episodeCount", "must be a whole number"),
        (["project", "create", "X", "--genre", "drama", "--episodes", "3",
          "--episode-duration", "1.5"], "episodeDuration", "must be a whole number"),
        (["project", "list", "--limit", "ten"], "limit", "must be a whole number"),
        (["media", "list", "--episode", "x"], "episode", "must be a whole number"),
        (["media", "update", "ffff", "--timestamp", "soon"], "timestamp", "must be a number"),
    ],
)  # fmt: skip
def test_14_9_numbers_are_checked_in_plain_words(args, field, problem, cli, admin):
    result = cli(*args)
    assert result.exit_code == 2
    assert result.stderr == f"Error: invalid input\n  {field}: {problem}\n"
    assert "Input should be" not in result.stderr


# --- 13. session search --json: the exact total -------------------------------------------------


def test_14_13_session_search_reports_the_exact_total(cli, admin, make_user, login_as, database):
    """More than 10,000 matches (where the count used to stop), for a reader of everything
    (the index's own count) and for a user who reads only some sessions (checked one by
    one), with and without --project."""
    import sqlalchemy as sa

    from moviecli.models import Message

    bob = make_user("bob@example.com")
    mine = new_project(cli, "Mine")
    login_as(bob)
    new_project(cli, "Theirs")
    theirs = cli("chat", "Theirs", "-m", "A lighthouse keeper", "--json").json()["sessionId"]
    login_as(admin)
    ours = cli("chat", "Mine", "-m", "A heist on the moon", "--json").json()["sessionId"]
    rows = [
        {"session_id": sid, "seq": 100 + n, "role": "user", "content": f"moon crater {n}"}
        for sid, count in ((ours, 10_050), (theirs, 70))
        for n in range(count)
    ]
    with database.write() as session:
        session.execute(sa.insert(Message), rows)
    found = cli("session", "search", "crater", "--json", "--limit", "5").json()
    assert (found["total"], len(found["items"])) == (10_120, 5)
    found = cli("session", "search", "moon crater", "--project", "Mine", "--json").json()
    assert found["total"] == 10_050
    assert mine["id"] == found["items"][0]["projectId"]
    login_as(bob)  # reads only the sessions on Theirs
    assert cli("session", "search", "crater", "--json").json()["total"] == 70
    result = cli("session", "search", "crater", "--limit", "10")
    assert result.stderr == "page 1 of 7 (70 matches; --page N for more)\n"
