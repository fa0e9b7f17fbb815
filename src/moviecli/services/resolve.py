"""The one resolver of names on the command line: ids, id prefixes, emails, titles.

An id may be given whole or as a unique prefix of at least 4 characters; two candidates
are an error (exit 2) that lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from moviecli.errors import Ambiguous, NotFound, UsageError
from moviecli.models import User
from moviecli.text import fold

T = TypeVar("T")

MIN_PREFIX = 4


def by_id_or_prefix(
    session: Session,
    model: type[T],
    ref: str,
    *,
    what: str,
    where: sa.ColumnElement[bool] | None = None,
    describe: Callable[[T], str] | None = None,
) -> T:
    """Exact id, then unique prefix (≥ 4 chars), among the rows ``where`` allows."""
    ref = ref.strip()
    if not ref:
        raise UsageError(f"no {what} given")
    id_col: Any = model.id  # type: ignore[attr-defined]
    base = select(model)
    if where is not None:
        base = base.where(where)
    exact = session.exec(base.where(id_col == ref)).first()
    if exact is not None:
        return exact
    if len(ref) >= MIN_PREFIX and ref.isalnum():
        matches = session.exec(base.where(id_col.startswith(ref.lower())).limit(6)).all()
        return one_of(matches, ref, what=what, describe=describe)
    raise NotFound(f"{what} {ref!r} not found")


def one_of(
    matches: Sequence[T], ref: str, *, what: str, describe: Callable[[T], str] | None = None
) -> T:
    if not matches:
        raise NotFound(f"{what} {ref!r} not found")
    if len(matches) > 1:
        shown = ", ".join((describe or _describe)(m) for m in matches[:5])
        more = " …" if len(matches) > 5 else ""
        raise Ambiguous(
            f"{what} {ref!r} is ambiguous: {shown}{more}", hint="give more characters of the id"
        )
    return matches[0]


def _describe(row: Any) -> str:
    return str(row.id)


def user_by_email(session: Session, email: str) -> User | None:
    """The user whose email folds (NFKC + casefold) to the same key as ``email``."""
    return session.exec(select(User).where(col(User.email_key) == fold(email.strip()))).first()
