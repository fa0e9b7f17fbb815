"""The production workflow (SPEC section 5): the step table and its rules, as pure
functions over a project's state, so that they are easy to test step by step.

Everything the rules need about a project is gathered once into :class:`Facts`
(``load_facts`` reads it from the database); the rest of this module never touches the
database. The chat service applies the outcomes (:class:`Move`) in its write transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING, Any

from moviecli.enums import CHOICE_IDS, MANUAL_OVERRIDE, STATUS_ORDER, WORKFLOW_STEP_IDS
from moviecli.errors import UsageError
from moviecli.services.reference import WORKFLOW, StepDef

if TYPE_CHECKING:
    from sqlmodel import Session

    from moviecli.models import Project

STEPS: dict[str, StepDef] = {step.id: step for step in WORKFLOW}
ORDER: tuple[str, ...] = WORKFLOW_STEP_IDS
assert tuple(step.id for step in WORKFLOW) == ORDER, "reference.WORKFLOW is out of order"
FIRST, LAST = ORDER[0], ORDER[-1]

MIN_CHARACTERS = 2
MIN_PROGRESS_FOR_ASSEMBLY = 80
AUDIO_TYPES = ("voice_profile", "music_track", "sound_effect", "audio_clip")

# Project status that each phase implies; the workflow moves status forward only.
STATUS_OF_PHASE = {
    "initial_concept": "concept",
    "story_development": "pre-production",
    "character_creation": "pre-production",
    "visual_design": "pre-production",
    "audio_design": "pre-production",
    "scene_production": "production",
    "post_production": "post-production",
    "final_assembly": "post-production",
}


def overall_progress(completed: list[str]) -> int:
    """floor(100 * completed / 8 + 0.5): half up, 13, 25, 38, 50, 63, 75, 88, 100."""
    done = len(set(completed) & set(ORDER))
    return (200 * done + len(ORDER)) // (2 * len(ORDER))


# --- facts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the requirement checks look at: the project's fields, story and media counts."""

    title: str = ""
    genre: str = ""
    target_audience: str = ""
    description: str = ""
    status: str = "concept"
    current_phase: str = FIRST
    completed: tuple[str, ...] = ()
    concept: str | None = None
    synopsis: str | None = None
    story_characters: tuple[str, ...] = ()
    story_scenes: tuple[str, ...] = ()
    # relatedElements.characters of character_design media; relatedElements.scene of
    # storyboards
    media_characters: tuple[str, ...] = ()
    storyboard_scenes: tuple[str, ...] = ()
    style_references: int = 0
    audio_assets: int = 0
    video_segments: int = 0
    final_videos: int = 0

    @property
    def characters(self) -> tuple[str, ...]:
        """Story characters plus the distinct names of character_design media."""
        return distinct_names(self.story_characters, self.media_characters)

    @property
    def scenes(self) -> tuple[str, ...]:
        """Story scenes plus the distinct scenes of storyboards."""
        return distinct_names(self.story_scenes, self.storyboard_scenes)

    @property
    def progress(self) -> int:
        return overall_progress(list(self.completed))

    @property
    def on_hold(self) -> bool:
        return self.status == "on-hold"

    @property
    def workflow_completed(self) -> bool:
        return LAST in self.completed

    def with_story(self, story: dict[str, Any]) -> Facts:
        """These facts with the story record replaced (the chat records into it)."""
        return replace(
            self,
            concept=(story.get("concept") or None),
            synopsis=(story.get("synopsis") or None),
            story_characters=tuple(c.get("name", "") for c in story.get("characters", [])),
            story_scenes=tuple(s.get("title", "") for s in story.get("scenes", [])),
        )


