"""moviecli apply FILE.toml and project export --format toml (SPEC section 6)."""

from __future__ import annotations

import shutil
import stat
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import conftest
from tests import media_factory as mf

SPACE_HEIST = """
[[project]]
title = "Space Heist"
genre = "sci-fi"
episodeCount = 4
targetAudience = "teen"
description = "Cats steal the moon."
collaborators = ["carol@example.com", "dave@example.com"]

[project.projectSettings]
aspectRatio = "21:9"
qualityTier = "premium"

[[project.media]]
file = "refs/look.png"
mediaType = "style_reference"
description = "neon rain"
tags = ["noir"]
relatedElements = { episode = 1, scene = "opening", characters = ["Mia"] }

[[project.media]]
file = "art/mia.png"
mediaType = "character_design"
description = "Mia, the cat burglar"
relatedElements = { characters = ["Mia"] }
styleReference = true

[[project.media]]
file = "audio/theme.wav"
mediaType = "music_track"
tags = ["theme"]

[[project.media]]
file = "video/ep1.mp4"
mediaType = "video_segment"
relatedElements = { episode = 1, scene = "opening" }

[[project]]
title = "Moon Diaries"
template = "docu-series"
episodeCount = 2
"""


# --- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture
def team(tmp_path: Path) -> Path:
    """A directory holding the media files SPACE_HEIST names (and an unused image)."""
    d = tmp_path / "team"
    for sub in ("refs", "art", "audio", "video"):
        (d / sub).mkdir(parents=True)
    mf.png(d / "refs" / "look.png", seed=1)
    mf.png(d / "art" / "mia.png", seed=2)
    mf.png(d / "art" / "extra.png", seed=3)
    mf.wav(d / "audio" / "theme.wav", seed=4)
    mf.mp4(d / "video" / "ep1.mp4", seed=5)
    (d / "notes.png").write_text("not an image, whatever its name says")
    return d


@pytest.fixture
def people(make_user: Callable[..., Any]) -> dict[str, Any]:
    return {
        "carol": make_user("carol@example.com"),
        "dave": make_user("dave@example.com"),
        "erin": make_user("erin@example.com"),
    }


def write(team: Path, text: str, name: str = "moviecli.toml") -> Path:
    path = team / name
    path.write_text(text, encoding="utf-8")
    return path


def apply(cli: Any, path: Path, *args: str) -> Any:
    return cli("apply", str(path), *args)


def applied(cli: Any, path: Path, *args: str) -> Any:
    result = apply(cli, path, *args)
    assert result.exit_code == 0, result.stderr
    return result


def store_objects(home: Path) -> list[Path]:
    root = home / "media" / "objects"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def store_temporaries(home: Path) -> list[Path]:
    root = home / "media" / "tmp"
    return sorted(root.iterdir()) if root.exists() else []


def projects(cli: Any) -> list[dict[str, Any]]:
    result = cli("project", "list", "--json", "--sort", "title")
    assert result.exit_code == 0, result.stderr
    items: list[dict[str, Any]] = result.json()["items"]
    return items


def show(cli: Any, title: str) -> dict[str, Any]:
    result = cli("project", "show", title, "--json")
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = result.json()
    return data


def media_of(cli: Any, title: str) -> dict[str, dict[str, Any]]:
    """The project's media by filename."""
    result = cli("media", "list", title, "--json", "--limit", "200")
    assert result.exit_code == 0, result.stderr
    return {m["filename"]: m for m in result.json()["items"]}


def collaborator_emails(cli: Any, title: str) -> list[str]:
    return sorted(u["email"] for u in show(cli, title)["collaboratorUsers"])


def project_plan(plan: dict[str, Any], title: str) -> dict[str, Any]:
    (found,) = [p for p in plan["projects"] if p["title"] == title]
    return found


def items(plan: dict[str, Any], title: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(i["kind"], i["name"]): i for i in project_plan(plan, title)["items"]}


# --- create, re-apply, edit -------------------------------------------------------------------


