"""Chat at scale (SPEC section 7): one session of 1,000,000 messages.

Measures, side by side in one run:

    storing a turn          chat.take_turn inside the process (built-in assistant;
                            target: under 20 ms)
    session show            the newest page and a middle page, whole process
    session search          a rare and a common word, whole process
    python -c "import sqlmodel"   the floor of any command that opens the database
                            (target: each command within 1.3x of it)

The messages are loaded with one ``insert()`` executemany per batch of 20,000 rows, one
transaction per batch, with the full-text trigger dropped during the load and the FTS5
index rebuilt after it (SPEC section 7). Run it with the project's venv:

    .venv/bin/python benchmarks/chat.py [--messages 1000000] [--runs 10]
        [--out benchmarks/out/chat.json] [--check] [--keep DIR]

``--keep DIR`` builds the database in DIR and keeps it; run again with the same DIR (and
message count) to skip the load, or to profile a command by hand
(``MOVIECLI_HOME=DIR moviecli session show ID``).

SQLite only (the default backend). It prints a table and writes JSON; ``--check`` exits 1
when a target is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from startup import machine, run_once  # noqa: E402  (the sibling benchmark's helpers)

DEFAULT_OUT = HERE / "out" / "chat.json"
BATCH = 20_000
RARE = "zeppelin"  # in one message out of 100,000
COMMON = "moon"  # in every message
PASSWORD = "bench-password-1"

WORDS = [
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
class Timing:
    name: str
    argv: list[str]
    runs_ms: list[float]
    cpu_ms: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs_ms)

    @property
    def cpu_median_ms(self) -> float:
        return statistics.median(self.cpu_ms)


def texts(n: int, seed: int = 7) -> list[str]:
    """A few hundred distinct message texts, each with the common word."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = rng.choices(WORDS, k=rng.randint(6, 30))
        words.insert(rng.randrange(len(words) + 1), COMMON)
        out.append(" ".join(words).capitalize() + ".")
    return out


def load(url: str, email: str, messages: int) -> tuple[str, float]:
    """A project, a session and ``messages`` messages in it; returns (session id, seconds)."""
    import sqlalchemy as sa

    from moviecli.models import ChatSession, Message, utcnow
    from moviecli.services import projects, resolve
    from moviecli.storage.db import database

    db = database(url)
    with db.write() as session:
        user = resolve.user_by_email(session, email)
        assert user is not None
        project = projects.create_project(
            session, user, projects.Fields(title="Big Talk", genre="drama", episode_count=3)
        )
        chat = ChatSession(project_id=project.id, user_id=user.id)
        session.add(chat)
        session.flush()
        session_id = chat.id
    pool = texts(400)
    start = time.perf_counter()
    assert db.sqlite_path is not None
    with db.engine.begin() as conn:
        trigger = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'messages_fts_ai'"
        ).scalar_one()
        conn.exec_driver_sql("DROP TRIGGER messages_fts_ai")
    now = utcnow()
    stmt = sa.insert(Message)
    for first in range(1, messages + 1, BATCH):
        rows = []
        for seq in range(first, min(first + BATCH, messages + 1)):
            content = pool[seq % len(pool)]
            if seq % 100_000 == 50_000:
                content = f"{content} A {RARE} drifts past."
            rows.append(
                {
                    "session_id": session_id,
                    "seq": seq,
                    "role": "user" if seq % 2 else "assistant",
                    "content": content,
                    "timestamp": now,
                    "attachments": [],
                    "meta": {"step": "initial_concept"},
                }
            )
        with db.write() as session:
            session.execute(stmt, rows)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
        conn.exec_driver_sql(trigger)
        conn.exec_driver_sql(
            "UPDATE chat_sessions SET message_count = ? WHERE id = ?", (messages, session_id)
        )
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    return session_id, time.perf_counter() - start


def turn_times(url: str, email: str, session_id: str, turns: int) -> list[float]:
    """Milliseconds of whole chat turns inside this process (built-in assistant)."""
    from moviecli.services import chat, resolve
    from moviecli.services.assistant.builtin import BuiltinAssistant
    from moviecli.storage.db import database

    db = database(url)
    with db.session() as session:
        user = resolve.user_by_email(session, email)
    assert user is not None
    backend = BuiltinAssistant()
    times = []
    for i in range(turns + 3):
        start = time.perf_counter()
        chat.take_turn(
            db,
            user,
            chat.TurnRequest(message=f"turn {i}"),
            session_ref=session_id,
            backend=backend,
        )
        if i >= 3:  # the first turns warm the statement caches
            times.append((time.perf_counter() - start) * 1000)
    return times


