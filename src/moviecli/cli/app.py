"""The root command, the lazy tree of commands under it, and the one place where errors
become ``Error: …`` and exit codes.

Only supported parts of typer are used: a group class passed through ``typer.Typer(cls=…)``
(a subclass of ``typer.core.TyperGroup``, which keeps click's ``list_commands`` /
``get_command`` protocol), ``typer.main.get_command`` to build a command's click object,
and typer's public exceptions. Nothing here depends on a typer minor version.
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any, ClassVar

import typer
import typer.main
from typer.core import TyperArgument, TyperGroup, TyperOption

from moviecli import __version__
from moviecli.errors import ExitCode, MovieCliError

# Rich help on a terminal; plain help (and no rich import) when piped. The root and every
# command loaded under it share these settings, as typer's add_typer would pass them down.
MARKUP = "rich" if sys.stdout.isatty() else None
SETTINGS: dict[str, Any] = {"rich_markup_mode": MARKUP, "pretty_exceptions_enable": False}

# click's objects (Context, Command) are typed as Any here: typer bundles click privately
# and exports only its own subclasses of them.
Command = Any
Context = Any


class LazyGroup(TyperGroup):
    """click's lazy group ("Lazily Loading Subcommands" in click's documentation) as a typer
    group class: ``lazy_subcommands`` maps each command name to ``"module:attribute"`` (a
    ``typer.Typer`` sub-app or a command function), and a command's module is imported, and
    its click command built, only when the command line names it. Help and completion list
    every name (and so load them all), as they would without laziness.
    """

    lazy_subcommands: ClassVar[Mapping[str, str]] = {}

    def __init__(self, **attrs: Any) -> None:
        # Did-you-mean is ours (resolve_command): typer's looks only at loaded commands.
        self.suggest_names = attrs.pop("suggest_commands", True)
        super().__init__(suggest_commands=False, **attrs)

    def get_params(self, ctx: Context) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # with the help and completion options
        for param in params:
            light = _LIGHT.get(type(param))
            if light is not None:
                param.__class__ = light
        return params

    def list_commands(self, ctx: Context) -> list[str]:
        loaded = super().list_commands(ctx)
        return loaded + [name for name in self.lazy_subcommands if name not in loaded]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy_subcommands:
            command = load_command(cmd_name, self.lazy_subcommands[cmd_name])
            lighten(command, typer.Context(command, info_name=cmd_name, parent=ctx))
            self.add_command(command, cmd_name)
        return command

    def resolve_command(
        self, ctx: Context, args: list[str]
    ) -> tuple[str | None, Command, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except typer.TyperException as exc:  # click's "No such command" (a usage error)
            matches = difflib.get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if self.suggest_names and matches:
                suggestions = ", ".join(repr(m) for m in matches)
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {suggestions}?"
            raise


def load_command(name: str, target: str) -> Command:
    """The click command of ``target`` ("module:attribute"), named ``name``, built by typer
    with the root's settings (as ``add_typer`` / ``command`` on the root would)."""
    module_name, _, attribute = target.partition(":")
    obj = getattr(importlib.import_module(module_name), attribute)
    holder = typer.Typer(add_completion=False, **SETTINGS)
    holder.callback()(_nothing)  # always a group, whatever obj is
    if isinstance(obj, typer.Typer):
        holder.add_typer(obj, name=name)
    else:
        holder.command(name)(obj)
    return typer.main.get_command(holder).commands[name]  # type: ignore[attr-defined]


def _nothing() -> None:
    pass


# typer converts every parameter's value through a pydantic adapter, built on first use,
# even a value nobody gave (None), which it then hands back unchanged: a subcommand's
# --help or a TAB would import pydantic (about 80 ms) for the root's --db alone. These
# subclasses of typer's public parameter classes leave alone what needs no conversion, and
# give typer everything else.
def _light_value(param: Any, ctx: Context, value: Any, convert: Any) -> Any:
    if ctx.resilient_parsing:
        # completion: click parses without converting what it need not (no completer here
        # reads another parameter's value)
        return value
    if value is not None or param.required:
        try:
            converted = convert(ctx, value)
        except typer.BadParameter:
            plain = _number_problem(param)
            if plain is None:
                raise
            from moviecli.errors import ValidationFailed

            # typer's own words quote pydantic ("Input should be a valid integer, …")
            raise ValidationFailed({_field_name(param): plain}) from None
        return _utf8_only(param, converted)
    value = () if param.multiple or param.nargs == -1 else None
    if param.callback is not None:
        value = param.callback(ctx, param, value)
    return value