def test_apply_creates_projects_collaborators_media_and_style_references(
    cli: Any, admin: Any, people: dict[str, Any], team: Path, home: Path
) -> None:
    result = applied(cli, write(team, SPACE_HEIST))
    assert "+ project 'Space Heist': create" in result.stdout
    assert "    genre = 'sci-fi'" in result.stdout
    assert "  + collaborator carol@example.com: create" in result.stdout
    assert "  + media look.png: create" in result.stdout
    assert "+ project 'Moon Diaries': create" in result.stdout
    assert "Applied 2 project(s)." in result.stderr

    heist = show(cli, "Space Heist")
    assert heist["genre"] == "sci-fi"
    assert heist["episodeCount"] == 4
    assert heist["targetAudience"] == "teen"
    assert heist["description"] == "Cats steal the moon."
    assert heist["projectSettings"] == {
        "aspectRatio": "21:9",
        "episodeDuration": 22,
        "qualityTier": "premium",
    }
    assert heist["status"] == "concept"
    assert heist["progress"]["overallProgress"] == 0
    assert heist["createdAt"] <= heist["updatedAt"]
    assert collaborator_emails(cli, "Space Heist") == ["carol@example.com", "dave@example.com"]

    media = media_of(cli, "Space Heist")
    assert sorted(media) == ["ep1.mp4", "look.png", "mia.png", "theme.wav"]
    look = media["look.png"]
    assert look["mediaType"] == "style_reference"
    assert look["description"] == "neon rain"
    assert look["tags"] == ["noir"]
    assert look["relatedElements"] == {"episode": 1, "scene": "opening", "characters": ["Mia"]}
    assert look["technicalData"] == {"resolution": "32x24"}
    assert look["hasEmbedding"] is True
    assert media["theme.wav"]["technicalData"]["sampleRate"] == 22050
    assert media["ep1.mp4"]["technicalData"]["resolution"] == "64x48"
    assert sorted(heist["styleReferences"]) == sorted(
        [media["look.png"]["id"], media["mia.png"]["id"]]
    )
    assert len(store_objects(home)) == 4
    assert store_temporaries(home) == []

    # The template fills what the file leaves out; the file's own values win.
    diaries = show(cli, "Moon Diaries")
    assert (diaries["genre"], diaries["episodeCount"]) == ("documentary", 2)
    assert diaries["projectSettings"] == {
        "aspectRatio": "16:9",
        "episodeDuration": 45,
        "qualityTier": "premium",
    }
    assert diaries["collaborators"] == []


def test_reapply_changes_nothing_and_says_so(
    cli: Any, admin: Any, people: dict[str, Any], team: Path, home: Path
) -> None:
    path = write(team, SPACE_HEIST)
    applied(cli, path)
    before = {p["title"]: p["updatedAt"] for p in projects(cli)}
    media_before = media_of(cli, "Space Heist")

    result = applied(cli, path)
    assert "Nothing to change: the database already matches the file." in result.stdout
    assert "= project 'Space Heist': unchanged" in result.stdout
    assert "  = media look.png: unchanged" in result.stdout
    assert "create" not in result.stdout and "update" not in result.stdout

    plan = applied(cli, path, "--json").json()
    assert plan["changed"] is False
    assert {p["action"] for p in plan["projects"]} == {"unchanged"}
    assert {i["action"] for p in plan["projects"] for i in p["items"]} == {"unchanged"}
    assert {p["title"]: p["updatedAt"] for p in projects(cli)} == before
    assert media_of(cli, "Space Heist") == media_before
    assert len(store_objects(home)) == 4


