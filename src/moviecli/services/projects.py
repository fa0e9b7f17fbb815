"""Projects (SPEC section 3): lifecycle, limits, collaborators and the dashboard data."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, col, select

from moviecli import suggest
from moviecli.enums import (
    ASPECT_RATIOS,
    AUDIENCES,
    GENRES,
    MEDIA_FAMILIES,
    PROJECT_STATUSES,
    QUALITY_TIERS,
    STATUS_ORDER,
)
from moviecli.errors import (
    Ambiguous,
    Conflict,
    InvalidTransition,
    NotFound,
    UsageError,
    ValidationFailed,
)
from moviecli.models import (
    ActiveProject,
    ChatSession,
    Media,
    Message,
    Project,
    ProjectCollaborator,
    ProjectPublic,
    StoryRevision,
    StyleReference,
    Template,
    User,
    UserRef,
    fold_keys,
    utcnow,
)
from moviecli.services import access, counting, limits, workflow
from moviecli.services.pagination import Page, page_problems, paginate
from moviecli.services.resolve import MIN_PREFIX
from moviecli.services.users import resolve_user
from moviecli.storage.db import lock_row
from moviecli.text import fold

SORTS = {"updated", "created", "title", "progress"}
# What a new project has when neither the command, a template nor a preference says
# (project create, template create, apply).
DEFAULTS: dict[str, Any] = {
    "description": "",
    "target_audience": "family",
    "aspect_ratio": "16:9",
    "episode_duration": 22,
    "quality_tier": "standard",
}
# The fields a template gives a project created from it.
TEMPLATE_FIELDS = (
    "genre",
    "target_audience",
    "episode_count",
    "aspect_ratio",
    "episode_duration",
    "quality_tier",
)


# --- validation ------------------------------------------------------------------------------


@dataclass
class Fields:
    """Project fields as given on the command line or in a file; None = not given."""

    title: str | None = None
    description: str | None = None
    genre: str | None = None
    episode_count: int | None = None
    target_audience: str | None = None
    aspect_ratio: str | None = None
    episode_duration: int | None = None
    quality_tier: str | None = None

    def given(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}


# camelCase names used in error details, as in --json and apply files
FIELD_NAMES = {
    "title": "title",
    "description": "description",
    "genre": "genre",
    "episode_count": "episodeCount",
    "target_audience": "targetAudience",
    "aspect_ratio": "projectSettings.aspectRatio",
    "episode_duration": "projectSettings.episodeDuration",
    "quality_tier": "projectSettings.qualityTier",
}


def validate(fields: Fields) -> dict[str, str]:
    """Every problem with the given fields at once, keyed by camelCase field name."""
    problems: dict[str, str] = {}
    if fields.title is not None:
        title = fields.title.strip()
        if not title:
            problems["title"] = "is required"
        elif len(title) > 200:
            problems["title"] = "must be at most 200 characters"
    if fields.description is not None and len(fields.description) > 10_000:
        problems["description"] = "must be at most 10000 characters"
    for attr, allowed in (
        ("genre", GENRES),
        ("target_audience", AUDIENCES),
        ("aspect_ratio", ASPECT_RATIOS),
        ("quality_tier", QUALITY_TIERS),
    ):
        value = getattr(fields, attr)
        if value is not None:  # any case: --genre Sci-Fi is sci-fi
            setattr(fields, attr, suggest.pick(value, allowed, FIELD_NAMES[attr], problems))
    if fields.episode_count is not None:
        problem = limits.episodes_problem(fields.episode_count)
        if problem:
            problems["episodeCount"] = problem
    if fields.episode_duration is not None and not 1 <= fields.episode_duration <= 180:
        problems["projectSettings.episodeDuration"] = "must be between 1 and 180 minutes"
    return problems


def _whose(owner_id: str, actor: User) -> str:
    return "your" if owner_id == actor.id else "the creator's"


def _episode_limit(owner: User, episodes: int, actor: User) -> None:
    limits.check_episodes(owner, episodes, whose=_whose(owner.id, actor))


def _title_taken(
    session: Session, owner_id: str, title: str, actor: User, *, except_id: str | None = None
) -> None:
    stmt = select(Project.id).where(
        col(Project.created_by) == owner_id, col(Project.title_key) == fold(title)
    )
    if except_id:
        stmt = stmt.where(col(Project.id) != except_id)
    if session.exec(stmt).first() is not None:
        who = "you already have" if owner_id == actor.id else "its creator already has"
        raise Conflict(f"{who} a project titled {title!r}")


# --- create ----------------------------------------------------------------------------------


def get_template(session: Session, name: str) -> Template:
    template = session.get(Template, name.strip().lower())
    if template is None:
        names = session.exec(select(Template.name).order_by(col(Template.name))).all()
        known = "known: " + ", ".join(names)
        guess = suggest.did_you_mean(name, names)
        raise NotFound(f"template {name!r} not found", hint=f"{guess} {known}" if guess else known)
    return template


def or_defaults(fields: Fields) -> dict[str, Any]:
    """The settings ``fields`` give, each one not given its default (``DEFAULTS``)."""
    values = {name: getattr(fields, name) or default for name, default in DEFAULTS.items()}
    values["description"] = values["description"].strip()
    return values


def template_fields(template: Template) -> dict[str, Any]:
    """The fields ``template`` gives a project created from it."""
    return {name: getattr(template, name) for name in TEMPLATE_FIELDS}


def create_project(
    session: Session, actor: User, fields: Fields, *, template: str | None = None
) -> Project:
    """Create a project for ``actor``; limits are checked under the actor's row lock.

    Missing fields come from the template, then the actor's preferences
    (defaultGenre, defaultAudience, defaultEpisodes), then the defaults.
    """
    return Creating(session, actor).create(fields, template=template)


def _row(project: Project) -> dict[str, Any]:
    return {column.key: getattr(project, column.key) for column in _PROJECTS.columns}


class Creating:
    """Projects created for one actor in one write transaction (``project create`` makes
    one; ``apply`` a run of them).

    The actor's row is locked and its projects counted once, when the first is created:
    the lock serialises creates per user, so inside the transaction the count stays
    exact as this object adds to it, and the limit is checked against it each time.
    """

    def __init__(self, session: Session, actor: User) -> None:
        self.session, self.actor = session, actor
        self._owner: User | None = None
        self._count = 0

    def _locked_owner(self) -> User:
        if self._owner is None:
            owner = lock_row(self.session, User, self.actor.id)
            assert owner is not None
            self._count = self.session.execute(
                sa.select(sa.func.count())
                .select_from(Project)
                .where(col(Project.created_by) == owner.id)
            ).scalar_one()
            self._owner = owner
        return self._owner

    def create(self, fields: Fields, *, template: str | None = None) -> Project:
        """One project (see :func:`create_project`)."""
        session = self.session
        merged = self._merged(fields, template)
        assert merged.title is not None and merged.episode_count is not None
        title = merged.title.strip()
        owner = self._locked_owner()
        limits.check_project_count(owner, self._count)
        _episode_limit(owner, merged.episode_count, self.actor)
        now = utcnow()
        project = Project(
            title=title,
            genre=merged.genre or "",
            episode_count=merged.episode_count,
            created_by=owner.id,
            **or_defaults(merged),
            created_at=now,
            updated_at=now,
        )
        fold_keys(project)
        try:
            # A plain INSERT, the row then handed to the session as loaded: a fifth of
            # the ORM's flush, which was most of the time of an apply of many projects.
            # The unique (creator, title key) index is the check: the creator is the
            # actor, so a clash is always "you already have".
            session.execute(sa.insert(_PROJECTS), _row(project))
        except IntegrityError as exc:
            raise Conflict(f"you already have a project titled {title!r}") from exc
        make_transient_to_detached(project)
        session.add(project)
        self._count += 1
        # A new project is one the creator works on: active, and current if none is.
        session.execute(sa.insert(_ACTIVE), {"user_id": owner.id, "project_id": project.id})
        if not owner.preferences.get("currentProject"):
            owner.preferences = {**owner.preferences, "currentProject": project.id}
            session.add(owner)
        return project

    def _merged(self, fields: Fields, template: str | None) -> Fields:
        """``fields`` over the template's, the actor's preferences and the defaults;
        every problem at once (ValidationFailed)."""
        values: dict[str, Any] = {}
        if template is not None:
            tpl = get_template(self.session, template)
            values.update(template_fields(tpl))
            if tpl.description and fields.description is None:
                values["description"] = tpl.description
        prefs = self.actor.preferences
        for attr, key in (
            ("genre", "defaultGenre"),
            ("target_audience", "defaultAudience"),
            ("episode_count", "defaultEpisodes"),
        ):
            if attr not in values and prefs.get(key) is not None:
                values[attr] = prefs[key]
        values.update(fields.given())
        merged = Fields(**values)
        problems = validate(merged)
        if merged.title is None:
            problems["title"] = "is required"
        if merged.genre is None:
            problems["genre"] = "is required (pass --genre, --template or set defaultGenre)"
        if merged.episode_count is None:
            problems["episodeCount"] = "is required (pass --episodes or --template)"
        if problems:
            raise ValidationFailed(problems)
        return merged


# --- naming a project ------------------------------------------------------------------------


def resolve(session: Session, actor: User, ref: str) -> Project:
    """Exact id, the actor's own title, the single visible title, then an id prefix.

    Projects the actor may not see are not found (exit 3); two candidates → exit 2.
    """
    ref = ref.strip()
    if not ref:
        raise UsageError("no project given")
    visible = access.visible_projects(actor)
    exact = session.exec(select(Project).where(col(Project.id) == ref, visible)).first()
    if exact is not None:
        return exact
    by_title = session.exec(
        select(Project)
        .where(col(Project.title_key) == fold(ref), visible)
        .order_by(col(Project.created_at))
        .limit(10)
    ).all()
    own = [p for p in by_title if p.created_by == actor.id]
    if own:
        return own[0]
    if len(by_title) == 1:
        return by_title[0]
    if len(by_title) > 1:
        raise Ambiguous(_ambiguous(session, ref, by_title), hint="name it by id")
    if len(ref) >= MIN_PREFIX and ref.isalnum():
        matches = session.exec(
            select(Project).where(col(Project.id).startswith(ref.lower()), visible).limit(6)
        ).all()
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise Ambiguous(
                _ambiguous(session, ref, matches), hint="give more characters of the id"
            )
    raise NotFound(f"project {ref!r} not found", hint=_closest_titles(session, ref, visible))


def _closest_titles(session: Session, ref: str, visible: sa.ColumnElement[bool]) -> str | None:
    """Did you mean …? among the titles the actor may see (never another's)."""
    titles = session.exec(
        select(Project.title).where(visible).order_by(col(Project.updated_at).desc()).limit(20_000)
    ).all()
    return suggest.did_you_mean(ref, titles)


def _ambiguous(session: Session, ref: str, projects: Any) -> str:
    owners = _owners(session, {p.created_by for p in projects})
    shown = ", ".join(f"{p.id[:8]} {p.title!r} by {owners[p.created_by]}" for p in projects[:5])
    return f"{ref!r} names several projects: {shown}"


def resolve_or_current(session: Session, actor: User, ref: str | None) -> Project:
    if ref:
        return resolve(session, actor, ref)
    current = actor.preferences.get("currentProject")
    if not current:
        raise UsageError("no project given", hint="pass one or run moviecli project use")
    try:
        return resolve(session, actor, str(current))
    except NotFound:
        raise UsageError(
            "your current project no longer exists", hint="pass one or run moviecli project use"
        ) from None


def editable(session: Session, actor: User, ref: str | None) -> Project:
    """Resolve a project the actor will change, locked for the rest of the transaction."""
    project = resolve_or_current(session, actor, ref)
    access.require_edit_project(session, actor, project)
    locked = lock_row(session, Project, project.id)
    assert locked is not None
    return locked


# --- public shapes ---------------------------------------------------------------------------


# The lookups beside a command's main query read the tables through SQLAlchemy Core: they
# return plain values, and skip the ORM's compile step (a tenth of a `project list`).
_USERS = cast(sa.Table, User.__table__)  # type: ignore[attr-defined]
_PROJECTS = cast(sa.Table, Project.__table__)  # type: ignore[attr-defined]
_ACTIVE = cast(sa.Table, ActiveProject.__table__)  # type: ignore[attr-defined]
_COLLABORATORS = cast(sa.Table, ProjectCollaborator.__table__)  # type: ignore[attr-defined]
_STYLE_REFS = cast(sa.Table, StyleReference.__table__)  # type: ignore[attr-defined]
_MEDIA = cast(sa.Table, Media.__table__)  # type: ignore[attr-defined]
_SESSIONS = cast(sa.Table, ChatSession.__table__)  # type: ignore[attr-defined]


def _owners(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    u = _USERS.c
    rows = session.execute(sa.select(u.id, u.name, u.deleted_at).where(u.id.in_(ids))).all()
    return {uid: "(deleted user)" if deleted else name for uid, name, deleted in rows}


def _links(session: Session, table: sa.Table, other: str, ids: list[str]) -> dict[str, list[str]]:
    """project id → the ids a link table joins it to, oldest link first."""
    out: dict[str, list[str]] = defaultdict(list)
    if ids:
        rows = session.execute(
            sa.select(table.c.project_id, table.c[other])
            .where(table.c.project_id.in_(ids))
            .order_by(table.c.added_at)
        ).all()
        for project_id, linked in rows:
            out[project_id].append(linked)
    return out


def _collaborators(session: Session, ids: list[str]) -> dict[str, list[str]]:
    return _links(session, _COLLABORATORS, "user_id", ids)


def _style_refs(session: Session, ids: list[str]) -> dict[str, list[str]]:
    return _links(session, _STYLE_REFS, "media_id", ids)


def public(session: Session, project: Project) -> ProjectPublic:
    return publics(session, [project])[0]


def publics(session: Session, projects: list[Project]) -> list[ProjectPublic]:
    """Public shapes of several projects with two extra queries, not two per project."""
    ids = [p.id for p in projects]
    collabs = _collaborators(session, ids)
    refs = _style_refs(session, ids)
    return [
        ProjectPublic.of(p, collaborators=collabs[p.id], style_references=refs[p.id])
        for p in projects
    ]


# --- list ------------------------------------------------------------------------------------


@dataclass
class ProjectRow:
    """One line of the dashboard."""

    project: ProjectPublic
    owner: str
    episodes_final: int


def list_projects(
    session: Session,
    actor: User,
    *,
    status: str | None = None,
    genre: str | None = None,
    mine: bool = False,
    active: bool = False,
    sort: str = "updated",
    page: int = 1,
    limit: int = 20,
) -> Page[ProjectRow]:
    problems: dict[str, str] = {}
    if status is not None:
        status = suggest.pick(status, PROJECT_STATUSES, "status", problems)
    if genre is not None:
        genre = suggest.pick(genre, GENRES, "genre", problems)
    sort = suggest.pick(sort, sorted(SORTS), "sort", problems)
    problems.update(page_problems(page, limit))  # every invalid option at once
    if problems:
        raise ValidationFailed(problems)
    where = [access.visible_projects(actor)]
    if status:
        where.append(col(Project.status) == status)
    if genre:
        where.append(col(Project.genre) == genre)
    if mine:
        where.append(col(Project.created_by) == actor.id)
    if active:
        where.append(
            col(Project.id).in_(
                select(ActiveProject.project_id).where(col(ActiveProject.user_id) == actor.id)
            )
        )
    orders: dict[str, list[Any]] = {
        "updated": [col(Project.updated_at).desc()],
        "created": [col(Project.created_at).desc()],
        "title": [col(Project.title_key)],
        "progress": [col(Project.overall_progress).desc(), col(Project.updated_at).desc()],
    }
    order = orders[sort]
    total = session.execute(
        sa.select(sa.func.count()).select_from(Project).where(*where)
    ).scalar_one()
    projects = list(
        session.exec(
            select(Project)
            .where(*where)
            .order_by(*order, col(Project.id))
            .offset((page - 1) * limit)
            .limit(limit)
        ).all()
    )
    owners = _owners(session, {p.created_by for p in projects})
    finals = final_cut_counts(session, [p.id for p in projects])
    rows = [
        ProjectRow(pub, owners.get(pub.created_by, "?"), finals.get(pub.id, 0))
        for pub in publics(session, projects)
    ]
    return Page(rows, int(total), page, limit)


# --- media-derived views ---------------------------------------------------------------------


def final_cut_counts(session: Session, project_ids: list[str]) -> dict[str, int]:
    if not project_ids:
        return {}
    m, p = _MEDIA.c, _PROJECTS.c
    rows = session.execute(
        sa.select(m.project_id, sa.func.count(sa.distinct(m.episode)))
        .join(_PROJECTS, p.id == m.project_id)
        .where(
            m.project_id.in_(project_ids),
            m.media_type == "final_video",
            m.status == "active",
            # the board's episodes: a cut of an episode past a lowered count is not one
            m.episode.between(1, p.episode_count),
            counting.on_the_board(),
        )
        .group_by(m.project_id)
    ).all()
    return {project_id: int(n) for project_id, n in rows}


@dataclass
class EpisodeRow:
    episode: int
    status: str  # planned | in-production | final-cut
    counts: dict[str, int]


@dataclass
class EpisodeBoard:
    project_id: str
    episodes: list[EpisodeRow]
    final_cut: int
    total: int


def episode_board(session: Session, project: Project) -> EpisodeBoard:
    """One row per planned episode, derived from media whose relatedElements.episode is it."""
    m = _MEDIA.c
    rows = session.execute(
        sa.select(m.episode, m.media_type, m.status, sa.func.count())
        .where(m.project_id == project.id, m.episode.is_not(None), counting.on_the_board())
        .group_by(m.episode, m.media_type, m.status)
    ).all()
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    final: set[int] = set()
    for episode, media_type, status, n in rows:
        key = "audio" if MEDIA_FAMILIES.get(media_type) == "audio" else media_type
        counts[episode][key] += n
        if media_type == "final_video" and status == "active":
            final.add(episode)
    episodes = []
    for number in range(1, project.episode_count + 1):
        c = counts.get(number, Counter())
        state = (
            "final-cut" if number in final else "in-production" if sum(c.values()) else "planned"
        )
        episodes.append(
            EpisodeRow(
                number,
                state,
                {
                    "storyboard": c["storyboard"],
                    "video_segment": c["video_segment"],
                    "audio": c["audio"],
                    "final_video": c["final_video"],
                },
            )
        )
    return EpisodeBoard(
        project.id,
        episodes,
        len(final & set(range(1, project.episode_count + 1))),
        project.episode_count,
    )


# --- the progress report (project progress, /progress) ---------------------------------------


@dataclass
class ProgressReport:
    project_id: str
    title: str
    status: str
    current_phase: str
    completed_steps: list[str]
    overall_progress: int
    phases: list[workflow.PhaseState]


def progress_report(session: Session, actor: User, ref: str | None) -> ProgressReport:
    """The phase checklist of a project the actor may see, with what each phase not yet
    done still needs."""
    project = resolve_or_current(session, actor, ref)
    facts = workflow.load_facts(session, project)
    return ProgressReport(
        project_id=project.id,
        title=project.title,
        status=project.status,
        current_phase=project.current_phase,
        completed_steps=list(project.completed_steps),
        overall_progress=project.overall_progress,
        phases=workflow.phase_states(project.current_phase, list(project.completed_steps), facts),
    )


# --- show ------------------------------------------------------------------------------------


@dataclass
class SessionSummary:
    id: str
    user: str
    user_name: str
    session_state: str
    current_step: str
    messages: int
    updated_at: Any


@dataclass
class ProjectDetail:
    project: ProjectPublic
    owner: UserRef
    collaborators: list[UserRef]
    phases: list[workflow.PhaseState]
    media_counts: dict[str, int]
    sessions: list[SessionSummary]
    episodes: EpisodeBoard


def show(session: Session, actor: User, ref: str | None) -> ProjectDetail:
    project = resolve_or_current(session, actor, ref)
    pub = public(session, project)
    people = {
        u.id: u
        for u in session.exec(
            select(User).where(col(User.id).in_([project.created_by, *pub.collaborators]))
        ).all()
    }
    media_counts: dict[str, int] = {
        media_type: int(n)
        for media_type, n in session.execute(
            sa.select(_MEDIA.c.media_type, sa.func.count())
            .where(_MEDIA.c.project_id == project.id, counting.on_the_board())
            .group_by(_MEDIA.c.media_type)
        ).all()
    }
    s, u = _SESSIONS.c, _USERS.c
    session_rows = session.execute(
        sa.select(
            s.id,
            s.user_id,
            u.name,
            s.session_state,
            s.current_step,
            s.message_count,
            s.updated_at,
        )
        .join_from(_SESSIONS, _USERS, u.id == s.user_id)
        .where(s.project_id == project.id)
        .order_by(s.updated_at.desc())
        .limit(20)
    ).all()
    sessions = [SessionSummary(*row) for row in session_rows]
    return ProjectDetail(
        project=pub,
        owner=_ref(people.get(project.created_by)),
        collaborators=[_ref(people.get(uid)) for uid in pub.collaborators],
        phases=workflow.phase_states(project.current_phase, list(project.completed_steps)),
        media_counts={t: media_counts.get(t, 0) for t in MEDIA_FAMILIES},
        sessions=sessions,
        episodes=episode_board(session, project),
    )


def _ref(user: User | None) -> UserRef:
    if user is None:
        return UserRef(id="", email="", name="(unknown user)")
    name = "(deleted user)" if user.deleted_at else user.name
    return UserRef(id=user.id, email=user.email, name=name)


def board(session: Session, actor: User, ref: str | None) -> tuple[Project, EpisodeBoard]:
    project = resolve_or_current(session, actor, ref)
    return project, episode_board(session, project)


# --- update ----------------------------------------------------------------------------------


@dataclass
class Change:
    field: str
    old: Any
    new: Any


def update(
    session: Session, actor: User, ref: str | None, fields: Fields
) -> tuple[Project, list[Change]]:
    """Change fields; returns the project and what changed (old → new)."""
    given = fields.given()
    if not given:
        raise UsageError("nothing to change", hint="pass --title, --genre, --episodes, …")
    project = editable(session, actor, ref)
    problems = validate(fields)
    if problems:
        raise ValidationFailed(problems)
    if "title" in given:
        given["title"] = given["title"].strip()
        if fold(given["title"]) != project.title_key:
            _title_taken(session, project.created_by, given["title"], actor, except_id=project.id)
    if "description" in given:
        given["description"] = given["description"].strip()
    if "episode_count" in given:
        owner = session.get(User, project.created_by)
        assert owner is not None
        _episode_limit(owner, given["episode_count"], actor)
    changes = []
    for attr, value in given.items():
        old = getattr(project, attr)
        if old != value:
            changes.append(Change(FIELD_NAMES[attr], old, value))
            setattr(project, attr, value)
    if changes:
        project.updated_at = utcnow()
        session.add(project)
        try:
            session.flush()
        except IntegrityError as exc:
            who = (
                "you already have" if project.created_by == actor.id else "its creator already has"
            )
            raise Conflict(f"{who} a project titled {project.title!r}") from exc
    return project, changes


# --- current project ---------------------------------------------------------------------------


def use(session: Session, actor: User, ref: str) -> Project:
    """Make a project the actor's current one and add it to their activeProjects."""
    project = resolve(session, actor, ref)
    user = lock_row(session, User, actor.id)
    assert user is not None
    user.preferences = {**user.preferences, "currentProject": project.id}
    user.updated_at = utcnow()
    session.add(user)
    if session.get(ActiveProject, (user.id, project.id)) is None:
        session.add(ActiveProject(user_id=user.id, project_id=project.id))
    session.flush()
    return project


def clear_current(session: Session, actor: User) -> bool:
    user = lock_row(session, User, actor.id)
    assert user is not None
    if "currentProject" not in user.preferences:
        return False
    user.preferences = {k: v for k, v in user.preferences.items() if k != "currentProject"}
    user.updated_at = utcnow()
    session.add(user)
    return True


# --- status ----------------------------------------------------------------------------------


def allowed_next(project: Project) -> list[str]:
    if project.status == "on-hold":
        return [project.held_from or "concept"]
    nxt = (
        [STATUS_ORDER[STATUS_ORDER.index(project.status) + 1]]
        if project.status != "completed"
        else []
    )
    return [*nxt, "on-hold"]


def set_status(session: Session, actor: User, ref: str | None, new: str) -> tuple[Project, str]:
    """One step forward, on-hold from anywhere, or back from on-hold to where it was."""
    problems: dict[str, str] = {}
    new = suggest.pick(new, PROJECT_STATUSES, "status", problems)
    if problems:
        raise ValidationFailed(problems)
    project = editable(session, actor, ref)
    return _move(session, project, new)


def hold(session: Session, actor: User, ref: str | None) -> tuple[Project, str]:
    return set_status(session, actor, ref, "on-hold")


def resume(session: Session, actor: User, ref: str | None) -> tuple[Project, str]:
    # Access first: a producer is told they cannot change it, whatever its status.
    project = editable(session, actor, ref)
    if project.status != "on-hold":
        raise InvalidTransition(
            f"project {project.title!r} is not on hold", hint=f"it is {project.status}"
        )
    return _move(session, project, project.held_from or "concept")


def _move(session: Session, project: Project, new: str) -> tuple[Project, str]:
    old = project.status
    allowed = allowed_next(project)
    if new not in allowed:
        message = (
            f"project {project.title!r} is already on hold"
            if new == old == "on-hold"
            else f"cannot move project {project.title!r} from {old} to {new}"
        )
        raise InvalidTransition(message, hint=f"allowed next: {', '.join(allowed)}")
    if new == "on-hold":
        project.held_from = old
    elif old == "on-hold":
        project.held_from = None
    project.status = new
    project.updated_at = utcnow()
    session.add(project)
    return project, old


# --- delete ----------------------------------------------------------------------------------


@dataclass
class Deleted:
    project: ProjectPublic
    sessions: int
    messages: int
    media: int
    media_sha256: list[str] = field(default_factory=list)


def delete(session: Session, actor: User, ref: str) -> Deleted:
    """Remove the project with its sessions, messages and media records in one transaction.

    Returns the sha256 of its media so that the store can drop files no record uses.
    """
    project = resolve(session, actor, ref)
    access.require_owner_or_admin(actor, project, "delete it")
    locked = lock_row(session, Project, project.id)
    assert locked is not None
    pub = public(session, locked)
    session_ids = select(ChatSession.id).where(col(ChatSession.project_id) == project.id)
    n_messages = session.execute(
        sa.select(sa.func.count())
        .select_from(Message)
        .where(col(Message.session_id).in_(session_ids))
    ).scalar_one()
    hashes = list(
        session.exec(
            select(Media.sha256).where(col(Media.project_id) == project.id).distinct()
        ).all()
    )
    # Children first: explicit deletes do not depend on the connection's FK pragma.
    # Story revisions before messages: they may name the message that asked for them.
    session.execute(sa.delete(StoryRevision).where(col(StoryRevision.project_id) == project.id))
    session.execute(sa.delete(Message).where(col(Message.session_id).in_(session_ids)))
    n_sessions = session.execute(
        sa.delete(ChatSession).where(col(ChatSession.project_id) == project.id)
    ).rowcount  # type: ignore[attr-defined]
    session.execute(sa.delete(StyleReference).where(col(StyleReference.project_id) == project.id))
    session.execute(
        sa.update(Media).where(col(Media.project_id) == project.id).values(previous_version=None)
    )
    n_media = session.execute(sa.delete(Media).where(col(Media.project_id) == project.id)).rowcount  # type: ignore[attr-defined]
    session.execute(
        sa.delete(ProjectCollaborator).where(col(ProjectCollaborator.project_id) == project.id)
    )
    session.execute(sa.delete(ActiveProject).where(col(ActiveProject.project_id) == project.id))
    # currentProject lives in the preferences JSON: find the users who point at it.
    for user in session.exec(
        select(User).where(sa.cast(User.preferences, sa.Text).contains(project.id))
    ).all():
        if user.preferences.get("currentProject") == project.id:
            user.preferences = {k: v for k, v in user.preferences.items() if k != "currentProject"}
            session.add(user)
    session.delete(locked)
    session.flush()
    return Deleted(pub, int(n_sessions), int(n_messages), int(n_media), hashes)


# --- collaborators -----------------------------------------------------------------------------


def add_collaborator(
    session: Session, actor: User, project_ref: str | None, user_ref: str
) -> tuple[Project, User, bool]:
    """Returns (project, user, added); added is False when they already were one."""
    project = resolve_or_current(session, actor, project_ref)
    access.require_owner_or_admin(actor, project, "manage its collaborators")
    user = resolve_user(session, actor, user_ref)
    if user.deleted_at is not None:
        raise Conflict(f"user {user.email} is deleted")
    if user.id == project.created_by:
        raise Conflict(f"{user.email} created the project; they need not collaborate")
    if session.get(ProjectCollaborator, (project.id, user.id)) is not None:
        return project, user, False
    # The project row first, then the link: inserting the link takes PostgreSQL's FOR KEY
    # SHARE on the project (its foreign key), and upgrading that to FOR UPDATE while another
    # transaction holds the same share (a media add, another collaborator) deadlocks.
    project = lock_row(session, Project, project.id) or project
    session.add(ProjectCollaborator(project_id=project.id, user_id=user.id))
    project.updated_at = utcnow()
    session.add(project)
    session.flush()
    return project, user, True


def remove_collaborator(
    session: Session, actor: User, project_ref: str | None, user_ref: str
) -> tuple[Project, User]:
    project = resolve_or_current(session, actor, project_ref)
    access.require_owner_or_admin(actor, project, "manage its collaborators")
    user = resolve_user(session, actor, user_ref)
    link = session.get(ProjectCollaborator, (project.id, user.id))
    if link is None:
        raise NotFound(f"{user.email} is not a collaborator on {project.title!r}")
    project = lock_row(session, Project, project.id) or project
    session.delete(link)
    if not access.reads_all(user):
        # They can no longer see it: it leaves their active and current projects too.
        session.execute(
            sa.delete(ActiveProject).where(
                col(ActiveProject.user_id) == user.id, col(ActiveProject.project_id) == project.id
            )
        )
        if user.preferences.get("currentProject") == project.id:
            user = lock_row(session, User, user.id) or user
            user.preferences = {k: v for k, v in user.preferences.items() if k != "currentProject"}
            session.add(user)
    project.updated_at = utcnow()
    session.add(project)
    session.flush()
    return project, user


def list_collaborators(
    session: Session, actor: User, project_ref: str | None, *, page: int = 1, limit: int = 20
) -> tuple[Project, Page[UserRef]]:
    project = resolve_or_current(session, actor, project_ref)
    stmt = (
        select(User)
        .join(ProjectCollaborator, col(ProjectCollaborator.user_id) == User.id)
        .where(col(ProjectCollaborator.project_id) == project.id)
        .order_by(col(ProjectCollaborator.added_at))
    )
    return project, paginate(session, stmt, page=page, limit=limit).map(_ref)
