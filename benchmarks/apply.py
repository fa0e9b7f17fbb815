"""``moviecli apply`` at team scale (SPEC sections 6 and 7, issue 7).

A file of 5 projects and 500 small media files in all (PNG images and WAV clips, each
with its own description, tags and episode, so 500 distinct texts to embed), applied by
the real console script in a throw-away MOVIECLI_HOME:

    apply (create)          the first apply: check, probe, hash, embed, insert, store
    apply (unchanged)       the same file again: check and plan only ("Nothing to change")
    apply (10 edits)        10 descriptions changed: 10 updates, 10 texts re-embedded

on SQLite and, when MOVIECLI_BENCH_POSTGRES_URL names a PostgreSQL server (a URL whose
user may create databases, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres), on
a fresh database there too. Whole processes, start to exit, wall and CPU (user + system)
time; the unchanged re-apply is the median of --runs. Beside each first apply, the model
alone embedding the same 500 texts: the floor of a first apply (the CPU times are the
steadier figures on a shared machine).

    .venv/bin/python benchmarks/apply.py [--projects 5] [--files 500] [--runs 5] [--out FILE]

Prints a table and writes benchmarks/out/apply.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "out" / "apply.json"
sys.path.insert(0, str(HERE))

from _data import apply_file_with_media  # noqa: E402  (the one module of builders)
from startup import machine  # noqa: E402

FLOOR = """
import json, sys, time, tomllib
from pathlib import Path
from moviecli.services import embeddings
from moviecli.services.media_fields import text_of

texts = []
for project in tomllib.loads(Path(sys.argv[1]).read_text())["project"]:
    for m in project.get("media", []):
        related = m.get("relatedElements", {})
        texts.append(text_of({
            "description": m.get("description", ""), "tags": m.get("tags", []),
            "media_type": m["mediaType"], "filename": Path(m["file"]).name,
            "episode": related.get("episode"),
        }))
model = embeddings.embedder(optimize=True)
model.embed(texts[:8])
wall, cpu = time.perf_counter(), time.process_time()
model.embed(texts)
print(json.dumps([time.perf_counter() - wall, time.process_time() - cpu]))
"""


def embedding_floor(apply_file: Path) -> tuple[float, float]:
    """Wall and CPU seconds the model takes for the file's texts in one batch (loaded
    beforehand, in a process of its own): the part of a first apply that no database
    work can remove. Measured beside each first apply, as the machine's load varies."""
    proc = subprocess.run(
        [sys.executable, "-c", FLOOR, str(apply_file)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        sys.exit(f"the embedding floor failed:\n{proc.stderr}")
    wall, cpu = json.loads(proc.stdout)
    return wall, cpu


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU (user + system) seconds of one process, and its stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{' '.join(argv)} failed:\n{err.read().decode()}")
        return wall, usage.ru_utime + usage.ru_stime, out.read().decode()


def bench_backend(
    name: str, url: str | None, apply_file: Path, tmp: Path, runs: int
) -> dict[str, Any]:
    moviecli = str(Path(sys.executable).parent / "moviecli")
    home = tmp / f"home-{name}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOVIECLI_")}
    env.update(MOVIECLI_HOME=str(home), NO_COLOR="1")
    if url:
        env["MOVIECLI_DATABASE_URL"] = url
    init = subprocess.run(
        [moviecli, "init", "--name", "Bench", "--email", "bench@example.com", "--password-stdin"],
        input="a-long-passphrase-1\n",
        env=env,
        capture_output=True,
        text=True,
    )
    if init.returncode != 0:
        sys.exit(f"moviecli init failed:\n{init.stderr}")
    argv = [moviecli, "apply", str(apply_file)]
    floor_wall, floor_cpu = embedding_floor(apply_file)
    create_wall, create_cpu, _ = timed(argv, env)
    unchanged: list[tuple[float, float]] = []
    for _ in range(runs):
        wall, cpu, out = timed(argv, env)
        if "Nothing to change" not in out:
            sys.exit(f"the re-apply wanted to change something:\n{out[:2000]}")
        unchanged.append((wall, cpu))
    # Ten descriptions edited: ten updates (and ten texts to embed again).
    text = apply_file.read_text()
    edited = apply_file.with_name("edited.toml")
    parts = text.split('description = "')
    for i in range(1, min(11, len(parts))):
        parts[i] = "edited " + parts[i]
    edited.write_text('description = "'.join(parts))
    edit_wall, edit_cpu, out = timed([moviecli, "apply", str(edited)], env)
    if out.count(": update") != 10:
        sys.exit(f"expected 10 updates:\n{out[:2000]}")
    return {
        "backend": name,
        "create_s": round(create_wall, 2),
        "create_cpu_s": round(create_cpu, 2),
        "embedding_floor_s": round(floor_wall, 2),
        "embedding_floor_cpu_s": round(floor_cpu, 2),
        "unchanged_s": round(statistics.median(w for w, _ in unchanged), 2),
        "unchanged_cpu_s": round(statistics.median(c for _, c in unchanged), 2),
        "unchanged_runs_s": [round(w, 2) for w, _ in unchanged],
        "edit10_s": round(edit_wall, 2),
        "edit10_cpu_s": round(edit_cpu, 2),
    }


