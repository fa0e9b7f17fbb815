"""moviecli chat: the guided production workflow, in three modes.

- one turn (``-m`` / ``--choice`` / ``--custom`` / ``--attach``): for scripts; ``-m /CMD``
  runs a slash command instead (nothing is sent);
- line mode (stdin not a terminal): one line per turn (a line ending in ``\\`` goes on on
  the next), a number picks a choice, ``/…`` is a slash command; the session is paused at
  the end of input;
- the interactive REPL (a terminal): one prompt where ↑/↓ and Enter pick a choice, a
  message that is only a number picks that choice, a pasted block is one message and a
  line ending in ``\\`` (or Alt-Enter) goes on on the next; Ctrl-C / Ctrl-D pause the
  session and leave (exit 0).

On a terminal, replies wrap at word boundaries to its width.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from moviecli import render
from moviecli.cli.chat_screen import Screen, choice_lines, message_lines
from moviecli.cli.env import JsonOpt, env, stdin_is_terminal
from moviecli.enums import CHOICE_IDS, MEDIA_TYPES, completer
from moviecli.errors import MovieCliError, UsageError

if TYPE_CHECKING:
    from moviecli.models import User
    from moviecli.services.chat import Opened, TurnRequest, TurnResult
    from moviecli.storage.db import Database


def help_text() -> str:
    from moviecli.services.assistant.understanding import COMMAND_USAGE, SLASH_COMMANDS

    lines = [
        "  <number>          pick that choice (↑/↓ and Enter on a terminal)",
        "  any other text    a message to the assistant: story material is recorded,",
        "                    questions are answered ('what does this step need?')",
        "  line ending in \\  the message goes on on the next line (Alt-Enter too)",
    ]
    for name, what in SLASH_COMMANDS.items():
        lines.append(f"  {COMMAND_USAGE.get(name, '/' + name):<17} {what}")
    return "\n".join(lines)


def unknown_command(name: str) -> UsageError:
    from moviecli.services.assistant.understanding import SLASH_COMMANDS

    return UsageError(
        f"unknown command /{name}",
        hint="commands: " + ", ".join(f"/{c}" for c in SLASH_COMMANDS),
    )


def chat(
    project: str | None = typer.Argument(
        None, metavar="PROJECT", help="Title, id or id prefix (default: your current project)."
    ),
    message: str | None = typer.Option(
        None,
        "--message",
        "-m",
        help="Send one message and exit ('-' reads it from stdin; /CMD runs a slash command).",
    ),
    choice: str | None = typer.Option(
        None,
        "--choice",
        help="Pick a choice: a step id, manual_override, or the number shown.",
        autocompletion=completer(CHOICE_IDS),
    ),
    custom: str | None = typer.Option(
        None, "--custom", help="Your direction, for --choice manual_override."
    ),
    attach: list[Path] = typer.Option(
        [], "--attach", help="Attach a file as media of the project (repeatable)."
    ),
    attach_type: str | None = typer.Option(
        None,
        "--attach-type",
        help="Media type of the attachments (inferred from the file and step otherwise).",
        autocompletion=completer(MEDIA_TYPES),
    ),
    session_id: str | None = typer.Option(
        None, "--session", help="Continue this session (id or prefix)."
    ),
    new: bool = typer.Option(False, "--new", help="Start a new session."),
    json_out: JsonOpt = False,
) -> None:
    """Chat with the production assistant, which guides the project through the workflow.

    A message is understood before anything is recorded: only story material is kept
    (labels such as 'Concept: …', 'Character Mia: …', 'Scene Vault: …' work in any step);
    questions and small talk are answered; a message that is only a number or a step id
    picks that choice. Messages are limited to 64 KiB (send longer texts in parts).

    With -m, --choice, --custom or --attach: one turn, then exit (--json prints
    {sessionId, response, choices, currentStep, progress, blocked}). Otherwise an
    interactive session on a terminal, or one line per turn from a pipe. The session is
    --session, else a new one with --new, else your latest open session on the project.
    """
    req = _Request(project, message, choice, custom, list(attach), attach_type)
    _run(req, session_id, new, json_out)


@dataclass
class _Request:
    project: str | None
    message: str | None
    choice: str | None
    custom: str | None
    attach: list[Path]
    attach_type: str | None


def _run(args: _Request, session_id: str | None, new: bool, json_out: bool) -> None:
    """A command, one turn, or an interactive chat."""
    from moviecli.services import auth
    from moviecli.services import chat as chat_service
    from moviecli.services.assistant.understanding import command_name

    project, message, choice, custom = args.project, args.message, args.choice, args.custom
    attach, attach_type = args.attach, args.attach_type
    if message == "-":
        message = _read_stdin_message()
    database = env.database()
    with database.session() as session:
        actor = auth.current_user(session)
    one_turn = message is not None or choice is not None or custom is not None or bool(attach)
    command = command_name(message or "")
    if command is not None and choice is None and custom is None and not attach:
        _one_command(database, actor, message or "", project, session_id, new, json_out)
        return
    if one_turn:
        req = chat_service.TurnRequest(message, choice, custom, list(attach), attach_type)
        _one_turn(database, actor, req, project, session_id, new, json_out)
        return
    if json_out:
        raise UsageError("--json needs a turn to report", hint="pass -m MESSAGE or --choice ID")
    opened = chat_service.open_chat(
        database, actor, project_ref=project, session_ref=session_id, new=new
    )
    loop = Conversation(database, actor, opened)
    code = loop.run_repl() if stdin_is_terminal() else loop.run_lines()
    raise typer.Exit(code)


def _read_stdin_message() -> str:
    """``-m -``: the message from stdin, read no further than the size limit allows."""
    from moviecli.services.chat.turn import MAX_MESSAGE_BYTES

    data = sys.stdin.buffer.read(MAX_MESSAGE_BYTES + 1)
    if len(data) > MAX_MESSAGE_BYTES:
        raise UsageError(
            f"the message on stdin is over the limit of {MAX_MESSAGE_BYTES // 1024} KiB",
            hint="send a long text in parts: each adds to the story",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError("the message on stdin is not valid UTF-8 text") from None


def _one_turn(
    database: Database,
    actor: User,
    req: TurnRequest,
    project: str | None,
    session_id: str | None,
    new: bool,
    json_out: bool,
) -> None:
    from moviecli.services import chat as chat_service

    screen = Screen.for_stdout()
    streamed = screen.stream(enabled=not json_out)
    result = chat_service.take_turn(
        database,
        actor,
        req,
        project_ref=project,
        session_ref=session_id,
        new=new,
        on_chunk=streamed.write,
    )
    if json_out:
        render.print_json(result.as_json())
        return
    if result.notice:
        render.note(result.notice)
    streamed.finish(result.response)
    screen.choices(result.choices)
    render.note(f"(session {result.session_id[:8]})", quiet=env.quiet)


def _one_command(
    database: Database,
    actor: User,
    text: str,
    project: str | None,
    session_id: str | None,
    new: bool,
    json_out: bool,
) -> None:
    """``-m /CMD``: the slash command, as in the REPL; nothing is sent to the assistant
    (``/override`` and ``/attach`` are turns of their own)."""
    from moviecli.services import chat as chat_service
    from moviecli.services.assistant.understanding import SLASH_COMMANDS, command_name

    name = command_name(text) or ""
    rest = text.strip()[1:].partition(" ")[2].strip()
    if name not in SLASH_COMMANDS:
        raise unknown_command(name)
    if name in ("override", "attach"):
        req = _command_request(name, rest)
        _one_turn(database, actor, req, project, session_id, new, json_out)
        return
    if json_out:
        raise UsageError(f"--json does not apply to /{name}", hint="leave out --json")
    if name == "help":
        Screen.for_stdout().raw(help_text())
    elif name in ("story", "undo", "progress") and session_id is None:
        PROJECT_COMMANDS[name](database, actor, project)
    else:
        opened = chat_service.open_chat(
            database, actor, project_ref=project, session_ref=session_id, new=new
        )
        conversation = Conversation(database, actor, opened)
        try:
            conversation.slash(text.strip(), strict=True)
        except Leave:
            conversation.leave()


def _command_request(name: str, rest: str) -> TurnRequest:
    """The turn ``/override TEXT`` or ``/attach FILE [TYPE]`` asks for."""
    from moviecli.services.chat import TurnRequest

    if not rest and name == "override":
        raise UsageError("custom input required", hint="/override TEXT")
    if not rest:
        raise UsageError("/attach needs a file", hint="/attach FILE [TYPE]")
    if name == "override":
        return TurnRequest(choice="manual_override", custom=rest)
    parts = rest.rsplit(" ", 1)
    kind = None
    if len(parts) == 2 and parts[1] in MEDIA_TYPES:
        rest, kind = parts[0], parts[1]
    return TurnRequest(attachments=[Path(rest).expanduser()], attach_type=kind)


def show_story(database: Database, actor: User, project: str | None) -> None:
    from moviecli.cli.story import render_story
    from moviecli.services import story

    with database.session() as session:
        record = story.show(session, actor, project)
    render_story(record)


def undo_story(database: Database, actor: User, project: str | None) -> None:
    from moviecli.cli.story import say_undone
    from moviecli.services import story

    with database.write() as session:
        changed, undone = story.undo_story(session, actor, project)
        title = changed.title
    say_undone(title, undone)


def progress_lines_of(database: Database, actor: User, project: str | None) -> list[str]:
    from moviecli.cli.workflow_cmd import progress_lines
    from moviecli.services import projects

    with database.session() as session:
        report = projects.progress_report(session, actor, project)
    return progress_lines(report)


def show_progress(database: Database, actor: User, project: str | None) -> None:
    Screen.for_stdout().lines(progress_lines_of(database, actor, project))


PROJECT_COMMANDS = {"story": show_story, "undo": undo_story, "progress": show_progress}


# --- line mode and the REPL --------------------------------------------------------------------


class Leave(Exception):
    """A slash command or key asked to leave the chat."""


COMMANDS: dict[str, Any] = {
    "help": lambda c, rest: c.screen.raw(help_text()),
    "choices": lambda c, rest: c.screen.choices(c.choices, heading=False),
    "progress": lambda c, rest: show_progress(c.database, c.actor, c.project_id),
    "story": lambda c, rest: show_story(c.database, c.actor, c.project_id),
    "undo": lambda c, rest: undo_story(c.database, c.actor, c.project_id),
    "history": lambda c, rest: c.show_history(rest),
    "override": lambda c, rest: c.command_turn("override", rest),
    "attach": lambda c, rest: c.command_turn("attach", rest),
}


class Conversation:
    """The state of an interactive chat: the session, its last choices, its project."""

    def __init__(self, database: Database, actor: User, opened: Opened) -> None:
        self.database = database
        self.actor = actor
        self.session_id = opened.session.id
        self.project_id = opened.session.project
        self.project_title = opened.project_title
        self.choices: list[dict[str, Any]] = opened.choices
        self.opened = opened
        self.failed = False
        self.show_choices = False  # line mode prints them after each reply
        self.screen = Screen.for_stdout()

    # shared ---------------------------------------------------------------------------------

    def banner(self) -> list[str]:
        """Where the session stands; on resuming, the last exchange too."""
        from moviecli.services.workflow import STEPS

        o = self.opened
        step = o.session.current_step
        head = (
            f"{'Resumed' if o.resumed else 'Started'} session {o.session.id[:8]} on "
            f"{o.project_title!r}: {STEPS[step].title} "
            f"({o.progress.overall_progress}%, {len(o.progress.completed_steps)}/8 steps done)"
        )
        lines = [head]
        if o.notice:
            lines.insert(0, o.notice)
        shown = _last_exchange(o.recent) if o.resumed else o.recent[-1:]
        if o.resumed and shown:
            lines.append("Last exchange:")
        for m in shown:
            lines.extend(message_lines(m.role, m.content, indent=o.resumed))
        lines.append("Type a message, a choice number, or /help.")
        return lines

    def turn(self, req: TurnRequest) -> TurnResult | None:
        from moviecli.services import chat as chat_service

        streamed = self.screen.stream(enabled=True)
        try:
            result = chat_service.take_turn(
                self.database,
                self.actor,
                req,
                session_ref=self.session_id,
                on_chunk=streamed.write,
            )
        except MovieCliError as exc:
            streamed.abandon()
            render.error_line(f"Error: {exc}")
            self.failed = self.failed or exc.exit_code == 1
            return None
        streamed.finish(result.response)
        if result.notice:
            render.note(result.notice)
        self.session_id = result.session_id
        self.choices = result.choices
        self.failed = False
        if result.session_state == "completed":
            raise Leave  # the reply said so: the workflow is done, the session closed
        if self.show_choices:
            self.screen.choices(self.choices)
        return result

    def pick(self, number: int, ask_custom: Any = None) -> None:
        from moviecli.services.chat import TurnRequest

        if not 1 <= number <= len(self.choices):
            render.error_line(f"Error: no choice {number} (1-{len(self.choices)}; /choices)")
            return
        choice = self.choices[number - 1]["id"]
        if choice == "manual_override":
            text = ask_custom() if ask_custom is not None else None
            if not text:
                render.error_line(
                    "Error: custom input required (give your direction: /override TEXT)"
                )
                return
            self.turn(TurnRequest(choice=choice, custom=text))
            return
        self.turn(TurnRequest(choice=choice))

    def send(self, text: str, ask_custom: Any = None) -> None:
        """What the creator typed: a command, a pick, or a message for the assistant."""
        from moviecli.services.assistant.understanding import choice_number
        from moviecli.services.chat import TurnRequest

        stripped = text.strip()
        if not stripped:
            return
        if stripped.startswith("/"):
            self.slash(stripped)
            return
        number = choice_number(stripped)
        if number is not None and 1 <= number <= len(self.choices):
            self.pick(number, ask_custom)
            return
        self.turn(TurnRequest(message=text))

    def slash(self, line: str, *, strict: bool = False) -> bool:
        """Run a slash command; False (after the error line) when it could not run.
        ``strict`` (``-m /CMD``): errors are raised, for their exit codes."""
        from moviecli.services.assistant.understanding import command_name

        name = command_name(line) or ""
        rest = line.strip()[1:].partition(" ")[2].strip()
        try:
            if name in ("pause", "quit"):
                raise Leave
            if name not in COMMANDS:
                raise unknown_command(name)
            COMMANDS[name](self, rest)
        except MovieCliError as exc:
            if strict:
                raise
            render.error_line(f"Error: {exc}")
            return False
        return True

    def command_turn(self, name: str, rest: str) -> None:
        """/override and /attach: a turn (its error is shown, the session goes on)."""
        self.turn(_command_request(name, rest))

    def show_history(self, rest: str) -> None:
        try:
            n = int(rest) if rest else 10
        except ValueError:
            raise UsageError("/history takes a number of messages") from None
        self.screen.lines(self.history_lines(max(1, min(n, 200))))

    def history_lines(self, n: int) -> list[str]:
        from moviecli.services import chat as chat_service

        with self.database.session() as session:
            messages = chat_service.recent(session, self.actor, self.session_id, n)
        lines = []
        for m in messages:
            lines.extend(message_lines(m.role, m.content, indent=True))
        return lines

    def leave(self) -> None:
        from moviecli.services import chat as chat_service

        if not chat_service.pause_quietly(self.database, self.actor, self.session_id):
            return
        self.screen.line(
            f"Session {self.session_id[:8]} paused. Resume with: moviecli chat "
            f"{_quote(self.project_title)}"
        )

    # line mode ------------------------------------------------------------------------------

    def run_lines(self) -> int:
        self.screen.lines(self.banner())
        self.screen.choices(self.choices)
        self.show_choices = True
        try:
            for text in _joined_lines(sys.stdin):
                self.screen.line("> " + text.replace("\n", "\n  "))
                self.send(text)
        except Leave:
            pass
        except KeyboardInterrupt:
            self.screen.line("")
        self.leave()
        return 1 if self.failed else 0

    # the REPL -------------------------------------------------------------------------------

    def run_repl(self) -> int:
        from moviecli.cli.chat_prompt import ChatPrompt

        self.screen.lines(self.banner())
        prompt = ChatPrompt(self)
        try:
            while True:
                try:
                    text = prompt.ask()
                except (KeyboardInterrupt, EOFError):
                    self.screen.line("")
                    break
                if text.startswith("#") and text[1:].isdigit():
                    self.pick(int(text[1:]), prompt.ask_custom)
                else:
                    self.send(text, prompt.ask_custom)
        except Leave:
            pass
        except KeyboardInterrupt:  # Ctrl-C while a reply was being produced
            self.screen.line("")
        self.leave()
        return 0

    def recommended(self) -> int:
        for index, c in enumerate(self.choices):
            if c.get("isRecommended"):
                return index
        return 0


def _joined_lines(stream: Any) -> Any:
    """Lines of ``stream`` without their ends, blank ones skipped; a line ending in ``\\``
    goes on on the next (one message of several lines)."""
    held: list[str] = []
    for raw in stream:
        line = raw.rstrip("\r\n")
        if line.endswith("\\"):
            held.append(line[:-1])
            continue
        text = "\n".join([*held, line])
        held = []
        if text.strip():
            yield text
    if held and "\n".join(held).strip():
        yield "\n".join(held)


def _last_exchange(recent: list[Any]) -> list[Any]:
    """The last message of the creator and what followed it (the greeting when none)."""
    for index in range(len(recent) - 1, -1, -1):
        if recent[index].role == "user":
            return recent[index:]
    return recent[-1:]


def _quote(title: str) -> str:
    import shlex

    return shlex.quote(title)


__all__ = ["Conversation", "choice_lines", "help_text"]
