"""Story revisions: every change to a project's story record, and the logline.

A new table, ``story_revisions`` (who, when, source: chat, command, apply or undo; the
chat message when there is one; the field, its item's name and place, before and after).
The story record itself stays the ``projects.story`` JSON; ``logline`` is a new key in
it, so existing rows need no change.

Revision ID: 0002_story_revisions
Revises: 0001_initial
Create Date: 2026-12-02

Frozen: it does not import moviecli.models, so later model changes cannot alter it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_story_revisions"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "story_revisions",
        sa.Column("id", BIGINT_PK, nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("group_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("reverts", sa.String(length=32), nullable=True),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_story_revisions_project", "story_revisions", ["project_id", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_story_revisions_project", table_name="story_revisions")
    op.drop_table("story_revisions")
