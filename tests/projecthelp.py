"""Helpers shared by the project tests: projects through the CLI, and media, sessions and
messages written directly through the models (the media and chat commands are not
needed to test what projects derive from them).
"""

from __future__ import annotations

import hashlib
from typing import Any

MEDIA_FAMILY_MIME = {"image": "image/png", "video": "video/mp4", "audio": "audio/mpeg"}


def user_row(email: str, *, role: str = "user", tier: str = "free", **fields: Any) -> Any:
    """A User row to add to a session, its limits its tier's, without password hashing
    (make_user in conftest.py hashes a real password: for tests that log in)."""
    from moviecli.models import User
    from moviecli.services.limits import tier_limits

    max_projects, max_episodes = tier_limits(tier)
    fields.setdefault("name", email.split("@")[0].title())
    return User(
        email=email,
        role=role,
        tier=tier,
        max_projects=max_projects,
        max_episodes_per_project=max_episodes,
        password_hash="-",
        **fields,
    )


# One user of each role, and two more plain users (the access tests' cast).
ROLES = {"cleo": "user", "bob": "user", "pat": "producer", "ada": "admin", "eve": "user"}


def cast_and_projects(
    database: Any, owners: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The ROLES users (name → row, detached) and a project per title of ``owners`` (title
    → its owner's name; Bob collaborates on Lighthouse), title → id."""
    from moviecli.models import Project, ProjectCollaborator

    with database.write() as session:
        users = {
            name: user_row(f"{name}@example.com", role=role, tier="pro")
            for name, role in ROLES.items()
        }
        session.add_all(users.values())
        session.flush()
        projects = {
            title: Project(title=title, genre="drama", episode_count=2, created_by=users[o].id)
            for title, o in owners.items()
        }
        session.add_all(projects.values())
        session.flush()
        session.add(
            ProjectCollaborator(project_id=projects["Lighthouse"].id, user_id=users["bob"].id)
        )
        ids = {title: p.id for title, p in projects.items()}
        for user in users.values():
            session.expunge(user)
    return users, ids


def new_project(cli: Any, title: str, *args: str) -> dict[str, Any]:
    """``project create TITLE`` (drama, 3 episodes unless ``args`` say otherwise)."""
    extra = list(args)
    if "--template" not in extra:
        if "--genre" not in extra:
            extra += ["--genre", "drama"]
        if "--episodes" not in extra:
            extra += ["--episodes", "3"]
    result = cli("project", "create", title, *extra, "--json")
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = result.json()
    return data


def add_media(
    database: Any,
    project_id: str,
    user_id: str,
    media_type: str,
    *,
    episode: int | None = None,
    status: str = "active",
    previous_version: str | None = None,
    version: int = 1,
    name: str | None = None,
    **fields: Any,
) -> str:
    from moviecli.enums import MEDIA_FAMILIES
    from moviecli.models import Media

    filename = name or f"{media_type}-{episode}-{status}-{version}.bin"
    with database.write() as session:
        media = Media(
            project_id=project_id,
            media_type=media_type,
            episode=episode,
            status=status,
            previous_version=previous_version,
            version=version,
            filename=filename,
            mime_type=MEDIA_FAMILY_MIME[MEDIA_FAMILIES[media_type]],
            size_bytes=10,
            sha256=hashlib.sha256(f"{project_id}/{filename}".encode()).hexdigest(),
            created_by=user_id,
            **fields,
        )
        session.add(media)
        session.flush()
        return media.id


def add_session(database: Any, project_id: str, user_id: str, *, messages: int = 2) -> str:
    """A chat session with ``messages`` alternating user/assistant messages."""
    from moviecli.models import ChatSession, Message

    with database.write() as session:
        chat = ChatSession(project_id=project_id, user_id=user_id)
        session.add(chat)
        session.flush()
        numbered = "seq" in Message.model_fields  # messages numbered per session
        for n in range(messages):
            extra: dict[str, Any] = {"seq": n + 1} if numbered else {}
            session.add(
                Message(
                    session_id=chat.id,
                    role="user" if n % 2 == 0 else "assistant",
                    content=f"message {n}",
                    **extra,
                )
            )
        if hasattr(chat, "message_count"):
            chat.message_count = messages
            session.add(chat)
        session.flush()
        return chat.id