def distinct_names(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    """Names in order of first appearance, distinct by their fold key (as the story matches
    characters: "Straße" and "STRASSE" are one), blanks dropped."""
    from moviecli.text import fold

    seen: set[str] = set()
    out: list[str] = []
    for name in [*first, *second]:
        name = name.strip()
        if name and fold(name) not in seen:
            seen.add(fold(name))
            out.append(name)
    return tuple(out)


# --- requirements --------------------------------------------------------------------------


def missing(step: str, facts: Facts) -> list[str]:
    """What ``step`` still needs before it can be completed (empty: its requirements are met).

    Each entry is a sentence fragment a person can act on.
    """
    out: list[str] = []
    if step == "initial_concept":
        if not facts.title.strip():
            out.append("a title (moviecli project update --title)")
        if not facts.genre:
            out.append("a genre (moviecli project update --genre)")
        if not facts.target_audience:
            out.append("a target audience (moviecli project update --audience)")
        if not (facts.concept or facts.description.strip()):
            out.append("a concept (describe the series in a message)")
    elif step == "story_development":
        if not facts.synopsis:
            out.append("a story synopsis (send it as a message in Story development)")
    elif step == "character_creation":
        have = len(facts.characters)
        if have < MIN_CHARACTERS:
            names = f": {', '.join(facts.characters)}" if facts.characters else ""
            out.append(
                f"at least {MIN_CHARACTERS} characters ({have} recorded{names}; send "
                "'Name: description' lines or add character_design media)"
            )
    elif step == "visual_design":
        if facts.style_references < 1:
            out.append(
                "at least 1 style reference (attach an image or moviecli project style add)"
            )
    elif step == "audio_design":
        if facts.audio_assets < 1:
            out.append(
                "at least 1 audio asset (voice_profile, music_track, sound_effect or audio_clip)"
            )
    elif step == "scene_production":
        if not facts.scenes:
            out.append(
                "at least 1 scene (send 'Scene title: description' lines or add a storyboard "
                "with --scene)"
            )
    elif step == "post_production":
        if facts.video_segments < 1:
            out.append("at least 1 video segment (attach or add video_segment media)")
    elif step == "final_assembly":
        if facts.progress < MIN_PROGRESS_FOR_ASSEMBLY:
            out.append(
                f"overall progress of at least {MIN_PROGRESS_FOR_ASSEMBLY}% "
                f"(now {facts.progress}%)"
            )
        if facts.final_videos < 1:
            out.append("a final video (attach or add final_video media)")
    else:
        raise ValueError(f"unknown step {step!r}")
    return out


def unmet_prerequisites(step: str, completed: set[str]) -> list[str]:
    return [p for p in STEPS[step].prerequisites if p not in completed]


def check_choice_id(choice: str) -> str:
    if choice not in CHOICE_IDS:
        from moviecli import suggest

        found = suggest.canonical(choice, CHOICE_IDS)  # any case, - for _
        if found is not None:
            return found
        valid = "valid choices: " + ", ".join(CHOICE_IDS)
        guess = suggest.did_you_mean(choice, CHOICE_IDS)
        raise UsageError(f"unknown choice {choice!r}", hint=f"{guess} {valid}" if guess else valid)
    return choice


# --- moves ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """The outcome of choosing ``target`` from the current phase.

    ``allowed`` False: nothing moves and ``blocked`` says exactly what is missing.
    """

    source: str
    target: str
    kind: str  # forward | back | stay | finish | blocked
    completes: str | None = None  # the step this move completes (once)
    blocked: tuple[str, ...] = ()
    hint: str | None = None  # a way around a block, for the reply

    @property
    def allowed(self) -> bool:
        return not self.blocked


def plan_move(facts: Facts, target: str) -> Move:
    """The rules of SPEC section 5 for moving from the current phase S to ``target``.

    - forward to a step X not yet completed: completes S; needs S's requirements met (unless
      S is already completed) and X's prerequisites completed, counting S;
    - back to an already completed step: needs nothing, completes nothing;
    - ``final_assembly`` while on it, its requirements met: completes the workflow;
    - while the project is on hold, every move is refused.
    """
    check_choice_id(target)
    if target == MANUAL_OVERRIDE:
        raise ValueError("manual_override is not a move")
    source = facts.current_phase
    done = set(facts.completed)
    if facts.on_hold:
        return Move(
            source,
            target,
            "blocked",
            blocked=("the project is on hold (moviecli project resume takes it off hold)",),
        )
    if target == source:
        if target != LAST:
            return Move(source, target, "stay")
        lacking = missing(LAST, facts)
        if lacking:
            return Move(source, target, "blocked", blocked=tuple(lacking), hint=_hint(facts))
        return Move(source, target, "finish", completes=None if LAST in done else LAST)
    if target in done:
        return Move(source, target, "back")
    problems: list[str] = []
    if source not in done:
        problems.extend(missing(source, facts))
    would_be_done = done | {source}
    for prerequisite in unmet_prerequisites(target, would_be_done):
        problems.append(f"{STEPS[prerequisite].title} completed first")
    if problems:
        return Move(source, target, "blocked", blocked=tuple(problems), hint=_hint(facts))
    return Move(source, target, "forward", completes=None if source in done else source)


def _hint(facts: Facts) -> str | None:
    """At final assembly with a step left undone, the way round: go back, then forward."""
    source = facts.current_phase
    if source != LAST or source in facts.completed:
        return None
    done = set(facts.completed)
    open_steps = [s for s in ORDER if s not in done and s != LAST]
    if not open_steps or not done:
        return None
    back = next(s for s in reversed(ORDER) if s in done)
    return (
        f"to finish {STEPS[open_steps[0]].title} first, go back to {STEPS[back].title} "
        f"(--choice {back}), then choose {open_steps[0]}"
    )


@dataclass(frozen=True)
class Applied:
    """The project's progress and status after a move."""

    current_phase: str
    completed: tuple[str, ...]
    overall_progress: int
    status: str
    workflow_completed: bool


