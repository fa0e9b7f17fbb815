"""Chat sessions: their public shapes, who may read and write them, their messages, which
session a chat continues, and the session commands (list, show, export, pause, resume,
close)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from moviecli import suggest
from moviecli.enums import SESSION_STATES
from moviecli.errors import InvalidTransition, PermissionDenied, UsageError, ValidationFailed
from moviecli.models import ChatSession, Message, Project, User, utcnow
from moviecli.services import access, projects
from moviecli.services.pagination import Page, check_page
from moviecli.services.resolve import by_id_or_prefix
from moviecli.storage.db import Database, lock_row

OPEN_STATES = ("active", "paused", "error")


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
    user_email: str = ""


@dataclass
class MessageInfo:
    id: int
    role: str
    content: str
    timestamp: datetime
    attachments: list[str]
    metadata: dict[str, Any]


def session_info(
    chat: ChatSession, project_title: str = "", user_name: str = "", user_email: str = ""
) -> SessionInfo:
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
        user_email=user_email,
    )


def message_info(m: Message) -> MessageInfo:
    assert m.id is not None
    return MessageInfo(
        m.id, m.role, m.content, m.timestamp, list(m.attachments or []), dict(m.meta or {})
    )


# --- access: the predicates are access.readable_sessions and access.can_write_session ---


def get_session(session: Session, actor: User, ref: str, *, write: bool = False) -> ChatSession:
    """A session by id or prefix; one the actor may not read is not found (exit 3)."""
    chat = by_id_or_prefix(
        session,
        ChatSession,
        ref,
        what="session",
        where=access.readable_sessions(actor),
        describe=lambda c: f"{c.id[:12]} ({c.session_state}, {c.current_step})",
    )
    if write and not access.can_write_session(actor, chat):
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


def recent_messages(session: Session, chat: ChatSession, n: int) -> list[Message]:
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


def pick(
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
        latest = _latest(session, actor, project, OPEN_STATES)
        if latest is not None:
            return Picked(latest, project)
        if _latest(session, actor, project, ("completed",)) is not None:
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


def _latest(
    session: Session, actor: User, project: Project, states: tuple[str, ...]
) -> ChatSession | None:
    """The actor's most recently updated session on the project in one of ``states``."""
    return session.exec(
        select(ChatSession)
        .where(
            col(ChatSession.project_id) == project.id,
            col(ChatSession.user_id) == actor.id,
            col(ChatSession.session_state).in_(states),
        )
        .order_by(col(ChatSession.updated_at).desc(), col(ChatSession.id))
        .limit(1)
    ).first()


# --- session commands --------------------------------------------------------------------------


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
    if state is not None:
        problems: dict[str, str] = {}
        state = suggest.pick(state, SESSION_STATES, "state", problems)
        if problems:
            raise ValidationFailed(problems)
    check_page(page, limit)
    where = [
        access.readable_sessions(actor) if all_readable else col(ChatSession.user_id) == actor.id
    ]
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
        sa.select(ChatSession, col(Project.title), col(User.name), col(User.email))
        .join(Project, col(Project.id) == ChatSession.project_id)
        .join(User, col(User.id) == ChatSession.user_id)
        .where(*where)
        .order_by(col(ChatSession.updated_at).desc(), col(ChatSession.id))
        .offset((page - 1) * limit)
        .limit(limit)
    ).all()
    return Page([session_info(c, t, n, e) for c, t, n, e in rows], int(total), page, limit)


def describe(session: Session, chat: ChatSession) -> SessionInfo:
    row = session.execute(
        sa.select(col(Project.title), col(User.name), col(User.email))
        .select_from(Project)
        .join(User, col(User.id) == chat.user_id)
        .where(col(Project.id) == chat.project_id)
    ).first()
    title, name, email = (row[0], row[1], row[2]) if row else ("", "", "")
    return session_info(chat, title, name, email)


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
    return describe(session, chat), Page([message_info(m) for m in messages], total, number, limit)


def recent(session: Session, actor: User, ref: str, n: int) -> list[MessageInfo]:
    """The last ``n`` messages of a session, oldest first."""
    chat = get_session(session, actor, ref)
    return [message_info(m) for m in recent_messages(session, chat, n)]


def export(session: Session, actor: User, ref: str) -> dict[str, Any]:
    """The whole session, with ``conversationHistory`` as the seed's message array."""
    from moviecli import render

    chat = get_session(session, actor, ref)
    data: dict[str, Any] = render.jsonable(describe(session, chat))
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
        return describe(session, chat), old
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
    return describe(session, chat), old


def pause_quietly(db: Database, actor: User, session_id: str) -> bool:
    """End of an interactive chat: pause the session if it is active (an errored one stays
    in error, so that session list shows it). False when it is completed."""
    with db.write() as session:
        chat = lock_row(session, ChatSession, session_id)
        if (
            chat is None
            or chat.session_state == "completed"
            or not access.can_write_session(actor, chat)
        ):
            return False
        if chat.session_state == "active":
            chat.session_state = "paused"
            chat.updated_at = utcnow()
            session.add(chat)
        return True
