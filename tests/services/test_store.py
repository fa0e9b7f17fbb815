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
    stale = store.tmp / "pending.old.part"  # sorted after the live one
    stale.write_bytes(b"half")
    os.utime(stale, (1, 1))
    assert store.recover(database).removed == 1  # the live add is locked: skipped, not the end
    assert files_in(store.tmp) == [staged.temp]
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


def test_a_ctrl_c_after_the_commit_leaves_every_file_for_recovery(
    database: Any,
    actor: Any,
    project_id: str,
    store: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C while a committed batch's files are moved into place: the process lives on
    and cleans up, but the temporaries its records name are left for recovery (the
    cleanup used to delete them: records without files)."""
    from sqlmodel import select

    from moviecli.models import Media
    from moviecli.services import media_add
    from moviecli.services.store import MediaStore

    def interrupted(self: Any, staged: Any) -> None:
        staged.release()  # as commit's own finally does
        raise KeyboardInterrupt  # before the first rename; the others are still locked

    monkeypatch.setattr(MediaStore, "commit", interrupted)
    paths = [mf.png(tmp_path / f"{i}.png", seed=i) for i in range(3)]
    with pytest.raises(KeyboardInterrupt):
        media_add.add_files(database, actor, project_id, paths, fields(), embed=False, store=store)
    monkeypatch.undo()
    with database.session() as session:
        shas = sorted(m.sha256 for m in session.exec(select(Media)).all())
    assert len(shas) == 3
    assert sorted(p.name.split(".")[0] for p in files_in(store.tmp)) == shas
    report = store.recover(database)
    assert (report.rolled_forward, report.removed) == (3, 0)
    assert all(store.has(sha) for sha in shas)


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


# --- the store's own rules, one by one (scripts/mutation store) -------------------------------

SHA = "ab" + "0" * 62


def stored(store: Any, tmp_path: Path, data: bytes = b"frame") -> Any:
    source = tmp_path / f"src-{len(files_in(tmp_path))}"
    source.write_bytes(data)
    staged = store.stage(source)
    store.commit(staged)
    return staged


def test_only_a_hex_digest_names_a_stored_file(store: Any) -> None:
    from moviecli.errors import StorageError
    from moviecli.services.store import describe_record, is_sha256

    assert is_sha256(SHA) and not is_sha256(SHA.upper()) and not is_sha256(SHA[:-1])
    assert not is_sha256(SHA[:-1] + "g") and not is_sha256(SHA + "0")
    assert not is_sha256("X" * 64)
    assert store.path(SHA) == store.root / "objects" / "ab" / SHA
    assert (store.objects, store.tmp, store.gc) == tuple(
        store.root / name for name in ("objects", "tmp", "gc")
    )
    with pytest.raises(StorageError) as raised:
        store.path("../../etc/passwd")
    assert str(raised.value) == "'../../etc/passwd' is not a sha256 (run moviecli db check)"
    assert describe_record("m1", "a\nb.png") == "media m1 (a\\nb.png)"
    with pytest.raises(StorageError) as raised:
        store.path("x" * 100)
    assert str(raised.value) == f"{'x' * 80!r} is not a sha256 (run moviecli db check)"


def test_a_staged_copy_is_private_hashed_and_named_by_its_sha(store: Any, tmp_path: Path) -> None:
    import hashlib
    import stat as st

    data = os.urandom(3 << 20)  # three chunks and more
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    staged = store.stage(source)
    assert staged.sha256 == hashlib.sha256(data).hexdigest()
    assert staged.size == len(data)
    assert staged.temp.parent == store.tmp and staged.temp.name.startswith(staged.sha256 + ".")
    assert staged.temp.name.endswith(".part") and staged.temp.read_bytes() == data
    store.commit(staged)
    target = store.path(staged.sha256)
    assert target.read_bytes() == data and not staged.temp.exists()
    assert st.S_IMODE(target.stat().st_mode) == 0o600
    for directory in (store.root, store.objects, store.tmp, store.gc, target.parent):
        assert st.S_IMODE(directory.stat().st_mode) == 0o700
    store.discard(staged)  # after the commit: nothing to drop
    assert target.exists()


def test_a_team_store_opens_files_and_folders_to_the_group(home: Path, tmp_path: Path) -> None:
    import stat as st

    from moviecli.services.store import MediaStore

    team = MediaStore(home / "team", group_access=True)
    staged = stored(team, tmp_path)
    assert st.S_IMODE(team.path(staged.sha256).stat().st_mode) == 0o640
    for directory in (team.root, team.objects, team.tmp, team.gc):
        assert st.S_IMODE(directory.stat().st_mode) == 0o2770


def test_a_discarded_copy_leaves_nothing(store: Any, tmp_path: Path) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(b"abc")
    staged = store.stage(source)
    store.discard(staged)
    assert files_in(store.tmp) == [] and files_in(store.objects) == []
    store.discard(staged)  # twice is fine


def test_verify_and_export_trust_only_the_bytes(store: Any, tmp_path: Path) -> None:
    from moviecli.errors import Conflict, StorageError

    staged = stored(store, tmp_path, b"the bytes")
    store.verify(staged.sha256, record="media m1 (a.png)")
    dest = tmp_path / "out.png"
    store.export(staged.sha256, dest, record="media m1 (a.png)")
    assert dest.read_bytes() == b"the bytes"
    assert oct(dest.stat().st_mode & 0o777) == oct(0o600)
    with pytest.raises(Conflict):
        store.export(staged.sha256, dest, record="media m1 (a.png)")
    dest.write_bytes(b"old")
    store.export(staged.sha256, dest, record="media m1 (a.png)", force=True)
    assert dest.read_bytes() == b"the bytes"

    store.path(staged.sha256).write_bytes(b"changed on disk")
    changed = (
        "the stored file of media m1 (a.png) does not match its sha256 (changed on disk) "
        "(restore the store from a backup)"
    )
    with pytest.raises(StorageError) as raised:
        store.verify(staged.sha256, record="media m1 (a.png)")
    assert str(raised.value) == changed
    fresh = tmp_path / "fresh.png"
    with pytest.raises(StorageError) as raised:
        store.export(staged.sha256, fresh, record="media m1 (a.png)")
    assert str(raised.value) == changed
    assert not fresh.exists() and [p.name for p in tmp_path.iterdir() if "fresh" in p.name] == []

    store.path(staged.sha256).unlink()
    with pytest.raises(StorageError) as raised:
        store.verify(staged.sha256, record="media m1 (a.png)")
    assert str(raised.value) == (
        f"the stored file of media m1 (a.png) is missing from the media store {store.root} "
        "(restore the store from a backup)"
    )


def not_a_file(store: Any, tmp_path: Path, kind: str, link_to: Path) -> Any:
    """A stored file replaced by a link to ``link_to`` or by a FIFO; its staged record."""
    staged = stored(store, tmp_path)
    target = store.path(staged.sha256)
    target.unlink()
    if kind == "link":
        target.symlink_to(link_to)
    else:
        os.mkfifo(target)
    return staged


@pytest.mark.parametrize("kind", ["link", "fifo"])
def test_what_is_not_a_regular_file_is_never_read(store: Any, tmp_path: Path, kind: str) -> None:
    from moviecli.errors import StorageError

    secret = tmp_path / "secret"
    secret.write_bytes(b"frame")
    staged = not_a_file(store, tmp_path, kind, secret)
    with pytest.raises(StorageError, match="does not match its sha256"):
        store.verify(staged.sha256, record="media m1 (a.png)")


def test_a_store_that_is_a_file_is_said_plainly(home: Path, tmp_path: Path) -> None:
    from moviecli.errors import StorageError
    from moviecli.services.store import MediaStore

    home.mkdir(parents=True, exist_ok=True)
    (home / "file").write_bytes(b"")
    broken = MediaStore(home / "file")
    with pytest.raises(StorageError) as raised:
        broken.verify(SHA, record="r")
    assert str(raised.value) == (
        f"the media store {home / 'file'} is not a directory "
        "(point media.store in config.toml at a directory)"
    )
    with pytest.raises(StorageError, match="is not a directory"):
        broken.stage(tmp_path / "missing.png")


def test_check_reports_missing_unused_changed_and_pending(
    database: Any, actor: Any, project_id: str, store: Any, tmp_path: Path
) -> None:
    from moviecli.services import media_add

    empty = store.check(database)
    assert (empty.files, empty.missing, empty.unreferenced, empty.corrupt) == (0, [], [], [])
    assert empty.pending == 0 and empty.ok and empty.root == str(store.root)
    paths = [mf.png(tmp_path / f"{i}.png", seed=i) for i in range(3)]
    added = media_add.add_files(
        database, actor, project_id, paths, fields(), embed=False, store=store
    ).records
    assert store.check(database).ok and store.check(database).files == 3
    gone, changed, kept = added
    store.path(gone.sha256).unlink()
    store.path(changed.sha256).write_bytes(b"changed")
    orphan = stored(store, tmp_path, b"no record")
    store.mark_for_gc([orphan.sha256])
    report = store.check(database)
    assert report.files == 3
    assert report.missing == [f"media {gone.id} ({gone.filename})"]
    assert report.corrupt == [f"media {changed.id} ({changed.filename})"]
    assert report.unreferenced == [orphan.sha256]
    assert report.pending == 1 and not report.ok
    assert store.has(kept.sha256)


def test_a_borrowed_file_must_still_be_there(
    database: Any, actor: Any, project_id: str, store: Any, tmp_path: Path
) -> None:
    from moviecli.errors import Conflict, StorageError
    from moviecli.services import media_add

    (record,) = media_add.add_files(
        database,
        actor,
        project_id,
        [mf.png(tmp_path / "a.png")],
        fields(),
        embed=False,
        store=store,
    ).records
    with database.session() as session:
        store.require_stored(session, {record.sha256: "entry 1"}, "apply")
        store.path(record.sha256).unlink()
        with pytest.raises(StorageError, match="the stored file of entry 1 is missing"):
            store.require_stored(session, {record.sha256: "entry 1"}, "apply")
        with pytest.raises(Conflict) as raised:
            store.require_stored(session, {SHA: "entry 2"}, "apply")
    assert str(raised.value) == (
        "entry 2: its content was deleted while apply was running (run apply again)"
    )


def test_marks_and_collection_count_what_they_did(
    database: Any, store: Any, tmp_path: Path
) -> None:
    assert store.mark_for_gc(["not-a-sha", "../x"]) == []
    assert not store.gc.exists()  # nothing to mark: nothing made
    one, two = stored(store, tmp_path, b"one"), stored(store, tmp_path, b"two")
    assert store.mark_for_gc([two.sha256, one.sha256, one.sha256]) == sorted(
        [one.sha256, two.sha256]
    )
    assert sorted(p.name for p in store.gc.iterdir()) == sorted([one.sha256, two.sha256])
    assert store.collect(database, [one.sha256, two.sha256, "bogus"]) == 2
    assert files_in(store.gc) == [] and files_in(store.objects) == []
    assert store.collect(database, [one.sha256]) == 0  # already gone


def test_the_default_store_follows_config_toml(home: Path) -> None:
    from moviecli.services.store import MediaStore

    plain = MediaStore.default()
    assert plain.root == home / "media" and plain.file_mode == 0o600
    home.mkdir(parents=True, exist_ok=True)
    team = home / "team-store"
    (home / "config.toml").write_text(
        f'[media]\nstore = "{team}"\ngroup_access = true\n', encoding="utf-8"
    )
    shared = MediaStore.default()
    assert shared.root == team and (shared.file_mode, shared.dir_mode) == (0o640, 0o2770)


def test_every_store_error_names_what_and_what_to_do(
    store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from moviecli.errors import StorageError
    from moviecli.services import store as store_module

    staged = stored(store, tmp_path)
    with pytest.raises(StorageError) as raised:
        store.export(staged.sha256, tmp_path / "no-such-dir" / "out.png", record="media m1")
    assert str(raised.value) == (
        f"cannot write {tmp_path / 'no-such-dir' / 'out.png'}: No such file or directory"
    )
    real_open = os.open

    def denied(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_NOFOLLOW:
            raise OSError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(store_module.os, "open", denied)
    with pytest.raises(StorageError) as raised:
        store.verify(staged.sha256, record="media m1 (a.png)")
    assert str(raised.value) == (
        "cannot read the stored file of media m1 (a.png): Permission denied "
        "(check the media store's permissions)"
    )
    monkeypatch.undo()

    def full(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_module.os, "open", full)
    with pytest.raises(StorageError) as raised:
        store.stage(tmp_path / "src-0")
    assert str(raised.value) == (
        f"cannot write to the media store {store.root}: No space left on device "
        "(check free space, media.store in config.toml and the directory's permissions)"
    )


@pytest.mark.parametrize("kind", ["link", "fifo"])
def test_a_link_or_a_fifo_is_named_by_its_record(store: Any, tmp_path: Path, kind: str) -> None:
    from moviecli.errors import StorageError

    staged = not_a_file(store, tmp_path, kind, tmp_path / "elsewhere")
    with pytest.raises(StorageError) as raised:
        store.export(staged.sha256, tmp_path / "out.png", record="media m1 (a.png)")
    assert str(raised.value) == (
        "the stored file of media m1 (a.png) does not match its sha256 (changed on disk) "
        "(restore the store from a backup)"
    )
    assert not (tmp_path / "out.png").exists()


def test_check_names_each_missing_file_by_its_first_record(
    database: Any, actor: Any, store: Any, tmp_path: Path
) -> None:
    from moviecli.services import media_add, projects

    with database.write() as session:
        ids = [
            projects.create_project(
                session, actor, projects.Fields(title=t, genre="drama", episode_count=1)
            ).id
            for t in ("One", "Two")
        ]
    image = mf.png(tmp_path / "same.png")
    records = [
        media_add.add_files(
            database, actor, pid, [image], fields(), embed=False, store=store
        ).records[0]
        for pid in ids
    ]
    store.path(records[0].sha256).unlink()
    first = min(records, key=lambda r: r.id)
    assert store.check(database).missing == [f"media {first.id} (same.png)"]


def test_one_advisory_lock_key_per_content() -> None:
    import hashlib

    from moviecli.services.store import advisory_key

    assert advisory_key("7f" + "f" * 62) == 2**63 - 1
    assert advisory_key("80" + "0" * 62) == -(2**63)  # PostgreSQL's bigint is signed
    assert advisory_key("00" * 7 + "2a" + "9" * 48) == 42
    edited = "../not a sha"
    assert advisory_key(edited) == int.from_bytes(
        hashlib.sha256(edited.encode()).digest()[:8], "big", signed=True
    )
    assert advisory_key(SHA.upper()) != advisory_key(SHA)  # not a sha256: hashed itself


def test_recovery_leaves_a_temporary_moved_away_under_it(
    database: Any, store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between recovery's open and its lock the owner renamed the temporary into place:
    the name no longer leads to what recovery locked, so it is not recovery's to touch."""
    from moviecli.services import store as store_module

    staged = store.stage(mf.png(tmp_path / "a.png"))
    staged.release()
    real_stat = os.stat

    def moved(path: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(path) == staged.temp:
            raise FileNotFoundError(path)
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(store_module.os, "stat", moved)
    report = store.recover(database)
    monkeypatch.undo()
    assert (report.rolled_forward, report.removed) == (0, 0)
    assert staged.temp.exists()


def test_named_temporaries_where_there_is_no_o_tmpfile(
    store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stat as st

    from moviecli.services import store as store_module

    monkeypatch.setattr(store_module, "_ANONYMOUS_FILES", False)
    source = tmp_path / "a.bin"
    source.write_bytes(b"named")
    staged = store.stage(source)
    assert staged.temp.name.startswith(staged.sha256 + ".")
    assert [p.name for p in store.tmp.iterdir()] == [staged.temp.name]  # no pending.* left
    store.commit(staged)
    assert store.path(staged.sha256).read_bytes() == b"named"
    assert st.S_IMODE(store.path(staged.sha256).stat().st_mode) == 0o600
    staged = store.stage(source)
    store.discard(staged)
    assert files_in(store.tmp) == []


def test_a_store_that_cannot_be_made_is_said_plainly(home: Path, tmp_path: Path) -> None:
    from moviecli.errors import StorageError
    from moviecli.services.store import MediaStore

    home.mkdir(parents=True, exist_ok=True)
    (home / "file").write_bytes(b"")
    below_a_file = MediaStore(home / "file" / "media")
    with pytest.raises(StorageError) as raised:
        below_a_file.stage(tmp_path)
    assert str(raised.value) == (
        f"cannot use the media store {home / 'file' / 'media'}: Not a directory "
        "(check media.store in config.toml and the directory's permissions)"
    )


def test_postgresql_serialises_each_content_with_one_advisory_lock() -> None:
    """What lock_contents asks of PostgreSQL (the concurrency itself is tested on a real
    server by tests/reliability/test_store_races.py): one transaction-scoped advisory lock
    per distinct content, in one order everywhere; SQLite's write lock needs nothing."""
    from types import SimpleNamespace

    from moviecli.services.store import advisory_key, lock_contents

    class Session:
        def __init__(self, dialect: str) -> None:
            self.dialect = dialect
            self.sent: list[tuple[str, dict[str, int]]] = []

        def get_bind(self) -> Any:
            return SimpleNamespace(dialect=SimpleNamespace(name=self.dialect))

        def execute(self, statement: Any, params: dict[str, int]) -> None:
            self.sent.append((str(statement), params))

    other = "cd" + "1" * 62
    pg = Session("postgresql")
    lock_contents(pg, [other, SHA, other])  # type: ignore[arg-type]
    assert pg.sent == [
        ("SELECT pg_advisory_xact_lock(:k)", {"k": advisory_key(SHA)}),
        ("SELECT pg_advisory_xact_lock(:k)", {"k": advisory_key(other)}),
    ]
    sqlite = Session("sqlite")
    lock_contents(sqlite, [SHA])  # type: ignore[arg-type]
    assert sqlite.sent == []
