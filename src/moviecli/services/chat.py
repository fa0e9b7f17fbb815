"""Chat sessions and turns (SPEC section 5).

A turn never holds the write lock while the reply is produced:

1. the user message is committed at once (nothing sent is ever lost);
2. the reply is produced outside any transaction (the backend may be a network call);
3. the reply and the state changes (the session's currentStep, contextData, lastChoices,
   awaitingUserInput; the project's story, progress and status) are committed together in
   one short write transaction that re-reads the project under its lock, so a concurrent
   turn on the same project is never lost.

A backend failure keeps the user message, records a system message with the error and
puts the session in ``error``; the next message (or ``session resume``) brings it back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from moviecli.enums import SESSION_STATES
from moviecli.errors import (
    ExitCode,
    InvalidTransition,
    MovieCliError,
    NotFound,
    PermissionDenied,
    UsageError,
    ValidationFailed,
)
from moviecli.models import ChatSession, Message, Progress, Project, User, utcnow
from moviecli.services import access, projects, workflow
from moviecli.services.assistant import Backend, BackendFailed, Outcome, ReplyContext
from moviecli.services.assistant.recorder import Recording, interpret
from moviecli.services.pagination import Page, check_page
from moviecli.services.resolve import by_id_or_prefix
from moviecli.storage.db import Database

T = TypeVar("T")

HISTORY_FOR_BACKEND = 12
RECENT_ON_RESUME = 6
OPEN_STATES = ("active", "paused", "error")


class ChatBackendError(MovieCliError):
    """The reply could not be produced; the user's message is kept (exit 1)."""

    exit_code = ExitCode.UNEXPECTED
    code = "backend"


# --- public shapes ---------------------------------------------------------------------------


@dataclass
class SessionInfo:
    """A session's fields as the seed names them (``project`` and ``user`` are ids)."""

    id: str
    project: str
    user: str
    current_step: str
    context_data: dict[str, Any]
    awaiting_user_input: bool
    last_choices: list[dict[str, Any]]
    session_state: str
    message_count: int
    created_at: datetime
    updated_at: datetime
    project_title: str = ""
    user_name: str = ""


@dataclass
class MessageInfo:
    id: int
    role: str
    content: str
    timestamp: datetime
    attachments: list[str]
    metadata: dict[str, Any]


def session_info(chat: ChatSession, project_title: str = "", user_name: str = "") -> SessionInfo:
    return SessionInfo(
        id=chat.id,
        project=chat.project_id,
        user=chat.user_id,
        current_step=chat.current_step,
        context_data=dict(chat.context_data or {}),
        awaiting_user_input=chat.awaiting_user_input,
        last_choices=list(chat.last_choices or []),
        session_state=chat.session_state,
        message_count=chat.message_count,
        created_at=chat.created_at,
        updated_at=chat.updated_at,
        project_title=project_title,
        user_name=user_name,
    )


def message_info(m: Message) -> MessageInfo:
    assert m.id is not None
    return MessageInfo(
        m.id, m.role, m.content, m.timestamp, list(m.attachments or []), dict(m.meta or {})
    )


def lock_row(session: Session, model: type[T], key: str) -> T | None:
    """The row, locked for the rest of the transaction (``FOR UPDATE`` on PostgreSQL; the
    SQLite write scope holds the database lock already) and re-read, even if this session
    loaded it before the lock."""
    return session.get(model, key, with_for_update=True, populate_existing=True)


# --- access ------------------------------------------------------------------------------------


def readable_sessions(actor: User) -> sa.ColumnElement[bool]:
    """Own sessions, and the sessions on projects the actor may see (creator,
    collaborators, producers and admins read a project's history)."""
    if actor.role in ("admin", "producer"):
        return sa.true()
    visible = sa.select(col(Project.id)).where(access.visible_projects(actor))
    return sa.or_(col(ChatSession.user_id) == actor.id, col(ChatSession.project_id).in_(visible))


