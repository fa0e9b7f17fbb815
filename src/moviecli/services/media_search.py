"""Embeddings and semantic search of media: ``media embed`` and ``media search``.

Vectors are made by ``services.embeddings`` (the offline MiniLM model) from the text of
``media_fields.text_of``; search ranks them with numpy over the memory-mapped matrix of
``services.search_index``, prefiltered to what the actor may read (``access.visible_media``
and ``access.visible_project_ids``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import col, select

from moviecli import suggest
from moviecli.enums import MEDIA_TYPES
from moviecli.errors import ValidationFailed
from moviecli.models import Media, MediaPublic, Project, User, utcnow
from moviecli.services import access
from moviecli.services import projects as project_service
from moviecli.services.media import public
from moviecli.services.media_add import BATCH, Progress
from moviecli.services.media_fields import media_type_problem, text_of
from moviecli.services.pagination import Page, page_problems

if TYPE_CHECKING:
    from sqlmodel import Session

    from moviecli.storage.db import Database


@dataclass
class EmbedResult:
    embedded: int
    skipped: int


def embed(
    db: Database,
    actor: User,
    *,
    project: str | None = None,
    pending_only: bool = False,
    progress: Progress | None = None,
) -> EmbedResult:
    """Fill in (``pending_only``) or rebuild the embeddings of the media the actor may
    change (one project with ``project``). The model runs outside any write lock."""
    from moviecli.services import embeddings

    with db.session() as session:
        rows = _to_embed(session, actor, project, pending_only=pending_only)
    total = len(rows)
    done = skipped = 0
    for start in range(0, total, BATCH):
        batch = rows[start : start + BATCH]
        vectors = embeddings.embed_texts(
            [text_of(r) for r in batch],
            progress=(lambda n: progress("embedding", n, total)) if progress else None,
        )
        with db.write() as session:
            for row, vector in zip(batch, vectors, strict=True):
                changed = session.execute(
                    sa.update(Media)
                    .where(col(Media.id) == row["id"], col(Media.updated_at) == row["updated_at"])
                    .values(embedding=vector, updated_at=utcnow())
                ).rowcount  # type: ignore[attr-defined]
                if changed:
                    done += 1
                else:
                    skipped += 1  # changed or deleted meanwhile: its own update re-embeds
    return EmbedResult(done, skipped)


def _to_embed(
    session: Session, actor: User, project: str | None, *, pending_only: bool
) -> list[dict[str, Any]]:
    """The columns of the text of each record to (re-)embed, with its ``updated_at``."""
    where: list[sa.ColumnElement[bool]] = []
    if project is not None:
        proj = project_service.resolve(session, actor, project)
        access.require_edit_project(session, actor, proj)
        where.append(col(Media.project_id) == proj.id)
    elif not access.is_admin(actor):
        editable = sa.select(col(Project.id)).where(access.editable_projects(actor))
        where.append(col(Media.project_id).in_(editable))
    if pending_only:
        where.append(col(Media.embedding).is_(None))
    stmt = sa.select(
        col(Media.id),
        col(Media.updated_at),
        col(Media.description),
        col(Media.tags),
        col(Media.media_type),
        col(Media.filename),
        col(Media.characters),
        col(Media.episode),
        col(Media.scene),
    ).where(*where)
    return [dict(r._mapping) for r in session.execute(stmt)]


@dataclass
class SearchHit:
    media: MediaPublic
    similarity: float
    project_title: str = ""  # empty when the actor may not see the project


def _check_search(query: str, media_type: str | None, page: int, limit: int) -> None:
    problems: dict[str, str] = {}
    if not query.strip():
        problems["query"] = "is required"
    if media_type is not None and (problem := media_type_problem(media_type)) is not None:
        problems["mediaType"] = problem
    problems.update(page_problems(page, limit))
    if problems:
        raise ValidationFailed(problems)


def search(
    db: Database,
    actor: User,
    query: str,
    *,
    project: str | None = None,
    media_type: str | None = None,
    page: int = 1,
    limit: int = 20,
) -> Page[SearchHit]:
    """Rank the media the actor may see by meaning (cosine similarity, clamped to 0-1):
    their visible projects' media plus public media, or one project with ``project``."""
    import numpy as np

    from moviecli.services import embeddings
    from moviecli.services.search_index import SearchIndex

    _check_search(query, media_type, page, limit)
    with db.session() as session:
        project_ids: list[str] | None = None
        if project is not None:
            project_ids = [project_service.resolve(session, actor, project).id]
        elif not access.reads_all(actor):
            project_ids = list(session.execute(access.visible_project_ids(actor)).scalars())
        view = SearchIndex(db.url).view(session)
    vector = embeddings.embed_query(query)
    mask = view.has_vector & view.newest
    if media_type is not None:  # any case: --type Concept-Art is concept_art
        found = suggest.canonical(media_type, MEDIA_TYPES) or media_type
        mask &= view.media_type == MEDIA_TYPES.index(found)
    if project_ids is not None:
        in_projects = np.isin(view.project, view.project_codes(project_ids))
        mask &= in_projects if project is not None else (in_projects | view.public)
    rows = np.flatnonzero(mask)
    total = len(rows)
    start, stop = (page - 1) * limit, page * limit
    if start >= total:
        return Page([], total, page, limit)
    scores = (
        view.vectors[rows] @ vector if total < len(mask) // 2 else (view.vectors @ vector)[rows]
    )
    scores = np.nan_to_num(np.clip(scores, 0.0, 1.0))  # a damaged vector ranks last
    keep = min(stop, total)
    top = np.argpartition(-scores, keep - 1)[:keep] if keep < total else np.arange(total)
    top = top[np.lexsort((view.ids[rows[top]], -scores[top]))][start:stop]
    similarity = {view.ids[rows[i]].decode(): round(float(scores[i]), 4) for i in top}
    with db.session() as session:
        hits = _hits(session, actor, similarity)
    return Page(hits, total, page, limit)


def _hits(session: Session, actor: User, similarity: dict[str, float]) -> list[SearchHit]:
    """The records of the ranked ids, in rank order, each with its project's title when
    the actor may see the project (a public asset of a project they cannot see: none)."""
    visible = sa.case((access.visible_projects(actor), True), else_=False)
    rows = session.exec(
        select(Media, Project.title, visible)
        .join(Project, col(Project.id) == col(Media.project_id))
        .where(col(Media.id).in_(list(similarity)), access.visible_media(actor))
    ).all()
    found = {m.id: (m, title if seen else "") for m, title, seen in rows}
    return [
        SearchHit(public(found[i][0]), similarity[i], found[i][1])
        for i in similarity
        if i in found
    ]
