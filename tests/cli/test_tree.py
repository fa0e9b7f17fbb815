"""The command tree behind the lazy root (cli/app.py LazyGroup, cli/__init__.py COMMANDS):
the same commands, options and help as typer builds from the same apps, one module loaded
per command, help for a group run without a command (plain and rich), did-you-mean over
names not loaded yet."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import clitree


def _eager_root() -> Any:
    """What typer itself builds when every command is added to the root up front."""
    import importlib

    import typer
    import typer.main

    from moviecli.cli import COMMANDS
    from moviecli.cli.app import SETTINGS, root

    app = typer.Typer(add_completion=False, **SETTINGS)
    app.callback()(root)
    for name, target in COMMANDS.items():
        module, _, attribute = target.partition(":")
        obj = getattr(importlib.import_module(module), attribute)
        if isinstance(obj, typer.Typer):
            app.add_typer(obj, name=name)
        else:
            app.command(name)(obj)
    return typer.main.get_command(app)


def _shape(command: Any) -> dict[str, Any]:
    return {
        "help": command.help,
        "params": [
            (p.name, p.opts, p.secondary_opts, p.required, p.multiple, p.nargs, p.default)
            for p in command.params
        ],
    }


def test_the_lazy_tree_is_the_tree_typer_builds() -> None:
    lazy = {" ".join(path): _shape(cmd) for path, cmd in clitree.walk(clitree.root())}
    eager = {" ".join(path): _shape(cmd) for path, cmd in clitree.walk(_eager_root())}
    assert sorted(lazy) == sorted(eager)
    assert len(lazy) > 60  # every command, not only the top level
    for path in eager:
        assert lazy[path] == eager[path], path


def test_top_level_names_are_the_registry_in_order() -> None:
    from moviecli.cli import COMMANDS

    names = [name for name, _ in clitree.subcommands(clitree.root())]
    assert names == list(COMMANDS)
    assert names[:4] == ["init", "login", "logout", "whoami"]


def test_one_command_help(cli: Any, home: Path) -> None:
    result = cli("project", "list", "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: moviecli project list [OPTIONS]")
    for option in ("--status", "--sort", "--page", "--limit", "--json", "--help"):
        assert option in result.stdout
    assert result.stderr == ""


LOADED = """
import sys
from moviecli.cli import app
try:
    app(args=sys.argv[1:], prog_name="moviecli")
except SystemExit:
    pass
print(sorted(m for m in sys.modules if m.startswith("moviecli.cli.")))
"""


def _cli_modules(home: Path, *args: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOVIECLI_")}
    env["MOVIECLI_HOME"] = str(home)
    proc = subprocess.run(
        [sys.executable, "-c", LOADED, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    return eval(proc.stdout.strip().splitlines()[-1])  # a list literal we printed


def test_a_command_loads_only_its_own_module(home: Path) -> None:
    assert _cli_modules(home, "whoami", "--help") == [
        "moviecli.cli.app",
        "moviecli.cli.auth",
        "moviecli.cli.env",
    ]
    loaded = _cli_modules(home, "project", "list", "--help")
    assert "moviecli.cli.projects" in loaded
    assert not {"moviecli.cli.media", "moviecli.cli.chat", "moviecli.cli.users"} & set(loaded)


def test_root_help_lists_every_command(home: Path) -> None:
    from moviecli.cli import COMMANDS

    loaded = _cli_modules(home, "--help")
    for target in COMMANDS.values():
        assert target.partition(":")[0] in loaded


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("projct",), "No such command 'projct'. Did you mean 'project'? (see 'moviecli --help')"),
        (("whoam",), "No such command 'whoam'. Did you mean 'whoami'? (see 'moviecli --help')"),
        (
            ("project", "colab"),
            "No such command 'colab'. Did you mean 'collab'? (see 'moviecli project --help')",
        ),
    ],
)
def test_did_you_mean_sees_commands_not_loaded(
    cli: Any, home: Path, args: Any, message: str
) -> None:
    result = cli(*args)
    assert (result.exit_code, result.stderr, result.stdout) == (2, f"Error: {message}\n", "")


def _in_a_terminal(home: Path, *args: str) -> tuple[int, str]:
    """Run moviecli with stdout and stderr on a pseudo-terminal (rich help)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOVIECLI_")}
    env.update(MOVIECLI_HOME=str(home), COLUMNS="100", TERM="xterm")
    env.pop("NO_COLOR", None)
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moviecli", *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            proc.kill()
            raise AssertionError("no output in 60 s")
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(timeout=60), b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize("args", [(), ("project",), ("project", "collab")])
def test_a_group_without_a_command_shows_rich_help_on_a_terminal(home: Path, args: Any) -> None:
    code, text = _in_a_terminal(home, *args)
    assert code == 2
    assert "Usage:" in text and "─" in text  # a rich panel
    assert "Error" not in text
    assert " ".join(("moviecli", *args)) in text


def test_every_usage_line_brackets_an_optional_argument_once(cli: Any, home: Path) -> None:
    """click brackets an optional argument itself (a metavar of "[PROJECT]" printed
    "[[PROJECT]]"), and typer names an argument without a metavar by its parameter's
    name ("{title}")."""
    usages = {}
    for path, command in clitree.walk(clitree.root()):
        if command.params and not hasattr(command, "commands"):
            result = cli(*path, "--help")
            assert result.exit_code == 0, (path, result.stderr)
            usages[" ".join(path)] = result.stdout.splitlines()[0]
    assert not [usage for usage in usages.values() if "[[" in usage]
    # Arguments are named in capitals, as options' values are ({title} read as a typo).
    lower = {
        command: usage
        for command, usage in usages.items()
        if any(name != name.upper() for name in re.findall(r"[{\[]([^\]}]+)[}\]]", usage))
    }
    assert lower == {
        "apply": "Usage: moviecli apply [OPTIONS] {FILE.toml}",
        "template add": "Usage: moviecli template add [OPTIONS] {FILE.toml}",
    }
    assert usages["project create"] == "Usage: moviecli project create [OPTIONS] {TITLE}"
    assert usages["project show"] == "Usage: moviecli project show [OPTIONS] [PROJECT]"
    assert usages["user show"] == "Usage: moviecli user show [OPTIONS] [USER]"
    assert usages["schema"] == "Usage: moviecli schema [OPTIONS] [ENTITY]"


def test_every_argument_says_what_it_takes(cli: Any, home: Path) -> None:
    """An argument's help line names what to give (user prefs' KEY had none)."""
    bare = []
    for path, command in clitree.walk(clitree.root()):
        for param in getattr(command, "params", []):
            if param.param_type_name == "argument" and not getattr(param, "help", None):
                bare.append((" ".join(path), param.name))
    assert bare == []
    shown = cli("user", "prefs", "set", "--help")
    assert shown.exit_code == 0
    assert "A preference: defaultGenre, defaultAudience, defaultEpisodes" in shown.stdout