def can_write(actor: User, chat: ChatSession) -> bool:
    return access.is_admin(actor) or chat.user_id == actor.id


def get_session(session: Session, actor: User, ref: str, *, write: bool = False) -> ChatSession:
    """A session by id or prefix; one the actor may not read is not found (exit 3)."""
    chat = by_id_or_prefix(
        session,
        ChatSession,
        ref,
        what="session",
        where=readable_sessions(actor),
        describe=lambda c: f"{c.id[:12]} ({c.session_state}, {c.current_step})",
    )
    if write and not can_write(actor, chat):
        raise PermissionDenied("only the session's owner (or an admin) can write to it")
    return chat


# --- messages ----------------------------------------------------------------------------------


def append_message(
    session: Session,
    chat: ChatSession,
    role: str,
    content: str,
    *,
    attachments: list[str] | None = None,
    meta: dict[str, Any] | None = None,
) -> Message:
    """Insert one message as the session's next (``seq``); the caller holds the lock."""
    now = utcnow()
    chat.message_count += 1
    chat.updated_at = now
    message = Message(
        session_id=chat.id,
        seq=chat.message_count,
        role=role,
        content=content,
        timestamp=now,
        attachments=attachments or [],
        meta=meta or {},
    )
    session.add(chat)
    session.add(message)
    session.flush()
    return message


def _recent(session: Session, chat: ChatSession, n: int) -> list[Message]:
    first = max(1, chat.message_count - n + 1)
    return list(
        session.exec(
            select(Message)
            .where(col(Message.session_id) == chat.id, col(Message.seq) >= first)
            .order_by(col(Message.seq))
        ).all()
    )


# --- choosing the session --------------------------------------------------------------------


@dataclass
class Picked:
    chat: ChatSession
    project: Project
    notice: str | None = None
    created: bool = False


def _pick(
    session: Session,
    actor: User,
    project_ref: str | None,
    session_ref: str | None,
    new: bool,
) -> Picked:
    """``--session``, else ``--new``, else the user's latest active/paused/errored session on
    the project, else a new one. A completed session is read-only: a new one is started."""
    if session_ref is not None and new:
        raise UsageError("pass --session or --new, not both")
    notice = None
    if session_ref is not None:
        chat = get_session(session, actor, session_ref, write=True)
        project = session.get(Project, chat.project_id)
        assert project is not None
        if project_ref:
            named = projects.resolve(session, actor, project_ref)
            if named.id != project.id:
                raise UsageError(
                    f"session {chat.id[:8]} belongs to project {project.title!r}",
                    hint="leave out PROJECT or name that project",
                )
        access.require_edit_project(session, actor, project)
        if chat.session_state != "completed":
            return Picked(chat, project)
        notice = (
            f"Session {chat.id[:8]} is completed (read-only); started a new session on "
            f"{project.title!r}."
        )
        new = True
    else:
        project = projects.resolve_or_current(session, actor, project_ref)
        access.require_edit_project(session, actor, project)
    if not new:
        latest = session.exec(
            select(ChatSession)
            .where(
                col(ChatSession.project_id) == project.id,
                col(ChatSession.user_id) == actor.id,
                col(ChatSession.session_state).in_(OPEN_STATES),
            )
            .order_by(col(ChatSession.updated_at).desc(), col(ChatSession.id))
            .limit(1)
        ).first()
        if latest is not None:
            return Picked(latest, project)
        if session.exec(
            select(ChatSession.id)
            .where(
                col(ChatSession.project_id) == project.id,
                col(ChatSession.user_id) == actor.id,
                col(ChatSession.session_state) == "completed",
            )
            .limit(1)
        ).first():
            notice = f"Your last session on {project.title!r} is completed; started a new one."
    now = utcnow()
    chat = ChatSession(
        project_id=project.id,
        user_id=actor.id,
        current_step=project.current_phase,
        context_data={},
        created_at=now,
        updated_at=now,
    )
    session.add(chat)
    session.flush()
    return Picked(chat, project, notice, created=True)


