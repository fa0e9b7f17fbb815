"""moviecli session …: chat sessions and their history."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from moviecli import render
from moviecli.cli.env import JsonOpt, LimitOpt, PageOpt, acting, env
from moviecli.enums import SESSION_STATES, completer
from moviecli.text import words

if TYPE_CHECKING:
    from moviecli.services.chat import MessageInfo, SessionInfo

app = typer.Typer(
    help="Chat sessions: list, history, export, pause/resume/close, search.",
    no_args_is_help=True,
)

SessionArg = typer.Argument(..., metavar="ID", help="Session id or prefix (4+ characters).")


def _short(identifier: str) -> str:
    return identifier[:8] if render.use_rich() else identifier


@app.command("list")
def list_(
    project: str | None = typer.Option(None, "--project", help="Only this project's sessions."),
    state: str | None = typer.Option(
        None,
        "--state",
        help="active, paused, completed or error.",
        autocompletion=completer(SESSION_STATES),
    ),
    all_: bool = typer.Option(
        False, "--all", help="Every session you may read, not only your own."
    ),
    page: PageOpt = 1,
    limit: LimitOpt = 20,
    json_out: JsonOpt = False,
) -> None:
    """Your chat sessions, most recently used first."""
    from moviecli.services import chat

    with acting() as (session, actor):
        result = chat.list_sessions(
            session,
            actor,
            project_ref=project,
            state=state,
            all_readable=all_,
            page=page,
            limit=limit,
        )
    if json_out:
        render.print_json(result)
        return
    if result.total == 0:
        render.say("No sessions yet. Start one: moviecli chat [PROJECT]")
        return
    render.print_table(
        [
            render.Column("ID", no_wrap=True, key=True),
            render.Column("Project", priority=5),
            render.Column("User", priority=4),  # the email: names are not unique
            render.Column("State", no_wrap=True, priority=3),
            render.Column("Step", no_wrap=True, priority=2),
            render.Column("Messages", justify="right", no_wrap=True, priority=2),
            render.Column("Updated", no_wrap=True, priority=1),
        ],
        [
            (
                _short(s.id),
                s.project_title,
                s.user_email,
                s.session_state,
                s.current_step,
                s.message_count,
                render.ago(s.updated_at) if render.use_rich() else s.updated_at,
            )
            for s in result.items
        ],
        caption=render.page_caption(result.total, result.page, result.limit, "sessions"),
    )


@app.command("show")
def show(
    session_id: str = SessionArg,
    page: int | None = typer.Option(
        None, "--page", help="Page of the history, from the oldest (default: the newest)."
    ),
    limit: LimitOpt = 20,
    json_out: JsonOpt = False,
) -> None:
    """A session and one page of its messages (the newest page by default)."""
    from moviecli.services import chat

    with acting() as (session, actor):
        info, result = chat.history(session, actor, session_id, page=page, limit=limit)
    if json_out:
        data: dict[str, Any] = render.jsonable(result)
        data["session"] = render.jsonable(info)
        render.print_json(data)
        return
    _render_session(info)
    for m in result.items:
        _render_message(m)
    caption = render.page_caption(result.total, result.page, result.limit, "messages")
    if caption:
        render.note(caption)


def _render_session(s: SessionInfo) -> None:
    render.print_record(
        [
            ("session", _short(s.id)),
            ("project", render.named(s.project_title, s.project)),
            ("user", f"{s.user_name} <{s.user_email}>" if s.user_email else s.user_name),
            ("state", s.session_state),
            ("step", s.current_step),
            ("messages", s.message_count),
            ("awaiting input", "yes" if s.awaiting_user_input else "no"),
            ("choices", [c["id"] for c in s.last_choices]),
            ("updated", s.updated_at),
        ],
        title="Session",
    )


def _render_message(m: MessageInfo) -> None:
    stamp = render.when(m.timestamp)
    extra = f" [{', '.join(m.attachments)}]" if m.attachments else ""
    if render.use_rich():
        from rich.panel import Panel

        style = {"user": "cyan", "assistant": "green", "system": "red"}.get(m.role, "")
        render.console().print(
            Panel(
                render.styled(m.content),
                title=render.styled(f"{m.role} #{m.id} · {stamp}{extra}", style),
                title_align="left",
                border_style=style,
            )
        )
        return
    render.say(f"--- {m.role} #{m.id} {render.iso(m.timestamp)}{extra}")
    render.say(m.content)


@app.command("export")
def export(
    session_id: str = SessionArg,
    fmt: str = typer.Option(
        "json",
        "--format",
        help="json (the session with conversationHistory, its messages) or markdown "
        "(a transcript to read).",
        autocompletion=completer(("json", "markdown")),
    ),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to FILE."),
    force: bool = typer.Option(False, "--force", help="Replace FILE if it exists."),
) -> None:
    """Export a whole session (stdout by default).

    json: the session's fields with conversationHistory, the seed's array of messages
    (camelCase, as --json prints). markdown: a transcript with a heading per workflow
    step, who said what and when, the choices taken and attachments by filename. A file
    is written owner-only and atomically; one that exists is replaced only with --force
    (exit 5 otherwise).
    """
    import json

    from moviecli.errors import ValidationFailed
    from moviecli.services import chat, outfile

    if fmt not in ("json", "markdown"):
        raise ValidationFailed({"format": f"{fmt!r} is not one of: json, markdown"})
    if output is not None:
        outfile.check_output(output, force=force)
    with acting() as (session, actor):
        if fmt == "markdown":
            text = chat.transcript(session, actor, session_id)
        else:
            data = chat.export(session, actor, session_id)
            text = json.dumps(render.jsonable(data), ensure_ascii=False, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    outfile.write_file(output, text, force=force)
    render.note(f"Wrote {output}", quiet=env.quiet)


def _state_change(session_id: str, action: str, json_out: bool) -> None:
    from moviecli.services import chat

    with acting(write=True) as (session, actor):
        info, old = chat.set_state(session, actor, session_id, action)
    if json_out:
        render.print_json(info)
    elif old == info.session_state:
        render.say(f"Session {info.id[:8]} is already {old}", quiet=env.quiet)
    else:
        render.say(f"Session {info.id[:8]}: {old} → {info.session_state}", quiet=env.quiet)
    if not json_out and info.session_state == "active":
        render.say(f"Continue it with: {continue_command(info)}", quiet=env.quiet)


def continue_command(info: SessionInfo) -> str:
    """The command that goes on with this session, in the chat."""
    import shlex

    return f"moviecli chat {shlex.quote(info.project_title)} --session {info.id[:8]}"


@app.command("pause")
def pause(session_id: str = SessionArg, json_out: JsonOpt = False) -> None:
    """Pause a session (sending to it again makes it active)."""
    _state_change(session_id, "pause", json_out)


@app.command("resume")
def resume(session_id: str = SessionArg, json_out: JsonOpt = False) -> None:
    """Make a paused or errored session active again."""
    _state_change(session_id, "resume", json_out)


@app.command("close")
def close(session_id: str = SessionArg, json_out: JsonOpt = False) -> None:
    """Close a session (completed, read-only from then on)."""
    _state_change(session_id, "close", json_out)


@app.command("search")
def search(
    text: str = typer.Argument(..., metavar="TEXT", help="Words to find (all must match)."),
    project: str | None = typer.Option(None, "--project", help="Only this project."),
    page: PageOpt = 1,
    limit: LimitOpt = 20,
    json_out: JsonOpt = False,
) -> None:
    """Full-text search over the messages you may read, newest first."""
    from moviecli.services import chat

    with acting() as (session, actor):
        result = chat.search(session, actor, text, project_ref=project, page=page, limit=limit)
    if json_out:
        render.print_json(result)
        return
    if result.total == 0:
        render.say(f"No messages match {text!r}.")
        return
    render.print_table(
        [
            render.Column("Session", no_wrap=True, key=True),
            render.Column("Message", justify="right", no_wrap=True, key=True),
            render.Column("Role", no_wrap=True, priority=2),
            render.Column("When", no_wrap=True, priority=1),
            render.Column("Snippet", min_width=20, priority=3),
        ],
        [
            (
                _short(h.session_id),
                h.message_id,
                h.role,
                h.timestamp,
                render.highlight(h.snippet, words(text)) if render.use_rich() else h.snippet,
            )
            for h in result.items
        ],
        caption=render.page_caption(
            result.total,
            result.page,
            result.limit,
            "matches",
        ),
    )
