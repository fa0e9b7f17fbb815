"""``session search``: full text over the messages the actor may read (FTS5 on SQLite,
PostgreSQL's ``simple`` text search)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from moviecli.errors import UsageError
from moviecli.models import ChatSession, Message, User
from moviecli.services import access, projects
from moviecli.services.pagination import Page, check_page


@dataclass
class SearchHit:
    session_id: str
    project_id: str
    message_id: int
    role: str
    timestamp: datetime
    snippet: str


_TOKEN = re.compile(r"[^\W_]+")


def search_terms(text: str) -> list[str]:
    """The words of a query, as both full-text engines split them (letters and digits)."""
    return [t.lower() for t in _TOKEN.findall(text)]


def search(
    session: Session,
    actor: User,
    text: str,
    *,
    project_ref: str | None = None,
    page: int = 1,
    limit: int = 20,
) -> Page[SearchHit]:
    """Full text over the messages the actor may read, newest first. Every word must match
    (FTS5 on SQLite, PostgreSQL's ``simple`` text search: no stemming on either). The
    total is exact."""
    check_page(page, limit)
    terms = search_terms(text)
    if not terms:
        raise UsageError("nothing to search for", hint="give at least one word")
    where: list[Any] = [access.readable_sessions(actor)]
    if project_ref:
        where.append(
            col(ChatSession.project_id) == projects.resolve(session, actor, project_ref).id
        )
    base, order = _matching(session, terms, where)
    everything = access.reads_all(actor) and not project_ref
    total = _count(session, terms, base, everything=everything)
    rows = session.execute(base.order_by(order).offset((page - 1) * limit).limit(limit)).all()
    hits = []
    for message, project_id in rows:
        assert message.id is not None
        hits.append(
            SearchHit(
                message.session_id,
                project_id,
                message.id,
                message.role,
                message.timestamp,
                snippet(message.content, terms),
            )
        )
    return Page(hits, total, page, limit)


def _count(session: Session, terms: list[str], base: Any, *, everything: bool) -> int:
    """The exact number of matches. Reading every session, on SQLite, that is the index's
    own count (no row of messages is read); otherwise each match is checked against the
    sessions the actor reads (the join the hits are found with)."""
    if everything and session.get_bind().dialect.name == "sqlite":
        query = " ".join(f'"{t}"' for t in terms)
        counted = sa.text("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH :q")
        return int(session.execute(counted.bindparams(q=query)).scalar_one())
    matches = base.with_only_columns(sa.literal(1)).subquery()
    return int(session.execute(sa.select(sa.func.count()).select_from(matches)).scalar_one())


def _matching(session: Session, terms: list[str], where: list[Any]) -> tuple[Any, Any]:
    """The statement selecting (message, project id) of every match, and its order."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        fts = sa.table("messages_fts", sa.column("rowid"), sa.column("messages_fts"))
        query = " ".join(f'"{t}"' for t in terms)
        match = sa.text("messages_fts MATCH :q").bindparams(q=query)
        base = (
            sa.select(Message, col(ChatSession.project_id))
            .select_from(fts)
            .join(Message, col(Message.id) == fts.c.rowid)
            .join(ChatSession, col(ChatSession.id) == Message.session_id)
            .where(match, *where)
        )
        order = fts.c.rowid.desc()
    else:
        tsquery = sa.func.to_tsquery("simple", " & ".join(terms))
        base = (
            sa.select(Message, col(ChatSession.project_id))
            .join(ChatSession, col(ChatSession.id) == Message.session_id)
            .where(
                sa.func.to_tsvector("simple", col(Message.content)).bool_op("@@")(tsquery),
                *where,
            )
        )
        order = col(Message.id).desc()
    return base, order


def snippet(content: str, terms: list[str], width: int = 60) -> str:
    """Up to ``width`` characters either side of the first matching word, on one line."""
    flat = " ".join(content.split())
    lowered = flat.lower()
    best = None
    for term in terms:
        match = re.search(rf"(?<![^\W_]){re.escape(term)}(?![^\W_])", lowered)
        if match and (best is None or match.start() < best):
            best = match.start()
    if best is None:
        best = 0
    start = max(0, best - width)
    end = min(len(flat), best + width)
    head = "…" if start > 0 else ""
    tail = "…" if end < len(flat) else ""
    return head + flat[start:end].strip() + tail
