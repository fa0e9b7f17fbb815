"""moviecli user …: accounts, roles, tiers and preferences."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from moviecli import render
from moviecli.cli.env import (
    JsonOpt,
    LimitOpt,
    PageOpt,
    YesOpt,
    acting,
    ask_password,
    ask_text,
    confirm,
    env,
    read_secret_from_stdin,
    read_secrets_from_stdin,
)
from moviecli.enums import ROLES, TIERS, completer

if TYPE_CHECKING:
    from moviecli.models import UserPublic, UserRef
    from moviecli.services.names import Names

app = typer.Typer(help="Users, roles, subscription tiers and preferences.", no_args_is_help=True)
prefs_app = typer.Typer(
    help="Your preferences (defaultGenre, defaultAudience, …).", invoke_without_command=True
)
app.add_typer(prefs_app, name="prefs")

UserArg = typer.Argument(None, metavar="USER", help="Email or id (default: you).")


def user_names(session: Any, actor: Any, user: UserPublic | UserRef) -> Names:
    """The titles of a user's active and current projects, as the actor may see them."""
    from moviecli.services import names

    current = getattr(user, "preferences", {}).get("currentProject")
    return names.lookup(session, actor, projects=[*getattr(user, "active_projects", []), current])


def show_user_record(user: UserPublic | UserRef, names: Names | None = None) -> None:
    from moviecli.models import UserPublic

    short = user.id[:8] if render.use_rich() else user.id
    if not isinstance(user, UserPublic):
        render.print_record(
            [("id", short), ("email", user.email), ("name", user.name)], title=user.name
        )
        return
    titles = names.projects if names else {}
    current = user.preferences.get("currentProject")
    sub = user.subscription
    pairs: list[tuple[str, Any]] = [
        ("id", short),
        ("email", user.email),
        ("name", user.name),
        ("role", user.role),
        ("tier", sub.tier),
        ("max projects", sub.max_projects),
        ("max episodes/project", sub.max_episodes_per_project),
        ("active projects", [render.named(titles.get(p), p) for p in user.active_projects]),
        ("current project", render.named(titles.get(current or ""), current)),
        ("created", user.created_at),
        ("updated", user.updated_at),
    ]
    if user.deleted_at:
        pairs.append(("deleted", user.deleted_at))
    render.print_record(pairs, title=user.name)


@app.command("create")
def create(
    email: str | None = typer.Option(
        None, "--email", help="Email address (unique; asked on a terminal)."
    ),
    name: str | None = typer.Option(None, "--name", help="Display name (asked on a terminal)."),
    role: str = typer.Option(
        "user", "--role", help="user, producer or admin.", autocompletion=completer(ROLES)
    ),
    tier: str = typer.Option(
        "free", "--tier", help="free, pro or enterprise.", autocompletion=completer(TIERS)
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from stdin."
    ),
    json_out: JsonOpt = False,
) -> None:
    """Create a user (admin only). On a terminal, what is not given is asked, each answer
    checked as it is typed (and asked again until it passes)."""
    from moviecli.services import users

    if email is None or name is None or not password_stdin:
        with acting() as (_, actor):  # not asking a non-admin for anything first
            users.check_can_create(actor)
    email = email or ask_text("Email:", flag="--email", check=users.email_problem)
    name = name or ask_text("Name:", flag="--name", check=users.name_problem)
    if password_stdin:
        password = read_secret_from_stdin()
    else:
        # No password is asked when the other fields are wrong; then each rule as typed.
        users.check_new_user(email=email, name=name, password=None, role=role, tier=tier)
        password = ask_password(
            "Password for the new user:",
            confirm=True,
            check=lambda typed: users.password_problem(typed, email),
        )
    with acting(write=True) as (session, actor):
        user = users.create_user(
            session, actor=actor, email=email, name=name, password=password, role=role, tier=tier
        )
        record = users.public(session, user)
    if json_out:
        render.print_json(record)
    else:
        render.say(
            f"Created {record.role} {record.email} ({record.id[:8]}, "
            f"{record.subscription.tier} tier)",
            quiet=env.quiet,
        )


