"""Users, roles, subscription tiers and preferences (SPEC section 2)."""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from moviecli import suggest
from moviecli.enums import AUDIENCES, GENRES, ROLES, TIERS
from moviecli.errors import (
    AuthError,
    Conflict,
    NotFound,
    PermissionDenied,
    UsageError,
    ValidationFailed,
)
from moviecli.models import (
    ActiveProject,
    LoginFailure,
    LoginToken,
    User,
    UserPublic,
    UserRef,
    utcnow,
)
from moviecli.services import access, limits
from moviecli.services.pagination import Page, paginate
from moviecli.services.passwords import hash_password
from moviecli.services.resolve import by_id_or_prefix, user_by_email
from moviecli.storage.db import Database, lock_row
from moviecli.text import bracket_depth, fold

MIN_PASSWORD = 10
# Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is not ours
# to judge; typos like "alice@example" or "alice.example.com" are.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def _check_email(email: str, problems: dict[str, str]) -> str:
    email = email.strip()
    if not email:
        problems["email"] = "is required"
    elif len(email) > 320 or not _EMAIL.match(email):
        problems["email"] = f"{email!r} is not a valid email address"
    return email


def _check_name(name: str, problems: dict[str, str]) -> str:
    name = name.strip()
    if not name:
        problems["name"] = "is required"
    elif len(name) > 200:
        problems["name"] = "must be at most 200 characters"
    return name


def email_problem(email: str) -> str | None:
    """What is wrong with ``email`` as an account's email (asked again on a terminal)."""
    problems: dict[str, str] = {}
    _check_email(email, problems)
    return problems.get("email")


def name_problem(name: str) -> str | None:
    problems: dict[str, str] = {}
    _check_name(name, problems)
    return problems.get("name")


def check_new_user(
    *, email: str, name: str, password: str | None, role: str = "user", tier: str = "free"
) -> tuple[str, str, str, str]:
    """Every field of a new user checked at once (exit 2 listing them), before anything is
    written or, with ``password`` None, before the password is asked; the email, name,
    role and tier as they are stored."""
    problems: dict[str, str] = {}
    email = _check_email(email, problems)
    name = _check_name(name, problems)
    role = _check_enum("role", role, ROLES, problems)
    tier = _check_enum("subscription.tier", tier, TIERS, problems)
    problem = password_problem(password, email) if password is not None else None
    if problem is not None:
        problems["password"] = problem
    if problems:
        raise ValidationFailed(problems)
    return email, name, role, tier


def _check_enum(field: str, value: str, allowed: tuple[str, ...], problems: dict[str, str]) -> str:
    """``value`` as the allowed value it names, whatever its case."""
    return suggest.pick(value, allowed, field, problems)


def password_problem(password: str, email: str) -> str | None:
    """Which password rule ``password`` breaks for the account ``email``, or None.

    The one place the rules live (init, user create, user passwd): not blank, at least
    MIN_PASSWORD characters, and not the email's name part (nor containing it, when that
    part has 3 characters or more: "a@x.org" must not forbid every password with an "a").
    """
    if not password.strip():
        return "must not be blank"
    if len(password) < MIN_PASSWORD:
        return f"must be at least {MIN_PASSWORD} characters"
    local = fold(email.strip().rpartition("@")[0] if "@" in email else email.strip())
    folded = fold(password)
    if local and (folded == local or (len(local) >= 3 and local in folded)):
        return "must not contain the name part of the email address"
    return None


def check_password(password: str, email: str) -> None:
    problem = password_problem(password, email)
    if problem is not None:
        raise ValidationFailed({"password": problem})


def _email_taken(session: Session, email: str, *, except_id: str | None = None) -> None:
    other = user_by_email(session, email)
    if other is not None and other.id != except_id:
        raise Conflict(f"a user with email {other.email} already exists")


def create_user(
    session: Session,
    *,
    actor: User | None,
    email: str,
    name: str,
    password: str,
    role: str = "user",
    tier: str = "free",
) -> User:
    """Create a user. ``actor`` None is the bootstrap of ``init`` (the first admin)."""
    if actor is not None:
        access.require_admin(actor, "create users")
    email, name, role, tier = check_new_user(
        email=email, name=name, password=password, role=role, tier=tier
    )
    _email_taken(session, email)
    max_projects, max_episodes = limits.tier_limits(tier)
    user = User(
        email=email,
        name=name,
        role=role,
        tier=tier,
        max_projects=max_projects,
        max_episodes_per_project=max_episodes,
        password_hash=hash_password(password),
    )
    session.add(user)
    _flush_unique(session, email)
    return user


