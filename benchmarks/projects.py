"""Project commands over 10,000 projects, beside the floor of any SQLModel program.

Builds a database in a throw-away MOVIECLI_HOME: ``moviecli init``, then 200 users (the
admin among them), 10,000 projects (50 each, every status and phase), 0-3 collaborators per
project, activeProjects, 20,000 media records on 4,000 projects and 2,000 chat sessions with
10 messages each, all with bulk ``insert()`` executemany in batches (one transaction per
batch). Then it times whole processes, start to exit, interleaved round by round with
``python -c "import sqlmodel"`` (SPEC section 7: within 1.3x):

    project list                        first page, as the admin (sees all 10,000)
    project list --status production    a filter
    project list --sort title           another order
    project list --json
    project list (terminal)             the rich table, under ``script -qc`` (a pty)
    project list (user)                 a plain user: own and collaborated projects only
    project show TITLE [--json]         a project with media, sessions and collaborators
    project episodes TITLE

Run it with the project's venv:

    .venv/bin/python benchmarks/projects.py [--runs 9] [--out benchmarks/out/projects.json]
    [--keep DIR]        build into DIR and keep it, to profile a command by hand
    [--instructions]    also count each command's instructions once under valgrind: on a
                        busy machine wall and CPU times wander, instruction counts do not

``--check`` exits 1 when a ratio misses its target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "out" / "projects.json"
TARGET = 1.3

USERS = 200
PROJECTS_PER_USER = 50
MEDIA_PROJECTS = 4_000
MEDIA_PER_PROJECT = 5
SESSIONS = 2_000
MESSAGES_PER_SESSION = 10
BATCH = 2_000
SHOW_TITLE = "The Benchmark Heist"

STATUS_WEIGHTS = {
    "concept": 30,
    "pre-production": 25,
    "production": 20,
    "post-production": 10,
    "completed": 5,
    "on-hold": 10,
}
WORDS = [
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


# --- building the database ---------------------------------------------------------------------


@dataclass
class Built:
    admin_token: str
    user_token: str
    show_title: str
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def build(home: Path, moviecli: str, env: dict[str, str]) -> Built:
    started = time.perf_counter()
    init = subprocess.run(
        [moviecli, "init", "--name", "Bench Admin", "--email", "admin@bench.example",
         "--password-stdin"],
        input=b"bench-password-1\n",
        env=env,
        capture_output=True,
    )  # fmt: skip
    if init.returncode != 0:
        sys.exit(f"moviecli init failed ({init.returncode}):\n{init.stderr.decode()}")

    os.environ["MOVIECLI_HOME"] = str(home)
    import sqlalchemy as sa

    from moviecli import config
    from moviecli.enums import GENRES, MEDIA_FAMILIES, WORKFLOW_STEP_IDS
    from moviecli.models import (
        ActiveProject,
        ChatSession,
        Media,
        Message,
        Project,
        ProjectCollaborator,
        User,
        new_id,
    )
    from moviecli.services import auth, passwords, workflow
    from moviecli.storage.db import database

    rng = random.Random(1234)
    db = database(config.database_url(None))
    now = datetime.now(UTC)
    counts: dict[str, int] = {}

    def insert(table: Any, rows: list[dict[str, Any]]) -> None:
        """One executemany per batch, one transaction per batch."""
        for start in range(0, len(rows), BATCH):
            with db.engine.begin() as conn:
                conn.execute(table.insert(), rows[start : start + BATCH])
        counts[table.name] = counts.get(table.name, 0) + len(rows)

    with db.session() as session:
        admin = session.execute(sa.select(User).where(User.role == "admin")).scalar_one()
        admin_id = admin.id

    # users: the admin plus 199 others (a few producers), all with room for 50 projects
    password_hash = passwords.hash_password("bench-password-1")  # one KDF run, shared
    users = []
    for n in range(USERS - 1):
        at = now - timedelta(days=200 - n % 100)
        users.append(
            {
                "id": new_id(),
                "email": f"user{n}@bench.example",
                "name": f"User {n}",
                "role": "producer" if n % 50 == 0 else "user",
                "preferences": {},
                "tier": "enterprise",
                "max_projects": 100,
                "max_episodes_per_project": 50,
                "password_hash": password_hash,
                "failed_logins": 0,
                "created_at": at,
                "updated_at": at,
            }
        )
    insert(User.__table__, users)
    user_ids = [admin_id] + [u["id"] for u in users]
    plain_user = next(u["id"] for u in users if u["role"] == "user")

    # projects: 50 per user, every status and phase, updated over the last 90 days
    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    projects: list[dict[str, Any]] = []
    for owner in user_ids:
        for k in range(PROJECTS_PER_USER):
            status = rng.choices(statuses, weights)[0]
            done = {
                "concept": rng.randint(0, 1),
                "pre-production": rng.randint(1, 4),
                "production": 5,
                "post-production": rng.randint(6, 7),
                "completed": 8,
                "on-hold": rng.randint(0, 5),
            }[status]
            completed = list(WORKFLOW_STEP_IDS[:done])
            updated = now - timedelta(seconds=rng.randint(0, 90 * 86400))
            title = f"{rng.choice(WORDS)} {rng.choice(NOUNS)} {k}"
            if owner == admin_id and k == 0:
                title = SHOW_TITLE
            projects.append(
                {
                    "id": new_id(),
                    "title": title,
                    "description": "A series made for the benchmark.",
                    "genre": rng.choice(GENRES),
                    "episode_count": rng.randint(1, 24),
                    "target_audience": rng.choice(("children", "family", "teen", "adult")),
                    "status": status,
                    "held_from": "production" if status == "on-hold" else None,
                    "created_by": owner,
                    "aspect_ratio": "16:9",
                    "episode_duration": 22,
                    "quality_tier": "standard",
                    "current_phase": WORKFLOW_STEP_IDS[min(done, 7)],
                    "completed_steps": completed,
                    "overall_progress": workflow.overall_progress(completed),
                    "story": {},
                    "created_at": updated - timedelta(days=rng.randint(0, 30)),
                    "updated_at": updated,
                }
            )
    show = next(p for p in projects if p["title"] == SHOW_TITLE)
    show["episode_count"] = 12
    insert(Project.__table__, projects)

    # collaborators: 0-3 other users per project; activeProjects: each user's newest 5
    collaborators = []
    for p in projects:
        for uid in rng.sample(user_ids, rng.randint(0, 3)):
            if uid != p["created_by"]:
                collaborators.append({"project_id": p["id"], "user_id": uid, "added_at": now})
    insert(ProjectCollaborator.__table__, collaborators)
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for p in projects:
        by_owner.setdefault(p["created_by"], []).append(p)
    active = [
        {"user_id": uid, "project_id": p["id"], "added_at": now}
        for uid, owned in by_owner.items()
        for p in sorted(owned, key=lambda p: p["updated_at"], reverse=True)[:5]
    ]
    insert(ActiveProject.__table__, active)

    # media: 5 records on each of 4,000 projects (the show target among them, with 30)
    media_types = list(MEDIA_FAMILIES)
    mime = {"image": "image/png", "video": "video/mp4", "audio": "audio/mpeg"}
    media = []
    media_projects = [show, *rng.sample(projects, MEDIA_PROJECTS - 1)]
    for p in media_projects:
        for _ in range(30 if p is show else MEDIA_PER_PROJECT):
            media_type = rng.choice(media_types)
            media.append(
                {
                    "id": new_id(),
                    "project_id": p["id"],
                    "media_type": media_type,
                    "agent_generated": False,
                    "description": "benchmark asset",
                    "tags": [],
                    "characters": [],
                    "episode": rng.randint(1, p["episode_count"]),
                    "technical_data": {},
                    "version": 1,
                    "status": rng.choice(("active", "active", "active", "draft", "archived")),
                    "visibility": "private",
                    "filename": f"{media_type}.bin",
                    "mime_type": mime[MEDIA_FAMILIES[media_type]],
                    "size_bytes": 1000,
                    "sha256": f"{rng.getrandbits(256):064x}",
                    "created_by": p["created_by"],
                    "created_at": now,
                    "updated_at": now,
                }
            )
    insert(Media.__table__, media)

    # sessions with messages (numbered per session where the schema numbers them)
    session_cols = set(ChatSession.__table__.c.keys())
    message_cols = set(Message.__table__.c.keys())
    sessions, messages = [], []
    for n in range(SESSIONS):
        p = show if n < 5 else rng.choice(media_projects)
        sid = new_id()
        row: dict[str, Any] = {
            "id": sid,
            "project_id": p["id"],
            "user_id": p["created_by"],
            "current_step": p["current_phase"],
            "context_data": {},
            "awaiting_user_input": True,
            "last_choices": [],
            "session_state": "active",
            "created_at": now,
            "updated_at": now,
        }
        if "message_count" in session_cols:
            row["message_count"] = MESSAGES_PER_SESSION
        sessions.append(row)
        for m in range(MESSAGES_PER_SESSION):
            message: dict[str, Any] = {
                "session_id": sid,
                "role": "user" if m % 2 == 0 else "assistant",
                "content": f"benchmark message {m} about {p['title']}",
                "timestamp": now,
                "attachments": [],
                "meta": {"step": p["current_phase"]},
            }
            if "seq" in message_cols:
                message["seq"] = m + 1
            messages.append(message)
    insert(ChatSession.__table__, sessions)
    insert(Message.__table__, messages)

    with db.engine.begin() as conn:
        if db.is_sqlite:
            conn.exec_driver_sql("ANALYZE")
    with db.write() as session:
        user = session.get(User, plain_user)
        assert user is not None
        user_token = auth.issue_token(session, user)
        admin = session.get(User, admin_id)
        assert admin is not None
        admin_token = auth.issue_token(session, admin)
    db.engine.dispose()
    return Built(admin_token, user_token, SHOW_TITLE, counts, time.perf_counter() - started)


# --- timing ------------------------------------------------------------------------------------


@dataclass
class Timing:
    name: str
    argv: list[str]
    env: dict[str, str]
    runs_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    instructions: int | None = None  # --instructions: counted once under valgrind

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs_ms)

    @property
    def min_ms(self) -> float:
        return min(self.runs_ms)

    @property
    def cpu_median_ms(self) -> float:
        return statistics.median(self.cpu_ms)


def run_once(t: Timing) -> tuple[float, float]:
    """Wall and CPU milliseconds of one process, start to exit."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            t.argv, env=t.env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = (time.perf_counter() - start) * 1000
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        output, errors = out.read(), err.read()
    if code != 0 or (b"Error:" in output + errors):
        sys.exit(
            f"{t.name}: {shlex.join(t.argv)} exited {code}:\n"
            f"{errors.decode(errors='replace')}{output.decode(errors='replace')[-2000:]}"
        )
    return elapsed, (usage.ru_utime + usage.ru_stime) * 1000


