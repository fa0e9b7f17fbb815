"""The apply service without the CLI: checking, planning, whole projects per transaction
(one with media, a run of up to RUN without), and export (SPEC section 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from moviecli.errors import Conflict, LimitReached, ValidationFailed
from moviecli.models import Media, Project, ProjectCollaborator, StyleReference, User
from moviecli.services import apply
from moviecli.services.store import MediaStore
from tests import media_factory as mf


@pytest.fixture
def files(tmp_path: Path) -> Path:
    d = tmp_path / "files"
    d.mkdir()
    mf.png(d / "look.png", seed=1)
    mf.png(d / "mia.png", seed=2)
    mf.wav(d / "theme.wav", seed=3)
    return d


@pytest.fixture
def ada(make_user: Any) -> Any:
    return make_user("ada@example.com", tier="pro")


def write(files: Path, text: str) -> Path:
    path = files / "moviecli.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(database: Any, account: Any, path: Path) -> tuple[apply.Plan, User]:
    with database.session() as session:
        actor = session.get(User, account.id)
        assert actor is not None
        return apply.load(session, actor, path), actor


def apply_all(database: Any, account: Any, path: Path) -> apply.Plan:
    plan, actor = load(database, account, path)
    apply.embed_plan(plan)
    apply.apply_plans(database, actor, plan.projects)
    return plan


def check(data: dict[str, Any], base: Path) -> tuple[list[apply.ProjectEntry], dict[str, str]]:
    checker = apply.Checker(base)
    return checker.entries(data), checker.problems


def made_meanwhile(database: Any, account: Any, title: str, genre: str = "drama") -> None:
    """A project ``account`` creates between the plan and the apply."""
    from moviecli.services import projects

    with database.write() as session:
        me = session.get(User, account.id)
        assert me is not None
        projects.create_project(
            session, me, projects.Fields(title=title, genre=genre, episode_count=1)
        )


def count(database: Any, model: Any) -> int:
    with database.session() as session:
        return len(session.exec(select(model)).all())


TWO = """
[[project]]
title = "Alpha"
genre = "drama"
episodeCount = 2
collaborators = ["carol@example.com"]

[[project.media]]
file = "look.png"
mediaType = "style_reference"
tags = [" noir ", "noir"]

[[project.media]]
file = "theme.wav"
mediaType = "music_track"

[[project]]
title = "Beta"
template = "sitcom"
episodeCount = 3

