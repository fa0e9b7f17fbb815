"""The content-addressed store: one file per content, atomic adds, recovery, collection."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests import media_factory as mf


@pytest.fixture
def store(home: Path) -> Any:
    from moviecli.services.store import MediaStore

    return MediaStore(home / "media")


@pytest.fixture
def actor(database: Any, make_user: Any) -> Any:
    from moviecli.models import User

    account = make_user("ada@example.com", role="admin", tier="enterprise")
    with database.session() as session:
        return session.get(User, account.id)


@pytest.fixture
def project_id(database: Any, actor: Any) -> str:
    from moviecli.services import projects

    with database.write() as session:
        return projects.create_project(
            session, actor, projects.Fields(title="Sea", genre="drama", episode_count=3)
        ).id


def fields(media_type: str = "concept_art") -> Any:
    from moviecli.services.media_fields import AssetFields

    return AssetFields(media_type=media_type)


def files_in(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


def test_identical_bytes_are_stored_once(store: Any, tmp_path: Path) -> None:
    a = mf.png(tmp_path / "a.png")
    b = tmp_path / "b.png"
    b.write_bytes(a.read_bytes())
    for path in (a, b):
        staged = store.stage(path)
        store.commit(staged)
    assert [p.name for p in files_in(store.objects)] == [staged.sha256]
    assert store.path(staged.sha256).read_bytes() == a.read_bytes()
    assert files_in(store.tmp) == []


def test_failure_between_copy_and_commit_leaves_nothing(
    database: Any,
    actor: Any,
    project_id: str,
    store: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlmodel import select

    from moviecli.models import Media
    from moviecli.services import media_add

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(media_add, "insert_batch", boom)
    paths = [mf.png(tmp_path / f"{i}.png", seed=i) for i in range(3)]
    with pytest.raises(RuntimeError):
        media_add.add_files(database, actor, project_id, paths, fields(), embed=False, store=store)
    assert files_in(store.tmp) == []
    assert files_in(store.objects) == []
    with database.session() as session:
        assert session.exec(select(Media)).all() == []


def test_a_kill_after_the_commit_rolls_forward(
    database: Any,
    actor: Any,
    project_id: str,
    store: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Killed between the commit and the rename: the next start renames the temporary."""
    from sqlmodel import select

    from moviecli.models import Media
    from moviecli.services import media_add
    from moviecli.services.store import MediaStore

    def killed(self: Any, staged: Any) -> None:
        staged.release()  # the process dies: its lock goes, the temporary stays
        raise KeyboardInterrupt

    monkeypatch.setattr(MediaStore, "commit", killed)
    path = mf.png(tmp_path / "a.png")
    with pytest.raises(KeyboardInterrupt):
        media_add.add_files(
            database, actor, project_id, [path], fields(), embed=False, store=store
        )
    monkeypatch.undo()
    with database.session() as session:
        sha = session.exec(select(Media)).one().sha256
    assert not store.has(sha)
    assert [p.name.split(".")[0] for p in files_in(store.tmp)] == [sha]
    report = store.recover(database)
    assert (report.rolled_forward, report.removed) == (1, 0)
    assert store.path(sha).read_bytes() == path.read_bytes()
    assert files_in(store.tmp) == []


def test_recovery_removes_temporaries_without_a_record(
    database: Any, store: Any, tmp_path: Path
) -> None:
    staged = store.stage(mf.png(tmp_path / "a.png"))
    assert store.recover(database).removed == 0  # locked: a live add
    staged.release()
    report = store.recover(database)
    assert (report.rolled_forward, report.removed) == (0, 1)
    assert files_in(store.tmp) == []
    assert files_in(store.objects) == []


def test_recovery_leaves_young_unhashed_temporaries(database: Any, store: Any) -> None:
    store.tmp.mkdir(parents=True)
    young = store.tmp / "pending.0123.part"
    young.write_bytes(b"half")
    old = store.tmp / "pending.4567.part"
    old.write_bytes(b"half")
    os.utime(old, (1, 1))
    assert store.recover(database).removed == 1
    assert files_in(store.tmp) == [young]


def test_collection_keeps_referenced_files(
    database: Any, actor: Any, project_id: str, store: Any, tmp_path: Path
) -> None:
    from moviecli.services import media, media_add

    path = mf.png(tmp_path / "a.png")
    result = media_add.add_files(
        database, actor, project_id, [path], fields(), embed=False, store=store
    )
    sha = result.records[0].sha256
    store.mark_for_gc([sha])
    assert store.recover(database).collected == 0
    assert store.has(sha)
    assert files_in(store.gc) == []
    media.delete(database, actor, result.records[0].id, store=store)
    assert not store.has(sha)


def test_a_marker_left_by_a_kill_is_collected(database: Any, store: Any, tmp_path: Path) -> None:
    staged = store.stage(mf.png(tmp_path / "a.png"))
    store.commit(staged)  # a file whose record was deleted by a killed command
    store.mark_for_gc([staged.sha256])
    assert store.recover(database).collected == 1
    assert not store.has(staged.sha256)
    assert files_in(store.gc) == []


def test_add_files_api_for_other_services(
    database: Any, actor: Any, project_id: str, store: Any, tmp_path: Path
) -> None:
    from moviecli.services import media_add

    good = mf.wav(tmp_path / "v.wav")
    bad = mf.png(tmp_path / "p.png")
    result = media_add.add_files(
        database,
        actor,
        project_id,
        [good, bad],
        fields("voice_profile"),
        embed=False,
        store=store,
    )
    assert [f.outcome for f in result.files] == ["added", "rejected"]
    assert result.files[1].reason is not None
    assert result.added[0].media is not None
    assert result.added[0].media.technical_data.sample_rate == 22050
    again = media_add.add_files(
        database, actor, project_id, [good], fields("voice_profile"), embed=False, store=store
    )
    assert again.present[0].media == result.added[0].media


def test_an_unwritable_store_is_a_storage_error(
    store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from moviecli.errors import StorageError
    from moviecli.services import store as store_module

    real_open = os.open

    anonymous = getattr(os, "O_TMPFILE", -1)  # how the store creates its copies on Linux

    def full_disk(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_EXCL or flags & anonymous == anonymous:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(store_module.os, "open", full_disk)
    with pytest.raises(StorageError, match="No space left on device"):
        store.stage(mf.png(tmp_path / "a.png"))
    with pytest.raises(FileNotFoundError):
        store.stage(tmp_path / "missing.png")
