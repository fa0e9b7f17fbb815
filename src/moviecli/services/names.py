"""What people call the things ids point to: project titles and user emails.

Records keep ids (the ``--json`` shapes are the seed's); screens show names. One lookup
for every screen that does, so a title the actor may not see never leaks through one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session, col

from moviecli.models import Project, User
from moviecli.services import access


@dataclass
class Names:
    projects: dict[str, str] = field(default_factory=dict)  # id -> title (visible ones)
    users: dict[str, str] = field(default_factory=dict)  # id -> email


def lookup(
    session: Session,
    actor: User,
    *,
    projects: Iterable[str | None] = (),
    users: Iterable[str | None] = (),
) -> Names:
    """Titles of the given projects the actor may see, and the given users' emails."""
    project_ids = sorted({p for p in projects if p})
    user_ids = sorted({u for u in users if u})
    names = Names()
    if project_ids:
        rows = session.execute(
            sa.select(col(Project.id), col(Project.title)).where(
                col(Project.id).in_(project_ids), access.visible_projects(actor)
            )
        ).all()
        names.projects = {pid: title for pid, title in rows}
    if user_ids:
        rows = session.execute(
            sa.select(col(User.id), col(User.email)).where(col(User.id).in_(user_ids))
        ).all()
        names.users = {uid: email for uid, email in rows}
    return names