def test_edited_file_updates_exactly_what_changed(
    cli: Any, admin: Any, people: dict[str, Any], team: Path
) -> None:
    path = write(team, SPACE_HEIST)
    applied(cli, path)
    media_before = media_of(cli, "Space Heist")
    diaries_before = show(cli, "Moon Diaries")

    edited = (
        SPACE_HEIST.replace('genre = "sci-fi"', 'genre = "comedy"')
        .replace("episodeCount = 4", "episodeCount = 6")
        .replace('aspectRatio = "21:9"', 'aspectRatio = "16:9"')
        .replace(', "dave@example.com"]', "]")
        .replace('description = "neon rain"', 'description = "neon rain at night"')
        .replace('tags = ["noir"]', 'tags = ["noir", "rain", "noir"]')
        .replace("styleReference = true\n", "")
    )
    write(team, edited)

    dry = applied(cli, path, "--dry-run")
    assert "~ project 'Space Heist': update" in dry.stdout
    assert "    genre: 'sci-fi' → 'comedy'" in dry.stdout
    assert "    episodeCount: 4 → 6" in dry.stdout
    assert "    projectSettings.aspectRatio: '21:9' → '16:9'" in dry.stdout
    assert "  - collaborator dave@example.com: remove" in dry.stdout
    assert "  ~ media look.png: update" in dry.stdout
    assert "      description: 'neon rain' → 'neon rain at night'" in dry.stdout
    assert "      tags: ['noir'] → ['noir', 'rain']" in dry.stdout
    assert "      styleReference: True → False" in dry.stdout
    assert "= project 'Moon Diaries': unchanged" in dry.stdout
    assert "Dry run: nothing was written." in dry.stdout

    plan = applied(cli, path, "--json").json()
    assert plan["dryRun"] is False and plan["changed"] is True
    heist = project_plan(plan, "Space Heist")
    assert heist["action"] == "update"
    assert heist["changes"] == [
        {"field": "genre", "old": "sci-fi", "new": "comedy"},
        {"field": "episodeCount", "old": 4, "new": 6},
        {"field": "projectSettings.aspectRatio", "old": "21:9", "new": "16:9"},
    ]
    by_item = items(plan, "Space Heist")
    assert {k: v["action"] for k, v in by_item.items()} == {
        ("collaborator", "carol@example.com"): "unchanged",
        ("collaborator", "dave@example.com"): "remove",
        ("media", "look.png"): "update",
        ("media", "mia.png"): "update",
        ("media", "theme.wav"): "unchanged",
        ("media", "ep1.mp4"): "unchanged",
    }
    assert by_item[("media", "look.png")]["changes"] == [
        {"field": "description", "old": "neon rain", "new": "neon rain at night"},
        {"field": "tags", "old": ["noir"], "new": ["noir", "rain"]},
    ]
    assert by_item[("media", "mia.png")]["changes"] == [
        {"field": "styleReference", "old": True, "new": False}
    ]
    assert project_plan(plan, "Moon Diaries")["action"] == "unchanged"

    heist_now = show(cli, "Space Heist")
    assert (heist_now["genre"], heist_now["episodeCount"]) == ("comedy", 6)
    assert heist_now["projectSettings"]["aspectRatio"] == "16:9"
    assert heist_now["projectSettings"]["qualityTier"] == "premium"
    assert heist_now["description"] == "Cats steal the moon."
    assert collaborator_emails(cli, "Space Heist") == ["carol@example.com"]
    media = media_of(cli, "Space Heist")
    assert {k: v["id"] for k, v in media.items()} == {k: v["id"] for k, v in media_before.items()}
    assert media["look.png"]["description"] == "neon rain at night"
    assert media["look.png"]["tags"] == ["noir", "rain"]
    assert heist_now["styleReferences"] == [media["look.png"]["id"]]
    for name in ("theme.wav", "ep1.mp4", "mia.png"):
        assert media[name] == media_before[name]
    assert show(cli, "Moon Diaries")["updatedAt"] == diaries_before["updatedAt"]

    again = applied(cli, path)
    assert "Nothing to change" in again.stdout


# --- invalid files: nothing applied, every problem with its place -------------------------------

BAD = """
[[project]]
title = "Space Heist"
genre = "scifi"
episodeCount = 4
colour = "red"
collaborators = ["carol@example.com", "nobody@example.com"]

[[project.media]]
file = "refs/look.png"
mediaType = "style_reference"

[[project.media]]
file = "refs/missing.png"
mediaType = "concept_art"

[[project.media]]
file = "audio/theme.wav"
mediaType = "storyboard"

[[project]]
title = "space heist"
genre = "drama"
episodeCount = 2
"""


def test_invalid_file_applies_nothing_and_lists_every_problem(
    cli: Any, admin: Any, people: dict[str, Any], team: Path, home: Path
) -> None:
    path = write(team, BAD)
    result = apply(cli, path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "Error: 6 problem(s) in the file; nothing was applied",
        "  project[1].collaborators[2]: no user with email 'nobody@example.com'",
        "  project[1].colour: unknown field",
        "  project[1].genre: 'scifi' is not one of: action, comedy, drama, horror, sci-fi, "
        "thriller, romance, documentary (did you mean 'sci-fi'?)",
        "  project[1].media[2].file: no such file: refs/missing.png",
        "  project[1].media[3].file: an audio file cannot be storyboard, which takes image "
        "files (for audio use audio_clip, voice_profile, music_track, sound_effect)",
        "  project[2].title: 'space heist' is also project[1]'s title",
    ]
    assert projects(cli) == []
    assert store_objects(home) == []
    assert store_temporaries(home) == []

    as_json = apply(cli, path, "--json")
    assert as_json.exit_code == 2
    error = as_json.json()["error"]
    assert error["code"] == "validation"
    assert error["message"] == "6 problem(s) in the file; nothing was applied"
    assert list(error["details"]) == [
        "project[1].collaborators[2]",
        "project[1].colour",
        "project[1].genre",
        "project[1].media[2].file",
        "project[1].media[3].file",
        "project[2].title",
    ]


