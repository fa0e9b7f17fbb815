"""A chat turn (SPEC section 5), and opening a session for the REPL.

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

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moviecli.errors import ExitCode, MovieCliError, NotFound, UsageError
from moviecli.models import ChatSession, Progress, Project, User, utcnow
from moviecli.services import story as story_service
from moviecli.services import workflow
from moviecli.services.assistant import Backend, BackendFailed, Outcome, ReplyContext
from moviecli.services.assistant.recorder import Recording, interpret
from moviecli.services.chat.attach import attach_files, project_for
from moviecli.services.chat.sessions import (
    MessageInfo,
    SessionInfo,
    append_message,
    message_info,
    pick,
    recent_messages,
    session_info,
)
from moviecli.storage.db import Database, lock_row

if TYPE_CHECKING:
    from sqlmodel import Session

HISTORY_FOR_BACKEND = 12
RECENT_ON_RESUME = 6


class ChatBackendError(MovieCliError):
    """The reply could not be produced; the user's message is kept (exit 1)."""

    exit_code = ExitCode.UNEXPECTED
    code = "backend"


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


@dataclass
class _Started:
    """What the first transaction of a turn stored and read, for the two that follow."""

    chat_id: str
    project_id: str
    step: str
    facts: workflow.Facts
    story: dict[str, Any]
    history: list[tuple[str, str]]
    context_data: dict[str, Any]
    project: dict[str, Any]  # the project as the backend is told it
    notice: str | None
    actor: User
    message_id: int | None  # the user's message: the source of what the turn records


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

    req.check()
    backend = backend or make_backend()
    attached: list[tuple[str, str, str]] = []
    if req.attachments:
        with db.session() as session:
            target = project_for(session, actor, project_ref, session_ref)
        attached = attach_files(db, actor, target, req.attachments, req.attach_type)
    where = (project_ref, session_ref, new)
    started = _store_user_message(db, actor, req, attached, where, backend.name)
    recording = interpret(started.step, req.message or "", override=req.custom)
    files = tuple((a[1], a[2]) for a in attached)
    outcome, _ = compute_outcome(
        started.facts, started.story, recording, req.choice, at=utcnow(), attachments=files
    )
    text = _reply(db, backend, started, outcome, req.message or req.custom or "", on_chunk)
    return _store_reply(db, started, req, outcome, text, backend.name, attached)


def _store_user_message(
    db: Database,
    actor: User,
    req: TurnRequest,
    attached: list[tuple[str, str, str]],
    where: tuple[str | None, str | None, bool],
    backend: str,
) -> _Started:
    """(1) The user's message, committed at once; what the reply is written from."""
    with db.write() as session:
        picked = pick(session, actor, *where)
        chat = lock_row(session, ChatSession, picked.chat.id) or picked.chat
        project = picked.project
        if chat.session_state in ("paused", "error"):
            chat.session_state = "active"
        step = project.current_phase
        chat.current_step = step
        meta: dict[str, Any] = {"step": step}
        if req.choice:
            meta["choiceId"] = req.choice
        asked = append_message(
            session,
            chat,
            "user",
            _user_content(req, [a[1] for a in attached]),
            attachments=[a[0] for a in attached],
            meta=meta,
        )
        chat.awaiting_user_input = False
        story = dict(project.story or {})
        # the conversation before this message (which the backend gets on its own)
        history = []
        if backend != "builtin":
            earlier = recent_messages(session, chat, HISTORY_FOR_BACKEND + 1)[:-1]
            history = [(m.role, m.content) for m in earlier]
        return _Started(
            chat_id=chat.id,
            project_id=project.id,
            step=step,
            facts=workflow.load_facts(session, project),
            story=story,
            history=history,
            context_data=dict(chat.context_data or {}),
            project=_project_summary(project, story),
            notice=picked.notice,
            actor=actor,
            message_id=asked.id,
        )


def _project_summary(project: Project, story: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": project.title,
        "genre": project.genre,
        "targetAudience": project.target_audience,
        "episodeCount": project.episode_count,
        "description": project.description,
        "status": project.status,
        "story": story,
    }