def apply_move(facts: Facts, move: Move) -> Applied:
    """Progress and status after an allowed move (a blocked one changes nothing)."""
    completed = list(facts.completed)
    phase = facts.current_phase
    status = facts.status
    finished = False
    if move.allowed and move.kind != "blocked":
        if move.completes and move.completes not in completed:
            completed.append(move.completes)
        phase = move.target
        finished = move.kind == "finish"
        status = follow_status(status, "completed" if finished else STATUS_OF_PHASE[phase])
    return Applied(phase, tuple(completed), overall_progress(completed), status, finished)


def follow_status(current: str, implied: str) -> str:
    """Status follows the phase forward only, never backward, never out of on-hold."""
    if current not in STATUS_ORDER:  # on-hold
        return current
    if STATUS_ORDER.index(implied) > STATUS_ORDER.index(current):
        return implied
    return current


# --- choices -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    id: str
    title: str
    description: str
    is_recommended: bool
    estimated_time: str
    icon: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "isRecommended": self.is_recommended,
            "estimatedTime": self.estimated_time,
            "icon": self.icon,
        }


OVERRIDE_CHOICE = Choice(
    MANUAL_OVERRIDE,
    "Manual override",
    "Give your own direction in your words (needs custom input); it does not skip requirements.",
    False,
    "varies",
    "✍",
)


def next_step(facts: Facts) -> str | None:
    """The next uncompleted step in workflow order: after the current phase, then from the
    start; the last step itself while on it."""
    done = set(facts.completed)
    source = facts.current_phase
    index = ORDER.index(source)
    if source == LAST and LAST not in done:
        return LAST
    for step in (*ORDER[index + 1 :], *ORDER[:index]):
        if step not in done:
            return step
    return None


def choices(facts: Facts) -> list[Choice]:
    """1-4 choices: the next uncompleted step (recommended when the current phase's
    requirements are met), up to two other uncompleted steps whose prerequisites would be
    met, and ``manual_override`` last."""
    out: list[Choice] = []
    done = set(facts.completed)
    source = facts.current_phase
    first = next_step(facts)
    if first is not None:
        ready = not facts.on_hold and not missing(source, facts)
        out.append(_choice(first, recommended=ready, facts=facts))
    would_be_done = done | {source}
    for step in ORDER:
        if len(out) >= 3:
            break
        if step in done or step in (first, source):
            continue
        if not unmet_prerequisites(step, would_be_done):
            out.append(_choice(step, recommended=False, facts=facts))
    out.append(OVERRIDE_CHOICE)
    return out


def _choice(step: str, *, recommended: bool, facts: Facts) -> Choice:
    d = STEPS[step]
    if step == facts.current_phase == LAST:
        return Choice(
            step,
            "Complete the workflow",
            "Finish final assembly: the series is done.",
            recommended,
            d.estimated_time,
            d.icon,
        )
    return Choice(step, d.title, d.description, recommended, d.estimated_time, d.icon)


# --- the phase checklist -----------------------------------------------------------------


