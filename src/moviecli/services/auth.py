"""Login tokens: who is running this command.

A login creates a random 32-byte token; the database keeps only its SHA-256 with an
expiry, the token goes to the token file (0600) or ``MOVIECLI_TOKEN``. Checking it is one
indexed lookup: the password KDF runs only at login.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, select

from moviecli import config
from moviecli.errors import AuthError, NotLoggedIn
from moviecli.models import LoginToken, User, utcnow
from moviecli.services.passwords import verify_password
from moviecli.storage.db import Database, lock_row

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=10)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def read_token() -> str | None:
    """The token from MOVIECLI_TOKEN, else the token file; a file others can read is refused."""
    env = os.environ.get(config.TOKEN_ENV)
    if env:
        return env.strip()
    path = config.paths().token_file
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AuthError(
            f"token file {path} is readable by others; refusing to use it",
            hint=f"chmod 600 {path}",
        )
    return path.read_text(encoding="utf-8").strip() or None


def write_token(token: str) -> Path:
    path = config.paths().token_file
    config.ensure_private_dir(path.parent)
    tmp = path.with_name(".token.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(token + "\n")
    os.replace(tmp, path)
    return path


def remove_token_file() -> None:
    config.paths().token_file.unlink(missing_ok=True)


def current_user(session: Session) -> User:
    """The logged-in user, or exit 4."""
    token = read_token()
    if token is None:
        raise NotLoggedIn()
    row = session.exec(
        select(User, col(LoginToken.expires_at))
        .join(LoginToken, col(LoginToken.user_id) == col(User.id))
        .where(LoginToken.token_hash == token_hash(token))
    ).first()
    if row is None:
        # Revoked (logout, passwd, user delete), swept after expiry, or never valid.
        source = config.TOKEN_ENV if os.environ.get(config.TOKEN_ENV) else "the saved login"
        raise NotLoggedIn(f"not logged in: {source} is no longer valid")
    user, expires_at = row
    if expires_at <= utcnow():
        raise NotLoggedIn("your login has expired")
    if user.deleted_at is not None:
        raise AuthError("this account has been deleted")
    return user


def login(db: Database, email: str, password: str, *, days: int | None = None) -> tuple[User, str]:
    """Check the password and create a token. Failures are counted in their own commit.

    The KDF runs outside any write transaction, so a login never holds the write lock
    for the time of a hash.
    """
    with db.session() as session:
        user = session.exec(
            select(User).where(sa.func.lower(User.email) == email.strip().lower())
        ).first()
    if user is None:
        # The same answer, and about the same time, as a wrong password: logins do not
        # reveal who has an account.
        verify_password(password, _DUMMY_HASH)
        raise AuthError("wrong email or password")
    if user.deleted_at is None:
        _check_can_log_in(user)
    good = verify_password(password, user.password_hash)
    if not good and user.deleted_at is not None:
        raise AuthError("wrong email or password")
    with db.write() as session:
        locked_user = lock_row(session, User, user.id)
        assert locked_user is not None
        user = locked_user
        _check_can_log_in(user)
        now = utcnow()
        if not good:
            user.failed_logins += 1
            locked = user.failed_logins >= MAX_FAILED_LOGINS
            if locked:
                user.failed_logins = 0
                user.locked_until = now + LOCKOUT
            session.add(user)
            session.commit()  # the counter must outlive the failed command
            if locked:
                raise AuthError(
                    f"account locked until {now + LOCKOUT:%H:%M} UTC",
                    hint=f"{MAX_FAILED_LOGINS} failed logins in a row",
                )
            raise AuthError("wrong email or password")
        user.failed_logins = 0
        user.locked_until = None
        session.add(user)
        token = issue_token(session, user, days=days)
    return user, token


def issue_token(session: Session, user: User, *, days: int | None = None) -> str:
    """A new login token for ``user`` (the password has been checked by the caller)."""
    now = utcnow()
    token = secrets.token_urlsafe(32)
    valid_days = days if days is not None else int(config.get_value("auth.token_days"))
    session.add(
        LoginToken(
            token_hash=token_hash(token),
            user_id=user.id,
            expires_at=now + timedelta(days=valid_days),
        )
    )
    # Expired tokens of this user are swept here rather than by a separate job.
    session.execute(
        sa.delete(LoginToken).where(
            col(LoginToken.user_id) == user.id, col(LoginToken.expires_at) <= now
        )
    )
    return token


# A hash of a random password, verified against when the email is unknown.
_DUMMY_HASH = "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 43 + "="


def _check_can_log_in(user: User) -> None:
    if user.deleted_at is not None:
        raise AuthError("this account has been deleted")
    if user.locked_until is not None and user.locked_until > utcnow():
        raise AuthError(
            f"account locked until {user.locked_until:%H:%M} UTC",
            hint="too many failed logins; try again later",
        )


def logout(db: Database) -> bool:
    """Revoke the current token (if any) and remove the token file."""
    token = read_token()
    revoked = False
    if token is not None:
        with db.write() as session:
            result = session.execute(
                sa.delete(LoginToken).where(col(LoginToken.token_hash) == token_hash(token))
            )
            revoked = bool(result.rowcount)  # type: ignore[attr-defined]
    if not os.environ.get(config.TOKEN_ENV):
        remove_token_file()
    return revoked