# --- the outcome of a turn (pure) ---------------------------------------------------------


def compute_outcome(
    facts: workflow.Facts,
    story: dict[str, Any],
    recording: Recording,
    choice: str | None,
    *,
    at: datetime,
    attachments: tuple[tuple[str, str], ...] = (),
) -> tuple[Outcome, dict[str, Any]]:
    """What the turn does to the project: the story with the recording merged in, the move
    (if a step was chosen), progress, status, what the phase still lacks, the choices."""
    new_story, said = recording.apply(story, at) if not recording.empty else (story, [])
    facts = facts.with_story(new_story)
    move = None
    if choice and choice != workflow.MANUAL_OVERRIDE:
        move = workflow.plan_move(facts, choice)
    if move is not None:
        applied = workflow.apply_move(facts, move)
    else:
        applied = workflow.Applied(
            facts.current_phase,
            facts.completed,
            facts.progress,
            facts.status,
            False,
        )
    after = _facts_after(facts, applied)
    outcome = Outcome(
        step=facts.current_phase,
        recording=recording,
        recorded=tuple(said),
        move=move,
        applied=applied,
        missing=tuple(workflow.missing(applied.current_phase, after)),
        choices=() if applied.workflow_completed else tuple(workflow.choices(after)),
        attachments=attachments,
    )
    return outcome, new_story


def _facts_after(facts: workflow.Facts, applied: workflow.Applied) -> workflow.Facts:
    from dataclasses import replace

    return replace(
        facts,
        current_phase=applied.current_phase,
        completed=applied.completed,
        status=applied.status,
    )


# --- a turn ------------------------------------------------------------------------------------


@dataclass
class TurnRequest:
    message: str | None = None
    choice: str | None = None
    custom: str | None = None
    attachments: list[Path] = field(default_factory=list)
    attach_type: str | None = None

    def check(self) -> None:
        """Usage errors before anything is stored (exit 2)."""
        if self.choice is not None:
            workflow.check_choice_id(self.choice)
        custom = (self.custom or "").strip()
        if self.custom is not None and self.choice is None:
            self.choice = workflow.MANUAL_OVERRIDE
        if self.choice == workflow.MANUAL_OVERRIDE and not custom:
            raise UsageError(
                "custom input required",
                hint="manual_override needs your direction: --custom TEXT or /override TEXT",
            )
        if custom and self.choice != workflow.MANUAL_OVERRIDE:
            raise UsageError("--custom goes with --choice manual_override")
        if not ((self.message or "").strip() or self.choice or self.attachments):
            raise UsageError("nothing to send", hint="pass -m MESSAGE, --choice ID or --attach")


@dataclass
class TurnResult:
    session_id: str
    response: str
    choices: list[dict[str, Any]]
    current_step: str
    progress: Progress
    blocked: list[str]
    session_state: str
    project_status: str
    notice: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "sessionId": self.session_id,
            "response": self.response,
            "choices": self.choices,
            "currentStep": self.current_step,
            "progress": self.progress.model_dump(mode="json", by_alias=True),
            "blocked": self.blocked,
            "sessionState": self.session_state,
            "projectStatus": self.project_status,
            "notice": self.notice,
        }


def _user_content(req: TurnRequest, filenames: list[str]) -> str:
    parts = [p for p in ((req.message or "").strip(), (req.custom or "").strip()) if p]
    if parts:
        return "\n\n".join(parts)
    if req.choice and req.choice != workflow.MANUAL_OVERRIDE:
        return f"Choose: {workflow.STEPS[req.choice].title}"
    return "Attached " + ", ".join(filenames)


