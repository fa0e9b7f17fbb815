"""Who may see and do what (SPEC section 2), in one place for every command.

The rule that matters most: anything the actor may not see is reported as not found
(exit 3), so ids do not leak; an action on something visible but not allowed is exit 4.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col

from moviecli.errors import PermissionDenied
from moviecli.models import ChatSession, Media, Project, ProjectCollaborator, User

# Roles that read every project (and so every asset and every session).
READ_ALL_ROLES = ("admin", "producer")


def is_admin(actor: User) -> bool:
    return actor.role == "admin"


def reads_all(actor: User) -> bool:
    """Admins and producers read every project, its media and its sessions."""
    return actor.role in READ_ALL_ROLES


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
    if reads_all(actor):
        return sa.true()
    return editable_projects(actor)


def visible_project_ids(actor: User) -> sa.Select[str]:
    """The ids of the projects the actor may see, as a subquery for ``IN``."""
    return sa.select(col(Project.id)).where(visible_projects(actor))


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
        reads_all(actor)
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


# --- media and sessions ----------------------------------------------------------------------


def visible_media(actor: User) -> sa.ColumnElement[bool]:
    """A WHERE clause (over Media) for the media the actor may read: the media of the
    projects they may see, and public media."""
    if reads_all(actor):
        return sa.true()
    return sa.or_(
        col(Media.visibility) == "public", col(Media.project_id).in_(visible_project_ids(actor))
    )


def readable_sessions(actor: User) -> sa.ColumnElement[bool]:
    """Own sessions, and the sessions on projects the actor may see (creator,
    collaborators, producers and admins read a project's history)."""
    if reads_all(actor):
        return sa.true()
    return sa.or_(
        col(ChatSession.user_id) == actor.id,
        col(ChatSession.project_id).in_(visible_project_ids(actor)),
    )


def can_write_session(actor: User, chat: ChatSession) -> bool:
    """Only a session's owner (or an admin) writes to it."""
    return is_admin(actor) or chat.user_id == actor.id
