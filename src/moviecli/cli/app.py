"""The root command, and the one place where errors become ``Error: …`` and exit codes."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import typer
import typer.core
from typer import _click  # typer ≥ 0.29 bundles its own click: catch its classes
from typer._coercion import RuntimeParam, TypeDescriptor
from typer.core import TyperGroup

from moviecli import __version__
from moviecli.errors import ExitCode, MovieCliError


class MovieCliGroup(TyperGroup):
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
        argv = list(sys.argv[1:] if args is None else args)
        want_json = "--json" in argv
        # Arguments that are not UTF-8 (Linux hands them over as lone surrogates) are echoed
        # as \udcff escapes, never a crash while printing; storing them is exit 2 (below).
        for stream in (sys.stdout, sys.stderr):
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(errors="backslashreplace")
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
        except _click.exceptions.NoArgsIsHelpError as exc:
            # A group run without a command: its help, not a one-line error (the rich help
            # has already been printed to stdout; the plain one is the exception's message).
            exc.show()
            code = exc.exit_code
        except _click.exceptions.UsageError as exc:
            path = exc.ctx.command_path if exc.ctx else "moviecli"
            message = exc.format_message().rstrip(".")
            code = report(
                ExitCode.USAGE, "usage", f"{message} (see '{path} --help')", {}, want_json
            )
        except _click.exceptions.ClickException as exc:
            code = report(ExitCode.USAGE, "usage", exc.format_message(), {}, want_json)
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
                code = report(ExitCode.USAGE, "usage", NOT_UTF8, {}, want_json)
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


NOT_UTF8 = (
    "an argument is not valid UTF-8 text "
    "(pass text in UTF-8; a file whose name is not can still be added)"
)


# typer 0.29 coerces every parameter value through a pydantic TypeAdapter, built on first
# use: the root's --db and -q on every subcommand would import pydantic (about 80 ms) for
# `config path` or `user --help`, which never need it. A value that already has its
# parameter's plain type (a str from the command line, a bool flag, an int default) is
# passed through as typer's own adapter would; anything else still goes to typer.
# typer is pinned to 0.29.x (pyproject); tests/test_startup.py notices if this stops working.
_PLAIN_TYPES = (str, bool, int)


@dataclass(frozen=True)
class _PlainParam(RuntimeParam):
    descriptor: TypeDescriptor

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        if type(value) is self.annotation:
            return value
        return _typer_build_runtime_param(self.descriptor).coerce(value, param=param, ctx=ctx)


_typer_build_runtime_param = typer.core.build_runtime_param  # type: ignore[attr-defined]


def _build_runtime_param(descriptor: TypeDescriptor) -> RuntimeParam:
    if (
        descriptor.annotation in _PLAIN_TYPES
        and descriptor.file_annotation is None
        and descriptor.parameter_info.parser is None
        and not descriptor.is_ranged
    ):
        return _PlainParam(
            annotation=descriptor.annotation,
            parameter_info=descriptor.parameter_info,
            descriptor=descriptor,
        )
    return _typer_build_runtime_param(descriptor)


typer.core.build_runtime_param = _build_runtime_param  # type: ignore[attr-defined]


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


app = typer.Typer(
    cls=MovieCliGroup,
    name="moviecli",
    help="Manage AI-made movie series from the terminal: projects, media and guided chat.",
    no_args_is_help=True,
    # rich help on a terminal; plain help (and no rich import) when piped.
    rich_markup_mode="rich" if sys.stdout.isatty() else None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
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
