"""Large databases with realistic shapes, for the benchmarks (SPEC section 7).

One copy of the data builders: ``benchmarks/run.py`` uses them; the per-capability scripts
(projects.py, media.py, chat.py) can too. What gets built, at ``scale`` 1:

    200 users (a few producers), 10,000 projects (every status and phase, 0-3
    collaborators each, activeProjects), 100,000 media records on 4,000 projects (one
    project with 2,000 of them over 12 episodes, one asset in ten with a second version,
    one in ten public; embeddings reused from 300 distinct texts), 2,000 chat sessions
    holding 1,000,000 messages (one of 100,000, the others a long-tailed spread).

Rows are written the way SPEC section 7 asks of bulk paths: one ``insert()`` statement of
the model's table, compiled once, run as an executemany per batch of 20,000 rows, one
transaction per batch. Values are encoded once per distinct value with the column types'
own bind processors (JSON, UTC datetimes), so the rows are exactly what the ORM would
store; the per-row parameter processing of SQLAlchemy (about 6 µs a row) is what this
skips. The full-text trigger of ``messages`` is dropped during the load and the FTS5 index
rebuilt after it. SQLite only (the default backend).
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import time
import wave
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BATCH = 20_000
PASSWORD = "bench-password-1"
ADMIN_EMAIL = "admin@bench.example"
SHOW_TITLE = "The Benchmark Heist"
RARE = "zeppelin"  # in about one message in 100,000
COMMON = "moon"  # in every message

STATUS_WEIGHTS = {
    "concept": 30,
    "pre-production": 25,
    "production": 20,
    "post-production": 10,
    "completed": 5,
    "on-hold": 10,
}
ADJECTIVES = [
    "Silent",
    "Neon",
    "Broken",
    "Golden",
    "Hidden",
    "Last",
    "Red",
    "Lost",
    "Midnight",
    "Paper",
    "Quiet",
    "Rusty",
    "Velvet",
    "Wild",
    "Winter",
    "Crystal",
    "Electric",
    "Hollow",
    "Iron",
    "Lunar",
]
NOUNS = [
    "Harbor",
    "Signal",
    "Orchard",
    "Engine",
    "Lantern",
    "Garden",
    "Circus",
    "Archive",
    "Comet",
    "Mirror",
    "Canyon",
    "Station",
    "Forest",
    "Kingdom",
    "Alley",
    "Voyage",
    "Bridge",
    "Tower",
    "Island",
    "River",
]
MEDIA_WORDS = [
    "storm",
    "ocean",
    "waves",
    "ship",
    "harbour",
    "night",
    "neon",
    "rain",
    "city",
    "rooftop",
    "chase",
    "cat",
    "thief",
    "moon",
    "forest",
    "castle",
    "dragon",
    "desert",
    "sunrise",
    "robot",
    "lab",
    "corridor",
    "market",
    "festival",
    "snow",
    "mountain",
    "train",
    "station",
    "kitchen",
    "diner",
    "office",
    "library",
    "river",
    "bridge",
    "garden",
]
CHAT_WORDS = [
    "the",
    "cats",
    "plan",
    "a",
    "heist",
    "on",
    "the",
    "quiet",
    "side",
    "of",
    "the",
    "lunar",
    "vault",
    "while",
    "the",
    "crew",
    "argues",
    "about",
    "pacing",
    "lighting",
    "score",
    "rain",
    "neon",
    "chrome",
    "pilot",
    "safecracker",
    "storm",
    "lighthouse",
    "keeper",
    "radio",
    "voice",
    "scene",
    "storyboard",
    "segment",
    "assembly",
    "synopsis",
    "concept",
    "character",
]


@dataclass
class Sizes:
    users: int
    projects: int
    media: int
    media_projects: int
    big_media: int  # media of the project that `media list` shows
    sessions: int
    messages: int
    big_session: int  # messages of the session that `session show` pages through

    @classmethod
    def at(cls, scale: float) -> Sizes:
        def n(full: int, least: int = 1) -> int:
            return max(least, round(full * scale))

        sessions = n(2_000, 4)
        messages = n(1_000_000, sessions * 4)
        return cls(
            users=n(200, 2),
            projects=n(10_000, 4),
            media=n(100_000, 100),
            media_projects=n(4_000, 2),
            big_media=n(2_000, 20),
            sessions=sessions,
            messages=messages,
            big_session=max(4, messages // 10),
        )


@dataclass
class Load:
    """How fast one kind of row was generated and written (wall clock and CPU)."""

    table: str
    rows: int
    seconds: float
    cpu_seconds: float = 0.0

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else math.inf

    @property
    def rows_per_cpu_s(self) -> float:
        return self.rows / self.cpu_seconds if self.cpu_seconds else math.inf


@dataclass
class Built:
    """What the benchmarks need to know about a built database."""

    home: str
    url: str
    admin_id: str
    admin_token: str
    show_project: str  # title: media, sessions, collaborators, 12 episodes
    big_media_project: str  # id: the most media
    big_session: str  # id: the most messages
    big_session_messages: int
    loads: list[Load] = field(default_factory=list)
    fts_rebuild_seconds: float = 0.0
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("loads", "admin_token")}
        out["loads"] = [load.__dict__ for load in self.loads]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any], admin_token: str) -> Built:
        loads = [Load(**x) for x in data.pop("loads")]
        return cls(**data, admin_token=admin_token, loads=loads)


# --- writing rows ---------------------------------------------------------------------------


class Writer:
    """Bulk inserts into one database: ``insert()`` compiled once, executemany per batch."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.dialect = db.engine.dialect
        self.loads: dict[str, Load] = {}
        self._ts = self.bind_processor_of("users", "created_at")
        # The fast path for timestamps must encode exactly as the column type does.
        for micro in (123456, 0):
            now = datetime.now(UTC).replace(microsecond=micro)
            assert self._ts(now) == _naive_text(now), (self._ts(now), _naive_text(now))
        self._json = self.bind_processor_of("media", "tags")

    def bind_processor_of(self, table: str, column: str) -> Callable[[Any], Any]:
        from moviecli.models import SQLModel

        col = SQLModel.metadata.tables[table].c[column]
        processor = col.type._cached_bind_processor(self.dialect)
        return processor or (lambda v: v)

    def ts(self, value: datetime) -> str:
        """A UTC datetime as UTCDateTime stores it on SQLite (checked above)."""
        return _naive_text(value)

    def json(self, value: Any) -> Any:
        return self._json(value)

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[tuple[Any, ...]],
        *,
        rebuild_indexes: bool = False,
    ) -> int:
        """Insert tuples of encoded values, ``BATCH`` rows per transaction; the row count.

        ``rows`` may be a generator: making the rows counts as the table's load time. With
        ``rebuild_indexes`` the table's secondary indexes are dropped for the load and
        created again after it (also counted): one sort beats a million index inserts.
        """
        import sqlalchemy as sa

        from moviecli.models import SQLModel

        stmt = sa.insert(SQLModel.metadata.tables[table])
        compiled = stmt.compile(dialect=self.dialect, column_keys=list(columns))
        order = list(compiled.positiontup or [])
        if order != list(columns):
            raise ValueError(f"{table}: give every column with a default ({order})")
        sql = str(compiled)
        wall, cpu = time.perf_counter(), time.process_time()
        indexes: list[str] = []
        if rebuild_indexes:
            with self.db.engine.begin() as conn:
                found = conn.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                    "AND sql IS NOT NULL",
                    (table,),
                ).all()
                for name, create in found:
                    conn.exec_driver_sql(f'DROP INDEX "{name}"')
                    indexes.append(create)
        count = 0
        try:
            for batch in _batches(rows, BATCH):
                with self.db.engine.begin() as conn:
                    conn.exec_driver_sql(sql, batch)
                count += len(batch)
        finally:
            if indexes:
                with self.db.engine.begin() as conn:
                    for create in indexes:
                        conn.exec_driver_sql(create)
        load = self.loads.setdefault(table, Load(table, 0, 0.0))
        load.rows += count
        load.seconds += time.perf_counter() - wall
        load.cpu_seconds += time.process_time() - cpu
        return count


