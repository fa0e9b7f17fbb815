"""The content-addressed media store (SPEC section 4).

Layout under the store directory (``media.store`` in config.toml, default
``<data>/media``)::

    objects/ab/abcdef…   one file per distinct content, named by its sha256
    tmp/<sha256>.<random>.part   a file being added (locked with flock while in use)
    gc/<sha256>          a file that may have lost its last record (see below)

Adding is atomic from the user's point of view: the bytes are copied to a temporary
under ``tmp/`` while they are hashed, the record is inserted and committed, and only then
is the temporary renamed to its object name. A kill at any point leaves one of:

- a temporary and no record: recovery removes the temporary;
- a temporary and a committed record: recovery renames it into place (rolls forward).

Deleting works the other way round: a ``gc/`` marker is written before the transaction
that deletes records commits; after the commit, under the write lock, an object that no
record references any more is unlinked and the marker removed. A kill in between leaves
the marker, which recovery finishes. Because the unlink happens under the write lock (on
PostgreSQL, a transaction-scoped advisory lock per sha256 that adds take too), a
concurrent add of the same bytes either commits first (and the file is kept) or commits
after (and renames its own copy into place).

Recovery runs at the start of every media command that touches the store; it only looks
at ``tmp/`` and ``gc/``, which are empty in the normal case.

A record that borrows a stored file it brings no copy of (an apply entry naming content
by ``sha256``) is inserted only after ``missing`` has found the file in place under the
same content locks (issue 13 item 1): collection unlinks under those locks too, so the
file is either gone before (the insert is refused) or kept after (the record exists).

Reading trusts nothing on disk (a shared store is a directory others can write): every
read for an export, an apply or ``db check`` hashes the bytes as it streams them and
refuses a file whose hash is not its name (exit 6, naming the record).

Files are owner-only (0600, directories 0700); ``media.group_access`` opens the store to
its group (0640 and 2770: members add, read and delete, nobody else reads).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import secrets
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import sqlalchemy as sa

from moviecli import files
from moviecli.errors import Conflict, StorageError

if TYPE_CHECKING:
    from sqlmodel import Session

    from moviecli.storage.db import Database

CHUNK = 1 << 20
# Linux: unnamed temporaries (O_TMPFILE), named once complete through /proc/self/fd.
_ANONYMOUS_FILES = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")
STALE_SECONDS = 3600


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass
class Staged:
    """The bytes of one file copied into ``tmp/``, hashed, and locked by this process."""

    sha256: str
    size: int
    temp: Path
    _handle: IO[bytes] | None = field(default=None, repr=False)
    owed: bool = False  # a committed record names it: only commit() or recovery removes it

    def release(self) -> None:
        """Close (and so unlock) the temporary without touching it."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class MediaStore:
    def __init__(self, root: Path, *, group_access: bool = False) -> None:
        self.root = root
        self.objects = root / "objects"
        self.tmp = root / "tmp"
        self.gc = root / "gc"
        self.file_mode = 0o640 if group_access else 0o600
        self.dir_mode = 0o2770 if group_access else 0o700
        self._made: set[Path] = set()
        self._ready = False

    @classmethod
    def default(cls) -> MediaStore:
        from moviecli import config

        return cls(config.media_store(), group_access=bool(config.get_value("media.group_access")))

    # --- paths -------------------------------------------------------------------------------

    def path(self, sha256: str) -> Path:
        """Where the content lives. A sha256 comes from the database, which a hand edit
        may have made anything ("../../x"): only a hex digest names a file here."""
        if not is_sha256(sha256):
            raise StorageError(f"{sha256[:80]!r} is not a sha256", hint="run moviecli db check")
        return self.objects / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def _ensure(self) -> None:
        if self._ready:
            return
        self.check_root()
        try:
            for directory in (self.root, self.objects, self.tmp, self.gc):
                self._mkdir(directory, parents=True)
            self._ready = True
        except OSError as exc:
            raise StorageError(
                f"cannot use the media store {self.root}: {exc.strerror}",
                hint="check media.store in config.toml and the directory's permissions",
            ) from exc

    def check_root(self) -> None:
        """A store that is a file (or /dev/null) is a configuration error, said plainly
        (exit 6), before a command reads or writes anything."""
        if files.exists(self.root) and not self.root.is_dir():
            raise StorageError(
                f"the media store {self.root} is not a directory",
                hint="point media.store in config.toml at a directory",
            )

    def _mkdir(self, directory: Path, *, parents: bool = False) -> None:
        if directory.is_dir():
            return
        directory.mkdir(mode=0o700, parents=parents, exist_ok=True)
        if self.dir_mode != 0o700:  # the umask keeps the group out: let it in explicitly
            os.chmod(directory, self.dir_mode)

    # --- adding ------------------------------------------------------------------------------

    def stage(self, source: Path) -> Staged:
        """Copy ``source`` to a locked temporary while hashing it.

        A source that cannot be read raises OSError (the caller rejects that file); a
        store that cannot be written raises StorageError (exit 6: nothing else will work).
        """
        self._ensure()
        src = open(source, "rb")  # noqa: SIM115 - closed below
        digest = hashlib.sha256()
        name: Path | None = None
        try:
            try:
                # Private from the start, and kept open: the flock marks it in use.
                fd, name = self._new_temporary()
                if self.file_mode != 0o600:
                    os.fchmod(fd, self.file_mode)
                handle = os.fdopen(fd, "wb+")
            except OSError as exc:
                raise self._unwritable(exc) from exc
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                size = 0
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    try:
                        handle.write(chunk)
                    except OSError as exc:
                        raise self._unwritable(exc) from exc
                    size += len(chunk)
                try:
                    handle.flush()
                    sha = digest.hexdigest()
                    # The sha256 in the name lets recovery match the temporary with its record.
                    temp = self.tmp / f"{sha}.{secrets.token_hex(8)}.part"
                    if name is None:  # the complete, locked copy gets its first name
                        _link_anonymous(handle.fileno(), temp)
                    else:
                        os.rename(name, temp)
                except OSError as exc:
                    raise self._unwritable(exc) from exc
            except BaseException:
                handle.close()
                if name is not None:
                    with contextlib.suppress(OSError):
                        name.unlink()
                raise
        finally:
            src.close()
        return Staged(sha, size, temp, handle)

    def _new_temporary(self) -> tuple[int, Path | None]:
        """A new private file in tmp/ for a copy, and its name.

        On Linux it has no name (O_TMPFILE) until the copy is complete and locked, so a
        process killed while copying leaves nothing behind. Elsewhere it is
        ``pending.<random>.part``, which recovery removes once it is an hour old (a live
        copy is locked, but only just after the file is created).
        """
        if _ANONYMOUS_FILES:
            with contextlib.suppress(OSError):  # a file system without O_TMPFILE
                return os.open(self.tmp, os.O_TMPFILE | os.O_RDWR, 0o600), None
        name = self.tmp / f"pending.{secrets.token_hex(8)}.part"
        return os.open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600), name

    def _unwritable(self, exc: OSError) -> StorageError:
        return StorageError(
            f"cannot write to the media store {self.root}: {exc.strerror or exc}",
            hint="check free space, media.store in config.toml and the directory's permissions",
        )

    def commit(self, staged: Staged) -> None:
        """After the record is committed: move the temporary to its object name."""
        target = self.path(staged.sha256)
        try:
            if target.parent not in self._made:
                self._mkdir(target.parent)
                self._made.add(target.parent)
            os.replace(staged.temp, target)  # the right bytes, even over a tampered file
        finally:
            staged.release()

    def owe(self, staged: Staged) -> None:
        """The transaction inserting the record of these bytes has committed: from now on
        the temporary is the record's file until :meth:`commit` moves it into place. An
        interrupt before that (Ctrl-C lets cleanups run) must leave it for recovery to
        roll forward, never discard it: that would leave a record without its file."""
        staged.owed = True

    def discard(self, staged: Staged) -> None:
        """The add failed or the file was rejected: drop the temporary (a no-op once it
        is committed or discarded). One that is owed to a committed record is only
        unlocked, and left for recovery."""
        if staged._handle is None:
            return
        if staged.owed:
            staged.release()
            return
        with contextlib.suppress(OSError):
            staged.temp.unlink()
        staged.release()

    # --- removing ----------------------------------------------------------------------------

    def mark_for_gc(self, hashes: Iterable[str]) -> list[str]:
        """Before committing a delete: remember the objects that may lose their last record."""
        marked = sorted(sha for sha in set(hashes) if is_sha256(sha))
        if not marked:
            return marked
        self._ensure()
        for sha in marked:
            (self.gc / sha).touch()
        _fsync_dir(self.gc)
        return marked

    def collect(self, db: Database, hashes: Iterable[str]) -> int:
        """After the commit: unlink the objects no record references, under the write lock."""
        removed = 0
        todo = sorted(sha for sha in set(hashes) if is_sha256(sha))
        for start in range(0, len(todo), 500):
            chunk = todo[start : start + 500]
            with db.write() as session:
                lock_contents(session, chunk)
                used = referenced(session, chunk)
                for sha in chunk:
                    if sha not in used:
                        with contextlib.suppress(FileNotFoundError):
                            self.path(sha).unlink()
                            removed += 1
                    with contextlib.suppress(FileNotFoundError):
                        (self.gc / sha).unlink()
        return removed

    # --- recovery ----------------------------------------------------------------------------

    def recover(self, db: Database) -> RecoveryReport:
        """Finish what killed processes left: roll temporaries forward or drop them, and
        collect objects marked for deletion."""
        self.check_root()
        report = RecoveryReport()
        for temp in self._listdir(self.tmp):
            handle = _try_lock(temp)
            if handle is None:
                continue  # a live process is adding it
            try:
                sha = temp.name.split(".", 1)[0]
                if len(sha) != 64:
                    # Killed while copying (a live copy is locked, but the lock is taken
                    # just after the file is created: leave young ones alone).
                    if time.time() - temp.stat().st_mtime > STALE_SECONDS:
                        temp.unlink(missing_ok=True)
                        report.removed += 1
                    continue
                with db.write() as session:
                    lock_content(session, sha)
                    if is_referenced(session, sha):
                        target = self.path(sha)
                        self._mkdir(target.parent)
                        os.replace(temp, target)
                        report.rolled_forward += 1
                    else:
                        temp.unlink(missing_ok=True)
                        report.removed += 1
            finally:
                handle.close()
        pending = [p.name for p in self._listdir(self.gc) if is_sha256(p.name)]
        if pending:
            report.collected = self.collect(db, pending)
        return report

    @staticmethod
    def _listdir(directory: Path) -> list[Path]:
        try:
            return sorted(directory.iterdir())
        except FileNotFoundError:
            return []

    # --- borrowing ---------------------------------------------------------------------------

    def require_stored(self, session: Session, borrowed: dict[str, str], command: str) -> None:
        """Inside the transaction that inserts records borrowing stored files (sha256 → the
        record, for messages), their content locks held (``lock_contents``): each file must
        still be in place. Gone with its last record, it was deleted meanwhile (exit 5);
        gone while records still use it, the store is damaged (exit 6)."""
        gone = [sha for sha in sorted(borrowed) if not self.has(sha)]
        if not gone:
            return
        if is_referenced(session, gone[0]):
            raise self._missing(borrowed[gone[0]])
        raise Conflict(
            f"{borrowed[gone[0]]}: its content was deleted while {command} was running",
            hint=f"run {command} again",
        )

    # --- reading -----------------------------------------------------------------------------

    def _open(self, sha256: str, record: str) -> IO[bytes]:
        """The stored file, opened for reading. What a shared store may hold instead is
        refused, never followed nor waited on: a symbolic link (to a secret elsewhere),
        a FIFO (which would block the reader), a device."""
        self.check_root()
        try:
            fd = os.open(self.path(sha256), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError as exc:
            raise self._missing(record) from exc
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise self._mismatch(record) from exc
            raise StorageError(
                f"cannot read the stored file of {record}: {exc.strerror or exc}",
                hint="check the media store's permissions",
            ) from exc
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise self._mismatch(record)
        return os.fdopen(fd, "rb")

    def _missing(self, record: str) -> StorageError:
        return StorageError(
            f"the stored file of {record} is missing from the media store {self.root}",
            hint="restore the store from a backup",
        )

    def _mismatch(self, record: str) -> StorageError:
        return StorageError(
            f"the stored file of {record} does not match its sha256 (changed on disk)",
            hint="restore the store from a backup",
        )

    def verify(self, sha256: str, *, record: str) -> None:
        """Hash the stored file as it streams; exit 6 naming ``record`` when it is missing
        or its bytes are not the ones its name says."""
        with self._open(sha256, record) as source:
            digest = hashlib.sha256()
            while chunk := source.read(CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != sha256:
            raise self._mismatch(record)

    def export(self, sha256: str, dest: Path, *, record: str, force: bool = False) -> None:
        """Copy the stored file to ``dest`` (owner-only), hashing as it streams: bytes whose
        hash is not their name never reach ``dest``. Without ``force`` an existing ``dest``
        is kept (exit 5). A failed write (a full disk) leaves nothing behind (exit 6)."""
        with self._open(sha256, record) as source:
            try:
                with files.private_temporary(dest) as (out, temp):
                    digest = hashlib.sha256()
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                    out.flush()
                    if digest.hexdigest() != sha256:
                        raise self._mismatch(record)
                    os.fsync(out.fileno())
                    files.publish(temp, dest, force=force)
            except OSError as exc:
                raise StorageError(f"cannot write {dest}: {exc.strerror or exc}") from exc

    # --- checking ----------------------------------------------------------------------------

    def check(self, db: Database) -> StoreReport:
        """What ``db check`` reports of the store: records without their file, files no
        record uses, files whose bytes are not their name (each hashed once, streamed),
        and what recovery has still to finish. Changes nothing."""
        from moviecli.models import Media

        self.check_root()
        from sqlmodel import col

        with db.session() as session:
            rows = session.execute(
                sa.select(col(Media.sha256), col(Media.id), col(Media.filename)).order_by(
                    col(Media.id)
                )
            ).all()
        records: dict[str, str] = {}
        for sha, media_id, filename in rows:
            records.setdefault(sha, describe_record(media_id, filename))
        stored = {p.name for p in self.objects.glob("*/*")} if self.objects.is_dir() else set()
        report = StoreReport(str(self.root), len(stored))
        report.missing = [records[sha] for sha in sorted(set(records) - stored) if is_sha256(sha)]
        report.corrupt = [records[sha] for sha in sorted(set(records)) if not is_sha256(sha)]
        report.unreferenced = sorted(stored - set(records))
        for sha in sorted(stored & {sha for sha in records if is_sha256(sha)}):
            try:
                self.verify(sha, record=records[sha])
            except StorageError:
                report.corrupt.append(records[sha])
        report.pending = len(self._listdir(self.tmp)) + len(self._listdir(self.gc))
        return report


@dataclass
class StoreReport:
    root: str
    files: int
    missing: list[str] = field(default_factory=list)  # records whose file is gone
    unreferenced: list[str] = field(default_factory=list)  # sha256 of files with no record
    corrupt: list[str] = field(default_factory=list)  # records whose file was changed
    pending: int = 0  # temporaries and deletions that recovery will finish

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unreferenced or self.corrupt)


def is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def describe_record(media_id: str, filename: str) -> str:
    """How messages name a media record: its id and its name (shown, never obeyed)."""
    from moviecli.text import one_line

    return f"media {media_id} ({one_line(filename)})"


def _link_anonymous(fd: int, path: Path) -> None:
    """Give an O_TMPFILE file its name: linkat(AT_SYMLINK_FOLLOW) of /proc/self/fd/N
    (os.link only uses linkat, not link, when a directory fd is given)."""
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(f"/proc/self/fd/{fd}", path.name, dst_dir_fd=directory, follow_symlinks=True)
    finally:
        os.close(directory)


@dataclass
class RecoveryReport:
    rolled_forward: int = 0
    removed: int = 0
    collected: int = 0


def _try_lock(path: Path) -> IO[bytes] | None:
    try:
        handle = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.close()
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return None
        raise
    # The owner may have moved the file into place and let go of it between our open and
    # our lock: then the name no longer leads to what we locked, and it is not ours to touch.
    try:
        same = os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
    except FileNotFoundError:
        same = False
    if not same:
        handle.close()
        return None
    return handle


def lock_content(session: Session, sha256: str) -> None:
    """Serialise adds and deletes of the same bytes.

    SQLite: the write scope's BEGIN IMMEDIATE already holds the database's write lock.
    PostgreSQL: a transaction-scoped advisory lock keyed by the sha256.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key(sha256)})


def advisory_key(sha256: str) -> int:
    """The advisory lock's key of a content: its first 64 bits, as PostgreSQL's signed
    bigint. A sha256 edited by hand in the database may be anything: still one key per
    value (the first 64 bits of its own hash)."""
    head = sha256 if is_sha256(sha256) else hashlib.sha256(sha256.encode()).hexdigest()
    return int.from_bytes(bytes.fromhex(head[:16]), "big", signed=True)


def lock_contents(session: Session, hashes: Iterable[str]) -> None:
    for sha in sorted(set(hashes)):  # one order everywhere: no deadlock between adders
        lock_content(session, sha)


def is_referenced(session: Session, sha256: str) -> bool:
    return bool(referenced(session, [sha256]))


def referenced(session: Session, hashes: list[str]) -> set[str]:
    """Which of ``hashes`` some media record still uses."""
    from sqlmodel import col

    from moviecli.models import Media

    rows = session.execute(
        sa.select(col(Media.sha256)).where(col(Media.sha256).in_(hashes)).distinct()
    ).scalars()
    return set(rows)


@contextlib.contextmanager
def staged_files(store: MediaStore) -> Iterator[list[Staged]]:
    """Temporaries staged inside the block are discarded unless committed."""
    staged: list[Staged] = []
    try:
        yield staged
    finally:
        for item in staged:
            store.discard(item)
