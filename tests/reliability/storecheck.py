"""Checks shared by the reliability tests: the database and the media store agree."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any


def integrity_ok(database: Any) -> None:
    """``PRAGMA integrity_check`` (and the foreign keys) on a SQLite database; a no-op on
    PostgreSQL, which has no such thing to check after a kill."""
    path = database.sqlite_path
    if path is None:
        return
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()


def store_root() -> Path:
    from moviecli import config

    return config.media_store()


def stored_objects(root: Path) -> set[str]:
    objects = root / "objects"
    return {p.name for p in objects.glob("*/*") if p.is_file()} if objects.exists() else set()


def leftovers(root: Path) -> list[str]:
    """Files in the store's tmp/ and gc/ (empty once recovery has run)."""
    return sorted(
        str(p.relative_to(root)) for d in ("tmp", "gc") for p in (root / d).glob("*") if p.exists()
    )


def referenced_hashes(database: Any) -> set[str]:
    import sqlalchemy as sa

    with database.session() as session:
        return set(session.execute(sa.text("SELECT DISTINCT sha256 FROM media")).scalars())


def store_agrees(database: Any) -> None:
    """Every record has its file, every file has a record, nothing is left half-way."""
    root = store_root()
    left = leftovers(root)
    assert left == [], f"left in the store: {left}"
    stored, referenced = stored_objects(root), referenced_hashes(database)
    assert stored == referenced, (
        f"files without a record: {sorted(stored - referenced)}; "
        f"records without a file: {sorted(referenced - stored)}"
    )
