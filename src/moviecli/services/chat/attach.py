"""Files attached to a chat turn: added as media of the session's project, their type
inferred from the file's family and the step when not given (SPEC section 5)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from sqlmodel import Session

from moviecli import suggest
from moviecli.errors import ValidationFailed
from moviecli.models import Project, User
from moviecli.services import access, projects
from moviecli.services.assistant.knowledge import infer_type
from moviecli.services.chat.sessions import get_session
from moviecli.storage.db import Database


class Attached(NamedTuple):
    """One attached file as the project holds it; ``present``: its bytes were already
    there, so the existing record (and its type) came back instead of a new one."""

    media_id: str
    filename: str
    media_type: str
    present: bool = False


def project_for(
    session: Session, actor: User, project_ref: str | None, session_ref: str | None
) -> Project:
    """The project a turn's files go to: the session's, else PROJECT (or the current one);
    the actor must be able to edit it."""
    if session_ref is not None:
        chat = get_session(session, actor, session_ref, write=True)
        project = session.get(Project, chat.project_id)
        assert project is not None
    else:
        project = projects.resolve_or_current(session, actor, project_ref)
    access.require_edit_project(session, actor, project)
    return project


def attach_files(
    db: Database, actor: User, project: Project, files: list[Path], attach_type: str | None
) -> list[Attached]:
    """Add files as media of the project through the media service, before the turn's
    message is stored; [(media id, filename, mediaType)] in argument order.

    Every file is checked first: one that is missing or not an image, audio or video file
    is a usage error (exit 2) and nothing is stored. Without ``attach_type`` the type is
    inferred from the file's family and the project's current step.
    """
    from moviecli.enums import MEDIA_TYPES
    from moviecli.services import media_add, media_fields, probe

    if attach_type is not None:
        problems_: dict[str, str] = {}
        attach_type = suggest.pick(attach_type, MEDIA_TYPES, "attachType", problems_)
        if problems_:
            raise ValidationFailed(problems_)
    kinds: list[str] = []
    problems: dict[str, str] = {}
    for path in files:
        try:
            if not path.is_file():
                raise probe.Rejected("no such file" if not path.exists() else "not a file")
            found = probe.probe(path, attach_type)
        except probe.Rejected as exc:
            problems[str(path)] = str(exc)
            continue
        kinds.append(attach_type or infer_type(found.family, project.current_phase))
    if problems:
        raise ValidationFailed(problems, message="cannot attach these files")
    by_type: dict[str, list[int]] = {}
    for index, kind in enumerate(kinds):
        by_type.setdefault(kind, []).append(index)
    attached: dict[int, Attached] = {}
    for kind, indexes in by_type.items():
        result = media_add.add_files(
            db, actor, project.id, [files[i] for i in indexes], media_fields.AssetFields(kind)
        )
        for index, added in zip(indexes, result.files, strict=True):
            if added.media is None:
                problems[str(files[index])] = added.reason or "rejected"
                continue
            attached[index] = Attached(
                added.media.id,
                files[index].name,
                added.media.media_type,
                present=added.outcome == "present",
            )
    if problems:
        raise ValidationFailed(problems, message="cannot attach these files")
    return [attached[i] for i in range(len(files))]
