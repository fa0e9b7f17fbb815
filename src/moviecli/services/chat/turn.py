"""A chat turn (SPEC section 5), and opening a session for the REPL.

A turn never holds the write lock while the reply is produced:

1. the user message is committed at once (nothing sent is ever lost);
2. the reply is produced outside any transaction (the backend may be a network call);
3. the reply and the state changes (the session's currentStep, contextData, lastChoices,
   awaitingUserInput; the project's story, progress and status) are committed together in
   one short write transaction that re-reads the project under its lock, so a concurrent
   turn on the same project is never lost.

With a model (``chat.backend = "openai"``) the model also reads the message; the engine
decides what is recorded from its reading (``assistant.structured.decide``: the built-in
reading when the model's structure is missing or invalid, said in the reply's metadata as
``understoodBy`` and ``fallback``), and the reply is the model's prose followed by the
engine's own lines (what was recorded or replaced, the move, what the step still lacks,
the recommended choice).

A backend failure keeps the user message, records a system message with the error and
puts the session in ``error``; the next message (or ``session resume``) brings it back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moviecli.enums import MANUAL_OVERRIDE
from moviecli.errors import ExitCode, MovieCliError, NotFound, UsageError
from moviecli.models import ChatSession, Message, Progress, Project, User, utcnow
from moviecli.services import story as story_service
from moviecli.services import workflow
from moviecli.services.assistant import Backend, BackendFailed, Outcome, ReplyContext
from moviecli.services.assistant.structured import Decision, decide
from moviecli.services.assistant.understanding import (
    SLASH_COMMANDS,
    Understanding,
    command_name,
    understand,
)
from moviecli.services.chat.attach import Attached, attach_files, project_for
from moviecli.services.chat.outcome import compute_outcome, resolve_choice, turn_updates
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
from moviecli.text import is_utf8

if TYPE_CHECKING:
    from sqlmodel import Session

HISTORY_FOR_BACKEND = 12
RECENT_ON_RESUME = 6


class ChatBackendError(MovieCliError):
    """The reply could not be produced; the user's message is kept (exit 1)."""

    exit_code = ExitCode.UNEXPECTED
    code = "backend"


# --- a turn ------------------------------------------------------------------------------------

# The largest message (or manual-override direction) a turn takes: the story's limit for one
# text, so whatever a message records fits. Longer texts go in parts.
MAX_MESSAGE_BYTES = story_service.MAX_TEXT_BYTES


@dataclass
class TurnRequest:
    message: str | None = None
    choice: str | None = None  # a choice id, or the number of a choice shown last
    custom: str | None = None
    attachments: list[Path] = field(default_factory=list)
    attach_type: str | None = None

    def check(self) -> None:
        """Usage errors before anything is stored (exit 2)."""
        if self.choice is not None and not self.choice.strip().isdigit():
            self.choice = workflow.check_choice_id(self.choice)
        if self.custom is not None and self.choice is None:
            self.choice = MANUAL_OVERRIDE
        for what, text in (("message", self.message), ("direction", self.custom)):
            if not is_utf8(text or ""):
                raise UsageError(f"the {what} is not valid UTF-8 text")
            size = len((text or "").encode("utf-8", "surrogatepass"))
            if size > MAX_MESSAGE_BYTES:
                raise UsageError(
                    f"the {what} is {size:,} bytes, over the limit of "
                    f"{MAX_MESSAGE_BYTES // 1024} KiB",
                    hint="send a long text in parts: each adds to the story",
                )
        if command_name(self.message or "") is not None:
            raise UsageError(
                f"{(self.message or '').strip()[:40]!r} is a slash command, not a message",
                hint="commands: " + ", ".join(f"/{c}" for c in SLASH_COMMANDS),
            )
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
    intent: str | None = None  # what the message was (issue 12: intent first)
    understood_by: str | None = None  # model | builtin: whose reading was recorded from
    fallback: str | None = None  # why not the model's reading (chat.backend = openai)

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
            "intent": self.intent,
            "understoodBy": self.understood_by,
            "fallback": self.fallback,
        }