@app.command("list")
def list_(
    deleted: bool = typer.Option(False, "--deleted", help="Include deleted users."),
    page: PageOpt = 1,
    limit: LimitOpt = 20,
    json_out: JsonOpt = False,
) -> None:
    """List users (admins see everyone; others see themselves)."""
    from moviecli.services import users

    with acting() as (session, actor):
        result = users.list_users(session, actor, deleted=deleted, page=page, limit=limit)
    if json_out:
        render.print_json(result)
        return
    rows = [
        (
            u.id[:8] if render.use_rich() else u.id,
            u.email,
            u.name,
            u.role,
            u.subscription.tier,
            f"{u.subscription.max_projects}/{u.subscription.max_episodes_per_project}",
            "deleted" if u.deleted_at else "active",
            u.created_at,
        )
        for u in result.items
    ]
    render.print_table(
        [
            render.Column("ID", no_wrap=True, key=True),
            render.Column("Email", key=True),
            render.Column("Name", priority=4),
            render.Column("Role", no_wrap=True, priority=3),
            render.Column("Tier", no_wrap=True, priority=2),
            render.Column("Limits", justify="right", no_wrap=True, priority=1),
            render.Column("State", no_wrap=True, priority=2),
            render.Column("Created", no_wrap=True, priority=1),
        ],
        rows,
        caption=render.page_caption(result.total, result.page, result.limit, "users"),
    )


@app.command("show")
def show(user: str | None = UserArg, json_out: JsonOpt = False) -> None:
    """Show a user (you, by default)."""
    from moviecli.services import users

    with acting() as (session, actor):
        record = users.show_user(session, actor, user)
        names = None if json_out else user_names(session, actor, record)
    if json_out:
        render.print_json(record)
    else:
        show_user_record(record, names)


@app.command("update")
def update(
    user: str | None = UserArg,
    name: str | None = typer.Option(None, "--name", help="New display name."),
    email: str | None = typer.Option(None, "--email", help="New email."),
    role: str | None = typer.Option(
        None, "--role", help="Admin only.", autocompletion=completer(ROLES)
    ),
    tier: str | None = typer.Option(
        None,
        "--tier",
        help="Admin only; resets the limits to the tier's.",
        autocompletion=completer(TIERS),
    ),
    max_projects: int | None = typer.Option(None, "--max-projects", help="Admin only."),
    max_episodes: int | None = typer.Option(
        None, "--max-episodes", help="Admin only; 1-50 episodes per project."
    ),
    json_out: JsonOpt = False,
) -> None:
    """Change a user's name or email (self or admin), role, tier or limits (admin)."""
    from moviecli.services import users

    changes = users.UserChanges(
        name=name,
        email=email,
        role=role,
        tier=tier,
        max_projects=max_projects,
        max_episodes=max_episodes,
    )
    with acting(write=True) as (session, actor):
        updated = users.update_user(session, actor, user, changes)
        record = users.public(session, updated)
    if json_out:
        render.print_json(record)
    else:
        render.say(f"Updated {record.email}", quiet=env.quiet)


