"""Files moviecli writes for its user: owner-only, and whole or not at all.

Every file and directory a moviecli process creates is its owner's alone (issue 13 item
8): the database with its -wal and -shm files, backups, the token, config.toml, exports,
thumbnails and the media store. The command line sets the process umask to 0077 before
anything else (``make_private``), and the writers below also create their files 0600
themselves. A media store shared by a team is opened to its group by ``media.group_access``
(``services.store``), nothing else.

Stdlib only: imported by every command.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from moviecli.errors import Conflict, StorageError, UsageError

PRIVATE_UMASK = 0o077


def make_private() -> None:
    """Owner-only for everything this process creates from now on."""
    os.umask(PRIVATE_UMASK)


def others_can_read(path: Path) -> bool:
    """Whether users other than the owner may read (or write) ``path``."""
    try:
        return bool(path.stat().st_mode & 0o077)
    except OSError:
        return False


@contextlib.contextmanager
def private_temporary(path: Path) -> Iterator[tuple[IO[bytes], Path]]:
    """A new owner-only file beside ``path`` (``.NAME.RANDOM.part``), removed on leaving
    unless it was published (renamed or linked to ``path``) meanwhile."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out, temp
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()


def exists(path: Path) -> bool:
    """A name taken by anything, a dangling symbolic link included."""
    return os.path.lexists(path)


def require_replaceable(path: Path) -> None:
    """Only a regular file is ever replaced (with --force): never a directory, a device
    (/dev/null, as root), a FIFO or a symbolic link (/dev/stdout) — exit 2."""
    try:
        mode = path.lstat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return  # nothing there (or not even a directory above it: said where it is made)
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise UsageError(f"{path} is {kind}", hint="name a new or regular file")


def publish(temp: Path, path: Path, *, force: bool) -> None:
    """Give a complete temporary its name. Without ``force`` never over an existing name,
    not even one that appeared meanwhile (a hard link fails when the name exists; where
    there are none, the plain check then the rename); with it, the name is replaced (a
    symbolic link itself, never what it points to)."""
    if force:
        require_replaceable(path)
        os.replace(temp, path)
        return
    try:
        os.link(temp, path)
    except FileExistsError:
        raise Conflict(f"{path} already exists", hint="pass --force to replace it") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.ENOSYS):
            raise
        if exists(path):
            raise Conflict(f"{path} already exists", hint="pass --force to replace it") from None
        os.replace(temp, path)


def write_private(path: Path, data: bytes, *, force: bool) -> int:
    """Write ``data`` to ``path`` owner-only and atomically; returns the bytes written.
    A write that fails (a full disk) leaves nothing behind: exit 6."""
    try:
        with private_temporary(path) as (out, temp):
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
            publish(temp, path, force=force)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return len(data)
