"""The story travels (issue 12 item 5): project export writes the story and the workflow
position, apply restores them idempotently (revisions with source apply; none when
equal), and refuses a completed step whose requirements the file does not meet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests import media_factory as mf
from tests.chathelp import chatter
from tests.cli.test_apply import fresh, people  # noqa: F401  (fixtures)

Cli = Callable[..., Any]

IC, SD, CC, VD, AD, SP, PP = (
    "initial_concept",
    "story_development",
    "character_creation",
    "visual_design",
    "audio_design",
    "scene_production",
    "post_production",
)

BASE = """
[[project]]
title = "Heist"
genre = "sci-fi"
episodeCount = 2
"""


def write(tmp_path: Path, text: str, name: str = "heist.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def applied(cli: Cli, path: Path, *args: str) -> Any:
    result = cli("apply", str(path), *args)
    assert result.exit_code == 0, result.stderr
    return result


def revisions(cli: Cli, project: str = "Heist") -> list[dict[str, Any]]:
    result = cli("story", "history", project, "--json", "--limit", "200")
    assert result.exit_code == 0, result.stderr
    items: list[dict[str, Any]] = result.json()["items"]
    return items


def walk_six_phases(cli: Cli, tmp_path: Path) -> None:
    """Heist through the chat: six phases completed, with media attached on the way."""
    new = cli("project", "create", "Heist", "--genre", "sci-fi", "--episodes", "2")
    assert new.exit_code == 0, new.stderr
    turn = chatter(cli, "Heist")
    turn("-m", "A heist on the moon", "--choice", SD)
    turn("-m", "Mia plans it for years.", "--choice", CC)
    face = mf.png(tmp_path / "mia-face.png", seed=1)
    turn("-m", "Mia: a thief\nRex: her brother", "--attach", str(face), "--choice", VD)
    look = mf.png(tmp_path / "look.png", seed=2)
    turn("-m", "Neon rain on the dome", "--attach", str(look), "--choice", AD)
    score = mf.wav(tmp_path / "score.wav", seed=3)
    turn("--attach", str(score), "--choice", SP)
    board = mf.png(tmp_path / "board.png", seed=4)
    turn("-m", "Vault: the dome's vault", "--attach", str(board), "--attach-type", "storyboard")
    data = turn("--choice", PP)
    assert data["progress"]["completedSteps"] == [IC, SD, CC, VD, AD, SP]
    story = cli("story", "set", "Heist", "--logline", "Cats steal the moon.", "--scene", "Exit")
    assert story.exit_code == 0, story.stderr


IDS_AND_TIMES = {"id", "createdAt", "updatedAt", "createdBy", "projectId", "user", "at"}


def without_ids_and_times(value: Any) -> Any:
    """``value`` with ids and timestamps left out (and the chat sessions, which a
    project's export does not carry: SPEC section 6, apply does not manage sessions)."""
    if isinstance(value, dict):
        return {
            k: without_ids_and_times(v)
            for k, v in value.items()
            if k not in IDS_AND_TIMES and k not in ("sessions", "styleReferences")
        }
    if isinstance(value, list):
        return [without_ids_and_times(v) for v in value]
    return value


def test_12_5_round_trip_of_a_project_walked_through_six_phases(
    cli: Cli,
    admin: Any,
    tmp_path: Path,
    fresh: Callable[[], dict[str, Any]],  # noqa: F811
) -> None:
    walk_six_phases(cli, tmp_path)
    project = cli("project", "show", "Heist", "--json").json()
    story = cli("story", "show", "Heist", "--json").json()
    assert project["progress"]["overallProgress"] == 75
    assert project["status"] == "post-production"
    assert len(story["characters"]) == 2 and len(story["directions"]) == 1
    out = tmp_path / "export"
    out.mkdir()
    exported = cli(
        "project", "export", "Heist", "-o", str(out / "heist.toml"), "--with-media", str(out)
    )
    assert exported.exit_code == 0, exported.stderr
    text = (out / "heist.toml").read_text()
    assert "[project.story]" in text and "[project.progress]" in text

    fresh()
    result = applied(cli, out / "heist.toml")
    assert "+ project 'Heist': create" in result.stdout
    copy = cli("project", "show", "Heist", "--json").json()
    copied_story = cli("story", "show", "Heist", "--json").json()
    assert without_ids_and_times(copy) == without_ids_and_times(project)
    assert copied_story["directions"] == story["directions"]  # their times travel too
    assert without_ids_and_times(copied_story) == without_ids_and_times(story)
    assert copy["id"] != project["id"]

    # the restored story is made of revisions from apply
    restored = revisions(cli)
    assert restored and {r["source"] for r in restored} == {"apply"}
    assert len({r["group"] for r in restored}) == 1

    # idempotent: nothing changes, no revision is added; export gives the same file
    again = applied(cli, out / "heist.toml")
    assert "Nothing to change: the database already matches the file." in again.stdout
    assert len(revisions(cli)) == len(restored)
    second = tmp_path / "second"
    second.mkdir()
    result = cli(
        "project", "export", "Heist", "-o", str(second / "heist.toml"), "--with-media", str(second)
    )
    assert result.exit_code == 0, result.stderr
    assert (second / "heist.toml").read_text() == text


def test_export_writes_the_story_and_the_workflow_position(cli: Cli, admin: Any) -> None:
    assert cli("project", "create", "Heist", "--genre", "drama", "--episodes", "2").exit_code == 0
    bare = cli("project", "export", "Heist").stdout
    assert "[project.story]" not in bare  # nothing recorded: nothing to carry
    assert '[project.progress]\ncurrentPhase = "initial_concept"\ncompletedSteps = []\n' in bare
    cli("story", "set", "Heist", "--concept", "A heist", "--character", "Mia: a thief")
    text = cli("project", "export", "Heist").stdout
    assert '[project.story]\nconcept = "A heist"\ncharacters = [\n' in text
    assert '{ name = "Mia", description = "a thief" }' in text
    data = cli("project", "export", "Heist", "--format", "json").json()
    assert data["story"]["concept"] == "A heist"


def test_apply_records_the_story_as_revisions_and_changes_exactly_what_differs(
    cli: Cli, admin: Any, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        BASE
        + """
[project.story]
concept = "A heist on the moon"
logline = "Cats steal the moon."
characters = [{ name = "Mia", description = "a thief" }, { name = "Rex" }]
scenes = [{ title = "Vault", description = "cold" }]
directions = [{ step = "visual_design", text = "neon rain", at = "2026-11-30T10:00:00Z" }]
""",
    )
    result = applied(cli, path)
    assert "    story.concept = 'A heist on the moon'" in result.stdout
    assert "  + character Mia: create" in result.stdout
    assert "  + direction visual_design: create" in result.stdout
    story = cli("story", "show", "Heist", "--json").json()
    assert story["characters"] == [
        {"name": "Mia", "description": "a thief"},
        {"name": "Rex", "description": ""},
    ]
    assert story["directions"] == [
        {"step": "visual_design", "text": "neon rain", "at": "2026-11-30T10:00:00Z"}
    ]
    first = revisions(cli)
    assert {r["source"] for r in first} == {"apply"} and len(first) == 6

    # the story is changed elsewhere; the file puts it back, one revision per change
    cli("story", "set", "Heist", "--concept", "Two brothers", "--character", "Ada: a cop")
    cli("chat", "Heist", "-m", "A lighthouse")  # a chat change too: it extends the concept
    result = applied(cli, path)
    assert "~ project 'Heist': update" in result.stdout
    assert (
        "    story.concept: 'Two brothers. A lighthouse' → 'A heist on the moon'" in result.stdout
    )
    assert "  - character Ada: remove" in result.stdout
    assert "  = character Mia: unchanged" in result.stdout
    newest = [r for r in revisions(cli) if r not in first][:2]
    assert [(r["source"], r["field"], r["name"]) for r in newest] == [
        ("apply", "character", "Ada"),
        ("apply", "concept", None),
    ]
    assert "Nothing to change" in applied(cli, path).stdout

    # keys the file leaves out are not managed; directions not in the file are kept
    cli("chat", "Heist", "--choice", "story_development")
    assert cli("story", "set", "Heist", "--synopsis", "Kept.").exit_code == 0
    lean = write(
        tmp_path, BASE + '\n[project.story]\nconcept = "A heist on the moon"\n', "lean.toml"
    )
    assert "Nothing to change" in applied(cli, lean).stdout
    story = cli("story", "show", "Heist", "--json").json()
    assert story["synopsis"] == "Kept." and len(story["characters"]) == 2


def test_a_blank_text_in_the_file_clears_it(cli: Cli, admin: Any, tmp_path: Path) -> None:
    applied(cli, write(tmp_path, BASE + '[project.story]\nlogline = "Cats."\n'))
    result = applied(cli, write(tmp_path, BASE + '[project.story]\nlogline = ""\n'))
    assert "    story.logline: 'Cats.' → None" in result.stdout
    assert cli("story", "show", "Heist", "--json").json()["logline"] is None


def test_apply_sets_the_workflow_position_and_the_status_follows(
    cli: Cli, admin: Any, tmp_path: Path
) -> None:
    text = (
        BASE
        + '[project.story]\nconcept = "A heist"\nsynopsis = "It goes wrong."\n'
        + f'[project.progress]\ncurrentPhase = "{CC}"\ncompletedSteps = ["{IC}", "{SD}"]\n'
    )
    result = applied(cli, write(tmp_path, text))
    assert "    progress.currentPhase = 'character_creation'" in result.stdout
    assert "    status = 'pre-production'" in result.stdout
    project = cli("project", "show", "Heist", "--json").json()
    assert project["progress"] == {
        "currentPhase": CC,
        "completedSteps": [IC, SD],
        "overallProgress": 25,
    }
    assert project["status"] == "pre-production"
    assert "Nothing to change" in applied(cli, write(tmp_path, text)).stdout
    back = text.replace(f'currentPhase = "{CC}"', f'currentPhase = "{SD}"')
    result = applied(cli, write(tmp_path, back))
    assert "    progress.currentPhase: 'character_creation' → 'story_development'" in result.stdout
    assert cli("project", "show", "Heist", "--json").json()["status"] == "pre-production"


def test_12_5_a_completed_step_whose_requirements_the_file_does_not_meet_is_refused(
    cli: Cli, admin: Any, tmp_path: Path
) -> None:
    text = (
        BASE
        + '[project.story]\nconcept = "A heist"\nsynopsis = "It goes wrong."\n'
        + 'characters = [{ name = "Mia" }]\n'
        + f'[project.progress]\ncurrentPhase = "{VD}"\n'
        + f'completedSteps = ["{IC}", "{SD}", "{CC}"]\n'
    )
    result = cli("apply", str(write(tmp_path, text)))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: 1 problem(s) in the file; nothing was applied",
        "  project[1].progress.completedSteps[3]: character_creation is completed, but the "
        "project would lack at least 2 characters (1 recorded: Mia; send 'Name: "
        "description' lines or add character_design media)",
    ]
    assert cli("project", "list", "--json").json()["total"] == 0

    # on an existing project: what it holds counts, and a file that takes it away is refused
    fixed = text.replace('[{ name = "Mia" }]', '[{ name = "Mia" }, { name = "Rex" }]')
    applied(cli, write(tmp_path, fixed))
    result = cli("apply", str(write(tmp_path, text)))
    assert result.exit_code == 2
    assert "completedSteps[3]: character_creation is completed" in result.stderr
    assert len(cli("story", "show", "Heist", "--json").json()["characters"]) == 2


