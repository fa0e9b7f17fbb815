"""Who may see and do what (SPEC section 2), in one place for every command.

The rule that matters most: anything the actor may not see is reported as not found
(exit 3), so ids do not leak; an action on something visible but not allowed is exit 4.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col

from moviecli.errors import PermissionDenied
from moviecli.models import Project, ProjectCollaborator, User


def is_admin(actor: User) -> bool:
    return actor.role == "admin"


def require_admin(actor: User, action: str) -> None:
    if not is_admin(actor):
        raise PermissionDenied(f"only an admin can {action}")


# --- users ---------------------------------------------------------------------------------


def can_see_user(actor: User, user: User) -> bool:
    """Full records: admins see everyone, others only themselves."""
    return is_admin(actor) or actor.id == user.id


def require_self_or_admin(actor: User, user: User, action: str) -> None:
    if not can_see_user(actor, user):
        raise PermissionDenied(f"only {user.email} or an admin can {action}")


# --- projects ------------------------------------------------------------------------------


def visible_projects(actor: User) -> sa.ColumnElement[bool]:
    """A WHERE clause for the projects the actor may see."""
    if actor.role in ("admin", "producer"):
        return sa.true()
    return editable_projects(actor)


def editable_projects(actor: User) -> sa.ColumnElement[bool]:
    """A WHERE clause for the projects whose content the actor may change
    (``can_edit_project``): creator, collaborators and admins."""
    if is_admin(actor):
        return sa.true()
    collaborating = sa.select(col(ProjectCollaborator.project_id)).where(
        col(ProjectCollaborator.user_id) == actor.id
    )
    return sa.or_(
        col(Project.created_by) == actor.id,
        col(Project.id).in_(collaborating),
    )


def is_collaborator(session: Session, actor: User, project: Project) -> bool:
    return session.get(ProjectCollaborator, (project.id, actor.id)) is not None


def can_see_project(session: Session, actor: User, project: Project) -> bool:
    return (
        actor.role in ("admin", "producer")
        or project.created_by == actor.id
        or is_collaborator(session, actor, project)
    )


def can_edit_project(session: Session, actor: User, project: Project) -> bool:
    """Content changes: creator, collaborators and admins (producers only read)."""
    return (
        is_admin(actor)
        or project.created_by == actor.id
        or is_collaborator(session, actor, project)
    )


def require_edit_project(session: Session, actor: User, project: Project) -> None:
    if not can_edit_project(session, actor, project):
        raise PermissionDenied(f"you can read but not change project {project.title!r}")


def require_owner_or_admin(actor: User, project: Project, action: str) -> None:
    """Deleting a project and managing its collaborators."""
    if not (is_admin(actor) or project.created_by == actor.id):
        raise PermissionDenied(f"only the project's creator or an admin can {action}")