def _naive_text(value: datetime) -> str:
    return _text(value.astimezone(UTC).replace(tzinfo=None))


def _text(naive: datetime) -> str:
    """A naive UTC datetime as SQLite's DATETIME stores it (always with microseconds)."""
    return naive.isoformat(" ", "microseconds")


def _batches(rows: Iterable[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- the database ----------------------------------------------------------------------------


def init_home(moviecli: str, env: dict[str, str]) -> None:
    """``moviecli init`` (schema, reference data, the admin) in env's MOVIECLI_HOME."""
    init = subprocess.run(
        [moviecli, "init", "--name", "Bench Admin", "--email", ADMIN_EMAIL, "--password-stdin"],
        input=f"{PASSWORD}\n".encode(),
        env=env,
        capture_output=True,
    )
    if init.returncode != 0:
        sys.exit(f"moviecli init failed ({init.returncode}):\n{init.stderr.decode()}")


def build(
    home: Path, url: str, sizes: Sizes, *, log: Callable[[str], None] = print, seed: int = 1234
) -> Built:
    """Fill the initialised database at ``url`` (SQLite) with ``sizes`` of data."""
    import sqlalchemy as sa

    from moviecli.models import User
    from moviecli.services import auth
    from moviecli.storage.db import database

    started = time.perf_counter()
    db = database(url)
    if not db.is_sqlite:
        sys.exit("the benchmark data builder supports SQLite only")
    w = Writer(db)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with db.session() as session:
        admin = session.execute(sa.select(User).where(User.role == "admin")).scalar_one()
        admin_id = admin.id
    # Bulk loads gain from a larger page cache; WAL and synchronous=NORMAL stay as they are.
    with db.engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA cache_size=-262144")

    log(f"users: {sizes.users:,}")
    user_ids = _users(w, rng, sizes, admin_id, now)
    log(f"projects: {sizes.projects:,} (with collaborators and activeProjects)")
    projects = _projects(w, rng, sizes, user_ids, admin_id, now)
    log(f"media: {sizes.media:,} records (embedding {min(300, sizes.media)} distinct texts)")
    big_media = _media(w, rng, sizes, projects, now)
    log(f"chat: {sizes.messages:,} messages in {sizes.sessions:,} sessions")
    big_session, fts_seconds = _chat(w, rng, sizes, projects, now)
    log("ANALYZE")
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    with db.write() as session:
        admin = session.get(User, admin_id)
        assert admin is not None
        token = auth.issue_token(session, admin)
    db.engine.dispose()
    return Built(
        home=str(home),
        url=url,
        admin_id=admin_id,
        admin_token=token,
        show_project=SHOW_TITLE,
        big_media_project=big_media,
        big_session=big_session,
        big_session_messages=sizes.big_session,
        loads=list(w.loads.values()),
        fts_rebuild_seconds=round(fts_seconds, 2),
        seconds=round(time.perf_counter() - started, 1),
    )


def _users(w: Writer, rng: random.Random, sizes: Sizes, admin_id: str, now: datetime) -> list[str]:
    from moviecli.models import new_id
    from moviecli.services import passwords
    from moviecli.text import fold

    password_hash = passwords.hash_password(PASSWORD)  # one KDF run, shared by all
    prefs = w.json({})
    ids = [admin_id]
    rows = []
    for n in range(sizes.users - 1):
        uid = new_id()
        ids.append(uid)
        at = w.ts(now - timedelta(days=400 - n % 300, minutes=n))
        role = "producer" if n % 50 == 0 else "user"
        rows.append(
            (uid, f"user{n}@bench.example", fold(f"user{n}@bench.example"), f"User {n}", role,
             prefs, "enterprise", 1000, 50, password_hash, 0, None, at, at, None)
        )  # fmt: skip
    w.insert(
        "users",
        ["id", "email", "email_key", "name", "role", "preferences", "tier", "max_projects",
         "max_episodes_per_project", "password_hash", "failed_logins", "locked_until",
         "created_at", "updated_at", "deleted_at"],
        rows,
    )  # fmt: skip
    # the admin owns its share of projects too (and the benchmark adds some)
    with w.db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE users SET max_projects = 1000 WHERE id = ?", (admin_id,))
    return ids


@dataclass
class _Project:
    id: str
    title: str
    owner: str
    episodes: int
    phase: str
    updated: datetime


def _projects(
    w: Writer,
    rng: random.Random,
    sizes: Sizes,
    user_ids: list[str],
    admin_id: str,
    now: datetime,
) -> list[_Project]:
    """Projects spread unevenly over the users (a long tail), every status and phase."""
    from moviecli.enums import GENRES, WORKFLOW_STEP_IDS
    from moviecli.services import workflow
    from moviecli.text import fold

    # how many each user owns: Pareto-like weights, at least one each, the admin 50
    weights = [1.0 / (k + 1) ** 0.6 for k in range(len(user_ids))]
    rng.shuffle(weights)
    scale = (sizes.projects - len(user_ids)) / sum(weights)
    owned = [1 + int(x * scale) for x in weights]
    owned[0] = max(owned[0], min(50, sizes.projects // len(user_ids)))
    k = 0
    while sum(owned) < sizes.projects:
        owned[k % len(owned)] += 1
        k += 1
    while sum(owned) > sizes.projects:
        biggest = owned.index(max(owned))
        owned[biggest] -= 1

    # status → (how many steps may be done: low, high)
    done_range = {
        "concept": (0, 1),
        "pre-production": (1, 4),
        "production": (5, 5),
        "post-production": (6, 7),
        "completed": (8, 8),
        "on-hold": (0, 5),
    }
    statuses = [s for s, n in STATUS_WEIGHTS.items() for _ in range(n)]
    steps_json = [w.json(list(WORKFLOW_STEP_IDS[:n])) for n in range(9)]
    progress = [workflow.overall_progress(list(WORKFLOW_STEP_IDS[:n])) for n in range(9)]
    phases = [WORKFLOW_STEP_IDS[min(n, 7)] for n in range(9)]
    audiences = ("children", "family", "teen", "adult")
    story = w.json({})
    description = "A series made for the benchmark."
    base = now.astimezone(UTC).replace(tzinfo=None)
    days = [timedelta(days=d) for d in range(301)]
    projects: list[_Project] = []
    rand, bits = rng.random, rng.getrandbits

    def rows() -> Iterator[tuple[Any, ...]]:
        for owner, count in zip(user_ids, owned, strict=True):
            for k in range(count):
                status = statuses[int(rand() * len(statuses))]
                low, high = done_range[status]
                done = low + int(rand() * (high - low + 1))
                updated = base - timedelta(seconds=int(rand() * 90 * 86400))
                created = updated - days[int(rand() * len(days))]
                title = f"{ADJECTIVES[int(rand() * 20)]} {NOUNS[int(rand() * 20)]} {k}"
                episodes = 1 + int(rand() * 24)
                if owner == admin_id and k == 0:
                    title, episodes, status, done = SHOW_TITLE, 12, "production", 5
                pid = f"{bits(128):032x}"  # the shape of models.new_id()
                projects.append(_Project(pid, title, owner, episodes, phases[done], updated))
                yield (
                    pid, title, fold(title), description, GENRES[int(rand() * len(GENRES))],
                    episodes, audiences[int(rand() * 4)], status,
                    "production" if status == "on-hold" else None, owner, "16:9", 22,
                    "standard", phases[done], steps_json[done], progress[done], story,
                    _text(created), _text(updated),
                )  # fmt: skip

    w.insert(
        "projects",
        ["id", "title", "title_key", "description", "genre", "episode_count",
         "target_audience", "status", "held_from", "created_by", "aspect_ratio",
         "episode_duration", "quality_tier",
         "current_phase", "completed_steps", "overall_progress", "story", "created_at",
         "updated_at"],
        rows(),
        rebuild_indexes=True,
    )  # fmt: skip

    at = w.ts(now)
    links = []
    for p in projects:
        for uid in rng.sample(user_ids, min(len(user_ids), rng.randint(0, 3))):
            if uid != p.owner:
                links.append((p.id, uid, at))
    w.insert("project_collaborators", ["project_id", "user_id", "added_at"], links)
    by_owner: dict[str, list[_Project]] = {}
    for p in projects:
        by_owner.setdefault(p.owner, []).append(p)
    active = [
        (uid, p.id, at)
        for uid, mine in by_owner.items()
        for p in sorted(mine, key=lambda p: p.updated, reverse=True)[:5]
    ]
    w.insert("user_active_projects", ["user_id", "project_id", "added_at"], active)
    return projects


def _media(
    w: Writer, rng: random.Random, sizes: Sizes, projects: list[_Project], now: datetime
) -> str:
    """Media records with reused embeddings; returns the id of the project with the most."""
    from moviecli.enums import MEDIA_FAMILIES
    from moviecli.services import embeddings
    from moviecli.services.media_fields import embedding_text

    types = list(MEDIA_FAMILIES)
    mime = {"image": "image/png", "video": "video/mp4", "audio": "audio/mpeg"}
    technical = {
        "image": w.json({"resolution": "1920x1080"}),
        "video": w.json({"resolution": "1920x1080", "duration": 12.5, "fps": 24}),
        "audio": w.json({"duration": 30.0, "sampleRate": 48000}),
    }
    ext = {"image": "png", "video": "mp4", "audio": "mp3"}
    distinct = min(300, sizes.media)
    texts = []
    for _ in range(distinct):
        words = rng.sample(MEDIA_WORDS, 5)
        media_type = rng.choice(types)
        texts.append((" ".join(words), words[:2], media_type))
    vectors = embeddings.embed_texts(
        [
            embedding_text(
                description=d, tags=t, media_type=m, filename=f"{t[0]}.{ext[MEDIA_FAMILIES[m]]}"
            )
            for d, t, m in texts
        ]
    )
    tags_json = [w.json(t) for _, t, _ in texts]
    empty_list = w.json([])
    characters = [w.json(["Mia"]), w.json(["Rex", "Mia"]), empty_list, empty_list]

    show = next(p for p in projects if p.title == SHOW_TITLE)
    others = [p for p in projects if p is not show]
    holders = [show, *rng.sample(others, min(len(others), sizes.media_projects - 1))]
    # show gets big_media records; the rest share what is left, unevenly
    rest = sizes.media - sizes.big_media
    weights = [rng.paretovariate(1.5) for _ in holders[1:]]
    total = sum(weights) or 1.0
    plan = [(show, sizes.big_media)]
    plan += [(p, int(rest * x / total)) for p, x in zip(holders[1:], weights, strict=True)]
    short = sizes.media - sum(n for _, n in plan)
    plan[-1] = (plan[-1][0], plan[-1][1] + short)

    base = now.astimezone(UTC).replace(tzinfo=None)
    minutes = [timedelta(minutes=m) for m in range(sizes.media + 1)]

    def rows() -> Iterator[tuple[Any, ...]]:
        serial = 0
        t = 0
        for p, count in plan:
            previous: str | None = None
            for k in range(count):
                serial += 1
                # one asset in ten gets a second version: the record just after it
                version, prev = (2, previous) if previous and k % 10 == 1 else (1, None)
                if version == 1:
                    t = rng.randrange(distinct)
                description, _, media_type = texts[t]
                family = MEDIA_FAMILIES[media_type]
                mid = f"{rng.getrandbits(128):032x}"  # the shape of models.new_id()
                previous = mid if version == 1 else None
                at = _text(base - minutes[sizes.media - serial])
                yield (
                    mid, p.id, media_type, False, None, vectors[t], description, tags_json[t],
                    characters[serial % 4], 1 + serial % p.episodes, f"scene-{serial % 7}",
                    None, technical[family], version, prev,
                    "archived" if serial % 20 == 0 else "active",
                    "public" if serial % 10 == 0 else "private",
                    f"{description.split()[0]}-{serial:06d}.{ext[family]}", mime[family],
                    100_000 + serial, f"{serial:064x}", p.owner, at, at,
                )  # fmt: skip

    w.insert(
        "media",
        ["id", "project_id", "media_type", "agent_generated", "generation_metadata",
         "embedding", "description", "tags", "characters", "episode", "scene", "timestamp",
         "technical_data", "version", "previous_version", "status", "visibility", "filename",
         "mime_type", "size_bytes", "sha256", "created_by", "created_at", "updated_at"],
        rows(),
        rebuild_indexes=True,
    )  # fmt: skip
    return show.id


def chat_texts(n: int, rng: random.Random) -> list[str]:
    """``n`` distinct message texts, each with the common word."""
    out = []
    for _ in range(n):
        words = rng.choices(CHAT_WORDS, k=rng.randint(6, 30))
        words.insert(rng.randrange(len(words) + 1), COMMON)
        out.append(" ".join(words).capitalize() + ".")
    return out


def _chat(
    w: Writer, rng: random.Random, sizes: Sizes, projects: list[_Project], now: datetime
) -> tuple[str, float]:
    """Sessions and their messages, oldest first (message ids follow time); the id of the
    longest session and the seconds of the FTS5 rebuild."""
    from moviecli.models import new_id

    show = next(p for p in projects if p.title == SHOW_TITLE)
    # lengths: the big session, then a long tail (most sessions short, a few long)
    rest = sizes.messages - sizes.big_session
    weights = [rng.paretovariate(1.2) for _ in range(sizes.sessions - 1)]
    total = sum(weights)
    lengths = [max(2, int(rest * x / total)) for x in weights]
    lengths[lengths.index(max(lengths))] += rest - sum(lengths)
    big_at = rng.randrange(len(lengths) + 1)
    lengths.insert(big_at, sizes.big_session)
    sessions = []
    for n, length in enumerate(lengths):
        p = show if (n == big_at or n % 50 == 0) else rng.choice(projects)
        sessions.append((new_id(), p, length))
    big = sessions[big_at][0]

    pool = chat_texts(400, rng)
    step_meta = {}
    empty = w.json([])
    context = w.json({})
    states = ("active", "active", "paused", "completed", "error")
    # one message every 20 s, sessions one after the other, ending now
    at = now - timedelta(seconds=20 * sizes.messages)
    session_rows = []
    bounds: list[tuple[str, int, str, datetime]] = []
    for sid, p, length in sessions:
        bounds.append((sid, length, p.phase, at))
        end = at + timedelta(seconds=20 * length)
        state = "active" if sid == big else states[len(session_rows) % len(states)]
        session_rows.append(
            (sid, p.id, p.owner, p.phase, context, True, empty, state, length, w.ts(at),
             w.ts(end))
        )  # fmt: skip
        at = end
    w.insert(
        "chat_sessions",
        ["id", "project_id", "user_id", "current_step", "context_data", "awaiting_user_input",
         "last_choices", "session_state", "message_count", "created_at", "updated_at"],
        session_rows,
    )  # fmt: skip

    steps = [timedelta(seconds=20 * seq) for seq in range(max(lengths) + 1)]

    def rows() -> Iterator[tuple[Any, ...]]:
        serial = 0
        for sid, length, phase, start in bounds:
            meta = step_meta.get(phase)
            if meta is None:
                meta = step_meta[phase] = w.json({"step": phase})
            base = start.astimezone(UTC).replace(tzinfo=None)  # as w.ts() stores it
            for seq in range(1, length + 1):
                serial += 1
                content = pool[serial % len(pool)]
                if serial % 100_000 == 50_000:
                    content = f"{content} A {RARE} drifts past."
                yield (
                    sid, seq, "user" if seq % 2 else "assistant", content,
                    _text(base + steps[seq]), empty, meta,
                )  # fmt: skip

    with w.db.engine.begin() as conn:
        trigger = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'messages_fts_ai'"
        ).scalar_one()
        conn.exec_driver_sql("DROP TRIGGER messages_fts_ai")
    try:
        w.insert(
            "messages",
            ["session_id", "seq", "role", "content", "timestamp", "attachments", "meta"],
            rows(),
        )
    finally:
        fts_started = time.perf_counter()
        with w.db.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
            conn.exec_driver_sql(trigger)
        fts_seconds = time.perf_counter() - fts_started
    return big, fts_seconds


def dump(built: Built, path: Path) -> None:
    path.write_text(json.dumps(built.as_json(), indent=2) + "\n")


# --- files and logins ------------------------------------------------------------------------


def make_pngs(directory: Path, n: int, offset: int, *, distinct_names: bool = False) -> None:
    """``n`` small distinct PNGs: numbered frames (frame-00001.png, …), or with
    ``distinct_names`` a different three-word name each (so each text to embed differs)."""
    from PIL import Image

    directory.mkdir(parents=True)
    rng = random.Random(offset)
    names: set[str] = set()
    while distinct_names and len(names) < n:
        names.add("-".join(rng.sample(MEDIA_WORDS, 3)))
    ordered = sorted(names)
    for i in range(n):
        k = offset + i
        img = Image.new("RGB", (16, 16), (k % 256, (k // 256) % 256, (k // 65536) % 256))
        img.putpixel((0, 0), (k % 7, k % 11, k % 13))
        name = f"{ordered[i]}.png" if distinct_names else f"frame-{k:05d}.png"
        img.save(directory / name, format="PNG")


IMAGE_TYPES = ("concept_art", "storyboard", "character_design", "environment_design")


def apply_file_with_media(root: Path, projects: int, files: int) -> Path:
    """``projects`` projects sharing ``files`` small media files (PNG, one in five a WAV),
    each with its own description and tags, and the apply file naming them."""
    from PIL import Image

    rng = random.Random(7)
    per_project = files // projects
    lines = ["# benchmarks/_data.py: generated\n"]
    k = 0
    for p in range(projects):
        folder = root / f"p{p}"
        folder.mkdir(parents=True)
        lines += ["[[project]]", f'title = "Bench {p}"', 'genre = "sci-fi"', "episodeCount = 10"]
        lines.append("")
        for i in range(per_project + (1 if p < files % projects else 0)):
            words = rng.sample(MEDIA_WORDS, 4)
            if i % 5 == 4:  # one in five is audio
                name = f"{'-'.join(words[:2])}-{k:04d}.wav"
                with wave.open(str(folder / name), "wb") as out:
                    out.setnchannels(1)
                    out.setsampwidth(2)
                    out.setframerate(8000)
                    out.writeframes(k.to_bytes(2, "little") * 800)  # 0.1 s
                media_type = "sound_effect"
            else:
                name = f"{'-'.join(words[:2])}-{k:04d}.png"
                img = Image.new("RGB", (16, 16), (k % 256, (k // 256) % 256, 90))
                img.putpixel((0, 0), (k % 7, k % 11, k % 13))
                img.save(folder / name, format="PNG")
                media_type = IMAGE_TYPES[i % 4]
            lines += [
                "[[project.media]]",
                f'file = "p{p}/{name}"',
                f'mediaType = "{media_type}"',
                f'description = "{" ".join(words)}"',
                f'tags = ["{words[0]}", "{words[3]}"]',
                f"relatedElements = {{ episode = {1 + i % 10} }}",
                "",
            ]
            k += 1
    path = root / "moviecli.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def apply_file_of_projects(path: Path, n: int, *, prefix: str, collaborator: str) -> Path:
    """An apply file of ``n`` new projects (no media): a description, an audience and
    settings each, a collaborator on every other one; titles start with ``prefix``."""
    from moviecli.enums import GENRES

    rng = random.Random(n)
    audiences = ("children", "family", "teen", "adult")
    lines = ["# benchmarks/_data.py: generated\n"]
    for k in range(n):
        words = rng.sample(MEDIA_WORDS, 5)
        lines += [
            "[[project]]",
            f'title = "{prefix} {ADJECTIVES[k % 20]} {NOUNS[k // 20 % 20]} {k}"',
            f'genre = "{GENRES[k % len(GENRES)]}"',
            f"episodeCount = {1 + k % 24}",
            f'targetAudience = "{audiences[k % 4]}"',
            f'description = "{" ".join(words).capitalize()}."',
        ]
        if k % 2:
            lines.append(f'collaborators = ["{collaborator}"]')
        lines += [
            "",
            "[project.projectSettings]",
            f'aspectRatio = "{("16:9", "21:9")[k % 2]}"',
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def issue_token(url: str, email: str) -> str:
    """A login token for the user with ``email`` (as ``moviecli login`` would save)."""
    from moviecli.services import auth, resolve
    from moviecli.storage.db import database

    db = database(url)
    with db.write() as session:
        user = resolve.user_by_email(session, email)
        assert user is not None, email
        token = auth.issue_token(session, user)
    db.engine.dispose()
    return token