@pytest.mark.parametrize(
    ("text", "place", "message"),
    [
        ("[[project]]\ntitle = 'A'\ngenre = 'drama'\n", "project[1].episodeCount", "is required"),
        ("[[project]]\ntitle = ' '\ngenre = 'drama'\nepisodeCount = 1\n", "project[1].title", ""),
        ("[[project]]\ntitle = 'A'\ngenre = 'drama'\nepisodeCount = 'x'\n", "", "whole number"),
        ("[[project]]\ntitle = 'A'\ntemplate = 'opera'\n", "project[1].template", "not found"),
        (
            "[[project]]\ntitle = 'A'\ngenre = 'drama'\nepisodeCount = 1\n"
            "[project.projectSettings]\nratio = '4:3'\n",
            "project[1].projectSettings.ratio",
            "unknown field",
        ),
        (
            "[[project]]\ntitle = 'A'\ngenre = 'drama'\nepisodeCount = 2\n"
            "[[project.media]]\nfile = 'refs/look.png'\nmediaType = 'style_reference'\n"
            "relatedElements = { episode = 3 }\n",
            "project[1].media[1].relatedElements.episode",
            "",
        ),
        (
            "[[project]]\ntitle = 'A'\ngenre = 'drama'\nepisodeCount = 2\n"
            "[[project.media]]\nfile = 'refs/look.png'\nmediaType = 'poster'\n",
            "project[1].media[1].mediaType",
            "'poster' is not one of",
        ),
        (
            "[[project]]\ntitle = 'A'\ngenre = 'drama'\nepisodeCount = 2\n"
            "[[project.media]]\nfile = 'refs/look.png'\nmediaType = 'concept_art'\n"
            "[[project.media]]\nfile = 'refs/../refs/look.png'\nmediaType = 'storyboard'\n",
            "project[1].media[2]",
            "the same content as project[1].media[1]",
        ),
        (
            "[[project]]\ntitle = 'A'\ngenre = 'drama'\nepisodeCount = 2\n"
            "[[project.media]]\nfile = 'notes.png'\nmediaType = 'concept_art'\n",
            "project[1].media[1].file",
            "file type not supported",
        ),
        ("title = 'A'\n", "title", "unknown key"),
        ("[[project]\n", "", "is not valid TOML"),
    ],
)
def test_each_kind_of_problem_is_reported_with_its_place(
    cli: Any, admin: Any, team: Path, text: str, place: str, message: str
) -> None:
    result = apply(cli, write(team, text))
    assert result.exit_code == 2, result.stderr
    assert f"{place}: " in result.stderr or not place
    assert message in result.stderr
    assert projects(cli) == []


def test_missing_apply_file_is_exit_2(cli: Any, admin: Any, tmp_path: Path) -> None:
    result = apply(cli, tmp_path / "nope.toml")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: no such file:")


def test_a_subscription_limit_alone_is_exit_5_and_mixed_problems_exit_2(
    cli: Any, make_user: Callable[..., Any], login_as: Callable[..., Any], team: Path
) -> None:
    login_as(make_user("fran@example.com"))  # free: 1 project, 3 episodes per project
    two = write(
        team,
        "[[project]]\ntitle = 'A'\ngenre = 'drama'\nepisodeCount = 5\n"
        "[[project]]\ntitle = 'B'\ngenre = 'drama'\nepisodeCount = 1\n",
    )
    result = apply(cli, two)
    assert result.exit_code == 5
    assert result.stderr.splitlines() == [
        "Error: 2 subscription limit(s) in the way; nothing was applied",
        "  project: the file creates 2 projects but your subscription tier allows 1 more "
        "(free: 1)",
        "  project[1].episodeCount: 5 is above the limit of your subscription tier "
        "(free: 3 episodes per project)",
    ]
    assert apply(cli, two, "--json").json()["error"]["code"] == "limit_reached"
    assert projects(cli) == []

    mixed = write(team, two.read_text().replace("genre = 'drama'", "genre = 'opera'", 1))
    result = apply(cli, mixed)
    assert result.exit_code == 2
    assert "Error: 3 problem(s) in the file; nothing was applied" in result.stderr
    assert "  project[1].genre: 'opera' is not one of:" in result.stderr
    assert "  project: the file creates 2 projects" in result.stderr
    assert projects(cli) == []

    # Within the limits the same user's file applies.
    one = write(team, "[[project]]\ntitle = 'A'\ngenre = 'drama'\nepisodeCount = 3\n")
    applied(cli, one)
    assert [p["title"] for p in projects(cli)] == ["A"]
    # …and their existing project does not count against the file again.
    assert "Nothing to change" in applied(cli, one).stdout


