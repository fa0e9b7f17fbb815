"""moviecli chat: the guided production workflow, in three modes.

- one turn (``-m`` / ``--choice`` / ``--custom`` / ``--attach``): for scripts;
- line mode (stdin not a terminal): one line per turn, a number picks a choice, ``/…`` is
  a slash command; the session is paused at the end of input;
- the interactive REPL (a terminal): one prompt line where ↑/↓ highlight the choices and
  Enter or a digit picks one; Ctrl-C / Ctrl-D pause the session and leave (exit 0).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from moviecli import render
from moviecli.cli.env import JsonOpt, env, stdin_is_terminal
from moviecli.enums import MEDIA_TYPES, WORKFLOW_STEP_IDS, completer
from moviecli.errors import MovieCliError, UsageError
from moviecli.text import visible

if TYPE_CHECKING:
    from moviecli.models import User
    from moviecli.services.chat import Opened, TurnRequest, TurnResult
    from moviecli.storage.db import Database

CHOICE_IDS = (*WORKFLOW_STEP_IDS, "manual_override")

HELP = """\
  <number>          pick that choice (↑/↓ and Enter on a terminal)
  any other text    a message to the assistant
  /choices          show the choices again
  /progress         the phase checklist
  /history [N]      the last N messages (default 10)
  /attach FILE [T]  attach a file (T: its media type; inferred otherwise)
  /override TEXT    manual override: your own direction
  /pause            pause the session and leave
  /quit             leave (the session is paused)
  /help             this help"""


def chat(
    project: str | None = typer.Argument(
        None, metavar="[PROJECT]", help="Title, id or id prefix (default: your current project)."
    ),
    message: str | None = typer.Option(
        None, "--message", "-m", help="Send one message and exit ('-' reads it from stdin)."
    ),
    choice: str | None = typer.Option(
        None,
        "--choice",
        help="Pick a choice: a step id or manual_override.",
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

    With -m, --choice, --custom or --attach: one turn, then exit (--json prints
    {sessionId, response, choices, currentStep, progress, blocked}). Otherwise an
    interactive session on a terminal, or one line per turn from a pipe. The session is
    --session, else a new one with --new, else your latest open session on the project.
    """
    from moviecli.services import auth
    from moviecli.services import chat as chat_service

    if message == "-":
        message = sys.stdin.read()
    database = env.database()
    with database.session() as session:
        actor = auth.current_user(session)
    one_turn = message is not None or choice is not None or custom is not None or bool(attach)
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

    streamed = _Stream(enabled=not json_out)
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
    _print_choices(result.choices)
    render.note(f"(session {result.session_id[:8]})", quiet=env.quiet)


@dataclass
class _Stream:
    """Writes a streamed reply as it arrives; prints the whole reply otherwise."""

    enabled: bool
    written: list[str] = field(default_factory=list)

    def write(self, piece: str) -> None:
        if not self.enabled:
            return
        self.written.append(piece)
        sys.stdout.write(visible(piece))
        sys.stdout.flush()

    def finish(self, response: str) -> None:
        if "".join(self.written).strip() == response.strip():
            sys.stdout.write("\n")
        else:
            if self.written:  # the engine rewrote the reply after the stream: say it all
                sys.stdout.write("\n")
            sys.stdout.write(visible(response) + "\n")
        self.written.clear()


def _print_choices(choices: list[dict[str, Any]]) -> None:
    if not choices:
        return
    sys.stdout.write("\nChoices:\n")
    for line in _choice_lines(choices):
        sys.stdout.write(visible(line) + "\n")


def _choice_lines(choices: list[dict[str, Any]], highlight: int | None = None) -> list[str]:
    lines = []
    for number, c in enumerate(choices, start=1):
        star = " ★ recommended" if c.get("isRecommended") else ""
        mark = ">" if highlight == number - 1 else " "
        lines.append(
            f" {mark}{number}. {c['icon']} {c['title']}{star} ({c['estimatedTime']}): "
            f"{c['description']}"
        )
    return lines


# --- line mode and the REPL --------------------------------------------------------------------


class Leave(Exception):
    """A slash command or key asked to leave the chat."""