def _user_content(req: TurnRequest, choice: str | None, filenames: list[str]) -> str:
    parts = [p for p in ((req.message or "").strip(), (req.custom or "").strip()) if p]
    if parts:
        return "\n\n".join(parts)
    if choice and choice != MANUAL_OVERRIDE:
        return f"Choose: {workflow.STEPS[choice].title}"
    return "Attached " + ", ".join(filenames)


@dataclass
class _Started:
    """What the first transaction of a turn stored and decided, for the two that follow."""

    chat_id: str
    project_id: str
    step: str
    choice: str | None  # the choice id the turn picks (resolved from a number)
    outcome: Outcome  # the engine's decision, from the project as it was then
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
    """One turn: understand and store the user's message, produce the reply, store it with
    the changes. Only story material is recorded; a choice moves; a question or small talk
    is answered from what the engine knows."""
    from moviecli.services.assistant import make_backend

    req.check()
    backend = backend or make_backend()
    attached: list[Attached] = []
    if req.attachments:
        with db.session() as session:
            target = project_for(session, actor, project_ref, session_ref)
        attached = attach_files(db, actor, target, req.attachments, req.attach_type)
    where = (project_ref, session_ref, new)
    started = _store_user_message(db, actor, req, attached, where, backend.name)
    user_text = req.message or req.custom or ""
    text, decision = _reply(db, backend, started, started.outcome, user_text, on_chunk)
    return _store_reply(db, started, decision, text, backend.name, attached)


def _store_user_message(
    db: Database,
    actor: User,
    req: TurnRequest,
    attached: list[Attached],
    where: tuple[str | None, str | None, bool],
    backend: str,
) -> _Started:
    """(1) Understand the message and decide the outcome (a usage error stores nothing),
    then commit the user's message at once."""
    with db.write() as session:
        picked = pick(session, actor, *where)
        chat = lock_row(session, ChatSession, picked.chat.id) or picked.chat
        project = picked.project
        step = project.current_phase
        facts = workflow.load_facts(session, project)
        story = dict(project.story or {})
        shown = list(chat.last_choices or []) or [c.as_json() for c in workflow.choices(facts)]
        understood = understand(req.message or "", step=step, shown=shown)
        choice = resolve_choice(req.choice, understood, shown, req.custom)
        files = tuple((a[1], a[2]) for a in attached)
        outcome, _ = compute_outcome(
            facts, story, understood, choice, at=utcnow(), attachments=files,
            already=tuple(a.filename for a in attached if a.present),
            override=(req.custom or "").strip() or None,
        )  # fmt: skip
        asked = _append_user_message(session, chat, req, choice, understood, attached, step)
        # the conversation before this message (which the backend gets on its own)
        history = []
        if backend != "builtin":
            earlier = recent_messages(session, chat, HISTORY_FOR_BACKEND + 1)[:-1]
            history = [(m.role, m.content) for m in earlier]
        return _Started(
            chat_id=chat.id,
            project_id=project.id,
            step=step,
            choice=choice,
            outcome=outcome,
            history=history,
            context_data=dict(chat.context_data or {}),
            project=_project_summary(project, story),
            notice=picked.notice,
            actor=actor,
            message_id=asked.id,
        )


def _append_user_message(
    session: Session,
    chat: ChatSession,
    req: TurnRequest,
    choice: str | None,
    understood: Understanding,
    attached: list[Attached],
    step: str,
) -> Message:
    if chat.session_state in ("paused", "error"):
        chat.session_state = "active"
    chat.current_step = step
    meta: dict[str, Any] = {"step": step}
    if understood.intent is not None:
        meta["intent"] = understood.intent
    if choice:
        meta["choiceId"] = choice
    chat.awaiting_user_input = False
    return append_message(
        session,
        chat,
        "user",
        _user_content(req, choice, [a[1] for a in attached]),
        attachments=[a[0] for a in attached],
        meta=meta,
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
) -> tuple[str, Decision]:
    """(2) The reply, outside any transaction; a failure is recorded, the message kept.
    Also the understanding the turn records from (a model's reading, when the engine
    takes it: ``structured.decide``)."""
    ctx = ReplyContext(started.project, outcome, user_text, started.history)
    ctx.context_data = started.context_data
    try:
        text = backend.reply(ctx, on_chunk)
    except BackendFailed as exc:
        _record_failure(db, started.chat_id, started.step, backend.name, str(exc))
        raise ChatBackendError(
            f"the chat backend failed: {exc}",
            hint=(
                f"your message is kept; moviecli session resume {started.chat_id[:8]}, "
                "or send again"
            ),
        ) from None
    if backend.name == "builtin":
        return text, Decision(outcome.understanding, "builtin")
    story = dict(started.project.get("story") or {})
    decision = decide(outcome.understanding, ctx.reading, ctx.problem, story, utcnow())
    return text, decision


