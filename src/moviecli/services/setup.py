"""``moviecli init``: schema, reference data and the first admin, idempotently."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import col, select

from moviecli.errors import UsageError
from moviecli.models import User
from moviecli.services import dbadmin, reference, users
from moviecli.storage import schema
from moviecli.storage.db import Database, UnknownRevision, storage_error


@dataclass
class InitResult:
    schema: dbadmin.UpgradeResult
    added: dict[str, int] = field(default_factory=dict)
    admin: User | None = None
    admin_created: bool = False
    repaired: str | None = None  # the revision stamped into an empty alembic_version

    @property
    def changed(self) -> bool:
        return (
            self.schema.before != self.schema.after
            or self.repaired is not None
            or any(self.added.values())
            or self.admin_created
        )


def has_admin(db: Database) -> bool:
    """Whether the database already has an admin (then init needs no name, email, password).

    An older schema is fine here (``initialise`` upgrades it), so this reads the users
    table directly instead of through a session, which insists on the latest schema.
    """
    if not db.exists():
        return False
    try:
        revision = db.current_revision()
    except UnknownRevision:
        revision = schema.HEAD  # the tables are there (initialise repairs the revision)
    if revision is None:
        return False
    if revision not in schema.REVISIONS:
        db.check_schema()  # newer than this code: exit 6 with its own message
    query = (
        sa.select(col(User.id))
        .where(col(User.role) == "admin", col(User.deleted_at).is_(None))
        .limit(1)
    )
    try:
        with db.engine.connect() as conn:
            return conn.execute(query).first() is not None
    except sa.exc.DBAPIError as exc:
        raise storage_error(exc, db) from exc


def initialise(
    db: Database, *, name: str | None, email: str | None, password: str | None
) -> InitResult:
    """Create or upgrade the schema, add missing reference data, create the first admin.

    The admin is created only when the database has none; ``name``, ``email`` and
    ``password`` are then required.
    """
    if name and email and password and not has_admin(db):
        # Every field checked before the database is created: a refused admin leaves none.
        users.check_new_user(email=email, name=name, password=password)
    fresh = db.sqlite_path is not None and not db.sqlite_path.exists()
    try:
        return _initialise(db, name=name, email=email, password=password)
    except BaseException:
        # A failed or interrupted (Ctrl-C) first init leaves no half-made database behind.
        if fresh:
            remove_sqlite_files(db)
        raise


def remove_sqlite_files(db: Database) -> None:
    assert db.sqlite_path is not None
    db.engine.dispose()
    for suffix in ("", "-wal", "-shm", "-journal"):
        db.sqlite_path.with_name(db.sqlite_path.name + suffix).unlink(missing_ok=True)


def _initialise(
    db: Database, *, name: str | None, email: str | None, password: str | None
) -> InitResult:
    repaired = dbadmin.repair_revision(db)
    result = InitResult(schema=dbadmin.upgrade(db), repaired=repaired)
    with db.write() as session:
        result.added = reference.seed(session)
        admin = session.exec(
            select(User)
            .where(User.role == "admin", col(User.deleted_at).is_(None))
            .order_by(col(User.created_at))
        ).first()
        if admin is None:
            missing = [
                flag
                for flag, value in (
                    ("--name", name),
                    ("--email", email),
                    ("--password-stdin", password),
                )
                if not value
            ]
            if missing:
                raise UsageError(f"the first admin needs {', '.join(missing)}")
            assert name and email and password
            admin = users.create_user(
                session,
                actor=None,
                email=email,
                name=name,
                password=password,
                role="admin",
                tier="enterprise",
            )
            result.admin_created = True
        result.admin = admin
    return result