# --- dry run ------------------------------------------------------------------------------------


def test_dry_run_writes_nothing(
    cli: Any, admin: Any, people: dict[str, Any], team: Path, home: Path
) -> None:
    path = write(team, SPACE_HEIST)
    result = applied(cli, path, "--dry-run")
    assert "+ project 'Space Heist': create" in result.stdout
    assert "  + media ep1.mp4: create" in result.stdout
    assert "Dry run: nothing was written." in result.stdout
    assert projects(cli) == []
    assert store_objects(home) == []
    assert store_temporaries(home) == []

    plan = applied(cli, path, "--dry-run", "--json").json()
    assert plan["dryRun"] is True and plan["changed"] is True
    heist = project_plan(plan, "Space Heist")
    assert heist["action"] == "create"
    assert heist["projectId"] is None
    assert {"field": "genre", "old": None, "new": "sci-fi"} in heist["changes"]
    assert projects(cli) == []

    applied(cli, path)
    stamp = show(cli, "Space Heist")["updatedAt"]
    objects = store_objects(home)
    write(team, SPACE_HEIST.replace("episodeCount = 4", "episodeCount = 3"))
    dry = applied(cli, path, "--dry-run")
    assert "    episodeCount: 4 → 3" in dry.stdout
    heist_now = show(cli, "Space Heist")
    assert (heist_now["episodeCount"], heist_now["updatedAt"]) == (4, stamp)
    assert store_objects(home) == objects


def test_16_1_apply_keeps_a_preview_of_each_image_and_a_dry_run_none(
    cli: Any, admin: Any, people: dict[str, Any], team: Path, home: Path
) -> None:
    import hashlib

    look = mf.jpeg(team / "refs" / "look.png", size=(1000, 500), seed=1)  # a JPEG, whatever
    sha = hashlib.sha256(look.read_bytes()).hexdigest()
    preview = home / "cache" / "thumbnails" / sha[:2] / f"{sha}.preview"
    path = write(team, SPACE_HEIST)
    applied(cli, path, "--dry-run")
    assert not (home / "cache").exists()
    applied(cli, path)
    assert preview.is_file() and stat.S_IMODE(preview.stat().st_mode) == 0o600
    assert [p.name for p in preview.parent.parent.rglob("*.preview")] == [preview.name]


# --- exact lists, what is kept ------------------------------------------------------------------


def test_collaborators_and_style_references_are_set_exactly_and_other_media_kept(
    cli: Any, admin: Any, people: dict[str, Any], team: Path
) -> None:
    path = write(team, SPACE_HEIST)
    applied(cli, path)
    assert cli("project", "collab", "add", "Space Heist", "erin@example.com").exit_code == 0
    added = cli(
        "media", "add", "Space Heist", str(team / "art" / "extra.png"), "--type", "concept_art"
    )
    assert added.exit_code == 0, added.stderr
    extra = media_of(cli, "Space Heist")["extra.png"]
    assert cli("project", "style", "add", "Space Heist", extra["id"]).exit_code == 0
    assert cli("project", "create", "Other", "--genre", "drama", "--episodes", "1").exit_code == 0

    result = applied(cli, path)
    assert "  - collaborator erin@example.com: remove" in result.stdout
    assert "  · media extra.png: not in file (kept)" in result.stdout
    assert "  - styleReference extra.png: remove" in result.stdout
    assert "· project 'Other': not in file (kept)" in result.stdout

    plan = applied(cli, path, "--json").json()
    assert plan["changed"] is False
    assert items(plan, "Space Heist")[("media", "extra.png")]["action"] == "kept"
    assert project_plan(plan, "Other")["action"] == "kept"

    assert collaborator_emails(cli, "Space Heist") == ["carol@example.com", "dave@example.com"]
    media = media_of(cli, "Space Heist")
    assert "extra.png" in media
    assert sorted(show(cli, "Space Heist")["styleReferences"]) == sorted(
        [media["look.png"]["id"], media["mia.png"]["id"]]
    )
    assert [p["title"] for p in projects(cli)] == ["Moon Diaries", "Other", "Space Heist"]


