"""A process killed with SIGKILL in the middle of a bulk ``media add`` or an ``apply``
leaves the database consistent and no half-made records; the next command's recovery
leaves no orphan file in the store, and running the command again finishes the job
(SPEC sections 4, 6 and 7).

The kill lands at a chosen point: the runner below wraps one function of the store or of
apply so that its n-th call says where it is (a marker file) and sleeps, and the test
kills it there. The points are the dangerous ones: while files are staged in tmp/ (no
record yet), just after a batch of records is committed (no file moved yet), and half-way
through moving them into place; for apply, also inside a transaction that writes a run of
projects without media. One more kill lands wherever the process happens to be.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.reliability.storecheck import integrity_ok, leftovers, store_agrees, store_root

# argv: MARKER WHERE N MOVIECLI-ARGS… — pause at the N-th call of WHERE ("none": no pause)
RUNNER = r"""
import os, sys, time
from pathlib import Path

marker, where, nth = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
from moviecli.services import apply, store

calls = 0


def pause_at(owner, name):
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        global calls
        calls += 1
        if calls == nth:
            marker.write_text(str(os.getpid()))
            time.sleep(600)
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)


if where == "stage":
    pause_at(store.MediaStore, "stage")
elif where == "commit":
    pause_at(store.MediaStore, "commit")
elif where == "apply_project":
    pause_at(apply.execute, "apply_project")
elif where == "write_in":  # a project written inside its run's transaction
    pause_at(apply.execute, "_write_in")
sys.argv = ["moviecli", *sys.argv[4:]]
from moviecli.cli import main