def test_progress_and_story_problems_are_listed_with_their_places(
    cli: Cli, admin: Any, tmp_path: Path
) -> None:
    text = (
        BASE
        + '[project.story]\nplot = "x"\nconcept = 3\n'
        + 'characters = [{ name = "" }, { name = "Mia" }, { name = "mia" }]\n'
        + 'directions = [{ step = "nowhere", text = "x", at = "yesterday" }]\n'
        + '[project.progress]\ncurrentPhase = "the_end"\n'
        + f'completedSteps = ["{IC}", "{CC}", "{IC}"]\noverallProgress = 99\n'
    )
    result = cli("apply", str(write(tmp_path, text)))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "Error: 10 problem(s) in the file; nothing was applied"
    assert lines[1:] == [
        "  project[1].progress.completedSteps[2]: character_creation needs Story "
        "development completed too",
        "  project[1].progress.completedSteps[3]: initial_concept is listed twice",
        "  project[1].progress.currentPhase: 'the_end' is not one of: initial_concept, "
        "story_development, character_creation, visual_design, audio_design, "
        "scene_production, post_production, final_assembly",
        "  project[1].progress.overallProgress: is 25 for these completedSteps (it follows "
        "from them; leave it out)",
        "  project[1].story.characters[1].name: a name is required",
        "  project[1].story.characters[3].name: 'mia' is also project[1].story.characters[2]",
        "  project[1].story.concept: must be a string",
        "  project[1].story.directions[1]: step 'nowhere' is not a workflow step "
        "(initial_concept, story_development, character_creation, visual_design, "
        "audio_design, scene_production, post_production, final_assembly)",
        "  project[1].story.directions[1].at: must be a time (ISO 8601, with its zone)",
        "  project[1].story.plot: unknown field",
    ]


def test_a_story_text_over_the_limit_is_a_problem_of_the_file(
    cli: Cli, admin: Any, tmp_path: Path
) -> None:
    text = BASE + '[project.story]\nconcept = "' + "x" * (64 * 1024 + 1) + '"\n'
    result = cli("apply", str(write(tmp_path, text)))
    assert result.exit_code == 2
    assert (
        "  project[1].story.concept: text is 65,537 bytes, over the limit of 64 KiB "
        "(attach long texts as files)" in result.stderr
    )


def test_dry_run_shows_the_story_changes_and_writes_nothing(
    cli: Cli, admin: Any, tmp_path: Path
) -> None:
    path = write(tmp_path, BASE + '[project.story]\nconcept = "A heist"\n')
    result = applied(cli, path, "--dry-run", "--json")
    plan = result.json()["projects"][0]
    assert {"field": "story.concept", "old": None, "new": "A heist"} in plan["changes"]
    assert cli("project", "list", "--json").json()["total"] == 0
