"""Media at scale beside its floor (SPEC section 7, issue 5).

Measured in one run, on a throw-away MOVIECLI_HOME:

1. ``moviecli media add P DIR --recursive`` of 1,000 small PNG files (fresh files each
   time), files per second, whole process included: with embeddings for numbered frames
   (frame-00001.png, …: one shared description, so one text to embed), with embeddings
   for 1,000 distinct three-word names (1,000 texts: the model's own throughput), and
   with ``--no-embed``. Target: at least 200 files/s with embeddings.
2. 100,000 media records bulk-inserted (one ``insert()`` executemany per batch; the
   embeddings reuse those of a few hundred distinct texts) over 1,000 projects, 20,000 of
   them in the project that ``media list`` shows. Then whole-process timings, interleaved
   run by run, medians of ``--runs``:

       python -c "import sqlmodel"        the floor
       moviecli media list BIG            target: within 1.3x of the floor
       moviecli media search "sea storm"  (all 100,000 vectors: run as the admin)
                                          target: within 2.5x of the floor

Run it with the project's venv:

    .venv/bin/python benchmarks/media.py [--runs 7] [--records 100000] [--out FILE]

It prints a table and writes benchmarks/out/media.json. ``--check`` exits 1 on a miss.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "out" / "media.json"
sys.path.insert(0, str(HERE))

from _data import MEDIA_WORDS  # noqa: E402
from startup import machine  # noqa: E402

WORDS = MEDIA_WORDS  # one vocabulary for every benchmark (benchmarks/_data.py)
TYPES = ("concept_art", "storyboard", "character_design", "environment_design")


def run_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr.decode()}")
    return elapsed


def make_pngs(directory: Path, n: int, offset: int, *, distinct_names: bool = False) -> None:
    """n small distinct PNGs: numbered frames (frame-00001.png, …), or with
    ``distinct_names`` a different three-word name each (the text to embed differs)."""
    from PIL import Image

    directory.mkdir(parents=True)
    rng = random.Random(offset)
    names: set[str] = set()
    while distinct_names and len(names) < n:
        names.add("-".join(rng.sample(WORDS, 3)))
    ordered = sorted(names)
    for i in range(n):
        k = offset + i
        img = Image.new("RGB", (16, 16), (k % 256, (k // 256) % 256, (k // 65536) % 256))
        img.putpixel((0, 0), (k % 7, k % 11, k % 13))
        name = f"{ordered[i]}.png" if distinct_names else f"frame-{k:05d}.png"
        img.save(directory / name, format="PNG")


def bulk_add(
    moviecli: str, env: dict[str, str], project: str, directory: Path, embed: bool
) -> float:
    argv = [moviecli, "media", "add", project, str(directory), "--recursive"]
    argv += ["--type", "storyboard", "--description", "storyboard frame of the harbour chase"]
    if not embed:
        argv.append("--no-embed")
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"media add failed ({proc.returncode}):\n{proc.stderr.decode()}")
    return elapsed


def load_records(env: dict[str, str], records: int, big: int) -> dict[str, Any]:
    """Insert projects and media straight through the models' tables, in batches."""
    os.environ.update(env)
    import sqlalchemy as sa

    from moviecli import config
    from moviecli.models import Media, Project, User, new_id, utcnow
    from moviecli.services import embeddings
    from moviecli.services.media import embedding_text
    from moviecli.storage.db import database

    db = database(config.database_url())
    rng = random.Random(5)
    texts = [" ".join(rng.sample(WORDS, 5)) for _ in range(300)]
    vectors = embeddings.embed_texts(
        [
            embedding_text(description=t, tags=[], media_type="concept_art", filename="f.png")
            for t in texts
        ]
    )
    with db.session() as session:
        owner = session.execute(sa.select(User.id)).scalar_one()  # type: ignore[call-overload]
    n_projects = 1000
    now = utcnow()
    project_rows = [
        {
            "id": new_id(),
            "title": f"Bench {i:04d}",
            "description": "",
            "genre": "drama",
            "episode_count": 10,
            "target_audience": "family",
            "status": "concept",
            "held_from": None,
            "created_by": owner,
            "aspect_ratio": "16:9",
            "episode_duration": 22,
            "quality_tier": "standard",
            "current_phase": "initial_concept",
            "completed_steps": [],
            "overall_progress": 0,
            "story": {},
            "created_at": now,
            "updated_at": now,
        }
        for i in range(n_projects)
    ]
    with db.write() as session:
        session.execute(sa.insert(Project), project_rows)
    big_id = project_rows[0]["id"]
    batch: list[dict[str, Any]] = []
    start = time.perf_counter()
    for i in range(records):
        k = rng.randrange(len(texts))
        project_id = big_id if i < big else project_rows[1 + i % (n_projects - 1)]["id"]
        batch.append(
            {
                "id": new_id(),
                "project_id": project_id,
                "media_type": TYPES[i % 4],
                "agent_generated": False,
                "generation_metadata": None,
                "embedding": vectors[k],
                "description": texts[k],
                "tags": [WORDS[i % 30]],
                "characters": [],
                "episode": 1 + i % 10,
                "scene": None,
                "timestamp": None,
                "technical_data": {"resolution": "16x16"},
                "version": 1,
                "previous_version": None,
                "status": "active",
                "visibility": "public" if i % 10 == 0 else "private",
                "filename": f"bench-{i:06d}.png",
                "mime_type": "image/png",
                "size_bytes": 100,
                "sha256": f"{i:064x}",
                "created_by": owner,
                "created_at": now,
                "updated_at": now,
            }
        )
        if len(batch) == 5000:
            with db.write() as session:
                session.execute(sa.insert(Media), batch)
            batch = []
    if batch:
        with db.write() as session:
            session.execute(sa.insert(Media), batch)
    if db.is_sqlite:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    return {"big_project": big_id, "load_seconds": round(time.perf_counter() - start, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per command")
    parser.add_argument("--records", type=int, default=100_000, help="media records")
    parser.add_argument("--files", type=int, default=1000, help="files per bulk add")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output file")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    python = sys.executable
    moviecli = str(Path(python).parent / "moviecli")
    # What a regular (non-editable) install does: byte-compile the package, so that an
    # environment with PYTHONDONTWRITEBYTECODE=1 does not recompile it on every run while
    # the floor's site-packages are compiled.
    import moviecli as package

    subprocess.run(
        [python, "-m", "compileall", "-q", str(Path(package.__file__).parent)], check=True
    )
    with tempfile.TemporaryDirectory(prefix="moviecli-bench-media-") as tmp:
        home = Path(tmp) / "home"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOVIECLI_")}
        env.update(MOVIECLI_HOME=str(home), NO_COLOR="1")
        init = subprocess.run(
            [
                moviecli,
                "init",
                "--name",
                "Bench",
                "--email",
                "bench@example.com",
                "--password-stdin",
            ],
            input=b"bench-password-1\n",
            env=env,
            capture_output=True,
        )
        if init.returncode != 0:
            sys.exit(f"moviecli init failed:\n{init.stderr.decode()}")
        for title in ("Adds", "Adds named", "Adds raw"):
            subprocess.run(
                [moviecli, "project", "create", title, "--genre", "drama", "--episodes", "3"],
                env=env,
                check=True,
                capture_output=True,
            )
        make_pngs(Path(tmp) / "embed", args.files, 0)
        make_pngs(Path(tmp) / "named", args.files, args.files, distinct_names=True)
        make_pngs(Path(tmp) / "raw", args.files, 2 * args.files)
        with_embed = bulk_add(moviecli, env, "Adds", Path(tmp) / "embed", True)
        named = bulk_add(moviecli, env, "Adds named", Path(tmp) / "named", True)
        without = bulk_add(moviecli, env, "Adds raw", Path(tmp) / "raw", False)

        loaded = load_records(env, args.records, big=min(20_000, args.records))
        timings: dict[str, list[float]] = {
            "import sqlmodel": [],
            "media list": [],
            "media search": [],
        }
        argv = {
            "import sqlmodel": [python, "-c", "import sqlmodel"],
            "media list": [moviecli, "media", "list", loaded["big_project"]],
            "media search": [moviecli, "media", "search", "sea storm"],
        }
        for name in timings:  # warm-up: page cache, the search cache is built here
            run_once(argv[name], env)
        for _ in range(args.runs):
            for name in timings:
                timings[name].append(run_once(argv[name], env))

    med = {name: statistics.median(runs) for name, runs in timings.items()}
    floor = med["import sqlmodel"]
    ratios = [
        ("media list", med["media list"] / floor, 1.3),
        ("media search", med["media search"] / floor, 2.5),
    ]
    rates = [
        ("with embeddings, numbered files", args.files / with_embed, 200.0),
        ("with embeddings, distinct names", args.files / named, 200.0),
        ("--no-embed", args.files / without, None),
    ]
    info = machine()
    print(f"moviecli media: {args.records} records, {args.runs} runs each, process start to exit")
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, {info['system']}, Python {info['python']}"
    )
    print(f"records loaded in {loaded['load_seconds']} s\n")
    print(
        f"{'bulk add of ' + str(args.files) + ' files':<34} {'files/s':>8} {'target':>8}  result"
    )
    for name, rate, target in rates:
        verdict = "" if target is None else ("ok" if rate >= target else "MISSED")
        shown = "" if target is None else f">={target:.0f}"
        print(f"{name:<34} {rate:>8.0f} {shown:>8}  {verdict}")
    print(f"\n{'command':<34} {'median ms':>10} {'min ms':>10}")
    for name, runs in timings.items():
        print(f"{name:<34} {med[name]:>10.1f} {min(runs):>10.1f}")
    print(f"\n{'ratio to import sqlmodel':<34} {'median':>7} {'target':>7}  result")
    for name, ratio, target in ratios:
        print(
            f"{name:<34} {ratio:>6.2f}x {target:>6.1f}x  {'ok' if ratio <= target else 'MISSED'}"
        )

    report = {
        "machine": info,
        "records": args.records,
        "runs": args.runs,
        "bulk_add": [
            {
                "name": n,
                "files": args.files,
                "files_per_s": round(r, 1),
                "target": t,
                "met": None if t is None else r >= t,
            }
            for n, r, t in rates
        ],
        "timings": [
            {"name": n, "runs_ms": [round(x, 1) for x in runs], "median_ms": round(med[n], 1)}
            for n, runs in timings.items()
        ],
        "ratios": [
            {
                "command": n,
                "floor": "import sqlmodel",
                "median": round(r, 3),
                "target": t,
                "met": r <= t,
            }
            for n, r, t in ratios
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    met = all(r <= t for _, r, t in ratios) and all(t is None or r >= t for _, r, t in rates)
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