def take_turn(
    db: Database,
    actor: User,
    req: TurnRequest,
    *,
    project_ref: str | None = None,
    session_ref: str | None = None,
    new: bool = False,
    backend: Backend | None = None,
    on_chunk: Callable[[str], None] | None = None,
) -> TurnResult:
    """One turn: store the user's message, produce the reply, store it with the changes."""
    from moviecli.services.assistant import make_backend
    from moviecli.services.assistant.builtin import render

    req.check()
    backend = backend or make_backend()
    attached: list[tuple[str, str, str]] = []
    if req.attachments:
        with db.session() as session:
            picked_project = _project_for(session, actor, project_ref, session_ref)
        attached = attach_files(db, actor, picked_project, req.attachments, req.attach_type)

    # (1) the user's message, committed at once
    with db.write() as session:
        picked = _pick(session, actor, project_ref, session_ref, new)
        chat = lock_row(session, ChatSession, picked.chat.id) or picked.chat
        project = picked.project
        if chat.session_state in ("paused", "error"):
            chat.session_state = "active"
        step = project.current_phase
        chat.current_step = step
        meta: dict[str, Any] = {"step": step}
        if req.choice:
            meta["choiceId"] = req.choice
        append_message(
            session,
            chat,
            "user",
            _user_content(req, [a[1] for a in attached]),
            attachments=[a[0] for a in attached],
            meta=meta,
        )
        chat.awaiting_user_input = False
        facts = workflow.load_facts(session, project)
        story = dict(project.story or {})
        # the conversation before this message (which the backend gets on its own)
        history = (
            [(m.role, m.content) for m in _recent(session, chat, HISTORY_FOR_BACKEND + 1)][:-1]
            if backend.name != "builtin"
            else []
        )
        context_data = dict(chat.context_data or {})
        project_summary = {
            "title": project.title,
            "genre": project.genre,
            "targetAudience": project.target_audience,
            "episodeCount": project.episode_count,
            "description": project.description,
            "status": project.status,
            "story": story,
        }
        chat_id, project_id = chat.id, project.id

    # (2) the reply, outside any transaction
    recording = interpret(step, req.message or "", override=req.custom)
    files = tuple((a[1], a[2]) for a in attached)
    outcome, _ = compute_outcome(
        facts, story, recording, req.choice, at=utcnow(), attachments=files
    )
    ctx = ReplyContext(project_summary, outcome, req.message or req.custom or "", history)
    ctx.context_data = context_data
    try:
        text = backend.reply(ctx, on_chunk)
    except BackendFailed as exc:
        _record_failure(db, chat_id, step, backend.name, str(exc))
        raise ChatBackendError(
            f"the chat backend failed: {exc}",
            hint=f"your message is kept; moviecli session resume {chat_id[:8]}, or send again",
        ) from None

    # (3) the reply and the state changes, in one short write transaction
    with db.write() as session:
        locked_project = lock_row(session, Project, project_id)
        locked_chat = lock_row(session, ChatSession, chat_id)
        if locked_project is None or locked_chat is None:
            raise NotFound("the session or its project was deleted during the turn")
        project, chat = locked_project, locked_chat
        now = utcnow()
        facts = workflow.load_facts(session, project)
        final, new_story = compute_outcome(
            facts, dict(project.story or {}), recording, req.choice, at=now, attachments=files
        )
        if final != outcome and backend.name == "builtin":
            text = render(final)  # the project moved meanwhile: say what really happened
        applied = final.applied
        if not recording.empty:
            project.story = new_story
        changed = (
            applied.current_phase != project.current_phase
            or list(applied.completed) != list(project.completed_steps)
            or applied.status != project.status
        )
        project.current_phase = applied.current_phase
        project.completed_steps = list(applied.completed)
        project.overall_progress = applied.overall_progress
        project.status = applied.status
        if changed or not recording.empty:
            project.updated_at = now
            session.add(project)
        chat.current_step = applied.current_phase
        chat.last_choices = [c.as_json() for c in final.choices]
        chat.context_data = _context(chat.context_data, final, backend.name, attached, now)
        chat.awaiting_user_input = True
        if applied.workflow_completed:
            chat.session_state = "completed"
        elif chat.session_state != "completed":
            chat.session_state = "active"
        meta = {"step": applied.current_phase, "backend": backend.name}
        if req.choice:
            meta["choiceId"] = req.choice
        if final.blocked:
            meta["blocked"] = final.blocked
        append_message(session, chat, "assistant", text, meta=meta)
        return TurnResult(
            session_id=chat.id,
            response=text,
            choices=list(chat.last_choices),
            current_step=chat.current_step,
            progress=Progress(
                current_phase=project.current_phase,
                completed_steps=list(project.completed_steps),
                overall_progress=project.overall_progress,
            ),
            blocked=final.blocked,
            session_state=chat.session_state,
            project_status=project.status,
            notice=picked.notice,
        )


