"""The series bible (issue 16): one self-contained HTML file a producer reads instead of the
terminal, or mails, or opens from a USB stick.

What it holds: the project's title, logline, genre, audience, concept and synopsis; every
character with its character_design images; the style references as a mood board; concept
art and environments; each scene with its storyboard frames; audio and video assets with
their durations; the episode board; the eight phases with what each one not yet done
still needs (the workflow engine's own checker); generation details where recorded.

Which media: those the workflow counts (the newest version of each asset, active or
draft; drafts are marked), and the style references the reader may see.

Self-contained: no script, no font, no request of any kind; images are embedded as
thumbnails (``services.thumbnails``: 320 px at most, smaller as the count grows: in
base64 they stay under 21.4 MB up to 4,000 images), made from the previews ``media add``
kept in the cache (else from the originals) and cached. A Content-Security-Policy that allows
nothing but inline style and ``data:`` images says so to the browser too. Every string
from the project is untrusted: the template engine escapes everything (Jinja2 with
autoescape on), so a title holding ``<script>`` is shown as text.

The file is written owner-only (0600) and atomically (a temporary renamed into place); an
existing file is kept unless ``force`` (exit 5 otherwise), and the check comes before the
work, not after.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moviecli.enums import AUDIENCE_RATINGS, MEDIA_FAMILIES
from moviecli.errors import StorageError
from moviecli.services.outfile import check_output, write_file
from moviecli.text import fold, visible

if TYPE_CHECKING:
    from sqlmodel import Session

    from moviecli.models import ProjectPublic, User
    from moviecli.services.projects import EpisodeBoard
    from moviecli.services.store import MediaStore
    from moviecli.services.thumbnails import Step, Thumb, ThumbnailCache
    from moviecli.services.workflow import PhaseState
    from moviecli.storage.db import Database

TEMPLATE = "bible.html.j2"
ART_TYPES = ("concept_art", "environment_design")
VIDEO_TYPES = ("video_segment", "final_video")
# Labels of generationMetadata in the order a reader wants them.
# The prompt is shown above them, once.
GENERATION_LABELS = {
    "modelVersion": "Model",
    "agentId": "Agent",
    "generationTime": "Generated",
    "taskId": "Task",
}
MAX_PARAMETER_TEXT = 2_000  # a parameter value shown in full up to this many characters

# progress(phase, advance, total): phase is "thumbnails"
Progress = Callable[[str, int, int], None]


# --- what the page shows ---------------------------------------------------------------------


@dataclass
class Asset:
    id: str
    sha256: str
    filename: str
    media_type: str
    mime_type: str
    description: str
    tags: list[str]
    characters: list[str]
    episode: int | None
    scene: str | None
    timestamp: float | None
    status: str
    version: int
    technical: dict[str, Any]
    generation: dict[str, Any] | None
    created_at: datetime
    thumb: Thumb | None = None
    thumb_problem: str | None = None

    @property
    def is_image(self) -> bool:
        return MEDIA_FAMILIES.get(self.media_type) == "image"

    @property
    def src(self) -> str:
        """The thumbnail as a data: URI ("" without one)."""
        if self.thumb is None:
            return ""
        from markupsafe import Markup

        encoded = base64.b64encode(self.thumb.data).decode("ascii")
        # Markup: base64 and a MIME type of ours, nothing to escape (and nothing to make
        # visible: see _finalize).
        return Markup(f"data:{self.thumb.mime};base64,{encoded}")

    @property
    def generation_rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs of generationMetadata, the parameters after the rest."""
        if not self.generation:
            return []
        rows = [
            (label, str(self.generation[key]))
            for key, label in GENERATION_LABELS.items()
            if self.generation.get(key) not in (None, "")
        ]
        parameters = self.generation.get("parameters")
        if isinstance(parameters, dict):
            for key, value in parameters.items():
                text = value if isinstance(value, str) else _compact(value)
                if len(text) > MAX_PARAMETER_TEXT:
                    text = text[:MAX_PARAMETER_TEXT] + f"… ({len(text):,} characters)"
                rows.append((str(key), text))
        return rows