def _store_reply(
    db: Database,
    started: _Started,
    decision: Decision,
    text: str,
    backend: str,
    attached: list[Attached],
) -> TurnResult:
    """(3) The reply and the state changes, in one short write transaction. The outcome is
    computed again from the project as it is now, under its lock, and the story changes
    are recorded (as revisions) from that. A model's prose is followed by the engine's
    own lines, written from that outcome."""
    from moviecli.services.assistant.builtin import render

    outcome = started.outcome
    with db.write() as session:
        project = lock_row(session, Project, started.project_id)
        chat = lock_row(session, ChatSession, started.chat_id)
        if project is None or chat is None:
            raise NotFound("the session or its project was deleted during the turn")
        now = utcnow()
        final, _ = compute_outcome(
            workflow.load_facts(session, project),
            dict(project.story or {}),
            decision.understanding,
            started.choice,
            at=now,
            attachments=outcome.attachments,
            already=outcome.already,
            override=outcome.override,
        )
        if backend == "builtin":
            if final != outcome:
                text = render(final)  # the project moved meanwhile: say what really happened
        else:
            engine = render(final, answer=not text)
            text = f"{text}\n\n{engine}" if text and engine else text or engine
        _apply_to_project(session, project, final, now, started)
        chat.current_step = final.applied.current_phase
        chat.last_choices = [c.as_json() for c in final.choices]
        chat.context_data = _context(chat.context_data, final, backend, attached, now)
        chat.awaiting_user_input = True
        if final.applied.workflow_completed:
            chat.session_state = "completed"
        elif chat.session_state != "completed":
            chat.session_state = "active"
        meta: dict[str, Any] = {"step": final.applied.current_phase, "backend": backend}
        if backend != "builtin" and final.understanding.intent is not None:
            meta["understoodBy"] = decision.by
            if decision.fallback:
                meta["fallback"] = decision.fallback
        if started.choice:
            meta["choiceId"] = started.choice
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
            intent=final.understanding.intent,
            understood_by=meta.get("understoodBy"),
            fallback=meta.get("fallback"),
        )


def _apply_to_project(
    session: Session, project: Project, final: Outcome, now: datetime, started: _Started
) -> None:
    """The story (recorded as revisions by the story service), the workflow position and
    the status a turn leaves the project with."""
    applied = final.applied
    updates = turn_updates(final.understanding, final.override, final.step)
    if updates:
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
    if changed:
        project.updated_at = now
    session.add(project)


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
    attached: list[Attached],
    now: datetime,
) -> dict[str, Any]:
    """contextData: what is local to the conversation (blocked reasons, this turn's
    attachments, the backend, the manual-override directions given in it)."""
    data = {k: v for k, v in (old or {}).items() if k not in ("error",)}
    data["blocked"] = outcome.blocked
    data["attachments"] = [a[0] for a in attached]
    data["backend"] = backend
    if outcome.override:
        directions = list(data.get("directions", []))
        directions.append(
            {
                "step": outcome.step,
                "text": outcome.override,
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
            facts, dict(project.story or {}), Understanding(None), None, at=utcnow()
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
            session=session_info(chat, project.title, actor.name, actor.email),
            project_title=project.title,
            notice=picked.notice,
            resumed=resumed,
            recent=recent,
            choices=fresh,
            progress=_progress(project),
        )