def test_a_file_without_lists_leaves_them_alone(
    cli: Any, admin: Any, people: dict[str, Any], team: Path
) -> None:
    applied(cli, write(team, SPACE_HEIST))
    bare = write(
        team,
        "[[project]]\ntitle = 'Space Heist'\ngenre = 'sci-fi'\nepisodeCount = 4\n",
        "bare.toml",
    )
    result = applied(cli, bare)
    assert "Nothing to change" in result.stdout
    assert "  · collaborator dave@example.com: not in file (kept)" in result.stdout
    assert "  · media theme.wav: not in file (kept)" in result.stdout
    assert collaborator_emails(cli, "Space Heist") == ["carol@example.com", "dave@example.com"]
    assert len(show(cli, "Space Heist")["styleReferences"]) == 2

    # The title is matched case-insensitively; the file's spelling is then the title.
    write(team, bare.read_text().replace("'Space Heist'", "'SPACE HEIST'"), "bare.toml")
    result = applied(cli, bare)
    assert "    title: 'Space Heist' → 'SPACE HEIST'" in result.stdout
    assert [p["title"] for p in projects(cli)] == ["Moon Diaries", "SPACE HEIST"]


def test_collaborator_problems(
    cli: Any, admin: Any, people: dict[str, Any], team: Path, database: Any
) -> None:
    text = (
        "[[project]]\ntitle = 'A'\ngenre = 'drama'\nepisodeCount = 1\n"
        "collaborators = ['admin@example.com', 'Carol@Example.com']\n"
    )
    result = apply(cli, write(team, text))
    assert result.exit_code == 2
    assert "  project[1].collaborators[1]: you create the project" in result.stderr
    assert "collaborators[2]" not in result.stderr  # emails match case-insensitively

    assert cli("user", "delete", "carol@example.com", "--yes").exit_code == 0
    result = apply(cli, write(team, text.replace("'admin@example.com', ", "")))
    assert result.exit_code == 2
    assert "  project[1].collaborators[1]: no user with email 'Carol@Example.com'" in (
        result.stderr
    )


# --- export → apply → export ------------------------------------------------------------------


@pytest.fixture
def fresh(
    tmp_path: Path, template_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], dict[str, Any]]]:
    """Switch the CLI to a second, fresh database and MOVIECLI_HOME (another team's machine)
    holding carol, dave and erin and a logged-in admin; returns the admin's account."""
    from moviecli.services import auth, users
    from moviecli.storage.db import database, dispose_all

    home2 = tmp_path / "home2"
    home2.mkdir(mode=0o700)
    name = f"t_{uuid.uuid4().hex[:16]}"
    made: list[str] = []

    def switch() -> dict[str, Any]:
        if conftest.PG_URL:
            url = conftest._pg_create(name, template=template_url.rsplit("/", 1)[1])
            made.append(name)
        else:
            target = home2 / "moviecli.db"
            shutil.copyfile(template_url.removeprefix("sqlite:///"), target)
            url = f"sqlite:///{target}"
        monkeypatch.setenv("MOVIECLI_HOME", str(home2))
        monkeypatch.setenv("MOVIECLI_DATABASE_URL", url)
        db = database(url)
        with db.write() as session:
            admin = users.create_user(
                session,
                actor=None,
                email="admin@example.com",
                name="Ada Admin",
                password=conftest.PASSWORD,
                role="admin",
                tier="enterprise",
            )
            token = auth.issue_token(session, admin)
            for email in ("carol@example.com", "dave@example.com", "erin@example.com"):
                users.create_user(
                    session, actor=None, email=email, name=email[:4], password=conftest.PASSWORD
                )
        monkeypatch.setenv("MOVIECLI_TOKEN", token)
        return {"home": home2, "url": url}

    yield switch
    dispose_all()
    if made:
        conftest._pg_drop(name)


def export(cli: Any, title: str, *args: str) -> str:
    result = cli("project", "export", title, *args)
    assert result.exit_code == 0, result.stderr
    return str(result.stdout)