[[project.media]]
file = "mia.png"
mediaType = "character_design"
styleReference = true
"""


# --- checking the file ------------------------------------------------------------------------


def test_checker_reads_fields_settings_and_media(files: Path) -> None:
    entries, problems = check(
        {
            "project": [
                {
                    "title": "  Alpha ",
                    "genre": "drama",
                    "episodeCount": 2,
                    "projectSettings": {"aspectRatio": "4:3", "episodeDuration": 30},
                    "media": [
                        {
                            "file": "look.png",
                            "mediaType": "concept_art",
                            "relatedElements": {"episode": 1, "characters": ["Mia"]},
                            "filename": "renamed.png",
                        }
                    ],
                }
            ]
        },
        files,
    )
    assert problems == {}
    (entry,) = entries
    assert entry.title == "Alpha"
    assert entry.fields.given() == {
        "title": "  Alpha ",
        "genre": "drama",
        "episode_count": 2,
        "aspect_ratio": "4:3",
        "episode_duration": 30,
    }
    assert entry.collaborators is None
    (media,) = entry.media or []
    assert media.place == "project[1].media[1]"
    assert media.path == (files / "look.png").resolve()
    assert len(media.sha256) == 64
    assert media.filename == "renamed.png"
    assert media.found is None  # probed by the plan, when the content is new


def test_checker_collects_every_problem_at_once(files: Path) -> None:
    _, problems = check(
        {
            "projects": [],
            "project": [
                {
                    "title": "A",
                    "genre": "opera",
                    "episodeCount": 0,
                    "targetAudience": "everyone",
                    "collaborators": "carol@example.com",
                    "projectSettings": {"aspectRatio": "1:1", "fps": 24, "episodeDuration": True},
                    "media": [
                        {"file": "nope.png", "mediaType": "concept_art"},
                        {"file": "mia.png"},
                        {"mediaType": "concept_art"},
                        {"sha256": "ABC", "mediaType": "video_segment"},
                        {
                            "file": "look.png",
                            "mediaType": "concept_art",
                            "status": "gone",
                            "visibility": "world",
                            "relatedElements": {"episode": "one", "mood": "dark"},
                            "styleReference": "yes",
                            "filename": "a/b.png",
                            "size": 1,
                        },
                        "look.png",
                    ],
                },
                {"title": "a", "genre": "drama", "episodeCount": 1, "media": {}},
                7,
            ],
        },
        files,
    )
    assert problems == {
        "projects": "unknown key (the file holds [[project]] tables)",
        "project[1].genre": "'opera' is not one of: action, comedy, drama, horror, sci-fi, "
        "thriller, romance, documentary",
        "project[1].episodeCount": "must be between 1 and 50",
        "project[1].targetAudience": "'everyone' is not one of: children, family, teen, adult",
        "project[1].collaborators": "must be a list of strings",
        "project[1].projectSettings.fps": "unknown field",
        "project[1].projectSettings.aspectRatio": "'1:1' is not one of: 16:9, 4:3, 21:9",
        "project[1].projectSettings.episodeDuration": "must be a whole number",
        "project[1].media[1].file": "no such file: nope.png",
        "project[1].media[2].mediaType": "is required",
        "project[1].media[3].file": "is required (or sha256 of media already stored)",
        "project[1].media[4].sha256": "must be 64 lowercase hex digits",
        "project[1].media[5].status": problems["project[1].media[5].status"],
        "project[1].media[5].visibility": "'world' is not one of: private, public",
        "project[1].media[5].relatedElements.episode": "must be a whole number",
        "project[1].media[5].relatedElements.mood": "unknown field",
        "project[1].media[5].styleReference": "must be true or false",
        "project[1].media[5].filename": "must be a plain file name (1-255 characters)",
        "project[1].media[5].size": "unknown field",
        "project[1].media[6]": "must be a table",
        "project[2].title": "'a' is also project[1]'s title",
        "project[2].media": "must be an array of tables ([[project.media]])",
        "project[3]": "must be a table",
    }
    assert "'gone' is not one of" in problems["project[1].media[5].status"]


def test_an_empty_file_has_no_project(files: Path) -> None:
    assert check({}, files) == ([], {"project": "the file has no [[project]] table"})


def test_problems_are_listed_in_file_order() -> None:
    problems = {
        "project[10].title": "x",
        "project[2].media[11].file": "x",
        "project[2].media[3].file": "x",
        "project": "x",
        "project[2].genre": "x",
    }
    assert list(apply.in_file_order(problems)) == [
        "project",
        "project[2].genre",
        "project[2].media[3].file",
        "project[2].media[11].file",
        "project[10].title",
    ]


# --- planning and applying -----------------------------------------------------------------------


def test_plan_then_apply_then_nothing_to_do(
    database: Any, ada: Any, make_user: Any, files: Path, home: Path
) -> None:
    make_user("carol@example.com")
    path = write(files, TWO)
    plan, _ = load(database, ada, path)
    assert [(p.title, p.action) for p in plan.projects] == [
        ("Alpha", "create"),
        ("Beta", "create"),
    ]
    assert plan.changed
    assert count(database, Project) == 0

    apply_all(database, ada, path)
    with database.session() as session:
        alpha = session.exec(select(Project).where(col(Project.title) == "Alpha")).one()
        beta = session.exec(select(Project).where(col(Project.title) == "Beta")).one()
        assert (beta.genre, beta.episode_count, beta.target_audience) == ("comedy", 3, "family")
        assert beta.description.startswith("Half-hour ensemble comedy")  # from the template
        look = session.exec(select(Media).where(col(Media.filename) == "look.png")).one()
        assert look.tags == ["noir"]
        assert look.embedding is not None
        styles = session.exec(select(StyleReference)).all()
        assert {(s.project_id, s.media_id) for s in styles} == {
            (alpha.id, look.id),
            (
                beta.id,
                session.exec(select(Media.id).where(col(Media.filename) == "mia.png")).one(),
            ),
        }
        assert len(session.exec(select(ProjectCollaborator)).all()) == 1
    assert len(list((home / "media" / "objects").rglob("*.*"))) == 0  # objects: bare hashes
    assert len([p for p in (home / "media" / "objects").rglob("*") if p.is_file()]) == 3

    again, _ = load(database, ada, path)
    assert not again.changed
    assert [p.action for p in again.projects] == ["unchanged", "unchanged"]


def test_embeddings_are_those_of_the_stored_records(
    database: Any, ada: Any, make_user: Any, files: Path
) -> None:
    """The vectors embedded in one batch before the transactions (and again after an
    edit) are those of the texts the records end up with."""
    import numpy as np

    from moviecli.services import embeddings
    from moviecli.services.media_fields import text_of

    make_user("carol@example.com")
    path = write(files, TWO)
    apply_all(database, ada, path)
    write(files, TWO.replace('mediaType = "music_track"', 'mediaType = "sound_effect"'))
    plan = apply_all(database, ada, path)
    (theme,) = [m for p in plan.projects for m in p.media if m.action == "update"]
    assert theme.vector is not None
    with database.session() as session:
        records = session.exec(select(Media)).all()
        assert len(records) == 3
        for media in records:
            assert media.embedding is not None
            expected = np.frombuffer(embeddings.embed_texts([text_of(media)])[0], np.float32)
            stored = np.frombuffer(media.embedding, np.float32)
            assert np.allclose(stored, expected, atol=1e-4), media.filename


def test_only_new_files_are_probed(
    database: Any, ada: Any, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moviecli.services import probe

    text = (
        "[[project]]\ntitle='A'\ngenre='drama'\nepisodeCount=2\n"
        "[[project.media]]\nfile='look.png'\nmediaType='concept_art'\n"
    )
    path = write(files, text)
    apply_all(database, ada, path)
    probed: list[Path] = []
    real = probe.probe

    def counting(file: Path, media_type: str | None = None) -> Any:
        probed.append(file)
        return real(file, media_type)

    monkeypatch.setattr(probe, "probe", counting)
    write(files, text + "[[project.media]]\nfile='mia.png'\nmediaType='concept_art'\n")
    plan, _ = load(database, ada, path)
    assert [p.name for p in probed] == ["mia.png"]
    assert [m.action for m in plan.projects[0].media] == ["unchanged", "create"]


def test_a_killed_apply_leaves_whole_projects_and_a_rerun_finishes(
    database: Any, ada: Any, make_user: Any, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user("carol@example.com")
    path = write(files, TWO)
    plan, actor = load(database, ada, path)
    apply.apply_project(database, actor, plan.projects[0])
    # The second project fails before its transaction (the process dies while embedding).

    def interrupted(rows: Any) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(apply.execute, "_embed_rows", interrupted)
        apply.apply_project(database, actor, plan.projects[1])
    with database.session() as session:
        assert [p.title for p in session.exec(select(Project)).all()] == ["Alpha"]
        assert len(session.exec(select(Media)).all()) == 2
    store = MediaStore.default()
    assert list(store.tmp.iterdir()) == []

    rerun, _ = load(database, ada, path)
    assert [(p.title, p.action) for p in rerun.projects] == [
        ("Alpha", "unchanged"),
        ("Beta", "create"),
    ]
    apply_all(database, ada, path)
    assert not load(database, ada, path)[0].changed


def test_a_file_changed_after_the_check_is_refused(
    database: Any, ada: Any, files: Path, home: Path
) -> None:
    path = write(
        files,
        "[[project]]\ntitle='A'\ngenre='drama'\nepisodeCount=1\n"
        "[[project.media]]\nfile='look.png'\nmediaType='concept_art'\n",
    )
    plan, actor = load(database, ada, path)
    mf.png(files / "look.png", seed=42)
    with pytest.raises(Conflict, match="changed while apply was running"):
        apply.apply_project(database, actor, plan.projects[0])
    assert count(database, Project) == 0
    assert count(database, Media) == 0
    assert list(MediaStore.default().tmp.iterdir()) == []


def test_a_title_taken_meanwhile_fails_that_project_only(
    database: Any, ada: Any, files: Path
) -> None:
    path = write(files, "[[project]]\ntitle='A'\ngenre='drama'\nepisodeCount=1\n")
    plan, actor = load(database, ada, path)
    made_meanwhile(database, ada, "a", "comedy")
    with pytest.raises(Conflict):
        apply.apply_project(database, actor, plan.projects[0])
    with database.session() as session:
        assert [(p.title, p.genre) for p in session.exec(select(Project)).all()] == [
            ("a", "comedy")
        ]


def test_limits_alone_are_limit_reached_and_with_other_problems_validation(
    database: Any, make_user: Any, files: Path
) -> None:
    free = make_user("free@example.com")
    path = write(files, "[[project]]\ntitle='A'\ngenre='drama'\nepisodeCount=4\n")
    with pytest.raises(LimitReached) as limited:
        load(database, free, path)
    assert limited.value.exit_code == 5
    assert list(limited.value.details) == ["project[1].episodeCount"]

    write(files, "[[project]]\ntitle='A'\ngenre='drama'\nepisodeCount=4\ncolour='red'\n")
    with pytest.raises(ValidationFailed) as invalid:
        load(database, free, path)
    assert invalid.value.exit_code == 2
    assert list(invalid.value.details) == ["project[1].colour", "project[1].episodeCount"]


def test_projects_are_matched_per_creator(
    database: Any, ada: Any, make_user: Any, files: Path
) -> None:
    bob = make_user("bob@example.com", tier="pro")
    path = write(files, "[[project]]\ntitle='Same'\ngenre='drama'\nepisodeCount=1\n")
    apply_all(database, ada, path)
    plan, _ = load(database, bob, path)
    assert [p.action for p in plan.projects] == ["create"]
    apply_all(database, bob, path)
    assert count(database, Project) == 2
    mine, _ = load(database, ada, path)
    assert [p.action for p in mine.projects] == ["unchanged"]


def test_media_type_change_within_a_family_updates_and_across_is_refused(
    database: Any, ada: Any, files: Path
) -> None:
    text = (
        "[[project]]\ntitle='A'\ngenre='drama'\nepisodeCount=2\n"
        "[[project.media]]\nfile='look.png'\nmediaType='concept_art'\n"
    )
    path = write(files, text)
    apply_all(database, ada, path)
    write(files, text.replace("concept_art", "storyboard"))
    plan, _ = load(database, ada, path)
    (item,) = [i for i in plan.projects[0].items if i.kind == "media"]
    assert (item.action, [(c.field, c.old, c.new) for c in item.changes]) == (
        "update",
        [("mediaType", "concept_art", "storyboard")],
    )
    # A sha256 entry that names the same bytes with an audio type: the stored record is an
    # image, so the file is refused.
    with database.session() as session:
        sha = session.exec(select(Media.sha256)).one()
    write(
        files,
        "[[project]]\ntitle='A'\ngenre='drama'\nepisodeCount=2\n"
        f"[[project.media]]\nsha256='{sha}'\nmediaType='music_track'\n",
    )
    with pytest.raises(ValidationFailed) as invalid:
        load(database, ada, path)
    assert invalid.value.details == {
        "project[1].media[1].mediaType": "look.png is image; music_track takes audio"
    }


# --- export -----------------------------------------------------------------------------------


def test_export_data_shape(database: Any, ada: Any, make_user: Any, files: Path) -> None:
    make_user("carol@example.com")
    apply_all(database, ada, write(files, TWO))
    with database.session() as session:
        actor = session.get(User, ada.id)
        assert actor is not None
        beta = apply.export_project(session, actor, "Beta")
        alpha = apply.export_project(
            session, actor, "Alpha", media_dir=files / "out", output=files / "alpha.toml"
        )
    (entry,) = beta.data["project"]
    assert entry["title"] == "Beta"
    assert entry["genre"] == "comedy"
    assert entry["collaborators"] == []
    assert entry["projectSettings"] == {
        "aspectRatio": "16:9",
        "episodeDuration": 22,
        "qualityTier": "standard",
    }
    (mia,) = entry["media"]
    assert set(mia) == {"sha256", "mediaType", "styleReference"}
    assert mia["styleReference"] is True
    assert beta.files == []

    (entry,) = alpha.data["project"]
    assert entry["collaborators"] == ["carol@example.com"]
    assert [m["file"] for m in entry["media"]] == ["out/look.png", "out/theme.wav"]
    assert "styleReference" not in entry["media"][0]  # a style_reference is one already
    assert entry["media"][0]["tags"] == ["noir"]
    assert [target for _, target, _ in alpha.files] == [
        files / "out" / "look.png",
        files / "out" / "theme.wav",
    ]


def test_media_added_between_plan_and_apply_is_a_conflict(
    database: Any, ada: Any, files: Path
) -> None:
    """The plan is made outside the write lock: bytes added to the project meanwhile make
    the project's transaction refuse (nothing of it written, no temporaries), and a new
    run plans from what is there."""
    from moviecli.services import media_add, media_fields

    base = "[[project]]\ntitle='A'\ngenre='drama'\nepisodeCount=2\n"
    path = write(files, base)
    apply_all(database, ada, path)
    write(files, base + "[[project.media]]\nfile='look.png'\nmediaType='concept_art'\n")
    plan, actor = load(database, ada, path)
    media_add.add_files(
        database,
        actor,
        "A",
        [files / "look.png"],
        media_fields.AssetFields(media_type="storyboard"),
        embed=False,
    )
    with pytest.raises(Conflict, match=r"look\.png was added to 'A' while apply was running"):
        apply.apply_project(database, actor, plan.projects[0])
    assert count(database, Media) == 1
    assert list(MediaStore.default().tmp.iterdir()) == []
    again, _ = load(database, ada, path)
    (item,) = again.projects[0].media
    assert item.action == "update"  # storyboard → concept_art
    apply_all(database, ada, path)
    assert not load(database, ada, path)[0].changed


def test_a_style_reference_linked_meanwhile_is_a_conflict(
    database: Any, ada: Any, files: Path
) -> None:
    from moviecli.services import media as media_service

    text = (
        "[[project]]\ntitle='A'\ngenre='drama'\nepisodeCount=2\n"
        "[[project.media]]\nfile='look.png'\nmediaType='concept_art'\n"
    )
    path = write(files, text)
    apply_all(database, ada, path)
    write(files, text + "styleReference = true\n")
    plan, actor = load(database, ada, path)
    with database.write() as session:
        media_id = session.exec(select(Media.id)).one()
        media_service.add_style_reference(session, actor, "A", media_id)
    with pytest.raises(Conflict, match="changed while apply was running"):
        apply.apply_project(database, actor, plan.projects[0])
    assert not load(database, ada, path)[0].changed


# --- runs of projects without media (issue 15 item 5) ----------------------------------------


def many(files: Path, titles: list[str], *, media_at: int | None = None) -> Path:
    blocks = []
    for k, title in enumerate(titles):
        block = f"[[project]]\ntitle = {title!r}\ngenre = 'drama'\nepisodeCount = 2\n"
        block += "collaborators = ['carol@example.com']\n"
        if k == media_at:
            block += "[[project.media]]\nfile = 'look.png'\nmediaType = 'concept_art'\n"
        blocks.append(block)
    return write(files, "\n".join(blocks))


def writes(database: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one for each write transaction ``database`` opens."""
    opened: list[int] = []
    original = database.write

    def counted() -> Any:
        opened.append(1)
        return original()

    monkeypatch.setattr(database, "write", counted)
    return opened