def pg_database(server_url: str) -> tuple[str, Any]:
    """A fresh database on the server, and a function that drops it."""
    import psycopg

    name = f"moviecli_bench_apply_{uuid.uuid4().hex[:8]}"
    admin_url = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        from moviecli.storage.db import dispose_all

        dispose_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    base = server_url.rsplit("/", 1)[0]
    if not base.startswith("postgresql+psycopg://"):
        base = base.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}", drop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=5)
    parser.add_argument("--files", type=int, default=500, help="media files in all")
    parser.add_argument("--runs", type=int, default=5, help="timed unchanged re-applies")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output file")
    args = parser.parse_args()

    # As a regular install would: byte-compiled, so no run pays for compiling the package.
    import moviecli as package

    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(package.__file__).parent)],
        check=True,
    )
    pg_url = os.environ.get("MOVIECLI_BENCH_POSTGRES_URL")
    results = []
    with tempfile.TemporaryDirectory(prefix="moviecli-bench-apply-") as tmp:
        apply_file = apply_file_with_media(Path(tmp) / "team", args.projects, args.files)
        results.append(bench_backend("sqlite", None, apply_file, Path(tmp), args.runs))
        if pg_url:
            url, drop = pg_database(pg_url)
            try:
                results.append(bench_backend("postgresql", url, apply_file, Path(tmp), args.runs))
            finally:
                drop()

    info = machine()
    print(
        f"moviecli apply: {args.projects} projects, {args.files} media files, "
        f"whole process (median of {args.runs} for the unchanged re-apply)"
    )
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, {info['system']}, Python {info['python']}"
    )
    print(f"\n{'':<12} {'create':>16} {'unchanged':>16} {'10 edits':>16} {'embedding alone':>16}")
    print(f"{'backend':<12}" + f" {'wall':>7} {'cpu':>8}" * 4)
    for r in results:
        print(
            f"{r['backend']:<12}"
            f" {r['create_s']:>6.2f}s {r['create_cpu_s']:>7.2f}s"
            f" {r['unchanged_s']:>6.2f}s {r['unchanged_cpu_s']:>7.2f}s"
            f" {r['edit10_s']:>6.2f}s {r['edit10_cpu_s']:>7.2f}s"
            f" {r['embedding_floor_s']:>6.2f}s {r['embedding_floor_cpu_s']:>7.2f}s"
        )
    print(
        "\nembedding alone: the model on the file's 500 texts in one batch, measured just "
        "before that backend's first apply (the floor of a first apply)"
    )
    if not pg_url:
        print("\n(PostgreSQL skipped: set MOVIECLI_BENCH_POSTGRES_URL to include it)")
    report = {
        "machine": info,
        "projects": args.projects,
        "files": args.files,
        "runs": args.runs,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
