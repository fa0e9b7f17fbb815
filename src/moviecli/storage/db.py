"""Engine, sessions and write scopes on SQLite and PostgreSQL.

SQLite: every connection gets ``foreign_keys=ON``, WAL, ``busy_timeout`` and
``synchronous=NORMAL``. pysqlite starts transactions lazily, so a read-then-write
transaction would be upgraded from a read lock and fail with SQLITE_BUSY at once, whatever
the busy timeout. We therefore take control of BEGIN (SQLAlchemy's documented recipe):
``write_scope()`` begins with ``BEGIN IMMEDIATE`` (the write lock first, waiting for it up
to the busy timeout) and ``session_scope()`` with a plain ``BEGIN``.

PostgreSQL: the same write scopes lock the rows they check (``lock_row``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlmodel import Session

from moviecli.errors import StorageError
from moviecli.storage import schema

BUSY_TIMEOUT_MS = 30_000
_WRITE = "moviecli_write"

T = TypeVar("T")


class UnknownRevision(StorageError):
    """The tables are there but ``alembic_version`` is empty (a hand edit, a tool that
    emptied it): ``moviecli init`` stamps the revision when the tables match the code's."""

    code = "unknown_revision"


class Database:
    """One database: its engine, and the check that its schema matches the code."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._checked = False

    @property
    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        database = make_url(self.url).database
        return Path(database) if database and database != ":memory:" else None

    def exists(self) -> bool:
        path = self.sqlite_path
        return path is None or path.exists()

    def check_schema(self) -> None:
        """Refuse a database that is missing, foreign, corrupt or behind the code (exit 6)."""
        if self._checked:
            return
        if not self.exists():
            raise StorageError(
                f"no database at {self.sqlite_path}", hint="run moviecli init to create it"
            )
        revision = self.current_revision()
        if revision is None:
            raise StorageError(
                "the database has no moviecli schema", hint="run moviecli init to create it"
            )
        if revision != schema.HEAD:
            if revision in schema.REVISIONS:
                raise StorageError(
                    "database schema is out of date", hint="run moviecli db upgrade"
                )
            raise StorageError(
                f"database schema {revision!r} is newer than this moviecli",
                hint="upgrade moviecli",
            )
        self._checked = True

    def current_revision(self) -> str | None:
        """The stored revision; None for an empty database. Foreign or corrupt → exit 6."""
        try:
            with self.engine.connect() as conn:
                try:
                    row = conn.execute(sa.text("SELECT version_num FROM alembic_version")).first()
                except (OperationalError, ProgrammingError) as exc:
                    if not _is_missing_table(exc):
                        raise
                    conn.rollback()
                    if sa.inspect(conn).get_table_names():
                        raise StorageError(
                            f"{self.describe()} is not a moviecli database",
                            hint="point --db or MOVIECLI_DATABASE_URL at a moviecli database",
                        ) from exc
                    return None
                if row is None and set(sa.inspect(conn).get_table_names()) - {"alembic_version"}:
                    raise UnknownRevision(
                        f"{self.describe()} has moviecli tables but an empty alembic_version "
                        "table (its schema revision is unknown)",
                        hint="run moviecli init to repair it",
                    )
                return None if row is None else str(row[0])
        except DBAPIError as exc:
            raise storage_error(exc, self) from exc

    def describe(self) -> str:
        path = self.sqlite_path
        return str(path) if path else make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read (or plain) transaction: committed on success, rolled back on error."""
        self.check_schema()
        with _guard(self), Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction that holds the SQLite write lock from its first statement.

        Keep it short: never a network call or a model run inside.
        """
        self.check_schema()
        with _guard(self), Session(self.engine, expire_on_commit=False) as session:
            session.connection(execution_options={_WRITE: True})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise


def lock_row(session: Session, model: type[T], key: Any) -> T | None:
    """Load a row for update: ``SELECT … FOR UPDATE`` on PostgreSQL.

    On SQLite the write scope's BEGIN IMMEDIATE already serialises writers.
    """
    # populate_existing: a row this session read before the lock must be read again,
    # or PostgreSQL's newer committed values would be overwritten with the old ones.
    return session.get(model, key, with_for_update=True, populate_existing=True)


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StorageError(
            f"cannot parse database URL {url!r}",
            hint="use sqlite:///PATH or postgresql+psycopg://…",
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
            # Hand BEGIN to SQLAlchemy (below) instead of pysqlite's lazy transactions.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            finally:
                cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            write = conn.get_execution_options().get(_WRITE, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            return sa.create_engine(parsed, pool_pre_ping=False)
        except ModuleNotFoundError as exc:
            raise StorageError(
                "PostgreSQL support is not installed", hint="pip install 'moviecli[postgres]'"
            ) from exc
    raise StorageError(
        f"unsupported database URL {url!r}", hint="use sqlite:///PATH or postgresql+psycopg://…"
    )


def _is_missing_table(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return "no such table" in text or "does not exist" in text


def storage_error(exc: BaseException, db: Database) -> StorageError:
    text = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    lowered = text.lower()
    if "file is not a database" in lowered or "malformed" in lowered:
        return StorageError(
            f"{db.describe()} is not a SQLite database or is corrupt",
            hint="restore it from a backup made with moviecli db backup",
        )
    if "unable to open database" in lowered:
        return StorageError(
            f"cannot open database {db.describe()}", hint="check the path and its permissions"
        )
    if "connection" in lowered or "could not" in lowered:
        return StorageError(f"cannot connect to {db.describe()}: {text}")
    return StorageError(f"database error: {text}")


@contextmanager
def _guard(db: Database) -> Iterator[None]:
    """Turn driver-level failures (corrupt file, lost connection) into exit 6."""
    try:
        yield
    except sa.exc.IntegrityError:
        raise  # services translate constraint violations themselves
    except (sa.exc.OperationalError, sa.exc.DatabaseError, sa.exc.InterfaceError) as exc:
        raise storage_error(exc, db) from exc


_databases: dict[str, Database] = {}


def database(url: str) -> Database:
    """The process-wide Database for ``url`` (one engine per URL)."""
    db = _databases.get(url)
    if db is None:
        db = _databases[url] = Database(url)
    return db


def dispose_all() -> None:
    for db in _databases.values():
        db.engine.dispose()
    _databases.clear()