def _reply(
    db: Database,
    backend: Backend,
    started: _Started,
    outcome: Outcome,
    user_text: str,
    on_chunk: Callable[[str], None] | None,
) -> str:
    """(2) The reply, outside any transaction; a failure is recorded, the message kept."""
    ctx = ReplyContext(started.project, outcome, user_text, started.history)
    ctx.context_data = started.context_data
    try:
        return backend.reply(ctx, on_chunk)
    except BackendFailed as exc:
        _record_failure(db, started.chat_id, started.step, backend.name, str(exc))
        raise ChatBackendError(
            f"the chat backend failed: {exc}",
            hint=(
                f"your message is kept; moviecli session resume {started.chat_id[:8]}, "
                "or send again"
            ),
        ) from None


def _store_reply(
    db: Database,
    started: _Started,
    req: TurnRequest,
    outcome: Outcome,
    text: str,
    backend: str,
    attached: list[tuple[str, str, str]],
) -> TurnResult:
    """(3) The reply and the state changes, in one short write transaction. The outcome is
    computed again from the project as it is now, under its lock."""
    from moviecli.services.assistant.builtin import render

    with db.write() as session:
        project = lock_row(session, Project, started.project_id)
        chat = lock_row(session, ChatSession, started.chat_id)
        if project is None or chat is None:
            raise NotFound("the session or its project was deleted during the turn")
        now = utcnow()
        final, _ = compute_outcome(
            workflow.load_facts(session, project),
            dict(project.story or {}),
            outcome.recording,
            req.choice,
            at=now,
            attachments=outcome.attachments,
        )
        if final != outcome and backend == "builtin":
            text = render(final)  # the project moved meanwhile: say what really happened
        _apply_to_project(session, project, final, now, started)
        session.add(project)
        chat.current_step = final.applied.current_phase
        chat.last_choices = [c.as_json() for c in final.choices]
        chat.context_data = _context(chat.context_data, final, backend, attached, now)
        chat.awaiting_user_input = True
        if final.applied.workflow_completed:
            chat.session_state = "completed"
        elif chat.session_state != "completed":
            chat.session_state = "active"
        meta: dict[str, Any] = {"step": final.applied.current_phase, "backend": backend}
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
            progress=_progress(project),
            blocked=final.blocked,
            session_state=chat.session_state,
            project_status=project.status,
            notice=started.notice,
        )


def _apply_to_project(
    session: Session, project: Project, final: Outcome, now: datetime, started: _Started
) -> None:
    """The story, the workflow position and the status a turn leaves the project with."""
    applied = final.applied
    recorded = not final.recording.empty
    if recorded:
        # Every change to the story is a revision (services/story.py); what cannot be
        # recorded (over the size limit) is left out.
        updates, _ = story_service.check_updates(final.recording.updates())
        story_service.record(
            session,
            project,
            updates,
            actor=started.actor,
            source=story_service.Source("chat", message_id=started.message_id),
            at=now,
        )
    changed = (
        applied.current_phase != project.current_phase
        or list(applied.completed) != list(project.completed_steps)
        or applied.status != project.status
    )
    project.current_phase = applied.current_phase
    project.completed_steps = list(applied.completed)
    project.overall_progress = applied.overall_progress
    project.status = applied.status
    if changed or recorded:
        project.updated_at = now


def _progress(project: Project) -> Progress:
    return Progress(
        current_phase=project.current_phase,
        completed_steps=list(project.completed_steps),
        overall_progress=project.overall_progress,
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
        picked = pick(session, actor, project_ref, session_ref, new)
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
        recent = [message_info(m) for m in recent_messages(session, chat, RECENT_ON_RESUME)]
        return Opened(
            session=session_info(chat, project.title, actor.name),
            project_title=project.title,
            notice=picked.notice,
            resumed=resumed,
            recent=recent,
            choices=fresh,
            progress=_progress(project),
        )
