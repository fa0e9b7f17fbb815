"""Fold keys: emails and titles compared by NFKC + casefold, computed in Python.

``users.email_key`` (unique) and ``projects.title_key`` (unique per creator, and indexed
with the id for lookups and sorting across creators) replace the indexes on SQL
``lower()``, which folds ASCII only on SQLite ("Über Heist" and "über heist" were two
titles there). The keys are computed here for every existing row.

Two rows that fold to one key (``Éve@x.org`` and ``éve@x.org``; one creator's
"Über Heist" and "über heist") cannot both keep their value: the migration finds every
such pair before it changes anything, and stops naming them all (the database is left as
it was, at 0002).

A new table, ``login_failures``: failed logins of emails no account has, counted by their
fold key as an account's are, so that the lockout does not tell who has an account.

Revision ID: 0003_fold_keys
Revises: 0002_story_revisions
Create Date: 2026-12-02

Frozen: it does not import moviecli (the fold is written out here), so later changes to
the code cannot alter it.
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0003_fold_keys"
down_revision = "0002_story_revisions"
branch_labels = None
depends_on = None


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


class FoldCollision(Exception):
    """Rows whose values differ only in case or Unicode form. ``moviecli_message`` and
    ``moviecli_hint`` are what moviecli.services.dbadmin reports (exit 5)."""

    def __init__(self, pairs: list[str]) -> None:
        self.moviecli_message = (
            "cannot upgrade the schema to 0003_fold_keys: these differ only in case or "
            "Unicode form, and must be unique: " + "; ".join(pairs)
        )
        self.moviecli_hint = (
            "nothing was changed; rename one of each (in sqlite3 or psql: UPDATE users SET "
            "email = … WHERE id = …, or UPDATE projects SET title = … WHERE id = …), "
            "then run moviecli db upgrade again"
        )
        super().__init__(self.moviecli_message)


def _collisions(conn: sa.Connection) -> list[str]:
    pairs = []
    emails: dict[str, tuple[str, str]] = {}
    for user_id, email in conn.execute(sa.text("SELECT id, email FROM users ORDER BY id")):
        key = _fold(email)
        if key in emails:
            other_id, other = emails[key]
            pairs.append(f"emails {other!r} (user {other_id}) and {email!r} (user {user_id})")
        else:
            emails[key] = (user_id, email)
    titles: dict[tuple[str, str], tuple[str, str]] = {}
    rows = conn.execute(sa.text("SELECT id, created_by, title FROM projects ORDER BY id"))
    for project_id, creator, title in rows:
        title_key = (creator, _fold(title))
        if title_key in titles:
            other_id, other = titles[title_key]
            pairs.append(
                f"titles {other!r} (project {other_id}) and {title!r} (project {project_id}) "
                f"of user {creator}"
            )
        else:
            titles[title_key] = (project_id, title)
    return pairs


def _backfill(conn: sa.Connection, table: str, column: str, source: str) -> None:
    rows = conn.execute(sa.text(f"SELECT id, {source} FROM {table}")).all()
    if rows:
        conn.execute(
            sa.text(f"UPDATE {table} SET {column} = :key WHERE id = :id"),
            [{"id": row_id, "key": _fold(value)} for row_id, value in rows],
        )


def upgrade() -> None:
    conn = op.get_bind()
    pairs = _collisions(conn)
    if pairs:
        raise FoldCollision(pairs)
    op.drop_index("ux_users_email_lower", table_name="users")
    op.drop_index("ux_projects_creator_title", table_name="projects")
    op.drop_index("ix_projects_title_lower", table_name="projects")
    # SQLite adds a NOT NULL column only with a default; every row gets its key below.
    op.add_column("users", sa.Column("email_key", sa.Text(), nullable=False, server_default=""))
    op.add_column("projects", sa.Column("title_key", sa.Text(), nullable=False, server_default=""))
    _backfill(conn, "users", "email_key", "email")
    _backfill(conn, "projects", "title_key", "title")
    if conn.dialect.name != "sqlite":
        op.alter_column("users", "email_key", server_default=None)
        op.alter_column("projects", "title_key", server_default=None)
    op.create_index("ux_users_email_key", "users", ["email_key"], unique=True)
    op.create_index(
        "ux_projects_creator_title_key", "projects", ["created_by", "title_key"], unique=True
    )
    op.create_index("ix_projects_title_key", "projects", ["title_key", "id"])
    op.create_table(
        "login_failures",
        sa.Column("email_key", sa.Text(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("email_key"),
    )


def downgrade() -> None:
    op.drop_table("login_failures")
    op.drop_index("ix_projects_title_key", table_name="projects")
    op.drop_index("ux_projects_creator_title_key", table_name="projects")
    op.drop_index("ux_users_email_key", table_name="users")
    op.drop_column("projects", "title_key")  # SQLite 3.35+ drops a column in place
    op.drop_column("users", "email_key")
    op.create_index("ux_users_email_lower", "users", [sa.text("lower(email)")], unique=True)
    op.create_index(
        "ux_projects_creator_title",
        "projects",
        ["created_by", sa.text("lower(title)")],
        unique=True,
    )
    op.create_index("ix_projects_title_lower", "projects", [sa.text("lower(title)"), "id"])