def _context(
    old: dict[str, Any],
    outcome: Outcome,
    backend: str,
    attached: list[tuple[str, str, str]],
    now: datetime,
) -> dict[str, Any]:
    """contextData: what is local to the conversation (blocked reasons, this turn's
    attachments, the backend, the manual-override directions given in it)."""
    data = {k: v for k, v in (old or {}).items() if k not in ("error",)}
    data["blocked"] = outcome.blocked
    data["attachments"] = [a[0] for a in attached]
    data["backend"] = backend
    if outcome.recording.override:
        directions = list(data.get("directions", []))
        directions.append(
            {
                "step": outcome.step,
                "text": outcome.recording.override,
                "at": now.isoformat().replace("+00:00", "Z"),
            }
        )
        data["directions"] = directions
    return data


def _record_failure(db: Database, chat_id: str, step: str, backend: str, error: str) -> None:
    with db.write() as session:
        chat = lock_row(session, ChatSession, chat_id)
        if chat is None:
            return
        append_message(
            session,
            chat,
            "system",
            f"The reply failed: {error}",
            meta={"step": step, "backend": backend, "error": error},
        )
        chat.session_state = "error"
        chat.awaiting_user_input = False
        chat.context_data = {**(chat.context_data or {}), "error": error, "backend": backend}
        session.add(chat)


def _project_for(
    session: Session, actor: User, project_ref: str | None, session_ref: str | None
) -> Project:
    if session_ref is not None:
        chat = get_session(session, actor, session_ref, write=True)
        project = session.get(Project, chat.project_id)
        assert project is not None
    else:
        project = projects.resolve_or_current(session, actor, project_ref)
    access.require_edit_project(session, actor, project)
    return project


# What an attachment becomes when --attach-type is not given (SPEC section 5).
INFERRED_TYPES = {
    "image": {
        "character_creation": "character_design",
        "visual_design": "style_reference",
        "scene_production": "storyboard",
    },
    "video": {"final_assembly": "final_video"},
    "audio": {"character_creation": "voice_profile", "audio_design": "music_track"},
}
DEFAULT_TYPES = {"image": "concept_art", "video": "video_segment", "audio": "audio_clip"}


def infer_type(family: str, step: str) -> str:
    return INFERRED_TYPES[family].get(step, DEFAULT_TYPES[family])