main()
"""

FILES = 600  # more than one insert batch (services.media_add.BATCH = 500)
BATCH = 500


def start(tmp_path: Path, where: str, nth: int, *args: str) -> tuple[subprocess.Popen[str], Path]:
    marker = tmp_path / f"paused-{where}-{nth}"
    marker.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(marker), where, str(nth), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    return proc, marker


def kill_when(
    proc: subprocess.Popen[str], ready: Callable[[], bool], timeout: float = 180
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the process ended before the kill ({proc.returncode}):\n{err}{out}")
        assert time.monotonic() < deadline, "the process never reached the kill point"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def png(path: Path, n: int) -> Path:
    """A small PNG whose bytes differ for every ``n`` (media_factory's seeds repeat at 256)."""
    from PIL import Image

    img = Image.new("RGB", (8, 8), (n % 256, (n // 256) % 256, 90))
    img.save(path, format="PNG")
    return path


def media_rows(database: Any, project_id: str | None = None) -> list[Any]:
    from moviecli.models import Media

    with database.session() as session:
        query = sa.select(Media)
        if project_id:
            query = query.where(Media.project_id == project_id)  # type: ignore[arg-type]
        return list(session.execute(query).scalars())


def assert_whole(media: Any) -> None:
    """A record with everything an add gives it (the embedding is made before the insert)."""
    assert len(media.sha256) == 64
    assert media.size_bytes > 0
    assert media.mime_type == "image/png"
    assert media.technical_data.get("resolution")
    assert media.embedding is not None


# --- media add -----------------------------------------------------------------------------------


@pytest.fixture
def pictures(tmp_path: Path) -> Path:
    directory = tmp_path / "frames"
    directory.mkdir()
    for i in range(FILES):
        png(directory / f"frame-{i:04d}.png", i)
    return directory


@pytest.mark.parametrize(
    ("where", "nth"),
    [
        ("stage", FILES // 2),  # half the files copied into tmp/, no record yet
        ("commit", 1),  # the first batch of records committed, no file moved yet
        ("commit", BATCH // 2),  # half-way through moving that batch's files
        ("natural", 0),  # wherever it is once tmp/ holds a third of the files
    ],
)
def test_media_add_killed(cli, cli_process, admin, database, pictures, tmp_path, where, nth):
    project = cli("project", "create", "Frames", "--genre", "drama", "--episodes", "3", "--json")
    project_id = project.json()["id"]
    args = ["media", "add", "Frames", str(pictures), "--recursive", "--type", "storyboard"]
    root = store_root()
    if where == "natural":
        proc, _ = start(tmp_path, "none", 0, *args)
        kill_when(proc, lambda: len(list((root / "tmp").glob("*"))) >= FILES // 3)
    else:
        proc, marker = start(tmp_path, where, nth, *args)
        kill_when(proc, marker.exists)

    integrity_ok(database)
    rows = media_rows(database, project_id)
    assert len(rows) in (0, BATCH, FILES), len(rows)  # whole batches or nothing
    for media in rows:
        assert_whole(media)
    if where == "commit":
        assert len(rows) == BATCH
        assert len(list((root / "tmp").glob("*.part"))) >= BATCH - nth + 1

    again = cli_process(*args, timeout=300)
    assert again.exit_code == 0, again.stderr
    assert "Traceback" not in again.stderr
    rows = media_rows(database, project_id)
    assert len(rows) == FILES
    assert len({m.sha256 for m in rows}) == FILES  # each file once
    assert sorted(m.filename for m in rows) == sorted(p.name for p in pictures.iterdir())
    for media in rows:
        assert_whole(media)
    store_agrees(database)
    integrity_ok(database)


# --- apply ---------------------------------------------------------------------------------------

PROJECTS = 4
MEDIA_EACH = 8


@pytest.fixture
def setup_file(tmp_path: Path, make_user: Callable[..., Any]) -> Path:
    make_user("carol@example.com")
    make_user("dave@example.com")
    base = tmp_path / "team"
    blocks = []
    for p in range(PROJECTS):
        (base / f"p{p}").mkdir(parents=True)
        block = [
            "[[project]]",
            f'title = "Kill Test {p}"',
            'genre = "drama"',
            "episodeCount = 4",
            'collaborators = ["carol@example.com", "dave@example.com"]',
            "[project.projectSettings]",
            'aspectRatio = "21:9"',
        ]
        for m in range(MEDIA_EACH):
            png(base / f"p{p}" / f"shot-{m}.png", 1000 + p * 100 + m)
            block += [
                "[[project.media]]",
                f'file = "p{p}/shot-{m}.png"',
                'mediaType = "storyboard"',
                f'description = "shot {m} of project {p}"',
                f"relatedElements = {{ episode = {1 + m % 4} }}",
            ]
        blocks.append("\n".join(block))
    path = base / "team.toml"
    path.write_text("\n\n".join(blocks) + "\n")
    return path


def projects_state(database: Any) -> dict[str, tuple[int, int, str]]:
    """title → (media, collaborators, aspect ratio) of the projects apply made."""
    from moviecli.models import Media, Project, ProjectCollaborator

    with database.session() as session:
        out = {}
        for project in session.execute(sa.select(Project)).scalars():
            media = session.execute(
                sa.select(sa.func.count()).where(Media.project_id == project.id)  # type: ignore[arg-type]
            ).scalar_one()
            collaborators = session.execute(
                sa.select(sa.func.count()).where(
                    ProjectCollaborator.project_id == project.id  # type: ignore[arg-type]
                )
            ).scalar_one()
            out[project.title] = (media, collaborators, project.aspect_ratio)
        return out


WHOLE = (MEDIA_EACH, 2, "21:9")


@pytest.mark.parametrize(
    ("where", "nth", "made", "in_tmp"),
    [
        ("apply_project", 3, 2, 0),  # two projects applied, the third about to start
        ("commit", MEDIA_EACH + 2, 2, MEDIA_EACH - 1),  # the second committed, 1 file moved
        # the last project committed, none of its files moved: re-running finds nothing to
        # change in the database, and must still put the files in place
        ("commit", 3 * MEDIA_EACH + 1, 4, MEDIA_EACH),
        ("natural", 0, None, None),  # wherever it is once two projects exist
    ],
)
def test_apply_killed(
    cli_process, admin, database, setup_file, tmp_path, where, nth, made, in_tmp
):
    args = ["apply", str(setup_file)]
    if where == "natural":
        proc, _ = start(tmp_path, "none", 0, *args)
        kill_when(proc, lambda: len(projects_state(database)) >= 2)
    else:
        proc, marker = start(tmp_path, where, nth, *args)
        kill_when(proc, marker.exists)

    integrity_ok(database)
    state = projects_state(database)
    for title, whole in state.items():  # whole projects or none
        assert whole == WHOLE, (title, whole)
    for media in media_rows(database):
        assert_whole(media)
    if made is not None:
        assert len(state) == made
        assert len(list((store_root() / "tmp").glob("*.part"))) == in_tmp

    again = cli_process(*args, timeout=300)
    assert again.exit_code == 0, again.stderr
    assert "Traceback" not in again.stderr
    assert projects_state(database) == {f"Kill Test {p}": WHOLE for p in range(PROJECTS)}
    store_agrees(database)
    integrity_ok(database)
    # and the job is done: a third run changes nothing
    third = cli_process(*args, timeout=300)
    assert third.exit_code == 0, third.stderr
    assert "Nothing to change" in third.stdout
    assert leftovers(store_root()) == []


RUN_FILE_PROJECTS = 250  # two whole runs of apply.execute.RUN (100) and a half


def test_15_5_apply_killed_inside_a_run_of_projects_leaves_whole_runs(
    cli_process: Any, admin: Any, database: Any, tmp_path: Path, make_user: Any
) -> None:
    """Projects without media are committed a run at a time: killed while the second run
    is being written, the database holds the first run alone, each project whole, and
    running the file again makes the rest."""
    from moviecli.services.apply.execute import RUN

    make_user("carol@example.com")
    path = tmp_path / "many.toml"
    path.write_text(
        "".join(
            f'[[project]]\ntitle = "Run {k}"\ngenre = "drama"\nepisodeCount = 3\n'
            'collaborators = ["carol@example.com"]\n'
            '[project.projectSettings]\naspectRatio = "21:9"\n\n'
            for k in range(RUN_FILE_PROJECTS)
        )
    )
    cli_process("user", "update", "--max-projects", "1000")
    proc, marker = start(tmp_path, "write_in", RUN + RUN // 2, "apply", str(path))
    kill_when(proc, marker.exists)

    integrity_ok(database)
    state = projects_state(database)
    assert len(state) == RUN
    assert set(state.values()) == {(0, 1, "21:9")}
    assert sorted(state) == sorted(f"Run {k}" for k in range(RUN))

    again = cli_process("apply", str(path), timeout=300)
    assert again.exit_code == 0, again.stderr
    assert f"Applied {RUN_FILE_PROJECTS - RUN} project(s)." in again.stderr
    state = projects_state(database)
    assert len(state) == RUN_FILE_PROJECTS
    assert set(state.values()) == {(0, 1, "21:9")}