def message_count(url: str, session_id: str) -> int:
    from moviecli.models import ChatSession
    from moviecli.storage.db import database

    with database(url).session() as session:
        chat = session.get(ChatSession, session_id)
        assert chat is not None
        return chat.message_count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=10, help="timed runs per command")
    parser.add_argument("--turns", type=int, default=50, help="timed in-process turns")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output file")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--keep", type=Path, help="build in this directory, keep and reuse it")
    args = parser.parse_args()

    python = sys.executable
    moviecli = str(Path(python).parent / "moviecli")
    if not Path(moviecli).exists():
        sys.exit(f"no moviecli beside {python}: run this with the project's venv python")

    with contextlib.ExitStack() as stack:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            home = str(args.keep.resolve())
        else:
            home = stack.enter_context(tempfile.TemporaryDirectory(prefix="moviecli-chat-"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOVIECLI_")}
        env.update(MOVIECLI_HOME=home, NO_COLOR="1")
        os.environ.update(MOVIECLI_HOME=home)
        os.environ.pop("MOVIECLI_DATABASE_URL", None)
        email = "bench@example.com"
        url = f"sqlite:///{home}/moviecli.db"
        marker = Path(home) / "chat-bench.json"
        kept = json.loads(marker.read_text()) if marker.exists() else {}
        if kept.get("messages") == args.messages:
            session_id, load_s = kept["session"], kept["load_seconds"]
            print(f"reusing the {args.messages:,} messages in {home}", flush=True)
        else:
            for name in ("moviecli.db", "moviecli.db-wal", "moviecli.db-shm", "token"):
                (Path(home) / name).unlink(missing_ok=True)
            init = subprocess.run(
                [moviecli, "init", "--name", "Bench", "--email", email, "--password-stdin"],
                input=f"{PASSWORD}\n".encode(),
                env=env,
                capture_output=True,
            )
            if init.returncode != 0:
                sys.exit(f"moviecli init failed ({init.returncode}):\n{init.stderr.decode()}")
            print(f"loading {args.messages:,} messages …", flush=True)
            session_id, load_s = load(url, email, args.messages)
            print(f"loaded in {load_s:.1f} s (insert + FTS5 rebuild)", flush=True)
            marker.write_text(
                json.dumps(
                    {"messages": args.messages, "session": session_id, "load_seconds": load_s}
                )
            )
        turns = turn_times(url, email, session_id, args.turns)

        pages = -(-message_count(url, session_id) // 20)
        middle = pages // 2
        timings = [
            Timing("import sqlmodel", [python, "-c", "import sqlmodel"], [], []),
            # a command that opens the database and does next to nothing: what every
            # command pays before its own work
            Timing("whoami (reference)", [moviecli, "whoami"], [], []),
            Timing(
                "session show (newest page)", [moviecli, "session", "show", session_id], [], []
            ),
            Timing(
                f"session show --page {middle}",
                [moviecli, "session", "show", session_id, "--page", str(middle)],
                [],
                [],
            ),
            Timing(f"session search {RARE}", [moviecli, "session", "search", RARE], [], []),
            Timing(f"session search {COMMON}", [moviecli, "session", "search", COMMON], [], []),
        ]
        for t in timings:  # warm-up: bytecode and page caches
            run_once(t.argv, env)
        for _ in range(args.runs):
            for t in timings:
                wall, cpu = run_once(t.argv, env)
                t.runs_ms.append(wall)
                t.cpu_ms.append(cpu)

    floor = timings[0]
    turn_median = statistics.median(turns)
    info = machine()
    print()
    print(f"moviecli chat, one session of {args.messages:,} messages; {args.runs} runs each")
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, {info['system']}, Python {info['python']}"
    )
    print()
    print(
        f"store a turn inside the process: median {turn_median:.1f} ms, "
        f"p90 {sorted(turns)[int(len(turns) * 0.9)]:.1f} ms over {len(turns)} turns "
        f"(target < 20 ms): {'ok' if turn_median < 20 else 'MISSED'}"
    )
    print()
    print(f"{'command':<34} {'median ms':>10} {'CPU ms':>8} {'ratio':>7} {'target':>7}  result")
    results = []
    for t in timings:
        ratio = t.median_ms / floor.median_ms
        target = None if t is floor or t.name.endswith("(reference)") else 1.3
        met = target is None or ratio <= target
        results.append((t, ratio, target, met))
        print(
            f"{t.name:<34} {t.median_ms:>10.1f} {t.cpu_median_ms:>8.1f} {ratio:>6.2f}x "
            f"{'' if target is None else f'{target:.1f}x':>7}  "
            f"{'' if target is None else ('ok' if met else 'MISSED')}"
        )

    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": info,
        "messages": args.messages,
        "runs": args.runs,
        "load_seconds": round(load_s, 1),
        "turn_ms": {
            "median": round(turn_median, 2),
            "p90": round(sorted(turns)[int(len(turns) * 0.9)], 2),
            "runs": [round(x, 2) for x in turns],
            "target": 20,
            "met": turn_median < 20,
        },
        "timings": [
            {
                **asdict(t),
                "median_ms": round(t.median_ms, 1),
                "cpu_median_ms": round(t.cpu_median_ms, 1),
                "ratio": round(ratio, 3),
                "target": target,
                "met": met,
            }
            for t, ratio, target, met in results
        ],
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    ok = turn_median < 20 and all(met for *_, met in results)
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
