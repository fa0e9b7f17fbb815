"""Schema migrations (Alembic), integrity checks and backups: ``moviecli db …``."""

from __future__ import annotations

import sqlite3
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from moviecli.errors import Conflict, StorageError, UsageError
from moviecli.models import utcnow
from moviecli.storage import schema
from moviecli.storage.db import Database, storage_error

if TYPE_CHECKING:
    from alembic.config import Config

    from moviecli.services.store import MediaStore, StoreReport


def _alembic_config(connection: sa.Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option(
        "script_location", str(Path(__file__).parent.parent / "storage" / "migrations")
    )
    cfg.attributes["connection"] = connection
    return cfg


@dataclass
class UpgradeResult:
    before: str | None
    after: str
    backup: Path | None


def upgrade(db: Database, *, backup: bool = True) -> UpgradeResult:
    """Bring the schema to the code's head. SQLite files are backed up first."""
    from alembic import command

    if db.sqlite_path is not None:
        db.sqlite_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    before = db.current_revision()
    if before == schema.HEAD:
        return UpgradeResult(before, schema.HEAD, None)
    if before is not None and before not in schema.REVISIONS:
        raise StorageError(
            f"database schema {before!r} is newer than this moviecli", hint="upgrade moviecli"
        )
    backup_path = None
    if backup and before is not None and db.sqlite_path is not None:
        stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
        backup_path = db.sqlite_path.with_name(f"{db.sqlite_path.name}.{before}.{stamp}.bak")
        backup_sqlite(db, backup_path)
    try:
        with db.engine.connect() as conn:
            conn = conn.execution_options(moviecli_write=True)
            command.upgrade(_alembic_config(conn), "head")
            conn.commit()
    except sa.exc.DBAPIError as exc:
        raise storage_error(exc, db) from exc
    except Exception as exc:
        # A migration that finds data it cannot carry over says so; its transaction is
        # rolled back, so the database is as it was and the backup of it is not needed.
        message = getattr(exc, "moviecli_message", None)
        if message is None:
            raise
        if backup_path is not None:
            backup_path.unlink(missing_ok=True)
        raise Conflict(message, hint=getattr(exc, "moviecli_hint", None)) from exc
    return UpgradeResult(before, schema.HEAD, backup_path)


@dataclass
class Revision:
    revision: str
    down_revision: str | None
    doc: str
    is_head: bool
    is_current: bool


def history(db: Database | None) -> list[Revision]:
    from alembic.script import ScriptDirectory

    current = db.current_revision() if db is not None and db.exists() else None
    scripts = ScriptDirectory.from_config(_alembic_config())
    revisions = []
    for rev in scripts.walk_revisions():
        down = rev.down_revision
        revisions.append(
            Revision(
                revision=rev.revision,
                down_revision=down if isinstance(down, str) or down is None else ",".join(down),
                doc=rev.doc or "",
                is_head=rev.is_head,
                is_current=rev.revision == current,
            )
        )
    return list(reversed(revisions))


def script_revisions() -> list[str]:
    return [r.revision for r in history(None)]


@dataclass
class CheckResult:
    revision: str | None
    schema_differences: list[str]
    integrity: list[str]
    store: StoreReport | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        store_ok = self.store is None or self.store.ok
        return not self.schema_differences and self.integrity == ["ok"] and store_ok


def check(db: Database, store: MediaStore | None = None) -> CheckResult:
    """Compare the models with the database's schema, run the integrity check, and check
    the media store against the records (every file hashed: ``MediaStore.check``); warn
    about a database file other users can read."""
    from moviecli.services.store import MediaStore

    result = _check_schema(db)
    result.store = (store or MediaStore.default()).check(db)
    result.warnings = readable_database_files(db)
    return result


def readable_database_files(db: Database) -> list[str]:
    """A warning per SQLite file (the database, its -wal and -shm) other users can read."""
    from moviecli import files

    if db.sqlite_path is None:
        return []
    found = []
    for path in (db.sqlite_path, *(db.sqlite_path.with_name(db.sqlite_path.name + s)
                                  for s in ("-wal", "-shm"))):  # fmt: skip
        if files.others_can_read(path):
            mode = path.stat().st_mode & 0o777
            found.append(
                f"other users can read the database {path} (mode {mode:04o}; chmod 600 it)"
            )
    return found


def _check_schema(db: Database) -> CheckResult:
    revision = db.current_revision()
    diffs, integrity = _compare(db)
    return CheckResult(revision, diffs, integrity)


def repair_revision(db: Database) -> str | None:
    """Stamp the code's head revision into an empty ``alembic_version`` when the tables
    are exactly the code's (what ``db check`` compares); the revision stamped, or None when
    there was nothing to repair. Tables that differ are exit 6: their revision cannot be
    told, and guessing would run the wrong migrations on them."""
    from moviecli.storage.db import UnknownRevision

    if not db.exists():
        return None  # a first init: nothing there yet
    try:
        db.current_revision()
        return None
    except UnknownRevision as exc:
        unknown = exc
    diffs, _ = _compare(db)
    if diffs:
        raise StorageError(
            f"{unknown.message}, and its tables are not those of schema {schema.HEAD} "
            f"({diffs[0]})",
            hint="restore it from a backup made with moviecli db backup",
        )
    try:
        with db.engine.connect() as conn:
            conn = conn.execution_options(moviecli_write=True)
            with conn.begin():
                conn.execute(
                    sa.text("INSERT INTO alembic_version (version_num) VALUES (:head)"),
                    {"head": schema.HEAD},
                )
    except sa.exc.DBAPIError as exc:
        raise storage_error(exc, db) from exc
    return schema.HEAD


def _compare(db: Database) -> tuple[list[str], list[str]]:
    """The differences between the models and the database's tables, and the integrity
    check's lines."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import moviecli.models  # noqa: F401
    from moviecli.storage.schema import include_name

    try:
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn,
                opts={
                    "include_name": include_name,
                    "compare_type": True,
                    "target_metadata": SQLModel.metadata,
                },
            )
            with warnings.catch_warnings():
                # SQLite cannot reflect expression indexes; _missing_indexes checks them.
                warnings.filterwarnings("ignore", message=".*expression-based index.*")
                diffs = [_describe_diff(d) for d in compare_metadata(ctx, SQLModel.metadata)]
            diffs += [f"missing index {name}" for name in _missing_indexes(conn)]
            if db.is_sqlite:
                integrity = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA integrity_check")]
                fk = list(conn.exec_driver_sql("PRAGMA foreign_key_check"))
                if fk:
                    integrity.append(f"{len(fk)} rows violate foreign keys")
            else:
                integrity = ["ok"]  # PostgreSQL enforces its constraints as it writes
            conn.rollback()
    except sa.exc.DBAPIError as exc:
        raise storage_error(exc, db) from exc
    return diffs, integrity


def _missing_indexes(conn: sa.Connection) -> list[str]:
    from sqlmodel import SQLModel

    wanted = {ix.name for table in SQLModel.metadata.tables.values() for ix in table.indexes}
    if conn.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'index'"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    present = {row[0] for row in conn.exec_driver_sql(query)}
    return sorted(str(name) for name in wanted - present if name)


def _describe_diff(diff: Any) -> str:
    if isinstance(diff, list):  # modifications come grouped per column
        return "; ".join(_describe_diff(d) for d in diff)
    kind, *rest = diff
    names = []
    for item in rest:
        name = getattr(item, "name", None)
        if name:
            names.append(str(name))
        elif isinstance(item, str):
            names.append(item)
    return f"{kind} {' '.join(names)}".strip()


BACKUP_STEP = 1024  # pages copied per step of the backup API (4 MiB of 4 KiB pages)


def backup_sqlite(
    db: Database, dest: Path, *, progress: Callable[[str, int, int], None] | None = None
) -> Path:
    """Copy a live SQLite database with the online backup API (consistent under writers:
    a write by another connection between two steps restarts the copy).
    ``progress("copying", pages, total)`` after each step."""
    source_path = db.sqlite_path
    if source_path is None:
        raise UsageError(
            "backup works on SQLite databases only", hint="use pg_dump for PostgreSQL"
        )
    if not source_path.exists():
        raise StorageError(f"no database at {source_path}", hint="run moviecli init")
    if dest.is_dir():
        dest = dest / f"moviecli-{datetime.now().strftime('%Y%m%d-%H%M%S')}.db"
    if dest.exists():
        raise UsageError(f"{dest} already exists", hint="choose another destination")
    if not dest.parent.exists():
        raise UsageError(f"directory {dest.parent} does not exist")
    try:
        src = sqlite3.connect(source_path)
        try:
            out = sqlite3.connect(dest)
            try:
                if progress is None:
                    src.backup(out)
                else:
                    done = 0

                    def step(status: int, remaining: int, total: int) -> None:
                        nonlocal done
                        now = max(0, total - remaining)
                        progress("copying", now - done, total)  # negative after a restart
                        done = now

                    src.backup(out, pages=BACKUP_STEP, progress=step)
            finally:
                out.close()
        finally:
            src.close()
    except sqlite3.DatabaseError as exc:
        dest.unlink(missing_ok=True)
        raise storage_error(exc, db) from exc
    dest.chmod(0o600)
    return dest