@app.command("delete")
def delete(
    user: str = typer.Argument(..., metavar="USER", help="Email or id."),
    yes: YesOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Delete a user (admin only). Their projects, media and sessions stay."""
    from moviecli.services import users

    with acting() as (session, actor):
        target = users.user_to_delete(session, actor, user)
    confirm(f"Delete user {target.email}? They will no longer be able to log in.", yes=yes)
    with acting(write=True) as (session, actor):
        deleted = users.delete_user(session, actor, target.id)
        record = users.public(session, deleted)
    if json_out:
        render.print_json(record)
    else:
        render.say(f"Deleted user {record.email} (their content is kept)", quiet=env.quiet)


@app.command("passwd")
def passwd(
    user: str | None = typer.Argument(
        None, metavar="USER", help="Admins: another user's email or id (default: you)."
    ),
    password_stdin: bool = typer.Option(
        False,
        "--password-stdin",
        help="Read the passwords from stdin: for your own, two lines (the current password, "
        "then the new one); for another user's (admin), one line (the new password).",
    ),
) -> None:
    """Change your password (the current one is asked first), or, as an admin, another
    user's (no current password needed). Every other login of that user is signed out."""
    from moviecli.services import auth, users

    with acting() as (session, actor):  # not logged in: say so before asking for anything
        target = users.password_target(session, actor, user)
    own = target.id == actor.id
    current = None
    if password_stdin:
        if own:
            current, password = read_secrets_from_stdin(
                2, "two lines for your own password: the current one, then the new one"
            )
        else:
            password = read_secret_from_stdin()
    else:
        if own:
            current = ask_password("Current password:")
        password = ask_password(
            "New password:",
            confirm=True,
            check=lambda typed: users.password_problem(typed, target.email),
        )
    token = auth.read_token() if own else None
    revoked = users.set_password(
        env.database(),
        actor,
        target.id,
        password,
        current=current,
        keep_token_hash=auth.token_hash(token) if token else None,
    )
    whose = "Password" if own else f"Password of {target.email}"
    others = "other " if own else ""
    suffix = f"; signed out {revoked} {others}login(s)" if revoked else ""
    render.say(f"{whose} changed{suffix}.", quiet=env.quiet)


@app.command("unlock")
def unlock(
    user: str = typer.Argument(..., metavar="USER", help="Email (or id, without --local)."),
    local: bool = typer.Option(
        False,
        "--local",
        help="Without logging in, on a local SQLite database you can write: for the only "
        "admin, locked out. Not on PostgreSQL (another admin unlocks there).",
    ),
) -> None:
    """Lift a user's login lock (5 failed logins lock an account for 10 minutes): admin."""
    from moviecli.services import users

    if local:
        target, was_locked = users.unlock_local(env.database(), user)
    else:
        with acting(write=True) as (session, actor):
            target, was_locked = users.unlock_user(session, actor, user)
    render.say(
        f"Unlocked {target.email}: they can log in again."
        if was_locked
        else f"{target.email} was not locked; failed logins reset.",
        quiet=env.quiet,
    )


@prefs_app.callback()
def prefs(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Show your preferences, or get/set/unset one."""
    if ctx.invoked_subcommand is not None:
        return
    with acting() as (_, actor):
        preferences = actor.preferences
    if json_out:
        render.print_json(preferences)
    elif preferences:
        render.print_record(sorted(preferences.items()), title="Preferences")
    else:
        render.say("No preferences set (moviecli user prefs set KEY VALUE).")


PrefKeyArg = typer.Argument(
    ...,
    metavar="KEY",
    help="A preference: defaultGenre, defaultAudience, defaultEpisodes or your own.",
)


@prefs_app.command("get")
def prefs_get(key: str = PrefKeyArg, json_out: JsonOpt = False) -> None:
    """Print one preference."""
    from moviecli.services import users

    with acting() as (_, actor):
        value = users.get_preference(actor, key)
    if json_out or not isinstance(value, str):
        render.print_json(value)
    else:
        render.say(value)


@prefs_app.command("set")
def prefs_set(
    key: str = PrefKeyArg,
    value: str = typer.Argument(
        ...,
        metavar="VALUE",
        help="JSON when it parses as JSON (at most 64 KiB, nested 32 deep, no NaN).",
    ),
) -> None:
    """Set a preference (defaultGenre, defaultAudience, defaultEpisodes, or your own)."""
    from moviecli.services import users

    with acting(write=True) as (session, actor):
        stored = users.set_preference(session, actor, key, value)
    render.say(
        f"{key} = {json.dumps(render.jsonable(stored), ensure_ascii=False)}", quiet=env.quiet
    )


@prefs_app.command("unset")
def prefs_unset(key: str = PrefKeyArg) -> None:
    """Remove a preference."""
    from moviecli.services import users

    with acting(write=True) as (session, actor):
        removed = users.unset_preference(session, actor, key)
    render.say(f"Removed {key}" if removed else f"{key} was not set", quiet=env.quiet)
