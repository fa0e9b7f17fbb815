"""The one pagination helper: every list-shaped output is ``{items, total, page, limit}``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlmodel import Session

from moviecli.errors import ValidationFailed

T = TypeVar("T")
U = TypeVar("U")

DEFAULT_LIMIT = 20
MAX_LIMIT = 200
# Far beyond any real list, and small enough that page * limit stays a 64-bit OFFSET.
MAX_PAGE = 1_000_000_000


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    limit: int

    def map(self, fn: Callable[[T], U]) -> Page[U]:
        return Page([fn(item) for item in self.items], self.total, self.page, self.limit)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit))


def check_page(page: int, limit: int) -> None:
    problems = page_problems(page, limit)
    if problems:
        raise ValidationFailed(problems)


def page_problems(page: int, limit: int) -> dict[str, str]:
    """What is wrong with --page and --limit, for a command that reports every invalid
    option at once."""
    problems = {}
    if page < 1:
        problems["page"] = "must be 1 or more"
    elif page > MAX_PAGE:
        problems["page"] = f"must be at most {MAX_PAGE}"
    if not 1 <= limit <= MAX_LIMIT:
        problems["limit"] = f"must be between 1 and {MAX_LIMIT}"
    return problems


def paginate(
    session: Session, stmt: sa.Select[Any], *, page: int, limit: int, scalars: bool = True
) -> Page[Any]:
    """Run ``stmt`` for one page, with the total count of the unpaged query."""
    check_page(page, limit)
    total = session.execute(
        sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
    ).scalar_one()
    paged = stmt.offset((page - 1) * limit).limit(limit)
    result = session.execute(paged)
    items: Sequence[Any] = result.scalars().all() if scalars else result.all()
    return Page(list(items), int(total), page, limit)