def _utf8_only(param: Any, value: Any) -> Any:
    """Text from the command line must be UTF-8 (issue 13 item 10). Linux hands bytes that
    are not over as lone surrogates, which no database, model or terminal takes; a path
    (converted to ``Path`` by now) may hold them: a file whose name is not UTF-8 is still
    a file."""
    from moviecli.text import is_utf8

    texts = value if isinstance(value, list | tuple) else [value]
    name = param.opts[0] if param.param_type_name == "option" else param.name.upper()
    for path in texts:
        if isinstance(path, PurePath):
            _path_fits(name, path)
    if all(is_utf8(text) for text in texts if isinstance(text, str)):
        return value
    from moviecli.errors import UsageError

    raise UsageError(f"{name} is {NOT_UTF8}")


def _number_problem(param: Any) -> str | None:
    """What a number option's value must be, in plain words (None: not a number option)."""
    import typing

    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    kinds = set(typing.get_args(annotation)) or {annotation}
    if bool in kinds:
        return None
    if int in kinds:
        return "must be a whole number"
    if float in kinds:
        return "must be a number"
    return None


def _field_name(param: Any) -> str:
    """An option's name as validation messages name fields (camelCase: episodeDuration)."""
    head, *rest = str(param.name).split("_")
    return head + "".join(part.title() for part in rest)


# What Linux takes (NAME_MAX, PATH_MAX): a longer path is no file at all, and every
# os call on it fails with ENAMETOOLONG, wherever the command would use it.
NAME_MAX = 255
PATH_MAX = 4095


def _path_fits(name: str, path: PurePath) -> None:
    longest = max((len(os.fsencode(part)) for part in path.parts), default=0)
    if longest > NAME_MAX or len(os.fsencode(path)) > PATH_MAX:
        from moviecli.errors import UsageError

        raise UsageError(
            f"{name} is too long a path (at most {NAME_MAX} bytes a name, {PATH_MAX} in all)"
        )


class _LightOption(TyperOption):
    def process_value(self, ctx: Context, value: Any) -> Any:
        return _light_value(self, ctx, value, super().process_value)


class _LightArgument(TyperArgument):
    def process_value(self, ctx: Context, value: Any) -> Any:
        return _light_value(self, ctx, value, super().process_value)


_LIGHT: dict[type, type] = {TyperOption: _LightOption, TyperArgument: _LightArgument}


def lighten(command: Command, ctx: Context) -> Command:
    """Give the light classes to ``command``'s parameters, its help option (made on first
    use, under the names its context inherits) and its subcommands'."""
    for param in [*command.params, command.get_help_option(ctx)]:
        light = _LIGHT.get(type(param))
        if light is not None:
            param.__class__ = light
    for name, sub in getattr(command, "commands", {}).items():
        lighten(sub, typer.Context(sub, info_name=name, parent=ctx))
    return command