def _compact(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


@dataclass
class Character:
    name: str
    description: str
    images: list[Asset] = field(default_factory=list)


@dataclass
class Scene:
    title: str
    description: str
    frames: list[Asset] = field(default_factory=list)


@dataclass
class Bible:
    project: ProjectPublic
    owner: str
    team: list[str]
    logline: str | None
    concept: str | None
    synopsis: str | None
    characters: list[Character]
    other_designs: list[Asset]
    mood_board: list[Asset]
    art: list[Asset]
    scenes: list[Scene]
    loose_frames: list[Asset]
    audio: list[Asset]
    video: list[Asset]
    episodes: EpisodeBoard
    phases: list[PhaseState]
    directions: list[dict[str, Any]]
    generated_at: datetime
    step: Step | None = None

    def images(self) -> list[Asset]:
        """Every image the page shows, once per place it is shown."""
        out = [a for c in self.characters for a in c.images]
        out += self.other_designs + self.mood_board + self.art
        out += [a for s in self.scenes for a in s.frames]
        return out + self.loose_frames


# --- gathering -------------------------------------------------------------------------------


_COLUMNS = (
    "id",
    "sha256",
    "filename",
    "media_type",
    "mime_type",
    "description",
    "tags",
    "characters",
    "episode",
    "scene",
    "timestamp",
    "status",
    "version",
    "technical_data",
    "agent_generated",
    "generation_metadata",
    "created_at",
)


def _asset(row: Any) -> Asset:
    return Asset(
        id=row.id,
        sha256=row.sha256,
        filename=row.filename,
        media_type=row.media_type,
        mime_type=row.mime_type,
        description=row.description or "",
        tags=list(row.tags or []),
        characters=list(row.characters or []),
        episode=row.episode,
        scene=row.scene,
        timestamp=row.timestamp,
        status=row.status,
        version=row.version,
        technical=dict(row.technical_data or {}),
        generation=dict(row.generation_metadata or {}) if row.agent_generated else None,
        created_at=row.created_at,
    )


def _order(asset: Asset) -> tuple[Any, ...]:
    """Episode, position, then name: storyboard frames come out in their order."""
    return (
        asset.episode if asset.episode is not None else 10**6,
        asset.timestamp if asset.timestamp is not None else -1.0,
        asset.filename,
        asset.created_at,
    )


def gather(session: Session, actor: User, ref: str | None) -> Bible:
    """Everything the bible shows of a project the actor may see (one read transaction)."""
    import sqlalchemy as sa
    from sqlmodel import col

    from moviecli.models import Media, StyleReference
    from moviecli.models import User as UserModel
    from moviecli.services import access, counting, projects, workflow

    project = projects.resolve_or_current(session, actor, ref)
    public = projects.public(session, project)
    columns = [getattr(Media, name) for name in _COLUMNS]
    rows = session.execute(
        sa.select(*columns)
        .where(col(Media.project_id) == project.id, counting.toward_steps())
        .order_by(col(Media.created_at), col(Media.id))
    ).all()
    assets = [_asset(r) for r in rows]
    refs = session.execute(
        sa.select(*columns)
        .join(StyleReference, col(StyleReference.media_id) == col(Media.id))
        .where(
            col(StyleReference.project_id) == project.id,
            col(Media.status) != "archived",
            access.visible_media(actor),
        )
        .order_by(col(StyleReference.added_at))
    ).all()
    people = {
        uid: "(deleted user)" if deleted else name
        for uid, name, deleted in session.execute(
            sa.select(col(UserModel.id), col(UserModel.name), col(UserModel.deleted_at)).where(
                col(UserModel.id).in_([project.created_by, *public.collaborators])
            )
        ).all()
    }
    facts = workflow.load_facts(session, project)
    story = project.story or {}
    by_type: dict[str, list[Asset]] = {}
    for asset in sorted(assets, key=_order):
        by_type.setdefault(asset.media_type, []).append(asset)

    characters, other_designs = _characters(story, by_type.get("character_design", []))
    scenes, loose = _scenes(story, by_type.get("storyboard", []))
    audio = [a for a in assets if MEDIA_FAMILIES.get(a.media_type) == "audio"]
    audio.sort(key=lambda a: (a.media_type, *_order(a)))
    return Bible(
        project=public,
        owner=people.get(project.created_by, "(unknown user)"),
        team=[people[uid] for uid in public.collaborators if uid in people],
        logline=_text(story.get("logline")),
        concept=_text(story.get("concept")),
        synopsis=_text(story.get("synopsis")),
        characters=characters,
        other_designs=other_designs,
        mood_board=[_asset(r) for r in refs],
        art=sorted((a for t in ART_TYPES for a in by_type.get(t, [])), key=_order),
        scenes=scenes,
        loose_frames=loose,
        audio=audio,
        video=sorted((a for t in VIDEO_TYPES for a in by_type.get(t, [])), key=_order),
        episodes=projects.episode_board(session, project),
        phases=workflow.phase_states(project.current_phase, list(project.completed_steps), facts),
        directions=[d for d in story.get("directions", []) if isinstance(d, dict)],
        generated_at=_now(),
    )


def _now() -> datetime:
    from moviecli.models import utcnow

    return utcnow()


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _characters(
    story: dict[str, Any], designs: list[Asset]
) -> tuple[list[Character], list[Asset]]:
    """Story characters, then the names only design images give; each with its images
    (matched by name, NFKC + casefold). Images naming no character come back apart."""
    characters: dict[str, Character] = {}
    for entry in story.get("characters", []):
        name = str(entry.get("name", "")).strip() if isinstance(entry, dict) else ""
        if name and fold(name) not in characters:
            characters[fold(name)] = Character(name, str(entry.get("description") or ""))
    others: list[Asset] = []
    for asset in designs:
        if not asset.characters:
            others.append(asset)
        for name in asset.characters:
            key = fold(name.strip())
            if key not in characters:
                characters[key] = Character(name.strip(), "")
            characters[key].images.append(asset)
    return list(characters.values()), others


def _scenes(story: dict[str, Any], frames: list[Asset]) -> tuple[list[Scene], list[Asset]]:
    """Story scenes, then the scenes only storyboards name; each with its frames."""
    scenes: dict[str, Scene] = {}
    for entry in story.get("scenes", []):
        title = str(entry.get("title", "")).strip() if isinstance(entry, dict) else ""
        if title and fold(title) not in scenes:
            scenes[fold(title)] = Scene(title, str(entry.get("description") or ""))
    loose: list[Asset] = []
    for asset in frames:
        if not asset.scene:
            loose.append(asset)
            continue
        key = fold(asset.scene.strip())
        if key not in scenes:
            scenes[key] = Scene(asset.scene.strip(), "")
        scenes[key].frames.append(asset)
    return list(scenes.values()), loose


# --- thumbnails ------------------------------------------------------------------------------


def add_thumbnails(
    bible: Bible,
    *,
    store: MediaStore | None = None,
    cache: ThumbnailCache | None = None,
    progress: Progress | None = None,
) -> list[str]:
    """Attach a thumbnail to every image of the bible (from the cache, else made from the
    image's preview, else from its original); returns one line per image that has none
    (its file missing or unreadable), which the page shows as a placeholder."""
    from moviecli.services import thumbnails
    from moviecli.services.store import MediaStore

    store = store or MediaStore.default()
    cache = cache or thumbnails.ThumbnailCache.default()
    images = bible.images()
    bible.step = thumbnails.step_for(len(images))
    distinct = {a.sha256: store.path(a.sha256) for a in images}
    made = thumbnails.thumbnails(
        distinct.items(),
        bible.step,
        cache,
        progress=(lambda n: progress("thumbnails", n, len(distinct))) if progress else None,
    )
    problems: dict[str, str] = {}
    for asset in images:
        result = made.get(asset.sha256, "not made")
        if isinstance(result, str):
            asset.thumb_problem = result
            problems.setdefault(asset.sha256, f"{asset.id[:8]} {asset.filename}: {result}")
        else:
            asset.thumb = result
    # A thumbnail outlives its original only until the next bible.
    cache.prune(lambda sha: len(sha) != 64 or store.has(sha))
    return list(problems.values())


# --- the page --------------------------------------------------------------------------------


def _duration(seconds: Any) -> str:
    """0:03.2, 1:05, 1:02:03: seconds as a producer reads them."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        return "—"
    tenths = round(seconds, 1)
    if tenths < 60 and tenths != int(tenths):
        return f"0:{tenths:04.1f}"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def _finalize(value: Any) -> Any:
    """Every value printed by the template: control characters made visible (escaping
    itself is autoescape's job; Markup, our own data: URIs, passes as is)."""
    from markupsafe import Markup

    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return visible(value)
    return "" if value is None else value


def render_html(bible: Bible) -> str:
    """The page (Jinja2, autoescape on for everything)."""
    import jinja2

    from moviecli.services.workflow import STEPS

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("moviecli", "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(duration=_duration, size=_size, when=_when)
    template = environment.get_template(TEMPLATE)
    return template.render(
        b=bible,
        p=bible.project,
        rating=AUDIENCE_RATINGS.get(bible.project.target_audience, ""),
        steps=STEPS,
    )


# --- writing: services/outfile.py ------------------------------------------------------------


# --- PDF ---------------------------------------------------------------------------------------

CHROMIUM_ENV = "MOVIECLI_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PDF_SECONDS = 600


def find_chromium() -> str:
    """The Chromium (or Chrome) that prints PDFs: $MOVIECLI_CHROMIUM, else the first of
    CHROMIUM_NAMES on PATH (exit 6 when there is none)."""
    import shutil

    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise StorageError(f"{CHROMIUM_ENV} names no program: {configured}")
        return found
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise StorageError(
        "--pdf needs Chromium to print the page",
        hint=f"install Debian's chromium package, or set {CHROMIUM_ENV}",
    )


def print_pdf(html: str, *, chromium: str) -> bytes:
    """The page printed by headless Chromium (its print stylesheet, A4 or Letter as the
    locale says), in a private temporary profile, offline."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="moviecli-pdf-") as tmp:
        page, pdf = Path(tmp) / "bible.html", Path(tmp) / "bible.pdf"
        page.write_text(html, encoding="utf-8")
        argv = [
            chromium,
            "--headless",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-extensions",
            "--no-first-run",
            "--no-pdf-header-footer",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ]
        if os.geteuid() == 0:
            argv.insert(1, "--no-sandbox")  # Chromium refuses to run as root otherwise
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=PDF_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise StorageError(f"Chromium did not finish printing in {PDF_SECONDS} s") from None
        except OSError as exc:
            raise StorageError(f"cannot run {chromium}: {exc.strerror or exc}") from None
        data = pdf.read_bytes() if pdf.is_file() else b""
        if done.returncode != 0 or not data.startswith(b"%PDF"):
            lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
            why = lines[-1][-200:] if lines else f"exit status {done.returncode}"
            raise StorageError(f"Chromium could not print the PDF ({why})")
        return data


@dataclass
class Made:
    path: Path | None  # None: the page is in ``html``, for the caller to print
    html: str | None
    size_bytes: int
    images: int
    thumbnail_side: int
    problems: list[str]
    project_title: str
    pdf_path: Path | None = None
    pdf_size_bytes: int = 0


def make(
    db: Database,
    actor: User,
    ref: str | None,
    output: Path | None,
    *,
    force: bool = False,
    pdf: Path | None = None,
    progress: Progress | None = None,
    store: MediaStore | None = None,
    cache: ThumbnailCache | None = None,
) -> Made:
    """Gather, make the thumbnails (no transaction open), render and write the bible;
    with ``output`` None the page comes back in ``Made.html`` instead. With ``pdf``, also
    print it to that file with headless Chromium."""
    chromium = find_chromium() if pdf is not None else None
    for target in (output, pdf):
        if target is not None:
            check_output(target, force=force)
    with db.session() as session:
        bible = gather(session, actor, ref)
    problems = add_thumbnails(bible, store=store, cache=cache, progress=progress)
    html = render_html(bible)
    pdf_size = 0
    if pdf is not None:
        assert chromium is not None
        pdf_size = write_file(pdf, print_pdf(html, chromium=chromium), force=force)
    size = len(html.encode("utf-8")) if output is None else write_file(output, html, force=force)
    assert bible.step is not None
    return Made(
        output,
        html if output is None else None,
        size,
        len(bible.images()),
        bible.step.side,
        problems,
        bible.project.title,
        pdf,
        pdf_size,
    )
