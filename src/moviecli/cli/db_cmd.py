"""moviecli db …: schema migrations, checks and backups."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from moviecli import render
from moviecli.cli.env import JsonOpt, env
from moviecli.errors import ExitCode

if TYPE_CHECKING:
    from moviecli.services.dbadmin import CheckResult

app = typer.Typer(help="Database schema, checks and backups.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(json_out: JsonOpt = False) -> None:
    """Migrate the database to this version's schema (SQLite files are backed up first)."""
    from moviecli.services import dbadmin

    database = env.database()
    result = dbadmin.upgrade(database)
    if json_out:
        render.print_json(
            {
                "before": result.before,
                "after": result.after,
                "backup": str(result.backup) if result.backup else None,
            }
        )
    elif result.before == result.after:
        render.say(f"Already at the latest schema ({result.after}).", quiet=env.quiet)
    else:
        render.say(
            f"Upgraded {database.describe()}: {result.before or 'empty'} → {result.after}",
            quiet=env.quiet,
        )
        if result.backup:
            render.say(f"Backup of the previous database: {result.backup}", quiet=env.quiet)


@app.command("current")
def current(json_out: JsonOpt = False) -> None:
    """Show the database's schema revision."""
    from moviecli.storage import schema

    database = env.database()
    revision = database.current_revision() if database.exists() else None
    if json_out:
        render.print_json(
            {
                "database": database.describe(),
                "revision": revision,
                "head": schema.HEAD,
                "upToDate": revision == schema.HEAD,
            }
        )
        return
    state = "up to date" if revision == schema.HEAD else f"latest is {schema.HEAD}"
    render.say(f"{database.describe()}: {revision or 'no schema'} ({state})")


@app.command("history")
def history(json_out: JsonOpt = False) -> None:
    """List the schema migrations, oldest first."""
    from moviecli.services import dbadmin

    revisions = dbadmin.history(env.database())
    if json_out:
        render.print_json(revisions)
        return
    render.print_table(
        [
            render.Column("Revision", no_wrap=True, key=True),
            render.Column("Down", no_wrap=True, priority=1),
            render.Column("Head", no_wrap=True, priority=2),
            render.Column("Current", no_wrap=True, priority=2),
            render.Column("Description", min_width=20, priority=3),
        ],
        [
            (
                r.revision,
                r.down_revision or "",
                "yes" if r.is_head else "",
                "yes" if r.is_current else "",
                r.doc.splitlines()[0] if r.doc else "",
            )
            for r in revisions
        ],
    )


@app.command("check")
def check(json_out: JsonOpt = False) -> None:
    """Check the database and the media store.

    The schema against the code's models, the database's integrity check, and the store
    against the records: every record's file present and its bytes what its sha256 says
    (each file read once), no file without a record. Exits 6 when anything is wrong;
    warns when other users can read the database file.
    """
    from moviecli.services import dbadmin

    database = env.database()
    database.check_schema()
    result = dbadmin.check(database)
    if json_out:
        render.print_json(
            {
                "revision": result.revision,
                "ok": result.ok,
                "schemaDifferences": result.schema_differences,
                "integrity": result.integrity,
                "store": render.jsonable(result.store),
                "warnings": result.warnings,
            }
        )
    else:
        _report_check(result)
    if not result.ok:
        raise typer.Exit(ExitCode.STORAGE)


def _report_check(result: CheckResult) -> None:
    render.say(f"schema revision: {result.revision}")
    render.say(
        "schema matches the models"
        if not result.schema_differences
        else "schema differs from the models:"
    )
    for diff in result.schema_differences:
        render.say(f"  {diff}")
    render.say("integrity: " + "; ".join(result.integrity))
    store = result.store
    if store is not None:
        state = "ok" if store.ok else "problems below"
        render.say(f"store: {render.one_line(store.root)}, {store.files} files, {state}")
        for record in store.missing:
            render.say(f"store: the file of {record} is missing")
        for record in store.corrupt:
            render.say(f"store: the file of {record} does not match its sha256")
        for sha in store.unreferenced:
            render.say(f"store: no record uses the file {sha}")
        if store.pending:
            render.say(
                f"store: {store.pending} interrupted operations "
                "(the next media command finishes them)"
            )
    for warning in result.warnings:
        render.say(f"warning: {render.one_line(warning)}")


@app.command("backup")
def backup(
    dest: Path = typer.Argument(
        ..., metavar="DEST", help="File (or directory) to write the copy to."
    ),
    json_out: JsonOpt = False,
) -> None:
    """Copy the SQLite database safely while it is in use (PostgreSQL: use pg_dump)."""
    from moviecli.services import dbadmin

    with render.progress(quiet=env.quiet, json_out=json_out) as progress:
        written = dbadmin.backup_sqlite(env.database(), dest, progress=progress)
    if json_out:
        render.print_json({"backup": str(written)})
    else:
        render.say(f"Backed up to {written}", quiet=env.quiet)
