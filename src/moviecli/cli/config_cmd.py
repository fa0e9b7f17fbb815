"""moviecli config …: read and edit config.toml."""

from __future__ import annotations

import typer

from moviecli import config, render
from moviecli.cli.env import JsonOpt, env

app = typer.Typer(help="Show and edit config.toml.", no_args_is_help=True)

KeyArg = typer.Argument(
    ...,
    help="Dotted key, e.g. database.url (see 'config show').",
    autocompletion=lambda incomplete: [k for k in config.KEYS if k.startswith(incomplete)],
)


@app.command("show")
def show(json_out: JsonOpt = False) -> None:
    """Show every known key with its value (unset keys show their default)."""
    values = config.effective()
    if json_out:
        render.print_json(values)
        return
    rows = [
        (name, "" if value is None else value, config.KEYS[name].help)
        for name, value in values.items()
    ]
    render.print_table(["Key", "Value", "Meaning"], rows, title=str(config.paths().config_file))


@app.command("get")
def get(key: str = KeyArg, json_out: JsonOpt = False) -> None:
    """Print one key's value (empty when unset and without a default)."""
    value = config.get_value(key)
    if json_out:
        render.print_json(value)
    else:
        render.say("" if value is None else str(value))


@app.command("set")
def set_(key: str = KeyArg, value: str = typer.Argument(..., help="The new value.")) -> None:
    """Set a key in config.toml (checked before it is written)."""
    stored = config.set_value(key, value)
    render.say(f"{key} = {stored}", quiet=env.quiet)


@app.command("unset")
def unset(key: str = KeyArg) -> None:
    """Remove a key from config.toml (it falls back to its default)."""
    removed = config.unset_value(key)
    render.say(f"Removed {key}" if removed else f"{key} was not set", quiet=env.quiet)


@app.command("path")
def path() -> None:
    """Print the path of config.toml."""
    render.say(str(config.paths().config_file))