def attach_files(
    db: Database, actor: User, project: Project, files: list[Path], attach_type: str | None
) -> list[tuple[str, str, str]]:
    """Add files as media of the project through the media service, before the turn's
    message is stored; [(media id, filename, mediaType)] in argument order.

    Every file is checked first: one that is missing or not an image, audio or video file
    is a usage error (exit 2) and nothing is stored. Without ``attach_type`` the type is
    inferred from the file's family and the project's current step.
    """
    from moviecli.enums import MEDIA_TYPES
    from moviecli.services import media, probe

    if attach_type is not None and attach_type not in MEDIA_TYPES:
        raise ValidationFailed(
            {"attachType": f"{attach_type!r} is not one of: {', '.join(MEDIA_TYPES)}"}
        )
    kinds: list[str] = []
    problems: dict[str, str] = {}
    for path in files:
        try:
            if not path.is_file():
                raise probe.Rejected("no such file" if not path.exists() else "not a file")
            found = probe.probe(path, attach_type)
        except probe.Rejected as exc:
            problems[str(path)] = str(exc)
            continue
        kinds.append(attach_type or infer_type(found.family, project.current_phase))
    if problems:
        raise ValidationFailed(problems, message="cannot attach these files")
    by_type: dict[str, list[int]] = {}
    for index, kind in enumerate(kinds):
        by_type.setdefault(kind, []).append(index)
    attached: dict[int, tuple[str, str, str]] = {}
    for kind, indexes in by_type.items():
        result = media.add_files(
            db, actor, project.id, [files[i] for i in indexes], media.AssetFields(kind)
        )
        for index, added in zip(indexes, result.files, strict=True):
            if added.media is None:
                problems[str(files[index])] = added.reason or "rejected"
                continue
            attached[index] = (added.media.id, files[index].name, added.media.media_type)
    if problems:
        raise ValidationFailed(problems, message="cannot attach these files")
    return [attached[i] for i in range(len(files))]


# --- interactive sessions --------------------------------------------------------------------


@dataclass
class Opened:
    """A session opened for the REPL or line mode."""

    session: SessionInfo
    project_title: str
    notice: str | None
    resumed: bool
    recent: list[MessageInfo]
    choices: list[dict[str, Any]]
    progress: Progress


def open_chat(
    db: Database,
    actor: User,
    *,
    project_ref: str | None = None,
    session_ref: str | None = None,
    new: bool = False,
) -> Opened:
    """Pick (or start) the session; a new one opens with the assistant's greeting, a paused
    or errored one becomes active again. Choices are refreshed if the project moved on."""
    from moviecli.services.assistant.builtin import greeting

    with db.write() as session:
        picked = _pick(session, actor, project_ref, session_ref, new)
        chat = lock_row(session, ChatSession, picked.chat.id) or picked.chat
        project = picked.project
        facts = workflow.load_facts(session, project)
        outcome, _ = compute_outcome(
            facts, dict(project.story or {}), Recording(""), None, at=utcnow()
        )
        fresh = [c.as_json() for c in outcome.choices]
        resumed = not picked.created
        if picked.created:
            append_message(
                session,
                chat,
                "assistant",
                greeting(project.title, outcome),
                meta={"step": project.current_phase, "backend": "builtin"},
            )
            chat.awaiting_user_input = True
        if chat.session_state in ("paused", "error"):
            chat.session_state = "active"
        chat.current_step = project.current_phase
        chat.last_choices = fresh
        session.add(chat)
        recent = [message_info(m) for m in _recent(session, chat, RECENT_ON_RESUME)]
        return Opened(
            session=session_info(chat, project.title, actor.name),
            project_title=project.title,
            notice=picked.notice,
            resumed=resumed,
            recent=recent,
            choices=fresh,
            progress=Progress(
                current_phase=project.current_phase,
                completed_steps=list(project.completed_steps),
                overall_progress=project.overall_progress,
            ),
        )


# --- session commands --------------------------------------------------------------------------


@dataclass
class SessionRow:
    session: SessionInfo


def list_sessions(
    session: Session,
    actor: User,
    *,
    project_ref: str | None = None,
    state: str | None = None,
    all_readable: bool = False,
    page: int = 1,
    limit: int = 20,
) -> Page[SessionInfo]:
    if state is not None and state not in SESSION_STATES:
        raise ValidationFailed({"state": f"{state!r} is not one of: {', '.join(SESSION_STATES)}"})
    check_page(page, limit)
    where = [readable_sessions(actor) if all_readable else col(ChatSession.user_id) == actor.id]
    if project_ref:
        where.append(
            col(ChatSession.project_id) == projects.resolve(session, actor, project_ref).id
        )
    if state:
        where.append(col(ChatSession.session_state) == state)
    total = session.execute(
        sa.select(sa.func.count()).select_from(ChatSession).where(*where)
    ).scalar_one()
    rows = session.execute(
        sa.select(ChatSession, col(Project.title), col(User.name))
        .join(Project, col(Project.id) == ChatSession.project_id)
        .join(User, col(User.id) == ChatSession.user_id)
        .where(*where)
        .order_by(col(ChatSession.updated_at).desc(), col(ChatSession.id))
        .offset((page - 1) * limit)
        .limit(limit)
    ).all()
    return Page([session_info(c, t, n) for c, t, n in rows], int(total), page, limit)