def _flush_unique(session: Session, email: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent create won the race for this email
        raise Conflict(f"a user with email {email} already exists") from exc


def _closest_emails(session: Session, actor: User, ref: str) -> str | None:
    """Did you mean …? among every user's email, for an admin only: others name another
    user by their exact email, and a suggestion would tell them who has an account."""
    if not access.is_admin(actor):
        return None
    emails = session.exec(select(User.email).where(col(User.deleted_at).is_(None))).all()
    return suggest.did_you_mean(ref, emails)


def resolve_user(session: Session, actor: User, ref: str) -> User:
    """A user named by email (case-insensitive) or id/prefix, among those the actor sees.

    Non-admins see only themselves by id, but anyone may name another user by exact email
    (deleted users only for admins).
    """
    ref = ref.strip()
    if "@" in ref:
        user = user_by_email(session, ref)
        if user is None or (user.deleted_at is not None and not access.is_admin(actor)):
            raise NotFound(f"user {ref!r} not found", hint=_closest_emails(session, actor, ref))
        return user
    where = None if access.is_admin(actor) else col(User.id) == actor.id
    return by_id_or_prefix(
        session,
        User,
        ref,
        what="user",
        where=where,
        describe=lambda u: f"{u.id[:8]} {u.email}",
    )


def public(session: Session, user: User) -> UserPublic:
    active = session.exec(
        select(ActiveProject.project_id)
        .where(ActiveProject.user_id == user.id)
        .order_by(col(ActiveProject.added_at))
    ).all()
    return UserPublic.of(user, list(active))


def show_user(session: Session, actor: User, ref: str | None) -> UserPublic | UserRef:
    """Full record for self or an admin; id, name and email of another user otherwise."""
    user = actor if ref is None else resolve_user(session, actor, ref)
    if access.can_see_user(actor, user):
        return public(session, user)
    return UserRef(id=user.id, email=user.email, name=user.name)


def list_users(
    session: Session, actor: User, *, deleted: bool = False, page: int = 1, limit: int = 20
) -> Page[UserPublic]:
    """Admins list every user (``deleted`` adds the deleted ones); others only themselves."""
    stmt = select(User).order_by(col(User.created_at), col(User.id))
    if not access.is_admin(actor):
        stmt = stmt.where(User.id == actor.id)
    if not deleted:
        stmt = stmt.where(col(User.deleted_at).is_(None))
    result = paginate(session, stmt, page=page, limit=limit)
    return result.map(lambda u: public(session, u))


@dataclass
class UserChanges:
    name: str | None = None
    email: str | None = None
    role: str | None = None
    tier: str | None = None
    max_projects: int | None = None
    max_episodes: int | None = None

    def admin_only(self) -> list[str]:
        flags = {
            "role": "--role",
            "tier": "--tier",
            "max_projects": "--max-projects",
            "max_episodes": "--max-episodes",
        }
        return [flag for field, flag in flags.items() if getattr(self, field) is not None]


def update_user(session: Session, actor: User, ref: str | None, changes: UserChanges) -> User:
    user = actor if ref is None else resolve_user(session, actor, ref)
    locked = lock_row(session, User, user.id)
    assert locked is not None
    user = locked
    access.require_self_or_admin(actor, user, "change this user")
    admin_flags = changes.admin_only()
    if admin_flags and not access.is_admin(actor):
        raise PermissionDenied(f"only an admin can change {', '.join(admin_flags)}")
    if user.deleted_at is not None:
        raise Conflict(f"user {user.email} is deleted")
    problems: dict[str, str] = {}
    name = _check_name(changes.name, problems) if changes.name is not None else None
    email = _check_email(changes.email, problems) if changes.email is not None else None
    if changes.role is not None:
        changes.role = _check_enum("role", changes.role, ROLES, problems)
    if changes.tier is not None:
        changes.tier = _check_enum("subscription.tier", changes.tier, TIERS, problems)
    problems.update(limits.subscription_problems(changes.max_projects, changes.max_episodes))
    if not any(v is not None for v in vars(changes).values()):
        raise UsageError("nothing to change", hint="pass --name, --email, --role, --tier, …")
    if problems:
        raise ValidationFailed(problems)
    if email is not None and fold(email) != user.email_key:
        _email_taken(session, email, except_id=user.id)
    if changes.role is not None and changes.role != "admin" and user.role == "admin":
        _keep_one_admin(session, user)
    if name is not None:
        user.name = name
    if email is not None:
        user.email = email
    if changes.role is not None:
        user.role = changes.role
    if changes.tier is not None:
        user.tier = changes.tier
        user.max_projects, user.max_episodes_per_project = limits.tier_limits(changes.tier)
    if changes.max_projects is not None:
        user.max_projects = changes.max_projects
    if changes.max_episodes is not None:
        user.max_episodes_per_project = changes.max_episodes
    user.updated_at = utcnow()
    session.add(user)
    _flush_unique(session, user.email)
    return user


def _keep_one_admin(session: Session, leaving: User) -> None:
    others = session.execute(
        sa.select(sa.func.count())
        .select_from(User)
        .where(
            col(User.role) == "admin",
            col(User.deleted_at).is_(None),
            col(User.id) != leaving.id,
        )
    ).scalar_one()
    if not others:
        raise Conflict(f"{leaving.email} is the last admin", hint="make another user admin first")


def check_can_create(actor: User) -> None:
    """Checked before the CLI asks for the new user's password."""
    access.require_admin(actor, "create users")


def user_to_delete(session: Session, actor: User, ref: str) -> User:
    """The user ``delete_user`` would delete, checked before the CLI asks to confirm."""
    access.require_admin(actor, "delete users")
    user = resolve_user(session, actor, ref)
    _check_deletable(session, user)
    return user


def _check_deletable(session: Session, user: User) -> None:
    if user.deleted_at is not None:
        raise Conflict(f"user {user.email} is already deleted")
    if user.role == "admin":
        _keep_one_admin(session, user)


def delete_user(session: Session, actor: User, ref: str) -> User:
    """Soft delete: no more logins, tokens revoked, content kept."""
    access.require_admin(actor, "delete users")
    user = resolve_user(session, actor, ref)
    locked = lock_row(session, User, user.id)
    assert locked is not None
    user = locked
    _check_deletable(session, user)
    user.deleted_at = user.updated_at = utcnow()
    session.add(user)
    session.execute(sa.delete(LoginToken).where(col(LoginToken.user_id) == user.id))
    return user


def password_target(session: Session, actor: User, ref: str | None) -> User:
    """Whose password ``user passwd [USER]`` sets: yours, or (admins) anyone's."""
    user = actor if ref is None else resolve_user(session, actor, ref)
    access.require_self_or_admin(actor, user, "change this user's password")
    if user.deleted_at is not None:
        raise Conflict(f"user {user.email} is deleted")
    return user


def set_password(
    db: Database,
    actor: User,
    target_id: str,
    password: str,
    *,
    current: str | None = None,
    keep_token_hash: str | None = None,
) -> int:
    """Set a user's password; returns how many of their logins were signed out.

    Your own password needs the current one (checked and counted as a login is, so a
    stolen token cannot guess it either); your other logins are signed out, this one
    (``keep_token_hash``) is kept. An admin setting another user's password needs none,
    and signs out every login of that user.
    """
    from moviecli.services import auth

    with db.session() as session:
        target = password_target(session, actor, target_id)
    check_password(password, target.email)
    own = target.id == actor.id
    if own:
        if current is None:
            raise UsageError("your current password is needed to change it")
        try:
            auth.check_password_of(db, target, current)
        except auth.LoginFailed as exc:
            raise AuthError(
                "wrong current password",
                hint=f"{exc.tries_left} tries left before a "
                f"{auth.LOCKOUT.seconds // 60}-minute lock",
            ) from exc
    with db.write() as session:
        return change_password(
            session, target, password, keep_token_hash=keep_token_hash if own else None
        )


def change_password(
    session: Session, user: User, password: str, *, keep_token_hash: str | None = None
) -> int:
    """Store ``user``'s new password and sign out their logins but ``keep_token_hash``."""
    locked = lock_row(session, User, user.id)
    assert locked is not None
    user = locked
    check_password(password, user.email)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.updated_at = utcnow()
    session.add(user)
    stmt = sa.delete(LoginToken).where(col(LoginToken.user_id) == user.id)
    if keep_token_hash:
        stmt = stmt.where(col(LoginToken.token_hash) != keep_token_hash)
    return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def unlock_user(session: Session, actor: User, ref: str) -> tuple[User, bool]:
    """Lift the login lock of a user (admin); whether there was one (or failures)."""
    access.require_admin(actor, "unlock users")
    return _unlock(session, resolve_user(session, actor, ref))


def unlock_local(db: Database, email: str) -> tuple[User, bool]:
    """``user unlock EMAIL --local``: the only admin, locked out of a local SQLite
    database, needs no login, only write access to the database file (whoever can write
    it holds its data anyway). PostgreSQL has accounts of its own: another admin unlocks."""
    path = db.sqlite_path
    if path is None:
        raise UsageError(
            "--local works on a local SQLite database only",
            hint="on PostgreSQL another admin runs moviecli user unlock EMAIL",
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise PermissionDenied(f"--local needs write access to {path}")
    with db.write() as session:
        user = user_by_email(session, email)
        if user is None:
            raise NotFound(f"user {email.strip()!r} not found")
        return _unlock(session, user)


def _unlock(session: Session, user: User) -> tuple[User, bool]:
    locked = lock_row(session, User, user.id)
    assert locked is not None
    was_locked = locked.locked_until is not None and locked.locked_until > utcnow()
    locked.failed_logins = 0
    locked.locked_until = None
    session.add(locked)
    session.execute(sa.delete(LoginFailure).where(col(LoginFailure.email_key) == locked.email_key))
    return locked, was_locked


# --- preferences -------------------------------------------------------------------------

# Values with a meaning to moviecli are checked; any other key is the user's own.
_PREF_CHOICES: dict[str, tuple[str, ...]] = {"defaultGenre": GENRES, "defaultAudience": AUDIENCES}


# A preference is a small thing: these bound what one value may hold, checked before the
# JSON parser sees it (100,000 nested brackets would exhaust its recursion) and before
# the database does (PostgreSQL's jsonb refuses NaN; Python's json writes it).
MAX_PREF_BYTES = 64 * 1024
MAX_PREF_DEPTH = 32
MAX_PREF_KEY = 200
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def parse_pref_value(raw: str, key: str = "value") -> Any:
    """VALUE is JSON when it parses as JSON, a plain string otherwise; at most 64 KiB,
    nested at most 32 deep, numbers finite (no NaN, Infinity or 1e400)."""
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_PREF_BYTES:
        raise ValidationFailed(
            {key: f"must be at most {MAX_PREF_BYTES // 1024} KiB (attach long texts as files)"}
        )
    if bracket_depth(_JSON_STRING.sub("", raw)) > MAX_PREF_DEPTH:
        raise ValidationFailed({key: f"must be nested at most {MAX_PREF_DEPTH} deep"})

    def refuse(constant: str) -> Any:
        raise ValidationFailed({key: f"{constant} is not a JSON number (quote it for text)"})

    try:
        value = json.loads(raw, parse_constant=refuse)
    except ValueError:
        return raw
    if not _finite(value):
        raise ValidationFailed({key: "holds a number too large to store (over 1.8e308)"})
    return value


def _finite(value: Any) -> bool:
    """No float in ``value`` is infinite (json reads 1e400 as inf), walked without recursion."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return False
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


def set_preference(session: Session, actor: User, key: str, raw: str) -> Any:
    key = key.strip()
    if not key:
        raise UsageError("preference key must not be empty")
    if key == "currentProject":
        raise UsageError("currentProject is set with moviecli project use")
    if len(key) > MAX_PREF_KEY:
        raise UsageError(f"preference key must be at most {MAX_PREF_KEY} characters")
    value = parse_pref_value(raw, key)
    allowed = _PREF_CHOICES.get(key)
    if allowed is not None and value not in allowed:
        found = suggest.canonical(value, allowed) if isinstance(value, str) else None
        if found is None:
            raise ValidationFailed({key: suggest.not_one_of(value, allowed)})
        value = found
    # bool is an int in Python: JSON true must not pass as 1 episode.
    whole = isinstance(value, int) and not isinstance(value, bool)
    if key == "defaultEpisodes" and not (whole and 1 <= value <= limits.MAX_EPISODES):
        raise ValidationFailed({key: f"must be a whole number from 1 to {limits.MAX_EPISODES}"})
    user = lock_row(session, User, actor.id)
    assert user is not None
    user.preferences = {**user.preferences, key: value}
    user.updated_at = utcnow()
    session.add(user)
    return value


def unset_preference(session: Session, actor: User, key: str) -> bool:
    user = lock_row(session, User, actor.id)
    assert user is not None
    if key not in user.preferences:
        return False
    user.preferences = {k: v for k, v in user.preferences.items() if k != key}
    user.updated_at = utcnow()
    session.add(user)
    return True


def get_preference(actor: User, key: str) -> Any:
    if key not in actor.preferences:
        raise NotFound(f"preference {key!r} is not set")
    return actor.preferences[key]
