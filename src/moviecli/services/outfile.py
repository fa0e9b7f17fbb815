"""Files a command writes for the user (the series bible, a project export): checked
before any work, written owner-only (0600) and atomically (a temporary renamed into
place, so a reader never sees half a file)."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from pathlib import Path

from moviecli.errors import Conflict, StorageError, UsageError


def check_output(path: Path, *, force: bool) -> None:
    """Before any work: the directory exists, and an existing file is only replaced with
    ``force`` (exit 5 otherwise); a directory is never replaced (exit 2), nor is a path
    no file can have (a name too long: exit 2)."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        pass
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    if path.is_dir():
        raise UsageError(f"{path} is a directory", hint="name a file, e.g. -o bible.html")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"no such directory: {parent}")
    if path.exists() and not force:
        raise Conflict(f"{path} already exists", hint="pass --force to replace it")


def write_file(path: Path, content: str | bytes, *, force: bool) -> int:
    """Write ``content`` to ``path`` owner-only and atomically; returns the bytes written.

    Without ``force`` the rename cannot replace a file that appeared meanwhile (a hard
    link, which fails when the name exists).
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if force:
            os.replace(temp, path)
        else:
            try:
                os.link(temp, path)
            except FileExistsError:
                raise Conflict(
                    f"{path} already exists", hint="pass --force to replace it"
                ) from None
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV):
                    raise
                if path.exists():  # no hard links here: the plain check, then the rename
                    raise Conflict(
                        f"{path} already exists", hint="pass --force to replace it"
                    ) from None
                os.replace(temp, path)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()
    return len(data)