class Conversation:
    """The state of an interactive chat: the session, its last choices, its project."""

    def __init__(self, database: Database, actor: User, opened: Opened) -> None:
        self.database = database
        self.actor = actor
        self.session_id = opened.session.id
        self.project_title = opened.project_title
        self.choices: list[dict[str, Any]] = opened.choices
        self.opened = opened
        self.failed = False
        self.show_choices = False  # line mode prints them after each reply

    # shared ---------------------------------------------------------------------------------

    def banner(self) -> list[str]:
        o = self.opened
        step = o.session.current_step
        from moviecli.services.workflow import STEPS

        head = (
            f"{'Resumed' if o.resumed else 'Started'} session {o.session.id[:8]} on "
            f"{o.project_title!r}: {STEPS[step].title} "
            f"({o.progress.overall_progress}%, {len(o.progress.completed_steps)}/8 steps done)"
        )
        lines = [head]
        if o.notice:
            lines.insert(0, o.notice)
        if o.resumed and o.recent:
            lines.append("Recent messages:")
        shown = o.recent if o.resumed else o.recent[-1:]
        for m in shown:
            lines.extend(_message_lines(m.role, m.content, indent=o.resumed))
        lines.append("Type a message, a choice number, or /help.")
        return [visible(line) for line in lines]

    def turn(self, req: TurnRequest, out: Any) -> TurnResult | None:
        from moviecli.services import chat as chat_service

        streamed = _Stream(enabled=True)
        try:
            result = chat_service.take_turn(
                self.database,
                self.actor,
                req,
                session_ref=self.session_id,
                on_chunk=streamed.write,
            )
        except MovieCliError as exc:
            if streamed.written:
                sys.stdout.write("\n")
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
            sys.stdout.write("The workflow is complete: this session is closed.\n")
            raise Leave
        if self.show_choices:
            _print_choices(self.choices)
        return result

    def pick(self, number: int, out: Any, ask_custom: Any = None) -> None:
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
            self.turn(TurnRequest(choice=choice, custom=text), out)
            return
        self.turn(TurnRequest(choice=choice), out)

    def slash(self, line: str, out: Any) -> None:
        from moviecli.services.chat import TurnRequest

        name, _, rest = line[1:].strip().partition(" ")
        rest = rest.strip()
        if name in ("help", "h", "?"):
            out.write(HELP + "\n")
        elif name == "choices":
            for text in _choice_lines(self.choices):
                out.write(visible(text) + "\n")
        elif name == "progress":
            for text in self.progress_lines():
                out.write(text + "\n")
        elif name == "history":
            try:
                n = int(rest) if rest else 10
            except ValueError:
                render.error_line("Error: /history takes a number of messages")
                return
            for text in self.history_lines(max(1, min(n, 200))):
                out.write(text + "\n")
        elif name == "attach":
            if not rest:
                render.error_line("Error: /attach FILE [TYPE]")
                return
            parts = rest.rsplit(" ", 1)
            kind = None
            if len(parts) == 2 and parts[1] in MEDIA_TYPES:
                rest, kind = parts[0], parts[1]
            self.turn(TurnRequest(attachments=[Path(rest).expanduser()], attach_type=kind), out)
        elif name == "override":
            if not rest:
                render.error_line("Error: custom input required (/override TEXT)")
                return
            self.turn(TurnRequest(choice="manual_override", custom=rest), out)
        elif name in ("pause", "quit", "exit", "q"):
            raise Leave
        else:
            render.error_line(f"Error: unknown command /{name} (try /help)")

    def progress_lines(self) -> list[str]:
        from moviecli.cli.workflow_cmd import progress_lines
        from moviecli.services import workflow

        with self.database.session() as session:
            report = workflow.progress_report(session, self.actor, self.opened.session.project)
        return progress_lines(report)

    def history_lines(self, n: int) -> list[str]:
        from moviecli.services import chat as chat_service

        with self.database.session() as session:
            messages = chat_service.recent(session, self.actor, self.session_id, n)
        lines = []
        for m in messages:
            lines.extend(_message_lines(m.role, m.content, indent=True))
        return lines

    def leave(self) -> None:
        from moviecli.services import chat as chat_service

        if not chat_service.pause_quietly(self.database, self.actor, self.session_id):
            return
        sys.stdout.write(
            f"Session {self.session_id[:8]} paused. Resume with: moviecli chat "
            f"{visible(_quote(self.project_title))}\n"
        )

    # line mode ------------------------------------------------------------------------------

    def run_lines(self) -> int:
        out = sys.stdout
        for text in self.banner():
            out.write(text + "\n")
        _print_choices(self.choices)
        self.show_choices = True
        from moviecli.services.chat import TurnRequest

        try:
            for raw in sys.stdin:
                line = raw.rstrip("\r\n")
                if not line.strip():
                    continue
                out.write(f"> {visible(line)}\n")
                stripped = line.strip()
                if stripped.startswith("/"):
                    self.slash(stripped, out)
                    continue
                if stripped.isdigit():
                    self.pick(int(stripped), out)
                else:
                    self.turn(TurnRequest(message=line), out)
        except Leave:
            pass
        except KeyboardInterrupt:
            out.write("\n")
        self.leave()
        return 1 if self.failed else 0

    # the REPL -------------------------------------------------------------------------------

    def run_repl(self) -> int:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.filters import Condition
        from prompt_toolkit.formatted_text import FormattedText
        from prompt_toolkit.key_binding import KeyBindings

        from moviecli.services.chat import TurnRequest

        out = sys.stdout
        for text in self.banner():
            out.write(text + "\n")
        state = {"index": self._recommended()}
        bindings = KeyBindings()
        empty = Condition(lambda: not prompt.default_buffer.text)

        @bindings.add("up", filter=empty)
        def _up(event: Any) -> None:
            if self.choices:
                state["index"] = (state["index"] - 1) % len(self.choices)

        @bindings.add("down", filter=empty)
        def _down(event: Any) -> None:
            if self.choices:
                state["index"] = (state["index"] + 1) % len(self.choices)

        @bindings.add("enter")
        def _enter(event: Any) -> None:
            buffer = event.app.current_buffer
            if not buffer.text.strip() and self.choices:
                _picked(event, state["index"] + 1)
            else:
                buffer.validate_and_handle()

        def _picked(event: Any, number: int) -> None:
            # Leave the pick on the prompt line, so the scrollback shows what was chosen.
            event.app.current_buffer.text = f"{number}. {self.choices[number - 1]['title']}"
            event.app.exit(result=f"#{number}")

        for digit in "123456789":

            def _pick_digit(event: Any, digit: str = digit) -> None:
                if int(digit) <= len(self.choices):
                    _picked(event, int(digit))
                else:
                    event.app.current_buffer.insert_text(digit)

            bindings.add(digit, filter=empty)(_pick_digit)

        def message() -> FormattedText:
            parts: list[tuple[str, str]] = []
            for number, c in enumerate(self.choices, start=1):
                selected = number - 1 == state["index"]
                style = "reverse bold" if selected else ""
                star = " ★" if c.get("isRecommended") else ""
                parts.append(
                    (
                        style,
                        f" {'>' if selected else ' '} {number}. {c['icon']} {c['title']}{star}"
                        f" ({c['estimatedTime']}) ",
                    )
                )
                parts.append(("", "\n"))
            parts.append(("bold", "you> "))
            return FormattedText(parts)

        prompt: Any = PromptSession(message, key_bindings=bindings)

        def ask_custom() -> str:
            try:
                return str(PromptSession().prompt("Your direction (empty to cancel): ")).strip()
            except (KeyboardInterrupt, EOFError):
                return ""

        try:
            while True:
                state["index"] = self._recommended()
                try:
                    line = str(prompt.prompt())
                except (KeyboardInterrupt, EOFError):
                    out.write("\n")
                    break
                if line.startswith("#") and line[1:].isdigit():
                    self.pick(int(line[1:]), out, ask_custom)
                    continue
                stripped = line.strip()
                if not stripped:
                    continue
                if stripped.startswith("/"):
                    self.slash(stripped, out)
                elif stripped.isdigit() and 1 <= int(stripped) <= len(self.choices):
                    self.pick(int(stripped), out, ask_custom)
                else:
                    self.turn(TurnRequest(message=line), out)
        except Leave:
            pass
        except KeyboardInterrupt:  # Ctrl-C while a reply was being produced
            out.write("\n")
        self.leave()
        return 0

    def _recommended(self) -> int:
        for index, c in enumerate(self.choices):
            if c.get("isRecommended"):
                return index
        return 0


def _message_lines(role: str, content: str, *, indent: bool) -> list[str]:
    who = {"user": "you", "assistant": "assistant", "system": "system"}.get(role, role)
    lines = visible(content).splitlines() or [""]
    pad = "  " if indent else ""
    out = [f"{pad}{who}: {lines[0]}"]
    out.extend(f"{pad}{' ' * (len(who) + 2)}{line}" for line in lines[1:])
    return out


def _quote(title: str) -> str:
    import shlex

    return shlex.quote(title)
