"""The story record of a project and its revisions (issue 12 item 3).

``projects.story`` keeps ``{concept, logline, synopsis, characters: [{name, description}],
scenes: [{title, description}], directions: [{step, text, at}]}``. Every change to it, from
a chat message, a ``story`` command or an apply file, goes through :func:`record`, which
writes one :class:`~moviecli.models.StoryRevision` per field or item that changed (who,
when, source, before and after), so nothing the creator wrote is ever lost: :func:`undo`
reverts the latest group of revisions, and is itself a revision.

Sizes are bounded before anything is written (:func:`check_updates`, the one validator of
every path): one text (a concept, a logline, a synopsis paragraph, a description, a
direction) at most 64 KiB of UTF-8 (``MAX_TEXT_BYTES``; attach longer texts as files); a
concept, logline or synopsis grown by extends at most 1 MiB (``MAX_FIELD_BYTES``); a
character's name or a scene's title at most 200 characters on one line (``MAX_NAME``); at
most 1,000 characters and 1,000 scenes (``MAX_ITEMS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from moviecli.errors import Conflict, NotFound, UsageError, ValidationFailed
from moviecli.models import (
    Project,
    StoryPublic,
    StoryRevision,
    StoryRevisionPublic,
    User,
    new_id,
    utcnow,
)
from moviecli.services import projects
from moviecli.services.pagination import Page, check_page
from moviecli.services.workflow import ORDER, STEPS
from moviecli.text import fold

MAX_TEXT_BYTES = 64 * 1024
MAX_FIELD_BYTES = 1024 * 1024
MAX_NAME = 200
MAX_ITEMS = 1000

FieldName = Literal["concept", "logline", "synopsis", "character", "scene", "direction"]
Op = Literal["set", "extend", "remove"]
SourceKind = Literal["chat", "command", "apply", "undo"]
Action = Literal["recorded", "replaced", "extended", "updated", "removed", "unchanged"]

TEXT_FIELDS = ("concept", "logline", "synopsis")
# An item field: (the list in the story record, the key that names an item)
LISTS = {
    "character": ("characters", "name"),
    "scene": ("scenes", "title"),
    "direction": ("directions", "step"),
}
OPS: dict[str, tuple[str, ...]] = {
    "concept": ("set", "extend", "remove"),
    "logline": ("set", "extend", "remove"),
    "synopsis": ("set", "extend", "remove"),
    "character": ("set", "remove"),
    "scene": ("set", "remove"),
    "direction": ("extend",),
}
# How an extend joins the new text to the old: a concept and a logline grow by a
# sentence, a synopsis by a paragraph.
JOINS = {"concept": " ", "logline": " ", "synopsis": "\n\n"}
NOUNS = {"character": "character", "scene": "scene", "direction": "direction"}


@dataclass(frozen=True)
class StoryUpdate:
    """One change the creator asked for, already understood (by the built-in
    understanding, the model, a ``story set`` option or an apply file).

    - concept/logline/synopsis: ``set`` replaces the text, ``extend`` adds to it (a new
      sentence; for the synopsis a new paragraph), ``remove`` clears it;
    - character/scene: ``set`` adds the item, or updates the one whose ``name`` matches
      (``text.fold``: case and compatibility forms do not matter), keeping its recorded
      description when ``text`` is blank; ``remove`` deletes it;
    - direction: ``extend`` appends ``{step, text, at}``.
    """

    field: FieldName
    op: Op
    text: str = ""
    name: str | None = None  # the character's name / the scene's title
    step: str | None = None  # a direction's step
    at: datetime | None = None  # a direction's time (apply restores it; default: now)


@dataclass(frozen=True)
class Source:
    kind: SourceKind
    message_id: int | None = None  # the chat message that asked for it


@dataclass(frozen=True)
class Change:
    """What one update did, for the reply ("Recorded …", "Replaced …; /undo restores …")."""

    field: str
    action: Action
    name: str | None
    before: Any
    after: Any


# --- checking -----------------------------------------------------------------------------


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _kib(limit: int) -> str:
    return f"{limit // 1024 // 1024} MiB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"


def problems_of(update: StoryUpdate) -> list[str]:
    """What is wrong with one update (empty: it may be recorded), without its place."""
    if update.field not in OPS:
        return [f"unknown field {update.field!r} (one of: {', '.join(OPS)})"]
    if update.op not in OPS[update.field]:
        return [
            f"{update.op!r} does not apply to {update.field} (use {', '.join(OPS[update.field])})"
        ]
    out: list[str] = []
    text = update.text if isinstance(update.text, str) else ""
    if not isinstance(update.text, str):
        out.append("text must be a string")
    if _size(text) > MAX_TEXT_BYTES:
        out.append(
            f"text is {_size(text):,} bytes, over the limit of {_kib(MAX_TEXT_BYTES)} "
            "(attach long texts as files)"
        )
    if update.field in TEXT_FIELDS:
        if update.op != "remove" and not text.strip():
            out.append("is blank (remove clears it)")
    elif update.field == "direction":
        if update.step not in ORDER:
            out.append(f"step {update.step!r} is not a workflow step ({', '.join(ORDER)})")
        if not text.strip():
            out.append("is blank")
    else:
        out.extend(_name_problems(update.name, LISTS[update.field][1]))
    return out


def _name_problems(name: Any, key: str) -> list[str]:
    if not isinstance(name, str) or not name.strip():
        return [f"a {key} is required"]
    name = name.strip()
    if len(name) > MAX_NAME:
        return [f"the {key} is {len(name)} characters, over the limit of {MAX_NAME}"]
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in name):
        return [f"the {key} must be one line without control characters"]
    return []


def _place(update: StoryUpdate) -> str:
    if update.field in ("character", "scene") and isinstance(update.name, str):
        return f"{update.field} {update.name.strip()[:40]!r}"
    return str(update.field)


def _cleaned(update: StoryUpdate) -> StoryUpdate:
    name = update.name.strip() if update.name is not None else None
    return replace(update, text=update.text.strip(), name=name)


def check_updates(raw: Sequence[StoryUpdate]) -> tuple[list[StoryUpdate], list[str]]:
    """The one validator every path uses before anything is written: sizes (the limits of
    this module's docstring), blank names, unknown fields and operations.

    Returns the valid updates (texts and names trimmed) and one line per problem,
    ``"<field or item>: <what is wrong>"``.
    """
    valid: list[StoryUpdate] = []
    problems: list[str] = []
    for update in raw:
        found = problems_of(update)
        if found:
            problems.extend(f"{_place(update)}: {p}" for p in found)
        else:
            valid.append(_cleaned(update))
    return valid, problems


def require_valid(raw: Sequence[StoryUpdate]) -> list[StoryUpdate]:
    """The updates, checked; every problem at once as a validation error (exit 2)."""
    valid, problems = check_updates(raw)
    if problems:
        details: dict[str, str] = {}
        for line in problems:
            place, _, message = line.partition(": ")
            key, n = place, 2
            while key in details:
                key, n = f"{place} ({n})", n + 1
            details[key] = message
        raise ValidationFailed(details, message="invalid story change")
    return valid


# --- the record ------------------------------------------------------------------------------


def normalized(story: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of a story record with every key present (old records lack ``logline``)."""
    story = story or {}
    return {
        "concept": story.get("concept") or None,
        "logline": story.get("logline") or None,
        "synopsis": story.get("synopsis") or None,
        "characters": [dict(c) for c in story.get("characters") or []],
        "scenes": [dict(s) for s in story.get("scenes") or []],
        "directions": [dict(d) for d in story.get("directions") or []],
    }


@dataclass
class _Draft:
    """One revision to write: net before/after of a field or an item."""

    field: str
    name: str | None
    position: int | None
    before: Any
    after: Any
    ops: list[str]


def _index(items: list[dict[str, Any]], key: str, name: str) -> int | None:
    wanted = fold(name)
    for i, item in enumerate(items):
        if fold(str(item.get(key, ""))) == wanted:
            return i
    return None


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _extend(field: str, old: str | None, text: str) -> str:
    if not old:
        return text
    if field != "synopsis" and old.rstrip()[-1:] not in (".", "!", "?", "…", '"', "'", ")"):
        old = old.rstrip() + "."
    return old.rstrip() + JOINS[field] + text


def _apply_text(story: dict[str, Any], update: StoryUpdate) -> _Draft:
    old = story[update.field]
    if update.op == "remove":
        new = None
    elif update.op == "extend":
        new = _extend(update.field, old, update.text)
    else:
        new = update.text
    story[update.field] = new
    return _Draft(update.field, None, None, old, new, [update.op])


def _apply_item(story: dict[str, Any], update: StoryUpdate, at: datetime) -> _Draft:
    list_name, key = LISTS[update.field]
    items: list[dict[str, Any]] = story[list_name]
    if update.field == "direction":
        item = {"step": update.step, "text": update.text, "at": _iso(update.at or at)}
        items.append(item)
        return _Draft("direction", update.step, None, None, item, ["extend"])
    assert update.name is not None
    index = _index(items, key, update.name)
    if index is None:
        if update.op == "remove":
            return _Draft(update.field, update.name, None, None, None, ["remove"])
        new = {key: update.name, "description": update.text}
        items.append(new)
        return _Draft(update.field, update.name, None, None, new, ["set"])
    old = dict(items[index])
    if update.op == "remove":
        del items[index]
        return _Draft(update.field, str(old.get(key)), index, old, None, ["remove"])
    # The recorded spelling of the name stays; a blank description keeps the recorded one.
    new = {**old, "description": update.text or old.get("description", "")}
    items[index] = new
    return _Draft(update.field, str(old.get(key)), index, old, new, ["set"])


def _merged(drafts: list[_Draft]) -> list[_Draft]:
    """One draft per field or item: the first before, the last after (directions each
    stand alone); drafts whose net before equals their after are dropped."""
    out: list[_Draft] = []
    by_key: dict[tuple[str, str], _Draft] = {}
    for draft in drafts:
        if draft.field == "direction":
            out.append(draft)
            continue
        key = (draft.field, fold(draft.name or ""))
        first = by_key.get(key)
        if first is None:
            by_key[key] = draft
            out.append(draft)
        else:
            first.after = draft.after
            first.ops += draft.ops
            if draft.after is not None and first.before is not None:
                first.name = draft.name or first.name
    return out


def _action(draft: _Draft) -> Action:
    if draft.before == draft.after:
        return "unchanged"
    if draft.before is None:
        return "recorded"
    if draft.after is None:
        return "removed"
    if draft.field in TEXT_FIELDS:
        return "extended" if set(draft.ops) == {"extend"} else "replaced"
    return "updated"


def _change(draft: _Draft) -> Change:
    return Change(draft.field, _action(draft), draft.name, draft.before, draft.after)


def _check_sizes(story: dict[str, Any], drafts: list[_Draft]) -> None:
    problems: dict[str, str] = {}
    touched = {d.field for d in drafts if d.before != d.after}
    for field in TEXT_FIELDS:
        text = story[field] or ""
        if field in touched and _size(text) > MAX_FIELD_BYTES:
            problems[field] = (
                f"would be {_size(text):,} bytes, over the limit of {_kib(MAX_FIELD_BYTES)} "
                "(attach long texts as files)"
            )
    for field in ("character", "scene"):
        list_name = LISTS[field][0]
        if field in touched and len(story[list_name]) > MAX_ITEMS:
            problems[list_name] = (
                f"would hold {len(story[list_name])}, over the limit of {MAX_ITEMS}"
            )
    if problems:
        raise ValidationFailed(problems, message="the story would be too large")


def _write(
    session: Session,
    project: Project,
    story: dict[str, Any],
    drafts: list[_Draft],
    *,
    actor: User,
    source: Source,
    at: datetime,
    reverts: str | None = None,
) -> None:
    """The revisions of one group and the new story record, in the caller's transaction."""
    group = new_id()
    rows = [
        {
            "project_id": project.id,
            "group_id": group,
            "user_id": actor.id,
            "source": source.kind,
            "message_id": source.message_id,
            "reverts": reverts,
            "field": d.field,
            "name": d.name,
            "position": d.position,
            "before": d.before,
            "after": d.after,
            "created_at": at,
        }
        for d in drafts
        if d.before != d.after
    ]
    if not rows:
        return
    session.execute(sa.insert(StoryRevision), rows)
    project.story = story
    project.updated_at = at
    session.add(project)
    session.flush()


def preview(
    story: dict[str, Any] | None, updates: Sequence[StoryUpdate], *, at: datetime
) -> tuple[dict[str, Any], list[Change]]:
    """What :func:`record` would make of ``story`` (a story record, not changed): the new
    record and the changes, without writing anything. Invalid updates and a story grown
    past its limits raise (exit 2), as in :func:`record`. The chat writes its reply from
    this before the turn's last transaction records the same updates."""
    new, drafts = _drafted(story, require_valid(updates), at)
    return new, [_change(d) for d in drafts]


def _drafted(
    story: dict[str, Any] | None, valid: Sequence[StoryUpdate], at: datetime
) -> tuple[dict[str, Any], list[_Draft]]:
    new = normalized(story)
    drafts = [
        _apply_text(new, u) if u.field in TEXT_FIELDS else _apply_item(new, u, at) for u in valid
    ]
    drafts = _merged(drafts)
    _check_sizes(new, drafts)
    return new, drafts


def record(
    session: Session,
    project: Project,
    updates: Sequence[StoryUpdate],
    *,
    actor: User,
    source: Source,
    at: datetime | None = None,
) -> list[Change]:
    """Apply ``updates`` to the locked project's story in the caller's write transaction.

    One revision per field or item that changed (none when the value is equal), all in
    one group; returns one :class:`Change` per field or item the updates named, in their
    order (``unchanged`` ones included). Invalid updates raise (exit 2) and write nothing.
    """
    at = at or utcnow()
    story, drafts = _drafted(project.story, require_valid(updates), at)
    _write(session, project, story, drafts, actor=actor, source=source, at=at)
    return [_change(d) for d in drafts]


# --- undo ----------------------------------------------------------------------------------


def _undoable_groups(project_id: str) -> Any:
    """The groups that an undo may revert, newest first: not undos, not reverted yet."""
    r = col(StoryRevision.project_id)
    reverted = sa.select(col(StoryRevision.reverts)).where(
        r == project_id, col(StoryRevision.reverts).is_not(None)
    )
    last = sa.func.max(col(StoryRevision.id))
    return (
        sa.select(col(StoryRevision.group_id))
        .where(
            r == project_id,
            col(StoryRevision.source) != "undo",
            col(StoryRevision.group_id).not_in(reverted),
        )
        .group_by(col(StoryRevision.group_id))
        .order_by(last.desc())
    )


def _inverse(story: dict[str, Any], revision: StoryRevision) -> _Draft:
    """Put ``revision``'s before back into ``story``; the draft of that change."""
    field = revision.field
    if field in TEXT_FIELDS:
        old = story[field]
        story[field] = revision.before
        return _Draft(field, None, None, old, revision.before, ["undo"])
    list_name, key = LISTS[field]
    items: list[dict[str, Any]] = story[list_name]
    if field == "direction":
        index = next(
            (i for i in range(len(items) - 1, -1, -1) if items[i] == revision.after), None
        )
    else:
        index = _index(items, key, revision.name or "")
    current = dict(items[index]) if index is not None else None
    if revision.before is None:
        if index is not None:
            del items[index]
    elif index is not None:
        items[index] = dict(revision.before)
    else:
        at = revision.position if revision.position is not None else len(items)
        items.insert(min(max(at, 0), len(items)), dict(revision.before))
    return _Draft(field, revision.name, index, current, revision.before, ["undo"])


@dataclass
class Undone:
    """What an undo reverted: the group's source, author and time, and the changes."""

    group: str | None
    source: str | None
    user_id: str | None
    at: datetime | None
    changes: list[Change]


def undo(
    session: Session, project: Project, *, actor: User, at: datetime | None = None
) -> list[Change]:
    """Revert the latest revision group not already reverted (repeated undo walks further
    back), in the caller's write transaction on the locked project. The undo is itself a
    revision group (source ``undo``). Returns [] when there is nothing to undo."""
    return undo_group(session, project, actor=actor, at=at).changes


def undo_group(
    session: Session, project: Project, *, actor: User, at: datetime | None = None
) -> Undone:
    """:func:`undo`, saying which group it reverted."""
    at = at or utcnow()
    offset = 0
    while True:
        groups = (
            session.execute(_undoable_groups(project.id).offset(offset).limit(50)).scalars().all()
        )
        if not groups:
            return Undone(None, None, None, None, [])
        for group in groups:
            revisions = session.exec(
                select(StoryRevision)
                .where(
                    col(StoryRevision.project_id) == project.id,
                    col(StoryRevision.group_id) == group,
                )
                .order_by(col(StoryRevision.id).desc())
            ).all()
            story = normalized(project.story)
            drafts = [_inverse(story, r) for r in revisions]
            drafts.reverse()  # reported in the order the changes were made
            if all(d.before == d.after for d in drafts):
                continue  # the story already is as before this group (changed outside)
            _write(
                session,
                project,
                story,
                drafts,
                actor=actor,
                source=Source("undo"),
                at=at,
                reverts=group,
            )
            first = revisions[-1]
            return Undone(
                group,
                first.source,
                first.user_id,
                first.created_at,
                [_change(d) for d in drafts if d.before != d.after],
            )
        offset += len(groups)


# --- what a reply says ------------------------------------------------------------------------


def quote(text: str, limit: int = 160) -> str:
    """``'text'`` on one line, cut with … past ``limit`` characters."""
    flat = " ".join(str(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return f"'{flat}'"


def _words(text: str | None) -> int:
    return len((text or "").split())


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def describe(changes: Sequence[Change], *, undo: str | None = "/undo") -> list[str]:
    """The sentences a reply quotes, in the order of the changes:
    "Recorded 3 characters: Mia, Rex, Ada.",
    "Replaced the concept; /undo restores: 'A heist on the moon'.".
    ``undo`` names the way back in a replacement's sentence (None: not mentioned)."""
    said: list[str | tuple[str, str]] = []
    names: dict[tuple[str, str], list[str]] = {}
    for change in changes:
        if change.field in TEXT_FIELDS:
            said.append(_text_sentence(change, undo))
        elif change.field == "direction":
            said.append(_direction_sentence(change))
        elif replaced := _replaced_description(change):
            # the old description is the creator's work too: say what undo brings back
            item = f"{NOUNS[change.field]} {change.name}"
            if undo:
                said.append(f"Updated the {item}; {undo} restores: {quote(replaced)}.")
            else:
                said.append(f"Updated the {item} (it was {quote(replaced)}).")
        else:
            kind = (
                "absent"
                if change.action == "unchanged" and change.after is None
                else change.action
            )
            key = (change.field, kind)
            if key not in names:
                names[key] = []
                said.append(key)
            names[key].append(change.name or "")
    return [_tidy(s if isinstance(s, str) else _item_sentence(*s, names[s])) for s in said]


def _tidy(sentence: str) -> str:
    """A sentence ending in a quote that ends its own sentence takes no second full stop:
    "Recorded the logline: 'Cats steal the moon.'" rather than "… moon.'."."""
    return sentence[:-1] if sentence.endswith((".'.", "!'.", "?'.", "…'.")) else sentence


def _replaced_description(change: Change) -> str | None:
    """The description an item update replaced, when there was one to lose."""
    if change.action != "updated" or not isinstance(change.before, dict):
        return None
    before = change.before.get("description") or ""
    after = (change.after or {}).get("description") if isinstance(change.after, dict) else ""
    return before if before.strip() and before != after else None


def _text_sentence(change: Change, undo: str | None) -> str:
    the = f"the {change.field}"
    if change.action == "unchanged":
        if change.after is None:
            return f"There is no {change.field} to remove."
        return f"{the.capitalize()} already is {quote(change.after)}."
    if change.action == "recorded":
        if change.field == "synopsis":
            return f"Recorded the synopsis ({_words(change.after)} words)."
        return f"Recorded {the}: {quote(change.after)}."
    if change.action == "extended":
        if change.field == "synopsis":
            return f"Added to the synopsis (now {_words(change.after)} words)."
        return f"Added to {the}: {quote(change.after)}."
    verb = "Removed" if change.action == "removed" else "Replaced"
    if undo:
        return f"{verb} {the}; {undo} restores: {quote(change.before)}."
    return f"{verb} {the} (it was {quote(change.before)})."


def _direction_sentence(change: Change) -> str:
    item = change.after if change.after is not None else change.before
    text = quote(item["text"]) if isinstance(item, dict) else "''"
    if change.action == "removed":
        return f"Removed a direction: {text}."
    step = STEPS[change.name].title if change.name in STEPS else str(change.name)
    return f"Noted as a direction for {step}: {text}."


_ITEM_VERBS = {"recorded": "Recorded", "updated": "Updated", "removed": "Removed"}


def _item_sentence(field: str, kind: str, names: list[str]) -> str:
    listed = ", ".join(names)
    if kind == "unchanged":
        return f"Already recorded as given: {listed}."
    if kind == "absent":
        return f"No {NOUNS[field]} to remove: {listed}."
    return f"{_ITEM_VERBS[kind]} {_count(len(names), NOUNS[field])}: {listed}."


def describe_undo(changes: Sequence[Change]) -> list[str]:
    """The sentences of an undo, from the changes :func:`undo` returns:
    "Restored the concept: 'A heist on the moon' (it was 'Two brothers').",
    "Restored 1 character: Mia.", "Removed 2 characters: Rex, Ada."."""
    said: list[str | tuple[str, str]] = []
    names: dict[tuple[str, str], list[str]] = {}
    for change in changes:
        if change.field in TEXT_FIELDS:
            the = f"the {change.field}"
            if change.after is None:
                said.append(f"Removed {the} (it was {quote(change.before)}).")
            elif change.before is None:
                said.append(f"Restored {the}: {quote(change.after)}.")
            else:
                said.append(
                    f"Restored {the}: {quote(change.after)} (it was {quote(change.before)})."
                )
        elif change.field == "direction":
            item = change.after if change.after is not None else change.before
            text = quote(item["text"]) if isinstance(item, dict) else "''"
            verb = "Removed" if change.after is None else "Restored"
            said.append(f"{verb} a direction: {text}.")
        else:
            key = (change.field, "Removed" if change.after is None else "Restored")
            if key not in names:
                names[key] = []
                said.append(key)
            names[key].append(change.name or "")
    return [
        _tidy(s)
        if isinstance(s, str)
        else f"{s[1]} {_count(len(names[s]), NOUNS[s[0]])}: {', '.join(names[s])}."
        for s in said
    ]


# --- reading ---------------------------------------------------------------------------------


def show(session: Session, actor: User, project_ref: str | None) -> StoryPublic:
    """A project's story record (read access: anyone who may see the project)."""
    project = projects.resolve_or_current(session, actor, project_ref)
    return StoryPublic.of(project)


def history(
    session: Session,
    actor: User,
    project_ref: str | None,
    page: int = 1,
    limit: int = 20,
) -> tuple[Project, Page[StoryRevisionPublic]]:
    """A project's story revisions, newest first, as a page (read access)."""
    check_page(page, limit)
    project = projects.resolve_or_current(session, actor, project_ref)
    where = col(StoryRevision.project_id) == project.id
    total = session.execute(
        sa.select(sa.func.count()).select_from(StoryRevision).where(where)
    ).scalar_one()
    rows = session.execute(
        sa.select(StoryRevision, col(User.name), col(User.deleted_at))
        .join(User, col(User.id) == col(StoryRevision.user_id))
        .where(where)
        .order_by(col(StoryRevision.id).desc())
        .offset((page - 1) * limit)
        .limit(limit)
    ).all()
    items = [
        StoryRevisionPublic.of(rev, "(deleted user)" if deleted else name)
        for rev, name, deleted in rows
    ]
    return project, Page(items, int(total), page, limit)


# --- the story commands ----------------------------------------------------------------------


def update_story(
    session: Session, actor: User, project_ref: str | None, updates: Sequence[StoryUpdate]
) -> tuple[Project, list[Change]]:
    """``story set``: the updates as one revision group (source ``command``).

    Edit access (creator, collaborators, admins; a producer reads only: exit 4). Removing
    a character or scene the story does not hold is exit 3 naming it, and changes nothing.
    """
    if not updates:
        raise UsageError(
            "nothing to change",
            hint="pass --concept, --logline, --synopsis, --character, --scene or a --remove-…",
        )
    valid = require_valid(updates)  # bad input is exit 2 before the project is looked at
    project = projects.editable(session, actor, project_ref)
    _require_present(project, valid)
    changes = record(session, project, valid, actor=actor, source=Source("command"))
    return project, changes


def _require_present(project: Project, updates: Sequence[StoryUpdate]) -> None:
    story = normalized(project.story)
    held: dict[str, set[str]] = {}
    for u in updates:
        if u.field not in ("character", "scene"):
            continue
        list_name, key = LISTS[u.field]
        names = held.setdefault(u.field, {fold(str(i.get(key, ""))) for i in story[list_name]})
        if u.op == "set":
            names.add(fold(u.name or ""))
        elif fold(u.name or "") not in names:
            known = [str(i.get(key, "")) for i in story[list_name]]
            raise NotFound(
                f"project {project.title!r} has no {u.field} named {u.name!r}",
                hint=f"its {list_name}: {', '.join(known)}" if known else f"it has no {list_name}",
            )
        else:
            names.discard(fold(u.name or ""))


def undo_story(session: Session, actor: User, project_ref: str | None) -> tuple[Project, Undone]:
    """``story undo``: revert the latest revision group (edit access). Nothing left to
    undo is exit 5."""
    project = projects.editable(session, actor, project_ref)
    undone = undo_group(session, project, actor=actor)
    if undone.group is None:
        raise Conflict(
            f"nothing to undo in the story of {project.title!r}",
            hint="no recorded change is left to revert",
        )
    return project, undone
