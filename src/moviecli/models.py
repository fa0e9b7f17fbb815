"""Tables (SQLModel) and the public JSON shapes of ``--json`` output.

Python attributes are snake_case; JSON uses the seed's camelCase names, converted in one
place (``PublicModel``'s alias generator). Groups the seed nests (``subscription``,
``projectSettings``, ``progress``, ``relatedElements``, …) are flat columns in the tables
and nested again in the public shapes.

Ids are ``uuid4().hex``: random, so a 4-character prefix is usually enough to name a
record (time-ordered ULIDs would share their first 10 characters for months).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer
from pydantic.alias_generators import to_camel
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelConfig  # type: ignore[attr-defined]  # not re-exported


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_list() -> list[Any]:
    """An empty list, the default of a list column. Not ``list`` itself: pydantic reads a
    default factory's signature on every construction of a model, and the builtin's costs
    about 170 µs (parsed from its text signature) where a function's costs 7 (a Project:
    0.13 ms to construct instead of 0.28)."""
    return []


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on both backends.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so the value is stored as
    naive UTC and given back its zone when read.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JSONType(sa.types.TypeDecorator[Any]):
    """JSON on SQLite, JSONB on PostgreSQL.

    Chosen per dialect when the engine first uses it, so that a SQLite run never imports
    SQLAlchemy's PostgreSQL dialect (about 9% of the startup of a command).
    """

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(sa.JSON())


# SQLite only aliases the rowid (needed by the FTS5 external-content index) for a column
# declared exactly "INTEGER PRIMARY KEY".
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


# --- tables ------------------------------------------------------------------------------


class TableModel(SQLModel):
    """Base of the tables: their pydantic validators are built on first use, not at import
    (rows loaded by the ORM never need them; about 4% of every command's start)."""

    model_config = SQLModelConfig(defer_build=True)


class User(TableModel, table=True):
    __tablename__: ClassVar[str] = "users"
    __table_args__ = (sa.Index("ux_users_email_key", "email_key", unique=True),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    email: str = Field(max_length=320)
    # fold(email): what emails are compared and kept unique by (set on every insert and
    # update by the ORM events below; never SQL lower(), which folds ASCII only on SQLite).
    email_key: str = Field(default="", sa_type=sa.Text)
    name: str = Field(max_length=200)
    role: str = Field(default="user", max_length=16)
    preferences: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    tier: str = Field(default="free", max_length=16)
    max_projects: int
    max_episodes_per_project: int
    password_hash: str = Field(max_length=255)
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginFailure(TableModel, table=True):
    """Failed logins of an email no account has, counted as an account's are, so that
    the lockout does not tell who has an account (the same answers, the same work)."""

    __tablename__: ClassVar[str] = "login_failures"

    email_key: str = Field(primary_key=True, sa_type=sa.Text)
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = _created()


def fold_keys(target: Any) -> None:
    """Set a user's email key or a project's title key from the text it folds (the ORM
    does it before every insert and update; a plain INSERT calls it itself)."""
    from moviecli.text import fold

    if isinstance(target, User):
        target.email_key = fold(target.email)
    elif isinstance(target, Project):
        target.title_key = fold(target.title)


def _fold_keys(_mapper: Any, _connection: Any, target: Any) -> None:
    fold_keys(target)


class LoginToken(TableModel, table=True):
    """A login session. Only the SHA-256 of the token is stored."""

    __tablename__: ClassVar[str] = "login_tokens"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", index=True, max_length=32)
    created_at: datetime = _created()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class Project(TableModel, table=True):
    __tablename__: ClassVar[str] = "projects"
    __table_args__ = (
        sa.Index("ux_projects_creator_title_key", "created_by", "title_key", unique=True),
        sa.Index("ix_projects_updated_at", "updated_at"),
        sa.Index("ix_projects_status_updated", "status", "updated_at"),
        sa.Index("ix_projects_creator_updated", "created_by", "updated_at"),
        # Naming a project by title, and project list --sort title, across creators.
        sa.Index("ix_projects_title_key", "title_key", "id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    title: str = Field(max_length=200)
    # fold(title): titles are unique per creator by it, and found and sorted by it.
    title_key: str = Field(default="", sa_type=sa.Text)
    description: str = Field(default="", sa_type=sa.Text)
    genre: str = Field(max_length=32)
    episode_count: int
    target_audience: str = Field(default="family", max_length=16)
    status: str = Field(default="concept", max_length=20)
    # The status a project was put on hold from, so that resume can return to it.
    held_from: str | None = Field(default=None, max_length=20)
    created_by: str = Field(foreign_key="users.id", max_length=32)
    aspect_ratio: str = Field(default="16:9", max_length=8)
    episode_duration: int = Field(default=22)
    quality_tier: str = Field(default="standard", max_length=16)
    current_phase: str = Field(default="initial_concept", max_length=32)
    completed_steps: list[str] = Field(default_factory=new_list, sa_type=JSONType)
    overall_progress: int = Field(default=0)
    story: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    created_at: datetime = _created()
    updated_at: datetime = _created()


for _model in (User, Project):
    sa.event.listen(_model, "before_insert", _fold_keys)
    sa.event.listen(_model, "before_update", _fold_keys)


class ProjectCollaborator(TableModel, table=True):
    __tablename__: ClassVar[str] = "project_collaborators"

    project_id: str = Field(
        foreign_key="projects.id", ondelete="CASCADE", primary_key=True, max_length=32
    )
    user_id: str = Field(
        foreign_key="users.id", ondelete="CASCADE", primary_key=True, index=True, max_length=32
    )
    added_at: datetime = _created()


class ActiveProject(TableModel, table=True):
    """A user's ``activeProjects`` entry (a link table, so deleting a project drops it)."""

    __tablename__: ClassVar[str] = "user_active_projects"

    user_id: str = Field(
        foreign_key="users.id", ondelete="CASCADE", primary_key=True, max_length=32
    )
    project_id: str = Field(
        foreign_key="projects.id", ondelete="CASCADE", primary_key=True, index=True, max_length=32
    )
    added_at: datetime = _created()


class StyleReference(TableModel, table=True):
    __tablename__: ClassVar[str] = "project_style_references"

    project_id: str = Field(
        foreign_key="projects.id", ondelete="CASCADE", primary_key=True, max_length=32
    )
    media_id: str = Field(
        foreign_key="media.id", ondelete="CASCADE", primary_key=True, index=True, max_length=32
    )
    added_at: datetime = _created()


class Media(TableModel, table=True):
    __tablename__: ClassVar[str] = "media"
    __table_args__ = (
        # status and id too: the workflow counts a project's usable media per type from
        # the index alone (a media row, with its embedding, is a page of its own to read)
        sa.Index("ix_media_project_type", "project_id", "media_type", "status", "id"),
        sa.Index("ix_media_project_episode", "project_id", "episode"),
        # Newest first with a stable order, read straight from the index (media list).
        sa.Index("ix_media_project_created", "project_id", "created_at", "id"),
        # Superseded versions of a project, counted from the index alone (media list).
        sa.Index("ix_media_project_previous", "project_id", "previous_version"),
        sa.Index("ix_media_visibility", "visibility"),
        # The search cache compares count(*) and max(updated_at) with what it holds.
        sa.Index("ix_media_updated_at", "updated_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE", max_length=32)
    media_type: str = Field(max_length=32)
    agent_generated: bool = Field(default=False)
    generation_metadata: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    embedding: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    description: str = Field(default="", sa_type=sa.Text)
    tags: list[str] = Field(default_factory=new_list, sa_type=JSONType)
    characters: list[str] = Field(default_factory=new_list, sa_type=JSONType)
    episode: int | None = None
    scene: str | None = Field(default=None, max_length=200)
    timestamp: float | None = None
    technical_data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    version: int = Field(default=1)
    previous_version: str | None = Field(
        default=None, foreign_key="media.id", ondelete="SET NULL", index=True, max_length=32
    )
    status: str = Field(default="active", max_length=16)
    visibility: str = Field(default="private", max_length=16)
    filename: str = Field(max_length=255)
    mime_type: str = Field(max_length=100)
    size_bytes: int = Field(sa_type=sa.BigInteger)
    sha256: str = Field(max_length=64, index=True)
    created_by: str = Field(foreign_key="users.id", max_length=32)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class ChatSession(TableModel, table=True):
    __tablename__: ClassVar[str] = "chat_sessions"
    __table_args__ = (
        sa.Index("ix_chat_sessions_project_updated", "project_id", "updated_at"),
        sa.Index("ix_chat_sessions_user_updated", "user_id", "updated_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE", max_length=32)
    user_id: str = Field(foreign_key="users.id", max_length=32)
    current_step: str = Field(default="initial_concept", max_length=32)
    context_data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    awaiting_user_input: bool = Field(default=False)
    last_choices: list[dict[str, Any]] = Field(default_factory=new_list, sa_type=JSONType)
    session_state: str = Field(default="active", max_length=16)
    # Messages stored so far: the next message's ``seq`` is this plus one, and history pages
    # are ranges of seq (no COUNT or OFFSET over a long session).
    message_count: int = Field(default=0)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Message(TableModel, table=True):
    """One chat message; the integer key orders messages and keys the full-text index.

    ``seq`` numbers the messages of a session 1, 2, 3, … (assigned under the session's lock).
    """

    __tablename__: ClassVar[str] = "messages"
    __table_args__ = (sa.Index("ux_messages_session_seq", "session_id", "seq", unique=True),)

    id: int | None = Field(default=None, sa_type=BigIntPK, primary_key=True)
    session_id: str = Field(foreign_key="chat_sessions.id", ondelete="CASCADE", max_length=32)
    seq: int
    role: str = Field(max_length=16)
    content: str = Field(sa_type=sa.Text)
    timestamp: datetime = _created()
    attachments: list[str] = Field(default_factory=new_list, sa_type=JSONType)
    meta: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class StoryRevision(TableModel, table=True):
    """One change to a project's story record: who, when, from where, before and after.

    ``field`` is ``concept``, ``logline`` or ``synopsis`` (before/after: the text, or null)
    or ``character``, ``scene`` or ``direction`` (before/after: the item, or null when it
    did not exist / no longer exists; ``name`` names it, ``position`` is its place in the
    list before the change). The revisions of one message, one command or one project of
    an apply share ``group_id``; an undo's revisions name the group they revert in
    ``reverts``.
    """

    __tablename__: ClassVar[str] = "story_revisions"
    __table_args__ = (
        # A project's history, newest first, and the latest group to undo.
        sa.Index("ix_story_revisions_project", "project_id", "id"),
    )

    id: int | None = Field(default=None, sa_type=BigIntPK, primary_key=True)
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE", max_length=32)
    group_id: str = Field(max_length=32)
    user_id: str = Field(foreign_key="users.id", max_length=32)
    source: str = Field(max_length=16)  # chat | command | apply | undo
    message_id: int | None = Field(
        default=None,
        sa_type=sa.BigInteger,
        foreign_key="messages.id",
        ondelete="SET NULL",
    )
    reverts: str | None = Field(default=None, max_length=32)
    field: str = Field(max_length=16)
    name: str | None = Field(default=None, max_length=200)
    position: int | None = None
    before: Any = Field(default=None, sa_type=JSONType, nullable=True)
    after: Any = Field(default=None, sa_type=JSONType, nullable=True)
    created_at: datetime = _created()


class WorkflowStep(TableModel, table=True):
    __tablename__: ClassVar[str] = "workflow_steps"

    id: str = Field(primary_key=True, max_length=32)
    position: int = Field(unique=True)
    title: str = Field(max_length=100)
    description: str = Field(sa_type=sa.Text)
    prerequisites: list[str] = Field(default_factory=new_list, sa_type=JSONType)
    requirement: str = Field(sa_type=sa.Text)
    estimated_time: str = Field(max_length=50)
    icon: str = Field(max_length=16)


class MediaType(TableModel, table=True):
    __tablename__: ClassVar[str] = "media_types"

    id: str = Field(primary_key=True, max_length=32)
    family: str = Field(max_length=16)
    description: str = Field(sa_type=sa.Text)


class Template(TableModel, table=True):
    __tablename__: ClassVar[str] = "templates"

    name: str = Field(primary_key=True, max_length=64)
    description: str = Field(default="", sa_type=sa.Text)
    genre: str = Field(max_length=32)
    target_audience: str = Field(max_length=16)
    episode_count: int
    aspect_ratio: str = Field(default="16:9", max_length=8)
    episode_duration: int = Field(default=22)
    quality_tier: str = Field(default="standard", max_length=16)
    builtin: bool = Field(default=False)
    created_at: datetime = _created()


# --- public shapes (what --json prints) ---------------------------------------------------


class PublicModel(BaseModel):
    """Base of every ``--json`` shape: camelCase names, fields that do not apply left out."""

    # defer_build: a shape's validators are built when it is first used, not at import
    # (about 50 ms for all of them, paid by every command that imports the models).
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)


class Subscription(PublicModel):
    tier: str
    max_projects: int
    max_episodes_per_project: int


class UserPublic(PublicModel):
    id: str
    email: str
    name: str
    role: str
    preferences: dict[str, Any]
    active_projects: list[str]
    subscription: Subscription
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None

    @classmethod
    def of(cls, user: User, active_projects: list[str]) -> UserPublic:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            role=user.role,
            preferences=user.preferences,
            active_projects=active_projects,
            subscription=Subscription(
                tier=user.tier,
                max_projects=user.max_projects,
                max_episodes_per_project=user.max_episodes_per_project,
            ),
            created_at=user.created_at,
            updated_at=user.updated_at,
            deleted_at=user.deleted_at,
        )


class UserRef(PublicModel):
    """What any logged-in user may see of another user named by exact email."""

    id: str
    email: str
    name: str


class ProjectSettings(PublicModel):
    aspect_ratio: str
    episode_duration: int
    quality_tier: str


class Progress(PublicModel):
    current_phase: str
    completed_steps: list[str]
    overall_progress: int


class StoryCharacter(PublicModel):
    name: str
    description: str = ""


class StoryScene(PublicModel):
    title: str
    description: str = ""


class StoryDirection(PublicModel):
    step: str
    text: str
    at: datetime


class Story(PublicModel):
    """What the chat records about the film; shared by every session on the project."""

    concept: str | None = None
    logline: str | None = None
    synopsis: str | None = None
    characters: list[StoryCharacter] = []
    scenes: list[StoryScene] = []
    directions: list[StoryDirection] = []


class StoryPublic(Story):
    """``story show --json``: a project's story record, with the project it belongs to."""

    project_id: str
    title: str

    @classmethod
    def of(cls, project: Project) -> StoryPublic:
        return cls.model_validate(
            {**(project.story or {}), "project_id": project.id, "title": project.title}
        )


class StoryRevisionPublic(PublicModel):
    """One revision of a project's story (``story history --json``).

    ``before``/``after``: the text of concept, logline or synopsis, or the item
    (``{name, description}``, ``{title, description}``, ``{step, text, at}``) of a
    character, scene or direction; null when there was none before or is none after.
    """

    id: int
    project_id: str
    group: str
    user: str
    user_name: str
    source: str
    message_id: int | None
    reverts: str | None
    field: str
    name: str | None
    before: Any
    after: Any
    created_at: datetime

    @classmethod
    def of(cls, revision: StoryRevision, user_name: str) -> StoryRevisionPublic:
        assert revision.id is not None
        return cls(
            id=revision.id,
            project_id=revision.project_id,
            group=revision.group_id,
            user=revision.user_id,
            user_name=user_name,
            source=revision.source,
            message_id=revision.message_id,
            reverts=revision.reverts,
            field=revision.field,
            name=revision.name,
            before=revision.before,
            after=revision.after,
            created_at=revision.created_at,
        )


class ProjectPublic(PublicModel):
    id: str
    title: str
    description: str
    genre: str
    episode_count: int
    target_audience: str
    status: str
    created_by: str
    collaborators: list[str]
    style_references: list[str]
    project_settings: ProjectSettings
    progress: Progress
    story: Story
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(
        cls, project: Project, *, collaborators: list[str], style_references: list[str]
    ) -> ProjectPublic:
        return cls(
            id=project.id,
            title=project.title,
            description=project.description,
            genre=project.genre,
            episode_count=project.episode_count,
            target_audience=project.target_audience,
            status=project.status,
            created_by=project.created_by,
            collaborators=collaborators,
            style_references=style_references,
            project_settings=ProjectSettings(
                aspect_ratio=project.aspect_ratio,
                episode_duration=project.episode_duration,
                quality_tier=project.quality_tier,
            ),
            progress=Progress(
                current_phase=project.current_phase,
                completed_steps=list(project.completed_steps),
                overall_progress=project.overall_progress,
            ),
            story=Story.model_validate(project.story or {}),
            created_at=project.created_at,
            updated_at=project.updated_at,
        )


class TemplatePublic(PublicModel):
    name: str
    description: str
    genre: str
    target_audience: str
    episode_count: int
    project_settings: ProjectSettings
    builtin: bool

    @classmethod
    def of(cls, template: Template) -> TemplatePublic:
        return cls(
            name=template.name,
            description=template.description,
            genre=template.genre,
            target_audience=template.target_audience,
            episode_count=template.episode_count,
            project_settings=ProjectSettings(
                aspect_ratio=template.aspect_ratio,
                episode_duration=template.episode_duration,
                quality_tier=template.quality_tier,
            ),
            builtin=template.builtin,
        )


class GenerationMetadata(PublicModel):
    agent_id: str | None = None
    prompt_used: str | None = None
    model_version: str | None = None
    generation_time: datetime | None = None
    task_id: str | None = None
    # What the file said beyond those (steps, sampler, seed, negative prompt, …), as read
    # by services/provenance.py; keys as stored.
    parameters: dict[str, Any] | None = None


class RelatedElements(PublicModel):
    characters: list[str] = []
    episode: int | None = None
    scene: str | None = None
    timestamp: float | None = None


class TechnicalData(PublicModel):
    """Only the fields that fit the file's type; the others are left out, never null."""

    duration: float | None = None
    resolution: str | None = None
    fps: float | None = None
    sample_rate: int | None = None


class MediaPublic(PublicModel):
    """A media record as ``--json`` prints it: never the vector, ``hasEmbedding`` instead.

    Fields that do not apply (generationMetadata of a hand-made asset, technicalData a
    type does not have, unset relatedElements) are left out rather than null.
    """

    id: str
    project: str
    media_type: str
    agent_generated: bool
    generation_metadata: GenerationMetadata | None = None
    has_embedding: bool
    description: str
    tags: list[str]
    related_elements: RelatedElements
    technical_data: TechnicalData
    version: int
    previous_version: str | None
    status: str
    visibility: str
    filename: str
    mime_type: str
    size_bytes: int
    sha256: str
    created_by: str
    created_at: datetime
    updated_at: datetime

    @model_serializer(mode="wrap")
    def _sparse(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for group in ("generationMetadata", "generation_metadata"):
            if group in data and data[group] is None:
                del data[group]
        for group in (
            "relatedElements",
            "related_elements",
            "technicalData",
            "technical_data",
            "generationMetadata",
            "generation_metadata",
        ):
            value = data.get(group)
            if isinstance(value, dict):
                data[group] = {k: v for k, v in value.items() if v is not None}
        return data

    @classmethod
    def of(cls, media: Media) -> MediaPublic:
        meta = media.generation_metadata if media.agent_generated else None
        return cls(
            id=media.id,
            project=media.project_id,
            media_type=media.media_type,
            agent_generated=media.agent_generated,
            generation_metadata=GenerationMetadata.model_validate(meta) if meta else None,
            has_embedding=media.embedding is not None,
            description=media.description,
            tags=list(media.tags),
            related_elements=RelatedElements(
                characters=list(media.characters),
                episode=media.episode,
                scene=media.scene,
                timestamp=media.timestamp,
            ),
            technical_data=TechnicalData.model_validate(media.technical_data or {}),
            version=media.version,
            previous_version=media.previous_version,
            status=media.status,
            visibility=media.visibility,
            filename=media.filename,
            mime_type=media.mime_type,
            size_bytes=media.size_bytes,
            sha256=media.sha256,
            created_by=media.created_by,
            created_at=media.created_at,
            updated_at=media.updated_at,
        )