class MovieCliGroup(LazyGroup):
    """Runs typer in non-standalone mode and reports every failure in one form:
    ``Error: <what> (<hint>)`` on stderr, plus ``{"error": …}`` on stdout with --json.
    """

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        from moviecli import files

        files.make_private()  # before anything is written: every file owner-only
        argv = list(sys.argv[1:] if args is None else args)
        want_json = "--json" in argv
        # Arguments that are not UTF-8 (Linux hands them over as lone surrogates) are echoed
        # as \udcff escapes, never a crash while printing; storing them is exit 2 (below).
        for stream, errors in (
            (sys.stdout, "backslashreplace"),
            (sys.stderr, "backslashreplace"),
            # whatever the locale: bytes that are not UTF-8 on stdin arrive as lone
            # surrogates, which every reader of stdin refuses with exit 2 (never a crash)
            (sys.stdin, "surrogateescape"),
        ):
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(errors=errors)
        try:
            code = super().main(
                args=argv,
                prog_name=prog_name or "moviecli",
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
            code = code if isinstance(code, int) else 0
            if code == ExitCode.INTERRUPTED:
                # typer turns a KeyboardInterrupt in a command into a silent Exit(130).
                sys.stderr.write("\n")
                report(ExitCode.INTERRUPTED, "interrupted", "interrupted", {}, want_json)
        except MovieCliError as exc:
            code = report(exc.exit_code, exc.code, str(exc), exc.details, want_json)
        except typer.TyperException as exc:  # click's errors: usage and the like
            code = report_click_error(exc, want_json)
        except (typer.Abort, KeyboardInterrupt, EOFError):
            sys.stderr.write("\n")
            code = report(ExitCode.INTERRUPTED, "interrupted", "interrupted", {}, want_json)
        except BrokenPipeError:
            # The reader went away (| head): stop quietly, as Unix tools do.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            code = ExitCode.UNEXPECTED
        except Exception as exc:
            if os.environ.get("MOVIECLI_DEBUG"):
                raise
            if isinstance(exc, UnicodeEncodeError) and exc.reason == "surrogates not allowed":
                # text from an argument that is not UTF-8, on its way into the database
                code = report(ExitCode.USAGE, "usage", f"an argument is {NOT_UTF8}", {}, want_json)
            else:
                code = report(
                    ExitCode.UNEXPECTED,
                    "unexpected",
                    f"unexpected error: {type(exc).__name__}: {exc} "
                    "(set MOVIECLI_DEBUG=1 to see the traceback)",
                    {},
                    want_json,
                )
        sys.exit(int(code))


NOT_UTF8 = "not valid UTF-8 text (pass text in UTF-8; a file whose name is not can still be added)"


def report_click_error(exc: typer.TyperException, want_json: bool) -> int:
    """A usage error (it carries its command's context, ``ctx``) is one line with a hint to
    the command's help; a group run without a command shows its help instead."""
    message = exc.format_message()
    if not hasattr(exc, "ctx"):  # not about usage: a file click could not open, …
        return report(ExitCode.USAGE, "usage", message, {}, want_json)
    ctx = exc.ctx
    if ctx is not None and ctx.command.no_args_is_help and _is_the_help(message, ctx):
        exc.show()  # type: ignore[attr-defined]
        return int(exc.exit_code)
    path = ctx.command_path if ctx is not None else "moviecli"
    message = f"{message.rstrip('.')} (see '{path} --help')"
    return report(ExitCode.USAGE, "usage", message, {}, want_json)


def _is_the_help(message: str, ctx: Context) -> bool:
    """typer reports a group run without a command (no_args_is_help) as a usage error whose
    message is the group's help, empty when the rich help has been printed already."""
    return message == "" if MARKUP is not None else message == ctx.get_help()


def report(code: int, kind: str, message: str, details: dict[str, Any], want_json: bool) -> int:
    from moviecli import render

    render.error_line(f"Error: {message}")
    for field, problem in details.items():
        render.error_line(f"  {field}: {problem}")
    if want_json:
        render.print_json({"error": {"code": kind, "message": message, "details": details}})
    return code


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"moviecli {__version__}\n")
        raise typer.Exit()


def root(
    db: str | None = typer.Option(
        None,
        "--db",
        metavar="URL",
        help="Database URL; default: MOVIECLI_DATABASE_URL, then config, then the SQLite file.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Silence progress output."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """moviecli: the production manager for AI-made movie series.

    Start with 'moviecli init'. Everything lives in MOVIECLI_HOME when it is set.
    """
    from moviecli.cli.env import env

    env.db_url = db
    env.quiet = quiet


def root_app(commands: Mapping[str, str]) -> typer.Typer:
    """The root typer app over ``commands`` (name → "module:attribute", in help order)."""
    group = type("MovieCli", (MovieCliGroup,), {"lazy_subcommands": dict(commands)})
    app = typer.Typer(
        cls=group,
        name="moviecli",
        help="Manage AI-made movie series from the terminal: projects, media and guided chat.",
        no_args_is_help=True,
        context_settings={"help_option_names": ["-h", "--help"]},
        **SETTINGS,
    )
    app.callback()(root)
    return app