def test_export_apply_export_round_trips_with_media(
    cli: Any,
    admin: Any,
    people: dict[str, Any],
    team: Path,
    tmp_path: Path,
    fresh: Callable[[], dict[str, Any]],
) -> None:
    applied(cli, write(team, SPACE_HEIST))
    # What apply does not set by itself: a second file named look.png, a shared and a
    # draft asset, a style reference that is not a style_reference.
    other = tmp_path / "other"
    other.mkdir()
    mf.png(other / "look.png", seed=9)
    added = cli(
        "media",
        "add",
        "Space Heist",
        str(other / "look.png"),
        "--type",
        "storyboard",
        "--episode",
        "2",
        "--tag",
        "b",
        "--tag",
        "a",
    )
    assert added.exit_code == 0, added.stderr
    media = media_of(cli, "Space Heist")
    assert cli("media", "share", media["theme.wav"]["id"]).exit_code == 0
    assert cli("media", "update", media["ep1.mp4"]["id"], "--status", "draft").exit_code == 0

    first = tmp_path / "a" / "heist.toml"
    first.parent.mkdir()
    assert (
        cli(
            "project", "export", "Space Heist", "-o", str(first), "--with-media", str(first.parent)
        ).exit_code
        == 0
    )
    text = first.read_text()
    assert 'file = "look.png"' in text
    assert 'filename = "look.png"' in text  # the second look.png, under another file name
    assert "styleReference = true" in text  # mia.png: a character_design style reference
    assert 'visibility = "public"' in text
    assert 'status = "draft"' in text
    exported_files = sorted(p.name for p in first.parent.iterdir() if p.suffix != ".toml")
    assert len(exported_files) == 5

    fresh()
    result = applied(cli, first)
    assert "+ project 'Space Heist': create" in result.stdout
    second = tmp_path / "b" / "heist.toml"
    second.parent.mkdir()
    assert (
        cli(
            "project",
            "export",
            "Space Heist",
            "-o",
            str(second),
            "--with-media",
            str(second.parent),
        ).exit_code
        == 0
    )
    assert second.read_text() == text
    for name in exported_files:
        assert (second.parent / name).read_bytes() == (first.parent / name).read_bytes()
    assert "Nothing to change" in applied(cli, first).stdout
    assert collaborator_emails(cli, "Space Heist") == ["carol@example.com", "dave@example.com"]


def test_sha256_entries_match_media_already_stored(
    cli: Any,
    admin: Any,
    people: dict[str, Any],
    team: Path,
    home: Path,
    fresh: Callable[[], dict[str, Any]],
) -> None:
    applied(cli, write(team, SPACE_HEIST))
    text = export(cli, "Space Heist")
    assert "sha256 = " in text and "file = " not in text
    path = write(team, text, "export.toml")
    assert "Nothing to change" in applied(cli, path).stdout

    # The same media, by content, in a new project: new records over the stored files.
    objects = store_objects(home)
    copy = write(team, text.replace('"Space Heist"', '"Space Heist II"'), "copy.toml")
    result = applied(cli, copy)
    assert "  + media look.png: create" in result.stdout
    media = media_of(cli, "Space Heist II")
    assert sorted(media) == ["ep1.mp4", "look.png", "mia.png", "theme.wav"]
    assert media["look.png"]["technicalData"] == {"resolution": "32x24"}
    assert media["look.png"]["description"] == "neon rain"
    assert store_objects(home) == objects
    assert export(cli, "Space Heist II") == text.replace('"Space Heist"', '"Space Heist II"')

    # A database that has never seen the bytes cannot apply sha256 entries.
    fresh()
    result = apply(cli, path)
    assert result.exit_code == 2
    assert (
        "  project[1].media[1].sha256: no media with this content in the database" in result.stderr
    )
    assert projects(cli) == []


def test_sha256_entries_only_match_media_the_actor_may_see(
    cli: Any,
    admin: Any,
    people: dict[str, Any],
    team: Path,
    login_as: Callable[..., Any],
    make_user: Callable[..., Any],
) -> None:
    applied(cli, write(team, SPACE_HEIST))
    text = export(cli, "Space Heist")
    login_as(make_user("outsider@example.com", tier="pro"))
    result = apply(cli, write(team, text.replace("carol@example.com", "erin@example.com")))
    assert result.exit_code == 2
    assert "no media with this content" in result.stderr


def test_export_format_json_and_errors(
    cli: Any, admin: Any, people: dict[str, Any], team: Path
) -> None:
    applied(cli, write(team, SPACE_HEIST))
    data = cli("project", "export", "Space Heist", "--format", "json")
    assert data.exit_code == 0
    assert data.json()["title"] == "Space Heist"
    assert data.json()["projectSettings"]["aspectRatio"] == "21:9"
    bad = cli("project", "export", "Space Heist", "--format", "yaml")
    assert bad.exit_code == 2
    assert "format" in bad.stderr
    media_dir = team / "exported-media"
    mixed = cli(
        "project", "export", "Space Heist", "--format", "json", "--with-media", str(media_dir)
    )
    assert mixed.exit_code == 2
    assert "  withMedia: goes with --format toml (an apply file)" in mixed.stderr
    assert not media_dir.exists()
    assert cli("project", "export", "Nope").exit_code == 3