def _describe(session: Session, chat: ChatSession) -> SessionInfo:
    row = session.execute(
        sa.select(col(Project.title), col(User.name))
        .select_from(Project)
        .join(User, col(User.id) == chat.user_id)
        .where(col(Project.id) == chat.project_id)
    ).first()
    title, name = (row[0], row[1]) if row else ("", "")
    return session_info(chat, title, name)


def history(
    session: Session, actor: User, ref: str, *, page: int | None = None, limit: int = 20
) -> tuple[SessionInfo, Page[MessageInfo]]:
    """One page of a session's messages: pages are numbered from the oldest, the default is
    the newest page, and items are oldest first within it."""
    check_page(1 if page is None else page, limit)
    chat = get_session(session, actor, ref)
    total = chat.message_count
    pages = max(1, -(-total // limit))
    number = pages if page is None else page
    first = (number - 1) * limit + 1
    messages = session.exec(
        select(Message)
        .where(
            col(Message.session_id) == chat.id,
            col(Message.seq) >= first,
            col(Message.seq) < first + limit,
        )
        .order_by(col(Message.seq))
    ).all()
    return _describe(session, chat), Page(
        [message_info(m) for m in messages], total, number, limit
    )


def recent(session: Session, actor: User, ref: str, n: int) -> list[MessageInfo]:
    """The last ``n`` messages of a session, oldest first."""
    chat = get_session(session, actor, ref)
    return [message_info(m) for m in _recent(session, chat, n)]


def export(session: Session, actor: User, ref: str) -> dict[str, Any]:
    """The whole session, with ``conversationHistory`` as the seed's message array."""
    from moviecli import render

    chat = get_session(session, actor, ref)
    data: dict[str, Any] = render.jsonable(_describe(session, chat))
    messages = session.exec(
        select(Message).where(col(Message.session_id) == chat.id).order_by(col(Message.seq))
    ).all()
    data["conversationHistory"] = [render.jsonable(message_info(m)) for m in messages]
    return data


TRANSITIONS = {
    "pause": ({"active", "error"}, "paused"),
    "resume": ({"paused", "error"}, "active"),
    "close": ({"active", "paused", "error"}, "completed"),
}


def set_state(session: Session, actor: User, ref: str, action: str) -> tuple[SessionInfo, str]:
    """pause | resume | close (close = completed, read-only from then on)."""
    allowed, target = TRANSITIONS[action]
    chat = get_session(session, actor, ref, write=True)
    chat = lock_row(session, ChatSession, chat.id) or chat
    old = chat.session_state
    if old == target:
        return _describe(session, chat), old
    if old not in allowed:
        raise InvalidTransition(
            f"cannot {action} session {chat.id[:8]}: it is {old}",
            hint="a completed session is read-only; moviecli chat starts a new one"
            if old == "completed"
            else None,
        )
    chat.session_state = target
    chat.updated_at = utcnow()
    if action == "resume" and "error" in (chat.context_data or {}):
        chat.context_data = {k: v for k, v in chat.context_data.items() if k != "error"}
    session.add(chat)
    session.flush()
    return _describe(session, chat), old


def pause_quietly(db: Database, actor: User, session_id: str) -> bool:
    """End of an interactive chat: pause the session if it is active (an errored one stays
    in error, so that session list shows it). False when it is completed."""
    with db.write() as session:
        chat = lock_row(session, ChatSession, session_id)
        if chat is None or chat.session_state == "completed" or not can_write(actor, chat):
            return False
        if chat.session_state == "active":
            chat.session_state = "paused"
            chat.updated_at = utcnow()
            session.add(chat)
        return True


# --- search ------------------------------------------------------------------------------------


@dataclass
class SearchHit:
    session_id: str
    project_id: str
    message_id: int
    role: str
    timestamp: datetime
    snippet: str


_TOKEN = re.compile(r"[^\W_]+")
MAX_COUNTED = 10_000


@dataclass
class SearchPage(Page[SearchHit]):
    """A page of hits; ``total_capped``: there are more than ``total`` matches."""

    total_capped: bool = False


def search_terms(text: str) -> list[str]:
    """The words of a query, as both full-text engines split them (letters and digits)."""
    return [t.lower() for t in _TOKEN.findall(text)]


def search(
    session: Session,
    actor: User,
    text: str,
    *,
    project_ref: str | None = None,
    page: int = 1,
    limit: int = 20,
) -> SearchPage:
    """Full text over the messages the actor may read, newest first. Every word must match
    (FTS5 on SQLite, PostgreSQL's ``simple`` text search: no stemming on either). Matches
    are counted up to MAX_COUNTED."""
    check_page(page, limit)
    terms = search_terms(text)
    if not terms:
        raise UsageError("nothing to search for", hint="give at least one word")
    where: list[Any] = [readable_sessions(actor)]
    if project_ref:
        where.append(
            col(ChatSession.project_id) == projects.resolve(session, actor, project_ref).id
        )
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        fts = sa.table("messages_fts", sa.column("rowid"), sa.column("messages_fts"))
        query = " ".join(f'"{t}"' for t in terms)
        match = sa.text("messages_fts MATCH :q").bindparams(q=query)
        base = (
            sa.select(Message, col(ChatSession.project_id))
            .select_from(fts)
            .join(Message, col(Message.id) == fts.c.rowid)
            .join(ChatSession, col(ChatSession.id) == Message.session_id)
            .where(match, *where)
        )
        order = fts.c.rowid.desc()
    else:
        tsquery = sa.func.to_tsquery("simple", " & ".join(terms))
        base = (
            sa.select(Message, col(ChatSession.project_id))
            .join(ChatSession, col(ChatSession.id) == Message.session_id)
            .where(
                sa.func.to_tsvector("simple", col(Message.content)).bool_op("@@")(tsquery),
                *where,
            )
        )
        order = col(Message.id).desc()
    # Counting every match of a common word in a million messages costs more than the rest
    # of the command: count up to MAX_COUNTED and say so (totalCapped).
    counted = base.with_only_columns(sa.literal(1)).limit(MAX_COUNTED + 1).subquery()
    total = session.execute(sa.select(sa.func.count()).select_from(counted)).scalar_one()
    rows = session.execute(base.order_by(order).offset((page - 1) * limit).limit(limit)).all()
    hits = []
    for message, project_id in rows:
        assert message.id is not None
        hits.append(
            SearchHit(
                message.session_id,
                project_id,
                message.id,
                message.role,
                message.timestamp,
                snippet(message.content, terms),
            )
        )
    capped = total > MAX_COUNTED
    return SearchPage(hits, min(int(total), MAX_COUNTED), page, limit, total_capped=capped)


def snippet(content: str, terms: list[str], width: int = 60) -> str:
    """Up to ``width`` characters either side of the first matching word, on one line."""
    flat = " ".join(content.split())
    lowered = flat.lower()
    best = None
    for term in terms:
        match = re.search(rf"(?<![^\W_]){re.escape(term)}(?![^\W_])", lowered)
        if match and (best is None or match.start() < best):
            best = match.start()
    if best is None:
        best = 0
    start = max(0, best - width)
    end = min(len(flat), best + width)
    head = "…" if start > 0 else ""
    tail = "…" if end < len(flat) else ""
    return head + flat[start:end].strip() + tail