def titles_in_db(database: Any) -> list[str]:
    with database.session() as session:
        rows = session.exec(select(Project).order_by(col(Project.created_at))).all()
        return [p.title for p in rows]


def test_15_5_projects_without_media_are_written_a_run_per_transaction(
    database: Any, ada: Any, make_user: Any, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user("carol@example.com")
    titles = [f"P{k:03d}" for k in range(2 * apply.execute.RUN + 5)]
    path = many(files, titles)
    with database.write() as session:  # room for them all
        me = session.get(User, ada.id)
        assert me is not None
        me.max_projects = len(titles)
        session.add(me)
    plan, actor = load(database, ada, path)
    opened = writes(database, monkeypatch)
    done: list[int] = []
    apply.apply_plans(database, actor, plan.projects, applied=done.append)
    assert len(opened) == 3  # 100 + 100 + 5
    assert done == [apply.execute.RUN, apply.execute.RUN, 5]
    assert titles_in_db(database) == titles  # in file order
    assert all(p.project_id for p in plan.projects)
    assert count(database, ProjectCollaborator) == len(titles)
    with database.session() as session:  # each one active for its creator
        from moviecli.models import ActiveProject

        assert len(session.exec(select(ActiveProject)).all()) == len(titles)
    assert not load(database, ada, path)[0].changed


def test_15_5_a_project_with_media_ends_the_run_before_it(
    database: Any, ada: Any, make_user: Any, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user("carol@example.com")
    path = many(files, ["A", "B", "C", "D"], media_at=2)
    plan, actor = load(database, ada, path)
    apply.embed_plan(plan)
    opened = writes(database, monkeypatch)
    apply.apply_plans(database, actor, plan.projects)
    assert len(opened) == 3  # A and B; C with its file; D
    assert titles_in_db(database) == ["A", "B", "C", "D"]
    assert count(database, Media) == 1


def test_15_5_a_run_that_fails_keeps_the_projects_before_the_failing_one(
    database: Any, ada: Any, make_user: Any, files: Path
) -> None:

    make_user("carol@example.com")
    path = many(files, ["A", "B", "C", "D", "E"])
    plan, actor = load(database, ada, path)
    made_meanwhile(database, ada, "c", "comedy")
    done: list[int] = []
    with pytest.raises(Conflict, match="'C'"):
        apply.apply_plans(database, actor, plan.projects, applied=done.append)
    assert titles_in_db(database) == ["c", "A", "B"]
    assert done == [1, 1]
    assert count(database, ProjectCollaborator) == 2


def test_15_5_the_project_limit_counts_the_projects_of_the_run(
    database: Any, make_user: Any, files: Path
) -> None:
    """Inside a run the actor's projects are counted once: each create adds to the count,
    so a project made meanwhile still stops the run at the limit."""

    make_user("carol@example.com")
    free = make_user("free@example.com")
    with database.write() as session:
        me = session.get(User, free.id)
        assert me is not None
        me.max_projects = 3
        session.add(me)
    titles = ["T0", "T1", "T2"]
    path = many(files, titles)
    plan, actor = load(database, free, path)
    made_meanwhile(database, free, "meanwhile")
    with pytest.raises(LimitReached):
        apply.apply_plans(database, actor, plan.projects)
    assert titles_in_db(database) == ["meanwhile", *titles[:-1]]
