"""``session export --format markdown``: a session as a transcript a person reads.

A heading per workflow step (a new one whenever the conversation moves to another step),
who said what and when, the choices taken, attachments by filename. Text from users and
models is quoted line by line (``> ``) with its control characters made visible, so it
cannot break the document's structure or a terminal that shows the file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from moviecli.models import Media, Message, User
from moviecli.services.chat.sessions import describe, get_session
from moviecli.text import one_line, visible

ROLE_NAMES = {"assistant": "Assistant", "system": "System"}


def markdown(session: Session, actor: User, ref: str) -> str:
    """The whole session ``ref`` as Markdown."""
    from moviecli.services.workflow import OVERRIDE_CHOICE, STEPS

    chat = get_session(session, actor, ref)
    info = describe(session, chat)
    messages = session.exec(
        select(Message).where(col(Message.session_id) == chat.id).order_by(col(Message.seq))
    ).all()
    attached = {a for m in messages for a in (m.attachments or [])}
    files: dict[str, tuple[str, str]] = {}
    if attached:
        rows = session.exec(
            select(Media.id, Media.filename, Media.media_type).where(col(Media.id).in_(attached))
        ).all()
        files = {media_id: (name, kind) for media_id, name, kind in rows}

    def step_title(step: Any) -> str:
        if step == OVERRIDE_CHOICE.id:
            return OVERRIDE_CHOICE.title
        definition = STEPS.get(str(step))
        return definition.title if definition else one_line(str(step or "Conversation"))

    user_name = one_line(info.user_name) or "(deleted user)"
    lines = [
        f"# {one_line(info.project_title)}: chat session {info.id[:8]}",
        "",
        f"- Project: {one_line(info.project_title)} ({info.project[:8]})",
        f"- User: {user_name}",
        f"- State: {info.session_state}, at step {step_title(info.current_step)}",
        f"- Started: {_when(info.created_at)}; last message: {_when(info.updated_at)}",
        f"- Messages: {info.message_count}",
    ]
    current: Any = object()
    for m in messages:
        meta = dict(m.meta or {})
        step = meta.get("step")
        if step != current:
            current = step
            lines += ["", f"## {step_title(step)}"]
        who = user_name if m.role == "user" else ROLE_NAMES.get(m.role, m.role.title())
        choice = meta.get("choiceId")
        lines.append("")
        if m.role == "user" and choice:
            lines.append(f"**{who}** chose **{step_title(choice)}** · {_time(m)}")
            if m.content != f"Choose: {step_title(choice)}":  # more than the choice
                lines += ["", *_quoted(m.content)]
        else:
            lines += [f"**{who}** · {_time(m)}", "", *_quoted(m.content)]
        if m.attachments:
            named = []
            for media_id in m.attachments:
                name, kind = files.get(media_id, ("(deleted file)", ""))
                named.append(f"{one_line(name)} ({kind})" if kind else one_line(name))
            lines += ["", "Attached: " + ", ".join(named)]
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> list[str]:
    shown = visible(text).replace("\t", "    ").splitlines() or [""]
    return [f"> {line}".rstrip() for line in shown]


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _time(message: Message) -> str:
    return message.timestamp.strftime("%Y-%m-%d %H:%M")