def test_apply_needs_a_login(cli: Any, db_url: str, team: Path) -> None:
    result = apply(cli, write(team, SPACE_HEIST))
    assert result.exit_code == 4


def test_15_5_a_file_of_many_projects_is_applied_in_runs(
    cli: Any, admin: Any, people: dict[str, Any], team: Path
) -> None:
    """More projects than one run (apply.execute.RUN) without media, among them one
    with media: every project is made whole, in file order, and the ids apply prints
    are those of the projects made."""
    from moviecli.services.apply.execute import RUN

    assert cli("user", "update", "--max-projects", "500").exit_code == 0
    blocks = [
        f"[[project]]\ntitle = 'Many {k:03d}'\ngenre = 'drama'\nepisodeCount = 2\n"
        + ("collaborators = ['carol@example.com']\n" if k % 2 else "")
        + (
            "[[project.media]]\nfile = 'refs/look.png'\nmediaType = 'concept_art'\n"
            if k == RUN // 2
            else ""
        )
        for k in range(RUN + 30)
    ]
    path = write(team, "\n".join(blocks))
    plan = applied(cli, path, "--json").json()
    assert [p["action"] for p in plan["projects"]] == ["create"] * (RUN + 30)
    listed = cli("project", "list", "--json", "--limit", "200")
    assert listed.exit_code == 0, listed.stderr
    made = {p["title"]: p for p in listed.json()["items"]}
    assert len(made) == RUN + 30
    assert {p["title"]: p["projectId"] for p in plan["projects"]} == {
        title: p["id"] for title, p in made.items()
    }
    assert collaborator_emails(cli, "Many 001") == ["carol@example.com"]
    assert collaborator_emails(cli, "Many 002") == []
    assert list(media_of(cli, f"Many {RUN // 2:03d}")) == ["look.png"]
    ordered = sorted(made.values(), key=lambda p: p["createdAt"])
    assert [p["title"] for p in ordered] == sorted(made)
    again = applied(cli, path)
    assert "Nothing to change: the database already matches the file." in again.stdout


def test_enumerated_values_are_taken_in_any_case_as_on_the_command_line(
    cli: Any, admin: Any, team: Path
) -> None:
    path = write(
        team,
        "[[project]]\ntitle = 'Cases'\ngenre = 'Sci-Fi'\nepisodeCount = 2\n"
        "targetAudience = 'TEEN'\n"
        "[project.progress]\ncurrentPhase = 'Initial_Concept'\ncompletedSteps = []\n"
        "[[project.media]]\nfile = 'refs/look.png'\nmediaType = 'Concept_Art'\n"
        "status = 'DRAFT'\nvisibility = 'Public'\n",
    )
    applied(cli, path)
    project = show(cli, "Cases")
    assert (project["genre"], project["targetAudience"]) == ("sci-fi", "teen")
    assert project["progress"]["currentPhase"] == "initial_concept"
    (media,) = media_of(cli, "Cases").values()
    assert (media["mediaType"], media["status"], media["visibility"]) == (
        "concept_art",
        "draft",
        "public",
    )
    again = applied(cli, path)
    assert "Nothing to change" in again.stdout

    bad = write(
        team,
        "[[project]]\ntitle = 'Cases'\ngenre = 'sci-fi'\nepisodeCount = 2\n"
        "[project.progress]\ncurrentPhase = 'initial_concep'\ncompletedSteps = ['Nope']\n"
        "[[project.media]]\nfile = 'refs/look.png'\nmediaType = 'concept-arts'\n"
        "status = 'gone'\n",
        name="bad.toml",
    )
    result = apply(cli, bad)
    assert result.exit_code == 2
    assert "project[1].media[1].mediaType: 'concept-arts' is not one of:" in result.stderr
    assert "(did you mean 'concept_art'?)" in result.stderr
    assert "project[1].media[1].status: 'gone' is not one of:" in result.stderr
    assert "project[1].progress.currentPhase: 'initial_concep' is not one of:" in result.stderr
    assert "project[1].progress.completedSteps[1]: 'Nope' is not one of:" in result.stderr