def count_instructions(t: Timing) -> int:
    """Instructions the process executes (valgrind, no cache simulation): the same on a
    busy machine as on an idle one, unlike wall and CPU time. Under ``script`` the
    command's own process is counted (the largest of the processes traced)."""
    with tempfile.TemporaryDirectory() as logs:
        argv = [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            "--trace-children=yes",
            f"--log-file={logs}/%p.log",
        ]
        proc = subprocess.run([*argv, *t.argv], env=t.env, capture_output=True, text=True)
        counts = [
            int(line.split("refs:")[1].replace(",", ""))
            for log in Path(logs).glob("*.log")
            for line in log.read_text().splitlines()
            if "I   refs:" in line
        ]
    if proc.returncode != 0 or not counts:
        sys.exit(f"{t.name}: valgrind failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return max(counts)


def machine() -> dict[str, object]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="timed runs per command")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output file")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--keep", type=Path, help="build into this directory and keep it")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count each command's instructions under valgrind (steady on a busy machine)",
    )
    args = parser.parse_args()

    python = sys.executable
    moviecli = str(Path(python).parent / "moviecli")
    if not Path(moviecli).exists():
        sys.exit(f"no moviecli beside {python}: run this with the project's venv python")
    if args.keep:
        if args.keep.exists():
            shutil.rmtree(args.keep)
        args.keep.mkdir(parents=True)
        home = args.keep
        cleanup = None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="moviecli-bench-projects-")
        home = Path(cleanup.name)

    try:
        # PYTHONDONTWRITEBYTECODE would leave stale bytecode in place and every run would
        # compile the changed modules again: the warm-up run writes it, as an install does.
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("MOVIECLI_") and k != "PYTHONDONTWRITEBYTECODE"
        }
        base.update(MOVIECLI_HOME=str(home), NO_COLOR="1", COLUMNS="120", LINES="50")
        built = build(home, moviecli, base)
        admin = {**base, "MOVIECLI_TOKEN": built.admin_token}
        user = {**base, "MOVIECLI_TOKEN": built.user_token}
        title = built.show_title
        tty = ["script", "-qec", shlex.join([moviecli, "project", "list"]), "/dev/null"]
        timings = [
            Timing("import sqlmodel", [python, "-c", "import sqlmodel"], base),
            Timing("project list", [moviecli, "project", "list"], admin),
            Timing(
                "project list --status production",
                [moviecli, "project", "list", "--status", "production"],
                admin,
            ),
            Timing(
                "project list --sort title",
                [moviecli, "project", "list", "--sort", "title"],
                admin,
            ),
            Timing("project list --json", [moviecli, "project", "list", "--json"], admin),
            Timing("project list (terminal)", tty, admin),
            Timing("project list (user)", [moviecli, "project", "list"], user),
            Timing("project show", [moviecli, "project", "show", title], admin),
            Timing("project show --json", [moviecli, "project", "show", title, "--json"], admin),
            Timing("project episodes", [moviecli, "project", "episodes", title], admin),
        ]
        if shutil.which("script") is None:
            timings = [t for t in timings if t.argv[0] != "script"]
        for t in timings:  # warm-up: bytecode caches, page cache
            run_once(t)
        for _ in range(args.runs):
            for t in timings:
                wall, cpu = run_once(t)
                t.runs_ms.append(wall)
                t.cpu_ms.append(cpu)
        if args.instructions:
            if shutil.which("valgrind") is None:
                sys.exit("--instructions needs valgrind")
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
                for t, n in zip(timings, pool.map(count_instructions, timings), strict=True):
                    t.instructions = n
    finally:
        if cleanup is not None:
            cleanup.cleanup()

    floor = timings[0]
    info = machine()
    print(
        f"moviecli project commands, {args.runs} runs each (median), process start to exit; "
        f"database built in {built.seconds:.1f} s:"
    )
    print("  " + ", ".join(f"{n:,} {table}" for table, n in built.counts.items()))
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, {info['system']}, Python {info['python']}"
    )
    print()
    header = f"{'command':<34} {'median ms':>10} {'min ms':>8} {'CPU ms':>8} {'ratio':>7} "
    header += f"{'CPU ratio':>9}"
    if args.instructions:
        header += f" {'Minstr':>7} {'ratio':>6}"
    print(header + f"  target {TARGET}x")
    rows = []
    for t in timings:
        ratio = t.median_ms / floor.median_ms
        cpu_ratio = t.cpu_median_ms / floor.cpu_median_ms
        verdict = "" if t is floor else ("ok" if ratio <= TARGET else "MISSED")
        line = (
            f"{t.name:<34} {t.median_ms:>10.1f} {t.min_ms:>8.1f} {t.cpu_median_ms:>8.1f} "
            f"{ratio:>6.2f}x {cpu_ratio:>8.2f}x"
        )
        instr_ratio = None
        if t.instructions and floor.instructions:
            instr_ratio = t.instructions / floor.instructions
            line += f" {t.instructions / 1e6:>7.0f} {instr_ratio:>5.2f}x"
        print(f"{line}  {verdict}")
        rows.append(
            {
                "command": t.name,
                "argv": [a if a != built.admin_token else "<token>" for a in t.argv],
                "runs_ms": [round(x, 1) for x in t.runs_ms],
                "median_ms": round(t.median_ms, 1),
                "min_ms": round(t.min_ms, 1),
                "cpu_median_ms": round(t.cpu_median_ms, 1),
                "ratio": round(ratio, 3),
                "cpu_ratio": round(cpu_ratio, 3),
                "instructions": t.instructions,
                "instructions_ratio": None if instr_ratio is None else round(instr_ratio, 3),
                "target": None if t is floor else TARGET,
                "met": None if t is floor else ratio <= TARGET,
            }
        )
    print("(ratio: median wall time over the median of `python -c 'import sqlmodel'`)")
    if args.instructions:
        print("(Minstr: millions of instructions of one run under valgrind; ratio to the floor's)")
    missed = [r for r in rows if r["met"] is False]

    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": info,
        "runs": args.runs,
        "data": built.counts,
        "build_seconds": round(built.seconds, 1),
        "floor": "python -c 'import sqlmodel'",
        "timings": rows,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
