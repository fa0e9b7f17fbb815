"""Login tokens: who is running this command.

A login creates a random 32-byte token; the database keeps only its SHA-256 with an
expiry, the token goes to the token file (0600) or ``MOVIECLI_TOKEN``. Checking it is one
indexed lookup: the password KDF runs only at login.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from moviecli import config
from moviecli.errors import AuthError, NotLoggedIn, StorageError
from moviecli.models import LoginFailure, LoginToken, User, utcnow
from moviecli.services.passwords import verify_password
from moviecli.services.resolve import user_by_email
from moviecli.storage.db import Database, lock_row
from moviecli.text import fold

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=10)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# What secrets.token_urlsafe(32) makes (43 characters); anything else in the token file or
# MOVIECLI_TOKEN cannot be one of ours (and is never sent to the database).
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
MAX_TOKEN_FILE = 1024


def read_token() -> str | None:
    """The token from MOVIECLI_TOKEN, else the token file; a file others can read is refused.

    The file is opened without blocking and checked before it is read: a FIFO (which would
    wait forever for a writer), a directory, or a link to one is refused at once (exit 4),
    as is content that is not a token (not UTF-8, too long).
    """
    env = os.environ.get(config.TOKEN_ENV)
    if env:
        token = env.strip()
        if not _TOKEN.fullmatch(token):
            # the same answer as for a revoked token: nothing here could ever be valid
            raise NotLoggedIn(f"not logged in: {config.TOKEN_ENV} is no longer valid")
        return token
    path = config.paths().token_file
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None  # never logged in (or a link to nothing)
    except OSError as exc:
        raise _unusable(path, f"cannot be read: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise _unusable(path, "is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise _unusable(path, "is not a regular file")
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise AuthError(
                f"token file {path} is readable by others; refusing to use it",
                hint=f"chmod 600 {path}",
            )
        data = os.read(fd, MAX_TOKEN_FILE + 1)
    finally:
        os.close(fd)
    text = data.decode("ascii", "replace").strip()
    if not text:
        return None
    if len(data) > MAX_TOKEN_FILE or not _TOKEN.fullmatch(text):
        raise _unusable(path, "does not hold a moviecli token")
    return text


def _unusable(path: Path, what: str) -> NotLoggedIn:
    return NotLoggedIn(
        f"not logged in: the token file {path} {what}", hint="remove it and run moviecli login"
    )


def check_token_place() -> Path:
    """Refuse, before a login is made, a token file path that is a directory (exit 6): the
    token could not be saved there. A link (to anything) is replaced by the new file."""
    path = config.paths().token_file
    try:
        info = os.lstat(path)
    except OSError:
        return path  # missing (the usual case), or the write says what is wrong
    if stat.S_ISDIR(info.st_mode):
        raise StorageError(f"the token file {path} is a directory", hint="remove it, then log in")
    return path


def write_token(token: str) -> Path:
    path = check_token_place()
    try:
        config.ensure_private_dir(path.parent)
        tmp = path.with_name(".token.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(token + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        raise StorageError(f"cannot write the token file {path}: {exc.strerror}") from exc
    return path


def remove_token_file() -> None:
    """Remove the token file (a FIFO or a link too; a directory is left to its owner)."""
    path = check_token_place()
    path.unlink(missing_ok=True)


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


class LoginFailed(AuthError):
    """A wrong email or password; ``tries_left`` before the account is locked."""

    def __init__(self, tries_left: int) -> None:
        super().__init__("wrong email or password")
        self.tries_left = tries_left


def login(db: Database, email: str, password: str, *, days: int | None = None) -> tuple[User, str]:
    """Check the password and create a token. Failures are counted in their own commit.

    A token file that could not be written, or a token lifetime out of range in config,
    is refused first: no login half made.
    """
    check_token_place()
    if days is None:
        days = int(config.get_value("auth.token_days"))
    user, token = _attempt(db, email, password, days=days, issue=True)
    assert token is not None
    return user, token


def check_password_of(db: Database, user: User, password: str) -> None:
    """The password of ``user`` (e.g. the current one, before ``user passwd`` changes it),
    checked and counted as a login is: wrong guesses lock the account the same way."""
    _attempt(db, user.email, password, days=None, issue=False)


def _attempt(
    db: Database, email: str, password: str, *, days: int | None, issue: bool
) -> tuple[User, str | None]:
    """One login attempt: the same work and the same answers whether the email has an
    account or not, before and after the lock (logins do not reveal who has an account).

    The KDF runs once on every path, outside any write transaction (a login never holds
    the write lock for the time of a hash); then one write transaction counts the
    failure or resets the count. Failures of an email no (live) account has are counted
    in ``login_failures`` under its fold key, so that it locks after as many failures.
    """
    key = fold(email.strip())
    with db.session() as session:
        found = user_by_email(session, email)
    user = found if found is not None and found.deleted_at is None else None
    good = verify_password(password, found.password_hash if found is not None else _DUMMY_HASH)
    with db.write() as session:
        now = utcnow()
        row: User | LoginFailure | None
        if user is not None:
            row = lock_row(session, User, user.id)
            assert row is not None
        else:
            row = session.get(LoginFailure, key, with_for_update=True, populate_existing=True)
            if row is None:
                row = LoginFailure(email_key=key)
        if row.locked_until is not None and row.locked_until > now:
            raise AuthError(
                f"account locked until {row.locked_until:%H:%M} UTC",
                hint="too many failed logins; try again later",
            )
        if good and isinstance(row, User):
            row.failed_logins = 0
            row.locked_until = None
            session.add(row)
            return row, issue_token(session, row, days=days) if issue else None
        if good:  # the right password of a deleted account
            raise AuthError("this account has been deleted")
        row.failed_logins += 1
        locked = row.failed_logins >= MAX_FAILED_LOGINS
        if locked:
            row.failed_logins = 0
            row.locked_until = now + LOCKOUT
        if isinstance(row, LoginFailure):
            row.updated_at = now
            # A row whose lock has passed says what no row says: forget it.
            session.execute(
                sa.delete(LoginFailure).where(
                    col(LoginFailure.failed_logins) == 0, col(LoginFailure.locked_until) <= now
                )
            )
        session.add(row)
        try:
            session.commit()  # the counter must outlive the failed command
        except IntegrityError as exc:  # another process counted this email's first failure
            raise LoginFailed(MAX_FAILED_LOGINS - 1) from exc
        if locked:
            raise AuthError(
                f"account locked until {now + LOCKOUT:%H:%M} UTC",
                hint=f"{MAX_FAILED_LOGINS} failed logins in a row",
            )
        raise LoginFailed(MAX_FAILED_LOGINS - row.failed_logins)


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


def logout(db: Database) -> bool:
    """Revoke the current token (if any) and remove the token file, a broken one too."""
    try:
        token = read_token()
    except NotLoggedIn:
        if os.environ.get(config.TOKEN_ENV):
            raise
        token = None  # the file holds no token: removing it is all there is to do
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
