"""init, login, logout, whoami."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from moviecli import render
from moviecli.cli.env import (
    JsonOpt,
    acting,
    ask_password,
    ask_text,
    env,
    read_secret_from_stdin,
    stdin_is_terminal,
)
from moviecli.errors import AuthError

if TYPE_CHECKING:
    from moviecli.models import User
    from moviecli.storage.db import Database

PasswordStdin = typer.Option(
    False, "--password-stdin", help="Read the password from the first line of stdin."
)


def init(
    name: str | None = typer.Option(None, "--name", help="Name of the first admin."),
    email: str | None = typer.Option(None, "--email", help="Email of the first admin."),
    password_stdin: bool = PasswordStdin,
    json_out: JsonOpt = False,
) -> None:
    """Create the database, reference data and the first admin, and log that admin in.

    Safe to run again: it only adds what is missing. On a terminal each answer is checked
    as it is typed and asked again until it passes; a failed or interrupted first init
    leaves no database behind. Without a terminal, pass --name, --email and
    --password-stdin.
    """
    from moviecli.services import auth, setup, users

    database = env.database()
    password = None
    if not setup.has_admin(database):
        if not json_out and stdin_is_terminal():
            render.say("Welcome to moviecli. Let's create the first admin account.")
        # Each answer is checked as it is typed, and asked again until it passes.
        name = name or ask_text("Your name:", flag="--name", check=users.name_problem)
        email = email or ask_text("Your email:", flag="--email", check=users.email_problem)
        if password_stdin:
            password = read_secret_from_stdin()
        else:
            users.check_new_user(email=email, name=name, password=None)
            admin_email = email
            password = ask_password(
                "Choose a password:",
                confirm=True,
                check=lambda typed: users.password_problem(typed, admin_email),
            )
    elif password_stdin:
        # Re-running init with credentials logs that user in, like a fresh init would.
        password = read_secret_from_stdin()
    result = setup.initialise(database, name=name, email=email, password=password)
    token = None
    if password is not None and result.admin is not None:
        login_email = email or result.admin.email
        _, token = auth.login(database, login_email, password)
        auth.write_token(token)
    if json_out:
        render.print_json(
            {
                "database": database.describe(),
                "schemaRevision": result.schema.after,
                "schemaCreated": result.schema.before is None,
                "schemaRepaired": result.repaired is not None,
                "referenceAdded": result.added,
                "admin": {"id": result.admin.id, "email": result.admin.email}
                if result.admin
                else None,
                "adminCreated": result.admin_created,
                "loggedIn": token is not None,
            }
        )
        return
    quiet = env.quiet
    if result.repaired is not None:
        render.say(
            f"Repaired the schema revision: the tables are those of {result.repaired}, "
            "and alembic_version says so again",
            quiet=quiet,
        )
    if result.schema.before is None:
        render.say(f"Created the moviecli database in {database.describe()}", quiet=quiet)
    elif result.schema.before != result.schema.after:
        render.say(
            f"Upgraded database schema {result.schema.before} → {result.schema.after}", quiet=quiet
        )
        if result.schema.backup:
            render.say(f"Backup of the previous database: {result.schema.backup}", quiet=quiet)
    added = ", ".join(f"{n} {what}" for what, n in result.added.items() if n)
    render.say(
        f"Added reference data: {added}" if added else "Reference data: nothing missing",
        quiet=quiet,
    )
    assert result.admin is not None
    if result.admin_created:
        render.say(f"Created admin {result.admin.email} and logged in.", quiet=quiet)
    else:
        render.say(f"Admin {result.admin.email} already exists; nothing else to add.", quiet=quiet)
        if token is not None:
            render.say("Logged in.", quiet=quiet)
    if token is not None and stdin_is_terminal() and render.stdout_is_terminal():
        # A person at a terminal, just logged in: a first project, then the chat on it.
        from moviecli.cli import onboarding

        project_id = onboarding.offer_first_project()
        if project_id is not None:
            onboarding.open_chat(project_id)
        return
    render.note(
        'Next: moviecli project create "My Series" --template sitcom, '
        'then moviecli chat "My Series"',
        quiet=quiet,
    )


def login(
    email: str | None = typer.Argument(
        None, metavar="EMAIL", help="Your email (asked on a terminal)."
    ),
    password_stdin: bool = PasswordStdin,
    json_out: JsonOpt = False,
) -> None:
    """Log in and save a session token (valid 30 days; auth.token_days in config)."""
    from moviecli.services import auth, users

    email = email or ask_text("Email:", flag="EMAIL")
    database = env.database()
    if password_stdin:
        user, token = auth.login(database, email, read_secret_from_stdin())
    else:
        user, token = _login_at_the_terminal(database, email)
    path = auth.write_token(token)
    if json_out:
        with database.session() as session:
            render.print_json(users.public(session, user))
        return
    render.say(f"Logged in as {user.name} <{user.email}> (token saved to {path})", quiet=env.quiet)


PASSWORD_PROMPTS = 3


def _login_at_the_terminal(database: Database, email: str) -> tuple[User, str]:
    """Ask again after a wrong password (up to 3 times), saying how many tries are left
    before the account is locked."""
    from moviecli.services import auth

    lock = f"{auth.LOCKOUT.seconds // 60}-minute lock"
    for attempt in range(1, PASSWORD_PROMPTS + 1):
        password = ask_password("Password:")
        try:
            return auth.login(database, email, password)
        except auth.LoginFailed as exc:
            left = f"{exc.tries_left} {'try' if exc.tries_left == 1 else 'tries'} left"
            if attempt == PASSWORD_PROMPTS:
                raise AuthError(str(exc), hint=f"{left} before a {lock}") from exc
            sys.stderr.write(f"Wrong email or password; {left} before a {lock}.\n")
    raise AssertionError("unreachable")


def logout() -> None:
    """Revoke the saved session token and remove the token file."""
    from moviecli.services import auth

    revoked = auth.logout(env.database())
    render.say("Logged out." if revoked else "Not logged in; nothing to do.", quiet=env.quiet)


def whoami(json_out: JsonOpt = False) -> None:
    """Show the logged-in user."""
    from moviecli.cli.users import show_user_record, user_names
    from moviecli.services import users

    with acting() as (session, actor):
        record = users.public(session, actor)
        names = None if json_out else user_names(session, actor, record)
    if json_out:
        render.print_json(record)
        return
    show_user_record(record, names)
