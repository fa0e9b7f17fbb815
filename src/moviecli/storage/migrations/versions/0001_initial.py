"""Initial schema of users, projects, media, chat sessions and reference data.

Users and login tokens; projects with collaborators, active projects, style references
and the story record; chat sessions and messages (full-text indexed); media; and the
reference tables (workflow steps, media types, templates).

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-26

Frozen: it does not import moviecli.models, so later model changes cannot alter it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "media_types",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("family", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "templates",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("genre", sa.String(length=32), nullable=False),
        sa.Column("target_audience", sa.String(length=16), nullable=False),
        sa.Column("episode_count", sa.Integer(), nullable=False),
        sa.Column("aspect_ratio", sa.String(length=8), nullable=False),
        sa.Column("episode_duration", sa.Integer(), nullable=False),
        sa.Column("quality_tier", sa.String(length=16), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("preferences", JSON, nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("max_projects", sa.Integer(), nullable=False),
        sa.Column("max_episodes_per_project", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("deleted_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "workflow_steps",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("prerequisites", JSON, nullable=False),
        sa.Column("requirement", sa.Text(), nullable=False),
        sa.Column("estimated_time", sa.String(length=50), nullable=False),
        sa.Column("icon", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("position"),
    )
    op.create_table(
        "login_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_login_tokens_user_id", "login_tokens", ["user_id"], unique=False)

    op.create_table(
        "projects",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("genre", sa.String(length=32), nullable=False),
        sa.Column("episode_count", sa.Integer(), nullable=False),
        sa.Column("target_audience", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("held_from", sa.String(length=20), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("aspect_ratio", sa.String(length=8), nullable=False),
        sa.Column("episode_duration", sa.Integer(), nullable=False),
        sa.Column("quality_tier", sa.String(length=16), nullable=False),
        sa.Column("current_phase", sa.String(length=32), nullable=False),
        sa.Column("completed_steps", JSON, nullable=False),
        sa.Column("overall_progress", sa.Integer(), nullable=False),
        sa.Column("story", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_projects_creator_updated", "projects", ["created_by", "updated_at"], unique=False
    )
    op.create_index(
        "ix_projects_status_updated", "projects", ["status", "updated_at"], unique=False
    )
    op.create_index("ix_projects_updated_at", "projects", ["updated_at"], unique=False)

    op.create_table(
        "chat_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("current_step", sa.String(length=32), nullable=False),
        sa.Column("context_data", JSON, nullable=False),
        sa.Column("awaiting_user_input", sa.Boolean(), nullable=False),
        sa.Column("last_choices", JSON, nullable=False),
        sa.Column("session_state", sa.String(length=16), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_chat_sessions_project_updated",
        "chat_sessions",
        ["project_id", "updated_at"],
        unique=False,
    )
    op.create_index(
        "ix_chat_sessions_user_updated", "chat_sessions", ["user_id", "updated_at"], unique=False
    )

    op.create_table(
        "media",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("agent_generated", sa.Boolean(), nullable=False),
        sa.Column("generation_metadata", JSON, nullable=True),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("characters", JSON, nullable=False),
        sa.Column("episode", sa.Integer(), nullable=True),
        sa.Column("scene", sa.String(length=200), nullable=True),
        sa.Column("timestamp", sa.Float(), nullable=True),
        sa.Column("technical_data", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("previous_version", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("mime_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(["previous_version"], ["media.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_media_previous_version", "media", ["previous_version"], unique=False)
    op.create_index(
        "ix_media_project_created", "media", ["project_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_media_project_previous", "media", ["project_id", "previous_version"], unique=False
    )
    op.create_index("ix_media_project_episode", "media", ["project_id", "episode"], unique=False)
    op.create_index(
        "ix_media_project_type",
        "media",
        ["project_id", "media_type", "status", "id"],
        unique=False,
    )
    op.create_index("ix_media_sha256", "media", ["sha256"], unique=False)
    op.create_index("ix_media_visibility", "media", ["visibility"], unique=False)
    op.create_index("ix_media_updated_at", "media", ["updated_at"], unique=False)

    op.create_table(
        "project_collaborators",
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "user_id"),
    )
    op.create_index(
        "ix_project_collaborators_user_id", "project_collaborators", ["user_id"], unique=False
    )

    op.create_table(
        "user_active_projects",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "project_id"),
    )
    op.create_index(
        "ix_user_active_projects_project_id", "user_active_projects", ["project_id"], unique=False
    )

    op.create_table(
        "messages",
        sa.Column("id", BIGINT_PK, nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("timestamp", TS, nullable=False),
        sa.Column("attachments", JSON, nullable=False),
        sa.Column("meta", JSON, nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["chat_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ux_messages_session_seq", "messages", ["session_id", "seq"], unique=True)

    op.create_table(
        "project_style_references",
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("media_id", sa.String(length=32), nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["media_id"], ["media.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "media_id"),
    )
    op.create_index(
        "ix_project_style_references_media_id",
        "project_style_references",
        ["media_id"],
        unique=False,
    )

    # Case-insensitive uniqueness: emails across the system, titles per creator.
    op.create_index("ux_users_email_lower", "users", [sa.text("lower(email)")], unique=True)
    op.create_index(
        "ux_projects_creator_title",
        "projects",
        ["created_by", sa.text("lower(title)")],
        unique=True,
    )
    # Naming a project by title, and project list --sort title, across creators.
    op.create_index("ix_projects_title_lower", "projects", [sa.text("lower(title)"), "id"])
    _create_message_search()


def _create_message_search() -> None:
    """Full-text search over messages, keyed by the message's integer id.

    Both engines lower-case and neither stems nor strips accents (FTS5's
    ``remove_diacritics 0``, PostgreSQL's ``simple`` configuration), so they find the same
    messages.
    """
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE messages_fts USING fts5("
            "content, content='messages', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 0')"
        )
        op.execute(
            "CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN "
            "INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END"
        )
        op.execute(
            "CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN "
            "INSERT INTO messages_fts(messages_fts, rowid, content) "
            "VALUES ('delete', old.id, old.content); END"
        )
        op.execute(
            "CREATE TRIGGER messages_fts_au AFTER UPDATE OF content ON messages BEGIN "
            "INSERT INTO messages_fts(messages_fts, rowid, content) "
            "VALUES ('delete', old.id, old.content); "
            "INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END"
        )
    else:
        op.execute(
            "CREATE INDEX ix_messages_content_fts ON messages "
            "USING gin (to_tsvector('simple', content))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS messages_fts")
    for table in (
        "project_style_references",
        "messages",
        "user_active_projects",
        "project_collaborators",
        "media",
        "chat_sessions",
        "projects",
        "login_tokens",
        "workflow_steps",
        "users",
        "templates",
        "media_types",
    ):
        op.drop_table(table)