@dataclass
class PhaseState:
    id: str
    title: str
    state: str  # done | current | available | blocked
    blocked_by: list[str] = field(default_factory=list)
    icon: str = ""
    needs: list[str] = field(default_factory=list)


def phase_states(
    current_phase: str, completed: list[str], facts: Facts | None = None
) -> list[PhaseState]:
    """Each phase: done, current, available (prerequisites met) or blocked (by which); with
    ``facts``, also what each phase not yet done still needs to be completed."""
    done = set(completed)
    states = []
    for step in WORKFLOW:
        unmet = [STEPS[p].title for p in step.prerequisites if p not in done]
        if step.id in done:
            state = "done"
        elif step.id == current_phase:
            state = "current"
        elif not unmet:
            state = "available"
        else:
            state = "blocked"
        needs = missing(step.id, facts) if facts is not None and state != "done" else []
        states.append(
            PhaseState(
                step.id,
                step.title,
                state,
                unmet if state == "blocked" else [],
                step.icon,
                needs,
            )
        )
    return states


# --- reading the facts from the database ---------------------------------------------------


def load_facts(session: Session, project: Project) -> Facts:
    """The facts of ``project`` as stored now (four small indexed queries)."""
    counts_stmt, refs_stmt, characters_stmt, scenes_stmt = _fact_queries()
    params = {"pid": project.id}
    counts: dict[str, int] = {
        media_type: int(n) for media_type, n in session.execute(counts_stmt, params).all()
    }
    refs = session.execute(refs_stmt, params).scalar_one()
    media_characters: list[str] = []
    for names in session.execute(characters_stmt, params).scalars():
        media_characters.extend(str(n) for n in names or [])
    storyboard_scenes = tuple(str(s) for s in session.execute(scenes_stmt, params).scalars())
    facts = Facts(
        title=project.title,
        genre=project.genre,
        target_audience=project.target_audience,
        description=project.description,
        status=project.status,
        current_phase=project.current_phase,
        completed=tuple(project.completed_steps or ()),
        style_references=int(refs),
        audio_assets=sum(counts.get(t, 0) for t in AUDIO_TYPES),
        video_segments=counts.get("video_segment", 0),
        final_videos=counts.get("final_video", 0),
        media_characters=tuple(media_characters),
        storyboard_scenes=storyboard_scenes,
    )
    return facts.with_story(project.story or {})


@cache
def _fact_queries() -> tuple[Any, Any, Any, Any]:
    """The statements of load_facts, built once (a chat turn runs them twice)."""
    import sqlalchemy as sa
    from sqlmodel import col

    from moviecli.models import Media, StyleReference
    from moviecli.services.counting import toward_steps

    pid: sa.BindParameter[str] = sa.bindparam("pid")
    counted = toward_steps()
    counts = (
        sa.select(col(Media.media_type), sa.func.count())
        .where(col(Media.project_id) == pid, counted)
        .group_by(col(Media.media_type))
    )
    refs = (
        sa.select(sa.func.count())
        .select_from(StyleReference)
        .where(col(StyleReference.project_id) == pid)
    )
    characters = sa.select(col(Media.characters)).where(
        col(Media.project_id) == pid, col(Media.media_type) == "character_design", counted
    )
    scenes = (
        sa.select(col(Media.scene))
        .where(
            col(Media.project_id) == pid,
            col(Media.media_type) == "storyboard",
            col(Media.scene).is_not(None),
            counted,
        )
        .distinct()
    )
    return counts, refs, characters, scenes


@dataclass
class StepInfo:
    position: int
    id: str
    title: str
    description: str
    prerequisites: list[str]
    requirement: str
    estimated_time: str
    icon: str


def list_steps(session: Session) -> Any:
    """The workflow steps as seeded by init (the reference table), as a page object."""
    from sqlmodel import col, select

    from moviecli.models import WorkflowStep
    from moviecli.services.pagination import Page

    rows = session.exec(select(WorkflowStep).order_by(col(WorkflowStep.position))).all()
    items = [
        StepInfo(
            r.position,
            r.id,
            r.title,
            r.description,
            list(r.prerequisites),
            r.requirement,
            r.estimated_time,
            r.icon,
        )
        for r in rows
    ]
    return Page(items, len(items), 1, max(len(items), 1))
