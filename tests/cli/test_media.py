"""media add | list | show | update | share | unshare | version | history | export |
delete | types, and project style add | remove (SPEC section 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests import media_factory as mf
from tests.projecthelp import new_project


@pytest.fixture
def project(cli: Any, admin: Any) -> dict[str, Any]:
    return new_project(cli, "Sea")


@pytest.fixture
def files(tmp_path: Path) -> Path:
    d = tmp_path / "files"
    d.mkdir()
    return d


def store_objects(home: Path) -> list[Path]:
    root = home / "media" / "objects"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def store_temporaries(home: Path) -> list[Path]:
    root = home / "media" / "tmp"
    return sorted(root.iterdir()) if root.exists() else []


def add(cli: Any, *args: str) -> Any:
    return cli("media", "add", *args)


def add_one(cli: Any, project: str, path: Path, media_type: str, *extra: str) -> dict[str, Any]:
    result = add(cli, project, str(path), "--type", media_type, "--json", *extra)
    assert result.exit_code == 0, result.stderr
    records = result.json()
    assert len(records) == 1
    record: dict[str, Any] = records[0]
    return record


# --- add: records, metadata, technical data ------------------------------------------------------


def test_add_image_json_shape(cli: Any, project: dict, files: Path, admin: Any) -> None:
    path = mf.png(files / "look.png", size=(32, 24))
    record = add_one(
        cli,
        "Sea",
        path,
        "concept_art",
        "--description",
        "stormy ocean",
        "--tag",
        "noir",
        "--tag",
        "sea",
        "--episode",
        "2",
        "--scene",
        "opening",
        "--character",
        "Mia",
        "--character",
        "Rex",
    )
    assert record["project"] == project["id"]
    assert record["mediaType"] == "concept_art"
    assert record["agentGenerated"] is False
    assert "generationMetadata" not in record
    assert "embedding" not in record
    assert record["hasEmbedding"] is True
    assert record["description"] == "stormy ocean"
    assert record["tags"] == ["noir", "sea"]
    assert record["relatedElements"] == {
        "characters": ["Mia", "Rex"],
        "episode": 2,
        "scene": "opening",
    }
    assert record["technicalData"] == {"resolution": "32x24"}
    assert record["version"] == 1
    assert record["previousVersion"] is None
    assert record["status"] == "active"
    assert record["visibility"] == "private"
    assert record["filename"] == "look.png"
    assert record["mimeType"] == "image/png"
    assert record["sizeBytes"] == path.stat().st_size
    assert len(record["sha256"]) == 64
    assert record["createdBy"] == admin.id
    assert record["createdAt"].endswith("Z")


@pytest.mark.parametrize(
    ("maker", "name", "media_type", "expected"),
    [
        (mf.jpeg, "a.jpg", "storyboard", {"resolution": "40x30"}),
        (mf.wav, "a.wav", "voice_profile", {"duration": 0.5, "sampleRate": 22050}),
        (mf.mp4, "a.mp4", "video_segment", {"duration": 1.0, "resolution": "64x48", "fps": 12.0}),
        (mf.webm, "a.webm", "final_video", {"duration": 1.0, "resolution": "64x48", "fps": 12.0}),
    ],
)
def test_technical_data_fits_the_type(
    cli: Any, project: dict, files: Path, maker: Any, name: str, media_type: str, expected: dict
) -> None:
    record = add_one(cli, "Sea", maker(files / name), media_type, "--no-embed")
    assert record["technicalData"] == expected
    assert record["hasEmbedding"] is False


def test_generated_media_carry_generation_metadata(cli: Any, project: dict, files: Path) -> None:
    record = add_one(
        cli,
        "Sea",
        mf.png(files / "gen.png"),
        "character_design",
        "--generated",
        "--agent-id",
        "painter-1",
        "--prompt",
        "a cat thief",
        "--model-version",
        "v2",
        "--task-id",
        "t-9",
        "--generation-time",
        "2026-05-01T14:30:00Z",
        "--no-embed",
    )
    assert record["agentGenerated"] is True
    assert record["generationMetadata"] == {
        "agentId": "painter-1",
        "promptUsed": "a cat thief",
        "modelVersion": "v2",
        "generationTime": "2026-05-01T14:30:00Z",
        "taskId": "t-9",
    }
    now = add_one(cli, "Sea", mf.png(files / "g2.png", seed=2), "concept_art", "--generated")
    assert now["generationMetadata"]["generationTime"].endswith("Z")


def test_generation_flags_need_generated(cli: Any, project: dict, files: Path) -> None:
    result = add(
        cli, "Sea", str(mf.png(files / "a.png")), "--type", "concept_art", "--prompt", "x"
    )
    assert result.exit_code == 2
    assert result.stderr == ("Error: --prompt only apply to generated media (add --generated)\n")


def test_invalid_options_are_reported_together(
    cli: Any, project: dict, files: Path, home: Path
) -> None:
    result = add(
        cli,
        "Sea",
        str(mf.png(files / "a.png")),
        "--type",
        "painting",
        "--episode",
        "4",
        "--status",
        "lost",
        "--generated",
        "--generation-time",
        "yesterday",
    )
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "Error: invalid input"
    assert "  mediaType: 'painting' is not one of: style_reference," in lines[1]
    assert (
        "  relatedElements.episode: must be between 1 and 3 (the project's episodeCount)" in lines
    )
    assert any(line.startswith("  status: 'lost' is not one of") for line in lines)
    assert any(line.startswith("  generationMetadata.generationTime:") for line in lines)
    assert store_objects(home) == []


def test_type_is_required(cli: Any, project: dict, files: Path) -> None:
    result = add(cli, "Sea", str(mf.png(files / "a.png")))
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: no media type given (pass --type;")


# --- add: rejections -----------------------------------------------------------------------------


def test_exe_named_png_is_not_supported(cli: Any, project: dict, files: Path, home: Path) -> None:
    path = mf.exe(files / "cat.png")
    result = add(cli, "Sea", str(path), "--type", "concept_art", "--json")
    assert result.exit_code == 2
    assert result.json() == []
    assert result.stderr.splitlines()[0] == (
        f"Error: {path}: file type not supported "
        "(application/x-msdownload is not an image, audio or video)"
    )
    assert store_objects(home) == []
    assert store_temporaries(home) == []
    assert cli("media", "list", "Sea", "--json").json()["total"] == 0


def test_wav_as_character_design_names_the_allowed_types(
    cli: Any, project: dict, files: Path
) -> None:
    path = mf.wav(files / "voice.wav")
    result = add(cli, "Sea", str(path), "--type", "character_design")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"Error: {path}: an audio file cannot be character_design, which takes image files "
        "(for audio use audio_clip, voice_profile, music_track, sound_effect)"
    )


@pytest.mark.parametrize(
    ("maker", "name", "media_type", "reason"),
    [
        (mf.png, "t.png", "concept_art", "the image is damaged or truncated"),
        (mf.wav, "t.wav", "audio_clip", "the file is truncated"),
        (mf.mp4, "t.mp4", "video_segment", "the file is truncated"),
    ],
)
def test_truncated_files_are_rejected(
    cli: Any, project: dict, files: Path, maker: Any, name: str, media_type: str, reason: str
) -> None:
    whole = maker(files / f"whole-{name}", **({"size": (64, 64)} if maker is mf.png else {}))
    cut = mf.truncated(whole, files / name, keep=0.5)
    result = add(cli, "Sea", str(cut), "--type", media_type)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0].startswith(f"Error: {cut}: {reason}")


def test_empty_and_missing_files_are_rejected(cli: Any, project: dict, files: Path) -> None:
    empty = files / "empty.png"
    empty.write_bytes(b"")
    missing = files / "missing.png"
    result = add(cli, "Sea", str(empty), str(missing), "--type", "concept_art")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: {empty}: the file is empty",
        f"Error: {missing}: no such file",
        "0 added to 'Sea', 0 already present, 2 rejected",
    ]


def test_bulk_add_keeps_the_good_files(cli: Any, project: dict, files: Path, home: Path) -> None:
    good1 = mf.png(files / "one.png", seed=1)
    bad = mf.exe(files / "two.png")
    good2 = mf.jpeg(files / "three.jpg", seed=3)
    result = add(cli, "Sea", str(good1), str(bad), str(good2), "--type", "concept_art", "--json")
    assert result.exit_code == 2
    assert [r["filename"] for r in result.json()] == ["one.png", "three.jpg"]
    assert result.stderr.splitlines() == [
        f"Error: {bad}: file type not supported "
        "(application/x-msdownload is not an image, audio or video)",
        "2 added to 'Sea', 0 already present, 1 rejected",
    ]
    assert len(store_objects(home)) == 2
    listed = cli("media", "list", "Sea", "--json").json()
    assert listed["total"] == 2


def test_bulk_add_plain_output(cli: Any, project: dict, files: Path) -> None:
    a = mf.png(files / "a.png", seed=1)
    result = add(cli, "Sea", str(a), "--type", "concept_art", "--no-embed")
    assert result.exit_code == 0
    media_id = cli("media", "list", "Sea", "--json").json()["items"][0]["id"]
    assert result.stdout == f"Added a.png ({media_id}, concept_art)\n"
    assert result.stderr == "1 added to 'Sea', 0 already present, 0 rejected\n"
    quiet = cli("-q", "media", "add", "Sea", str(a), "--type", "concept_art")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")


def test_directories_need_recursive(cli: Any, project: dict, files: Path) -> None:
    sub = files / "sub"
    sub.mkdir()
    mf.png(files / "a.png", seed=1)
    mf.png(sub / "b.png", seed=2)
    (files / ".hidden.png").write_bytes(b"x")
    result = add(cli, "Sea", str(files), "--type", "concept_art")
    assert result.exit_code == 2
    assert f"Error: {files}: is a directory (pass --recursive" in result.stderr
    result = add(cli, "Sea", str(files), "--type", "concept_art", "--recursive", "--json")
    assert result.exit_code == 0, result.stderr
    assert [r["filename"] for r in result.json()] == ["a.png", "b.png"]


def test_same_bytes_are_stored_once(cli: Any, admin: Any, files: Path, home: Path) -> None:
    new_project(cli, "Sea")
    new_project(cli, "Sky")
    path = mf.png(files / "a.png")
    copy = files / "copy-of-a.png"
    copy.write_bytes(path.read_bytes())
    first = add_one(cli, "Sea", path, "concept_art", "--no-embed")
    again = add(cli, "Sea", str(copy), str(path), "--type", "concept_art", "--json")
    assert again.exit_code == 0
    assert [r["id"] for r in again.json()] == [first["id"], first["id"]]
    assert again.stderr == "0 added to 'Sea', 2 already present, 0 rejected\n"
    other = add_one(cli, "Sky", copy, "storyboard", "--no-embed")
    assert other["id"] != first["id"]
    assert other["sha256"] == first["sha256"]
    assert other["filename"] == "copy-of-a.png"
    assert len(store_objects(home)) == 1


def test_add_to_an_invisible_project_is_not_found(
    cli: Any, project: dict, files: Path, make_user: Any, login_as: Any
) -> None:
    login_as(make_user("eve@example.com"))
    result = add(cli, "Sea", str(mf.png(files / "a.png")), "--type", "concept_art")
    assert (result.exit_code, result.stderr) == (3, "Error: project 'Sea' not found\n")


def test_producer_cannot_add(
    cli: Any, project: dict, files: Path, make_user: Any, login_as: Any
) -> None:
    login_as(make_user("pat@example.com", role="producer"))
    result = add(cli, "Sea", str(mf.png(files / "a.png")), "--type", "concept_art")
    assert (result.exit_code, result.stderr) == (
        4,
        "Error: you can read but not change project 'Sea'\n",
    )


# --- list, show, types ---------------------------------------------------------------------------


def test_list_filters_and_pages(cli: Any, project: dict, files: Path) -> None:
    add_one(
        cli,
        "Sea",
        mf.png(files / "a.png", seed=1),
        "storyboard",
        "--episode",
        "1",
        "--tag",
        "night",
        "--no-embed",
    )
    add_one(
        cli, "Sea", mf.png(files / "b.png", seed=2), "storyboard", "--episode", "2", "--no-embed"
    )
    add_one(
        cli,
        "Sea",
        mf.wav(files / "c.wav", seed=3),
        "music_track",
        "--status",
        "draft",
        "--no-embed",
    )

    def names(*args: str) -> list[str]:
        result = cli("media", "list", "Sea", *args, "--json")
        assert result.exit_code == 0, result.stderr
        return sorted(r["filename"] for r in result.json()["items"])

    assert names() == ["a.png", "b.png", "c.wav"]
    assert names("--type", "storyboard") == ["a.png", "b.png"]
    assert names("--tag", "night") == ["a.png"]
    assert names("--episode", "2") == ["b.png"]
    assert names("--status", "draft") == ["c.wav"]
    page = cli("media", "list", "Sea", "--limit", "2", "--page", "2", "--json").json()
    assert (len(page["items"]), page["total"], page["page"], page["limit"]) == (1, 3, 2, 2)
    bad = cli("media", "list", "Sea", "--limit", "201", "--type", "nope")
    assert bad.exit_code == 2
    assert "  limit: must be between 1 and 200" in bad.stderr
    assert "  mediaType: 'nope' is not one of:" in bad.stderr


def test_list_uses_the_current_project(cli: Any, project: dict, files: Path) -> None:
    add_one(cli, "Sea", mf.png(files / "a.png"), "storyboard", "--no-embed")
    result = cli("media", "list", "--json")
    assert result.exit_code == 0
    assert result.json()["total"] == 1
    cli("project", "use", "--clear")
    result = cli("media", "list")
    assert result.exit_code == 2
    assert "no project given" in result.stderr


def test_list_plain_table(cli: Any, project: dict, files: Path) -> None:
    record = add_one(cli, "Sea", mf.png(files / "a.png"), "storyboard", "--tag", "x", "--no-embed")
    result = cli("media", "list", "Sea")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "id\ttype\tfile\tver\tstatus\tep\ttags\tvisibility\tsize\tadded"
    assert lines[1].startswith(f"{record['id']}\tstoryboard\ta.png\t1\tactive\t\tx\tprivate\t")


def test_show_by_prefix_and_json(cli: Any, project: dict, files: Path) -> None:
    record = add_one(cli, "Sea", mf.png(files / "a.png"), "storyboard", "--no-embed")
    shown = cli("media", "show", record["id"][:6], "--json")
    assert shown.exit_code == 0
    assert shown.json() == record
    plain = cli("media", "show", record["id"])
    assert f"id\t{record['id']}\n" in plain.stdout
    assert "resolution\t32x24\n" in plain.stdout
    missing = cli("media", "show", "ffffffffff")
    assert (missing.exit_code, missing.stderr) == (3, "Error: media 'ffffffffff' not found\n")


def test_types(cli: Any, admin: Any) -> None:
    result = cli("media", "types", "--json")
    assert result.exit_code == 0
    data = result.json()
    assert data["total"] == 11
    assert data["items"][0] == {
        "id": "style_reference",
        "family": "image",
        "description": "User-uploaded visual references",
    }
    assert {t["family"] for t in data["items"]} == {"image", "video", "audio"}


# --- update, share -------------------------------------------------------------------------------


def test_update_fields(cli: Any, project: dict, files: Path) -> None:
    record = add_one(cli, "Sea", mf.png(files / "a.png"), "storyboard", "--tag", "a", "--tag", "b")
    result = cli(
        "media",
        "update",
        record["id"],
        "--description",
        "new words",
        "--tag",
        "c",
        "--untag",
        "a",
        "--episode",
        "3",
        "--scene",
        "s1",
        "--character",
        "Mia",
        "--status",
        "archived",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["description"] == "new words"
    assert data["tags"] == ["b", "c"]
    assert data["relatedElements"] == {"characters": ["Mia"], "episode": 3, "scene": "s1"}
    assert data["status"] == "archived"
    assert data["hasEmbedding"] is True
    assert data["updatedAt"] > record["updatedAt"]
    plain = cli("media", "update", record["id"], "--no-episode")
    assert plain.stdout == "a.png: changed episode\n"
    same = cli("media", "update", record["id"], "--status", "archived")
    assert same.stdout == "a.png: nothing changed\n"


def test_update_validation(cli: Any, project: dict, files: Path) -> None:
    record = add_one(cli, "Sea", mf.png(files / "a.png"), "storyboard", "--no-embed")
    result = cli("media", "update", record["id"], "--episode", "9", "--status", "gone")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: invalid input",
        "  relatedElements.episode: must be between 1 and 3 (the project's episodeCount)",
        "  status: 'gone' is not one of: active, draft, archived, processing, failed",
    ]
    nothing = cli("media", "update", record["id"])
    assert nothing.exit_code == 2
    assert nothing.stderr.startswith("Error: nothing to change")


def test_share_and_unshare(
    cli: Any, project: dict, files: Path, admin: Any, make_user: Any, login_as: Any
) -> None:
    record = add_one(cli, "Sea", mf.png(files / "a.png"), "storyboard", "--no-embed")
    eve = make_user("eve@example.com")
    login_as(eve)
    assert cli("media", "show", record["id"]).exit_code == 3
    login_as(admin)
    shared = cli("media", "share", record["id"], "--json")
    assert shared.json()["visibility"] == "public"
    login_as(eve)
    assert cli("media", "show", record["id"], "--json").json()["id"] == record["id"]
    denied = cli("media", "update", record["id"], "--description", "mine now")
    assert denied.exit_code == 4
    assert "only its project's team can change it" in denied.stderr
    assert cli("media", "unshare", record["id"]).exit_code == 4
    exported = cli("media", "export", record["id"], str(files / "out.png"))
    assert exported.exit_code == 0
    login_as(admin)
    assert cli("media", "unshare", record["id"]).stdout == "a.png is private to its project\n"
    login_as(eve)
    assert cli("media", "show", record["id"]).exit_code == 3


# --- the access matrix ---------------------------------------------------------------------------

ACTORS = ("creator", "collaborator", "producer", "admin", "outsider")
EXPECTED = {
    # actor: (show, update, delete)
    "creator": (0, 0, 0),
    "collaborator": (0, 0, 0),
    "producer": (0, 4, 4),
    "admin": (0, 0, 0),
    "outsider": (3, 3, 3),
}


@pytest.mark.parametrize("actor", ACTORS)
def test_access_matrix(cli: Any, make_user: Any, login_as: Any, files: Path, actor: str) -> None:
    people = {
        "creator": make_user("cat@example.com"),
        "collaborator": make_user("col@example.com"),
        "producer": make_user("pro@example.com", role="producer"),
        "admin": make_user("adm@example.com", role="admin"),
        "outsider": make_user("out@example.com"),
    }
    login_as(people["creator"])
    new_project(cli, "Heist")
    cli("project", "collab", "add", "Heist", "col@example.com")
    record = add_one(cli, "Heist", mf.png(files / "a.png"), "storyboard", "--no-embed")
    login_as(people[actor])
    show_code, update_code, delete_code = EXPECTED[actor]
    assert cli("media", "show", record["id"]).exit_code == show_code
    assert cli("media", "history", record["id"]).exit_code == show_code
    assert cli("media", "update", record["id"], "--tag", "x").exit_code == update_code
    assert cli("media", "share", record["id"]).exit_code == update_code
    assert (
        cli(
            "media", "version", record["id"], str(mf.png(files / "b.png", seed=5)), "--no-embed"
        ).exit_code
        == update_code
    )
    listed = cli("media", "list", "Heist")
    assert listed.exit_code == (3 if actor == "outsider" else 0)
    assert cli("media", "delete", record["id"], "--yes").exit_code == delete_code


# --- versions ------------------------------------------------------------------------------------


def test_versions_and_history(cli: Any, project: dict, files: Path) -> None:
    v1 = add_one(
        cli,
        "Sea",
        mf.png(files / "v1.png", seed=1),
        "storyboard",
        "--tag",
        "a",
        "--description",
        "first cut",
        "--episode",
        "1",
    )
    result = cli(
        "media",
        "version",
        v1["id"][:8],
        str(mf.png(files / "v2.png", seed=2)),
        "--tag",
        "b",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    v2 = result.json()
    assert (v2["version"], v2["previousVersion"]) == (2, v1["id"])
    assert v2["tags"] == ["a", "b"]
    assert v2["description"] == "first cut"
    assert v2["relatedElements"]["episode"] == 1
    assert v2["mediaType"] == "storyboard"
    assert v2["filename"] == "v2.png"
    v3 = cli(
        "media",
        "version",
        v2["id"],
        str(mf.png(files / "v3.png", seed=3)),
        "--description",
        "final",
        "--json",
    ).json()
    assert (v3["version"], v3["previousVersion"], v3["description"]) == (3, v2["id"], "final")

    listed = cli("media", "list", "Sea", "--json").json()
    assert [r["id"] for r in listed["items"]] == [v3["id"]]
    every = cli("media", "list", "Sea", "--all-versions", "--json").json()
    assert every["total"] == 3
    history = cli("media", "history", v2["id"], "--json").json()
    assert [r["version"] for r in history["items"]] == [1, 2, 3]
    assert history["total"] == 3

    old = cli("media", "version", v1["id"], str(mf.png(files / "v4.png", seed=4)))
    assert old.exit_code == 5
    assert old.stderr.startswith(f"Error: media {v1['id'][:8]} already has a newer version")
    same = cli("media", "version", v3["id"], str(files / "v3.png"))
    assert same.exit_code == 5
    assert "has the same content as version 3" in same.stderr
    wrong = cli("media", "version", v3["id"], str(mf.wav(files / "v.wav")))
    assert wrong.exit_code == 2
    assert "an audio file cannot be storyboard" in wrong.stderr


def test_deleting_a_middle_version_keeps_the_chain(cli: Any, project: dict, files: Path) -> None:
    v1 = add_one(cli, "Sea", mf.png(files / "v1.png", seed=1), "storyboard", "--no-embed")
    v2 = cli(
        "media", "version", v1["id"], str(mf.png(files / "v2.png", seed=2)), "--no-embed", "--json"
    ).json()
    v3 = cli(
        "media", "version", v2["id"], str(mf.png(files / "v3.png", seed=3)), "--no-embed", "--json"
    ).json()
    assert cli("media", "delete", v2["id"], "--yes").exit_code == 0
    history = cli("media", "history", v3["id"], "--json").json()
    assert [r["id"] for r in history["items"]] == [v1["id"], v3["id"]]


# --- export, delete ------------------------------------------------------------------------------


def test_export(cli: Any, project: dict, files: Path, tmp_path: Path) -> None:
    path = mf.png(files / "a.png")
    record = add_one(cli, "Sea", path, "storyboard", "--no-embed")
    out = tmp_path / "out"
    out.mkdir()
    result = cli("media", "export", record["id"], str(out))
    assert (result.exit_code, result.stdout) == (0, f"Wrote {out / 'a.png'}\n")
    assert (out / "a.png").read_bytes() == path.read_bytes()
    again = cli("media", "export", record["id"], str(out))
    assert again.exit_code == 5
    assert again.stderr == f"Error: {out / 'a.png'} already exists (pass --force to replace it)\n"
    forced = cli("media", "export", record["id"], str(out / "a.png"), "--force", "--json")
    assert forced.json()["path"] == str(out / "a.png")
    nodir = cli("media", "export", record["id"], str(tmp_path / "no" / "x.png"))
    assert nodir.exit_code == 2


def test_delete_removes_the_file_when_unused(
    cli: Any, admin: Any, files: Path, home: Path
) -> None:
    new_project(cli, "Sea")
    new_project(cli, "Sky")
    path = mf.png(files / "a.png")
    one = add_one(cli, "Sea", path, "style_reference", "--no-embed")
    two = add_one(cli, "Sky", path, "storyboard", "--no-embed")
    assert cli("project", "show", "Sea", "--json").json()["styleReferences"] == [one["id"]]
    refused = cli("media", "delete", one["id"])
    assert refused.exit_code == 2
    assert "pass --yes" in refused.stderr
    result = cli("media", "delete", one["id"], "--yes", "--json")
    assert result.exit_code == 0
    assert result.json()["fileRemoved"] is False
    assert cli("project", "show", "Sea", "--json").json()["styleReferences"] == []
    assert len(store_objects(home)) == 1
    plain = cli("media", "delete", two["id"], "--yes")
    assert plain.stdout == f"Deleted a.png ({two['id']})\n"
    assert store_objects(home) == []
    assert cli("media", "show", two["id"]).exit_code == 3


def test_project_delete_removes_its_files(cli: Any, admin: Any, files: Path, home: Path) -> None:
    new_project(cli, "Sea")
    new_project(cli, "Sky")
    shared = mf.png(files / "shared.png", seed=1)
    add_one(cli, "Sea", shared, "storyboard", "--no-embed")
    add_one(cli, "Sea", mf.png(files / "own.png", seed=2), "storyboard", "--no-embed")
    add_one(cli, "Sky", shared, "storyboard", "--no-embed")
    assert len(store_objects(home)) == 2
    result = cli("project", "delete", "Sea", "--yes")
    assert result.exit_code == 0, result.stderr
    objects = store_objects(home)
    assert [p.name for p in objects] == [add_one(cli, "Sky", shared, "storyboard")["sha256"]]
    assert list((home / "media" / "gc").iterdir()) == []


# --- style references ----------------------------------------------------------------------------


def test_project_style_add_and_remove(cli: Any, project: dict, files: Path) -> None:
    ref = add_one(cli, "Sea", mf.png(files / "look.png", seed=1), "style_reference", "--no-embed")
    art = add_one(cli, "Sea", mf.png(files / "art.png", seed=2), "concept_art", "--no-embed")
    song = add_one(cli, "Sea", mf.wav(files / "s.wav"), "music_track", "--no-embed")
    assert cli("project", "show", "Sea", "--json").json()["styleReferences"] == [ref["id"]]
    added = cli("project", "style", "add", "Sea", art["id"][:8], "--json")
    assert added.exit_code == 0, added.stderr
    assert added.json()["styleReferences"] == [ref["id"], art["id"]]
    again = cli("project", "style", "add", "Sea", art["id"])
    assert again.stdout == "art.png already is a style reference of 'Sea'\n"
    audio = cli("project", "style", "add", "Sea", song["id"])
    assert audio.exit_code == 2
    assert "only images can be style references" in audio.stderr
    removed = cli("project", "style", "remove", "Sea", ref["id"], "--json")
    assert removed.json()["styleReferences"] == [art["id"]]
    assert cli("media", "show", ref["id"]).exit_code == 0
    gone = cli("project", "style", "remove", "Sea", ref["id"])
    assert gone.exit_code == 3


def test_style_reference_from_another_project_must_be_public(
    cli: Any, admin: Any, files: Path
) -> None:
    new_project(cli, "Sea")
    new_project(cli, "Sky")
    other = add_one(cli, "Sky", mf.png(files / "a.png"), "concept_art", "--no-embed")
    result = cli("project", "style", "add", "Sea", other["id"])
    assert result.exit_code == 2
    assert "belongs to another project and is not public" in result.stderr
    cli("media", "share", other["id"])
    assert cli("project", "style", "add", "Sea", other["id"]).exit_code == 0


def test_version_moves_the_style_reference(cli: Any, project: dict, files: Path) -> None:
    v1 = add_one(cli, "Sea", mf.png(files / "a.png", seed=1), "style_reference", "--no-embed")
    v2 = cli(
        "media", "version", v1["id"], str(mf.png(files / "b.png", seed=2)), "--no-embed", "--json"
    ).json()
    assert cli("project", "show", "Sea", "--json").json()["styleReferences"] == [v2["id"]]


# --- embeddings ----------------------------------------------------------------------------------


def test_no_embed_then_embed_pending(cli: Any, project: dict, files: Path) -> None:
    record = add_one(cli, "Sea", mf.png(files / "a.png"), "storyboard", "--no-embed")
    assert record["hasEmbedding"] is False
    result = cli("media", "embed", "--pending", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == {"embedded": 1, "skipped": 0}
    assert cli("media", "show", record["id"], "--json").json()["hasEmbedding"] is True
    assert cli("media", "embed", "--pending", "--json").json() == {"embedded": 0, "skipped": 0}
    rebuilt = cli("media", "embed", "--project", "Sea")
    assert rebuilt.stdout == "Embedded 1 media\n"


def test_history_through_a_public_version_hides_private_ones(
    cli: Any, project: dict, files: Path, admin: Any, make_user: Any, login_as: Any
) -> None:
    v1 = add_one(cli, "Sea", mf.png(files / "v1.png", seed=1), "storyboard", "--no-embed")
    v2 = cli(
        "media", "version", v1["id"], str(mf.png(files / "v2.png", seed=2)), "--no-embed", "--json"
    ).json()
    cli("media", "share", v2["id"])
    login_as(make_user("eve@example.com"))
    history = cli("media", "history", v2["id"], "--json").json()
    assert [r["id"] for r in history["items"]] == [v2["id"]]
    assert history["total"] == 1
    assert cli("media", "history", v1["id"]).exit_code == 3


def test_progress_bar_only_on_a_terminal_and_not_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    from moviecli import render

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    with render.progress() as progress:
        assert progress is None  # pytest's stderr is no terminal
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(sys, "stdout", Terminal())
    with render.progress() as progress:
        assert progress is not None
        progress("checking", 1, 2)
        progress("checking", 1, 2)
    assert "checking" in terminal.getvalue()
    for silent in ({"quiet": True}, {"json_out": True}):
        with render.progress(**silent) as progress:
            assert progress is None
