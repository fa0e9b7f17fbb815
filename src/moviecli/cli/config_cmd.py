"""moviecli config …: read and edit config.toml."""

from __future__ import annotations

import typer

from moviecli import config, render
from moviecli.cli.env import JsonOpt, env

app = typer.Typer(help="Show and edit config.toml.", no_args_is_help=True)

KeyArg = typer.Argument(
    ...,
    metavar="KEY",
    help="Dotted key, e.g. database.url (see 'config show').",
    autocompletion=lambda incomplete: [k for k in config.KEYS if k.startswith(incomplete)],
)


@app.command("show")
def show(json_out: JsonOpt = False) -> None:
    """Show every known key: its value, where the value comes from (default, file,
    environment or the --db option), its default and what it means.

    --json prints {KEY: {value, source, default, environment, meaning}}, environment
    naming the variable that overrides the key (or null).
    """
    settings = config.settings(env.db_url)
    if json_out:
        render.print_json(
            {
                s.key: {
                    "value": s.value,
                    "source": s.source,
                    "default": s.default,
                    "environment": s.env,
                    "meaning": s.meaning,
                }
                for s in settings
            }
        )
        return

    def shown(value: object) -> object:
        return "—" if value is None else value

    def meaning(s: config.Setting) -> str:
        return s.meaning if s.env is None else f"{s.meaning}; {s.env} overrides it"

    if not render.use_rich():  # one column per field, for scripts
        render.print_table(
            ["key", "value", "source", "default", "meaning"],
            [(s.key, shown(s.value), s.source, shown(s.default), meaning(s)) for s in settings],
        )
        return
    # On a terminal the default goes with the source when the value is not the default,
    # so that both fit beside the value at 80 columns.
    rows = [
        (
            s.key,
            shown(s.value),
            s.source if s.value == s.default else f"{s.source} (default: {shown(s.default)})",
            meaning(s),
        )
        for s in settings
    ]
    render.print_table(
        [
            render.Column("Key", no_wrap=True, key=True),
            render.Column("Value", min_width=12, priority=4),
            render.Column("Source", min_width=12, priority=3),
            render.Column("Meaning", min_width=16, priority=1),
        ],
        rows,
        title=str(config.paths().config_file),
    )


@app.command("get")
def get(key: str = KeyArg, json_out: JsonOpt = False) -> None:
    """Print one key's value (empty when unset and without a default)."""
    value = config.get_value(key)
    if json_out:
        render.print_json(value)
    else:
        render.say("" if value is None else str(value))


@app.command("set")
def set_(
    key: str = KeyArg, value: str = typer.Argument(..., metavar="VALUE", help="The new value.")
) -> None:
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
