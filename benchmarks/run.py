"""The whole benchmark (SPEC section 7): a large database, then every command timed as a
whole process beside its floor, measured side by side in one run.

    .venv/bin/python benchmarks/run.py [--scale 1] [--runs 7] [--keep DIR] [--check]

1. Builds a database with realistic shapes (``benchmarks/_data.py``, the one module of
   benchmark data): at ``--scale 1``, 200 users, 10,000 projects, 100,000 media records
   with embeddings, 1,000,000 chat messages in 2,000 sessions, loaded with one
   ``insert()`` executemany per batch (target: at least 100,000 rows/s for projects and
   messages), then the FTS5 index rebuilt.
2. Times whole ``moviecli`` processes, start to exit, interleaved round by round with their
   floors (median of ``--runs``): ``python -c "import typer"`` for ``--help`` (target
   2.5x), ``python -c "import sqlmodel"`` for every command that opens the database (1.3x;
   ``media search``, which also loads the embedding model, 2.5x); ``llm logs list -n 10``
   as a peer when ``llm`` is installed.
3. Times a chat turn inside the process (target: under 20 ms), ``media add`` of 1,000
   files each with its own text to embed (target: 200 files/s; and with ``--no-embed``),
   and ``apply`` of a file of 1,000 new projects (target: 500 projects/s), in one process
   each, fresh files and titles each run (1,000 times ``--scale``, at least 10).

It prints a table and writes ``benchmarks/out/run.json`` (and the README table,
``benchmarks/out/run.md``). ``--scale 0.1`` makes a quick run; ``--keep DIR`` builds into
DIR and keeps it, and a later run with the same DIR and scale reuses it (to profile by
hand: ``MOVIECLI_HOME=DIR moviecli project list``).

``--check`` (what CI runs, with ``--scale 0.1``) exits 1 when a command's ratio to its
floor misses its target; only the ratios are checked (rates in rows, files or projects per
second depend on the machine and on the data's size), on CPU time with a margin for a
loaded machine (MARGIN below).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _data  # noqa: E402
from startup import machine  # noqa: E402  (the sibling benchmark's helper)

DEFAULT_OUT = HERE / "out" / "run.json"
USER = "user1@bench.example"  # a plain user: sees own and collaborated projects only
COLLABORATOR = "user2@bench.example"
MARKER = "run-data.json"
ROWS_PER_S = 100_000  # projects and messages
TURN_MS = 20.0
FILES_PER_S = 200.0  # media add with embeddings, distinct texts (issue 15 item 5)
PROJECTS_PER_S = 500.0  # apply of new projects (issue 15 item 5)
RATES_AT = 1000  # the two rates are targets for 1,000 files or projects (the full run)
# --check: a ratio target is missed when the CPU-time ratio exceeds target * (1 + MARGIN),
# or the wall-time ratio exceeds target * (1 + WALL_MARGIN). CPU time (user + system of
# the process) leaves out the time spent waiting for a core, which is what a loaded machine
# adds, and the floor is timed in the same rounds; what is left is scatter from shared
# caches and frequency. Over three quick runs on a 2-core machine at load average 10 to
# 21, one command's CPU ratio moved by up to 0.10 between runs and its wall ratio by up to
# 0.55: MARGIN (0.2 on a 1.3x target) is twice the first; WALL_MARGIN only catches what CPU
# time cannot see (a wait on a lock, a sleep) when it doubles the ratio.
MARGIN = 0.15
WALL_MARGIN = 1.0


@dataclass
class Timing:
    name: str
    argv: list[str]
    floor: str | None = None  # the name of its floor
    target: float | None = None  # ratio to the floor
    env: dict[str, str] | None = None  # beside the common environment (another login)
    runs_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs_ms)

    @property
    def cpu_median_ms(self) -> float:
        return statistics.median(self.cpu_ms)


def run_once(t: Timing, env: dict[str, str]) -> None:
    """One process, start to exit: wall and CPU (user + system) milliseconds."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            t.argv, env={**env, **(t.env or {})}, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = (time.perf_counter() - start) * 1000
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            out.seek(0)
            err.seek(0)
            sys.exit(
                f"{t.name}: {shlex.join(t.argv)} exited {code}:\n"
                f"{err.read().decode(errors='replace')}{out.read().decode(errors='replace')}"
            )
    t.runs_ms.append(elapsed)
    t.cpu_ms.append((usage.ru_utime + usage.ru_stime) * 1000)


def build_or_reuse(home: Path, scale: float, moviecli: str, env: dict[str, str]) -> _data.Built:
    marker = home / MARKER
    if marker.exists():
        kept = json.loads(marker.read_text())
        if kept.get("scale") == scale:
            print(f"reusing the database in {home} (scale {scale})", flush=True)
            return _data.Built.from_json(kept["built"], admin_token="")
    for name in ("moviecli.db", "moviecli.db-wal", "moviecli.db-shm", "token", MARKER):
        (home / name).unlink(missing_ok=True)
    shutil.rmtree(home / "media", ignore_errors=True)
    sizes = _data.Sizes.at(scale)
    print(f"building the database in {home} (scale {scale}) …", flush=True)
    _data.init_home(moviecli, env)
    built = _data.build(home, f"sqlite:///{home / 'moviecli.db'}", sizes, log=_log)
    marker.write_text(json.dumps({"scale": scale, "built": built.as_json()}, indent=2) + "\n")
    return built


def _log(message: str) -> None:
    print(f"  {message}", flush=True)


def turn_times(url: str, session_id: str, turns: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of whole chat turns inside this process (the built-in
    assistant, the admin's longest session, on a project with media and collaborators)."""
    from moviecli.services import chat, resolve
    from moviecli.services.assistant.builtin import BuiltinAssistant
    from moviecli.storage.db import database

    db = database(url)
    with db.session() as session:
        user = resolve.user_by_email(session, _data.ADMIN_EMAIL)
    assert user is not None
    backend = BuiltinAssistant()
    wall, cpu = [], []
    for i in range(turns + 3):
        started, used = time.perf_counter(), time.process_time()
        chat.take_turn(
            db,
            user,
            chat.TurnRequest(message=f"turn {i}"),
            session_ref=session_id,
            backend=backend,
        )
        if i >= 3:  # the first turns warm the statement caches
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - used) * 1000)
    return wall, cpu


def llm_turn_times(url: str, session_id: str, turns: int) -> dict[str, Any]:
    """Whole chat turns inside this process through a real OpenAI-compatible server:
    llama-cpp-python's server with SmolLM2-135M-Instruct (the ``llm`` extra, see
    scripts/install-llm), started here on 127.0.0.1 as the tests start it. Wall time of
    the turn, until the first piece of the reply streamed, and how many turns recorded
    the model's reading (not the built-in fallback); the same session as the
    built-in turns."""
    sys.path.insert(0, str(HERE.parent))
    from tests.llmserver import MODEL_NAME, LlamaServer, missing

    why = missing()
    if why is not None or turns <= 0:
        return {"skipped": why or "--llm-turns 0"}
    from moviecli.services import chat, resolve
    from moviecli.services.assistant.openai import OpenAIBackend
    from moviecli.storage.db import database

    db = database(url)
    with db.session() as session:
        user = resolve.user_by_email(session, _data.ADMIN_EMAIL)
    assert user is not None
    with tempfile.TemporaryDirectory(prefix="moviecli-llama-") as logs:
        server = LlamaServer(Path(logs)).start()
        try:
            backend = OpenAIBackend(base_url=server.url, model=MODEL_NAME, timeout=120)
            wall, first, by_model = [], [], 0
            for i in range(turns + 1):
                started = time.perf_counter()
                firsts: list[float] = []

                def on_chunk(piece: str, firsts: list[float] = firsts) -> None:
                    if not firsts and piece.strip():
                        firsts.append(time.perf_counter())

                result = chat.take_turn(
                    db,
                    user,
                    chat.TurnRequest(message=f"The crew rehearses the vault scene, take {i}."),
                    session_ref=session_id,
                    backend=backend,
                    on_chunk=on_chunk,
                )
                if i >= 1:  # the first turn warms the server's prompt cache
                    wall.append(time.perf_counter() - started)
                    first.append((firsts[0] if firsts else time.perf_counter()) - started)
                    by_model += result.understood_by == "model"
        finally:
            server.stop()
    return {
        "model": MODEL_NAME,
        "server": "llama-cpp-python " + _version("llama-cpp-python"),
        "turns": len(wall),
        "medianSeconds": round(statistics.median(wall), 2),
        "maxSeconds": round(max(wall), 2),
        "firstPieceMedianSeconds": round(statistics.median(first), 2),
        # turns whose story updates came from the model's reading (else the built-in one)
        "readByModel": by_model,
    }


def _version(dist: str) -> str:
    from importlib import metadata

    return metadata.version(dist)


def bulk_adds(
    moviecli: str, env: dict[str, str], work: Path, files: int, runs: int, *, embed: bool = True
) -> list[tuple[float, float]]:
    """Wall and CPU seconds of ``media add P DIR --recursive`` of ``files`` fresh PNGs,
    ``runs`` times. Each file has its own three-word name, so each has its own text to
    embed (with ``embed``); without it, ``--no-embed``."""
    title = f"Bulk Adds {'' if embed else 'raw '}{int(time.time())}"
    subprocess.run(
        [moviecli, "project", "create", title, "--genre", "drama", "--episodes", "3"],
        env=env,
        check=True,
        capture_output=True,
    )
    seconds = []
    for run in range(runs):
        directory = work / f"adds-{run}"
        shutil.rmtree(directory, ignore_errors=True)
        offset = (run + 1) * 100_000 + int(time.time()) % 50_000
        _data.make_pngs(directory, files, offset=offset, distinct_names=True)
        argv = [moviecli, "media", "add", title, str(directory), "--recursive"]
        argv += ["--type", "storyboard", "--description", "storyboard frame of the harbour chase"]
        if not embed:
            argv.append("--no-embed")
        seconds.append(_timed_process(argv, env))
        shutil.rmtree(directory)
    return seconds


def applies(
    moviecli: str, env: dict[str, str], work: Path, projects: int, runs: int
) -> dict[str, Any]:
    """``moviecli apply`` of a file of ``projects`` new projects (descriptions, settings, a
    collaborator on every other one), ``runs`` times with fresh titles; then the last file
    again, unchanged. Wall and CPU seconds of each whole process."""
    subprocess.run(
        [moviecli, "user", "update", "--max-projects", "100000"],
        env=env,
        check=True,
        capture_output=True,
    )
    created: list[tuple[float, float]] = []
    path = work / "apply.toml"
    for run in range(runs):
        prefix = f"Apply {run} {int(time.time())}"
        _data.apply_file_of_projects(path, projects, prefix=prefix, collaborator=COLLABORATOR)
        created.append(_timed_process([moviecli, "apply", str(path)], env))
    unchanged = _timed_process([moviecli, "apply", str(path)], env)
    wall = statistics.median(w for w, _ in created)
    cpu = statistics.median(c for _, c in created)
    return {
        "projects": projects,
        "secondsRuns": [round(w, 2) for w, _ in created],
        "medianSeconds": round(wall, 2),
        "cpuMedianSeconds": round(cpu, 2),
        "projectsPerS": round(projects / wall, 1),
        "projectsPerCpuS": round(projects / cpu, 1),
        "unchangedSeconds": round(unchanged[0], 2),
        "unchangedCpuSeconds": round(unchanged[1], 2),
        "target": PROJECTS_PER_S,
        "met": projects / wall >= PROJECTS_PER_S if projects >= RATES_AT else None,
    }


def _timed_process(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one process, which must succeed."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            sys.exit(f"{shlex.join(argv)} failed:\n{err.read().decode(errors='replace')}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="data size (0.1: a quick run)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per command")
    parser.add_argument("--turns", type=int, default=50, help="timed in-process chat turns")
    parser.add_argument(
        "--llm-turns", type=int, default=5, help="timed chat turns through the real model server"
    )
    parser.add_argument(
        "--add-runs", type=int, default=3, help="runs of the bulk media add and of apply"
    )
    parser.add_argument("--keep", type=Path, help="build in this directory, keep and reuse it")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output file")
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when a ratio target is missed (CPU ratio, with the margin; for CI)",
    )
    args = parser.parse_args()

    python = sys.executable
    moviecli = str(Path(python).parent / "moviecli")
    if not Path(moviecli).exists():
        sys.exit(f"no moviecli beside {python}: run this with the project's venv python")
    # What a regular install does: byte-compile the package, so that it is not compiled
    # again on every run while the floors' site-packages are.
    import moviecli as package

    subprocess.run(
        [python, "-m", "compileall", "-q", str(Path(package.__file__).parent)], check=True
    )

    with contextlib.ExitStack() as stack:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            home = args.keep.resolve()
        else:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="moviecli-run-")))
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOVIECLI_")}
        env.update(MOVIECLI_HOME=str(home), NO_COLOR="1", COLUMNS="120", LINES="50")
        os.environ.update(MOVIECLI_HOME=str(home))
        os.environ.pop("MOVIECLI_DATABASE_URL", None)
        built = build_or_reuse(home, args.scale, moviecli, env)
        report = measure(args, python, moviecli, env, home, built)

    print_report(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))
    print(f"\nwrote {args.out} and {args.out.with_suffix('.md')}")
    if args.check:
        verdict = "held" if report["ratiosChecked"] else "MISSED"
        print(f"--check: the ratio targets (CPU +{MARGIN:.0%}, wall +{WALL_MARGIN:.0%}) {verdict}")
        return 0 if report["ratiosChecked"] else 1
    return 0


def measure(
    args: argparse.Namespace,
    python: str,
    moviecli: str,
    env: dict[str, str],
    home: Path,
    built: _data.Built,
) -> dict[str, Any]:
    show = built.show_project
    big = built.big_session
    pages = -(-(built.big_session_messages + 2 * (args.runs + 1)) // 20)
    peer = shutil.which("llm")
    mc = [moviecli]
    typer_floor, sqlmodel_floor = "import typer", "import sqlmodel"
    as_user = {"MOVIECLI_TOKEN": _data.issue_token(built.url, USER)}
    timings = [
        Timing(typer_floor, [python, "-c", "import typer"]),
        Timing(sqlmodel_floor, [python, "-c", "import sqlmodel"]),
        Timing("moviecli --help", [*mc, "--help"], typer_floor, 2.5),
        Timing("whoami", [*mc, "whoami"], sqlmodel_floor, 1.3),
        Timing("project list", [*mc, "project", "list"], sqlmodel_floor, 1.3),
        Timing("project list --json", [*mc, "project", "list", "--json"], sqlmodel_floor, 1.3),
        Timing(
            "project list (a plain user)",
            [*mc, "project", "list"],
            sqlmodel_floor,
            1.3,
            env=as_user,
        ),
        Timing(
            "project list --status production",
            [*mc, "project", "list", "--status", "production"],
            sqlmodel_floor,
            1.3,
        ),
        Timing(
            "project list --sort title",
            [*mc, "project", "list", "--sort", "title"],
            sqlmodel_floor,
            1.3,
        ),
        Timing("project show", [*mc, "project", "show", show], sqlmodel_floor, 1.3),
        Timing("project episodes", [*mc, "project", "episodes", show], sqlmodel_floor, 1.3),
        Timing("media list", [*mc, "media", "list", built.big_media_project], sqlmodel_floor, 1.3),
        Timing(
            "media search (semantic)",
            [*mc, "media", "search", "storm over the harbour at night"],
            sqlmodel_floor,
            2.5,
        ),
        Timing("session show (newest page)", [*mc, "session", "show", big], sqlmodel_floor, 1.3),
        Timing(
            "session show (middle page)",
            [*mc, "session", "show", big, "--page", str(pages // 2)],
            sqlmodel_floor,
            1.3,
        ),
        Timing(
            f"session search {_data.RARE} (rare)",
            [*mc, "session", "search", _data.RARE],
            sqlmodel_floor,
            1.3,
        ),
        Timing(
            f"session search {_data.COMMON} (common)",
            [*mc, "session", "search", _data.COMMON],
            sqlmodel_floor,
            1.3,
        ),
        Timing(
            "chat -m (one turn)",
            [*mc, "chat", show, "--session", big, "-m", "The crew rehearses the vault scene."],
            sqlmodel_floor,
            1.3,
        ),
    ]
    if peer:
        timings.insert(2, Timing("llm logs list -n 10 (peer)", [peer, "logs", "list", "-n", "10"]))
    load_before = os.getloadavg()
    print(f"timing {len(timings)} commands, {args.runs} runs each (after one warm-up) …")
    for t in timings:  # warm-up: bytecode and page caches, the media search cache
        run_once(t, env)
        t.runs_ms.clear()
        t.cpu_ms.clear()
    for _ in range(args.runs):
        for t in timings:
            run_once(t, env)

    print(f"chat turns inside the process ({args.turns}) …", flush=True)
    turns, turns_cpu = turn_times(built.url, big, args.turns)
    print(f"chat turns through the model server ({args.llm_turns}) …", flush=True)
    llm_turns = llm_turn_times(built.url, big, args.llm_turns)
    files = max(10, round(1000 * args.scale))
    print(f"media add of {files} files, {args.add_runs} runs …", flush=True)
    with tempfile.TemporaryDirectory(prefix="moviecli-run-files-") as work:
        adds = bulk_adds(moviecli, env, Path(work), files, args.add_runs)
        raw_adds = bulk_adds(moviecli, env, Path(work), files, args.add_runs, embed=False)
    n_apply = max(10, round(1000 * args.scale))
    print(f"apply of {n_apply} new projects, {args.add_runs} runs …", flush=True)
    with tempfile.TemporaryDirectory(prefix="moviecli-run-apply-") as work:
        applied = applies(moviecli, env, Path(work), n_apply, args.add_runs)

    by_name = {t.name: t for t in timings}
    rows = []
    for t in timings:
        floor = by_name[t.floor] if t.floor else None
        ratio = t.median_ms / floor.median_ms if floor else None
        cpu_ratio = t.cpu_median_ms / floor.cpu_median_ms if floor else None
        # what --check holds: the CPU ratio, with the margin for a loaded machine
        checked = (
            None
            if ratio is None or cpu_ratio is None or t.target is None
            else cpu_ratio <= t.target * (1 + MARGIN) and ratio <= t.target * (1 + WALL_MARGIN)
        )
        rows.append(
            {
                "command": t.name,
                "argv": [Path(a).name if a in (python, moviecli) else a for a in t.argv],
                "runs_ms": [round(x, 1) for x in t.runs_ms],
                "median_ms": round(t.median_ms, 1),
                "cpu_median_ms": round(t.cpu_median_ms, 1),
                "floor": t.floor,
                "ratio": None if ratio is None else round(ratio, 3),
                "cpu_ratio": None if cpu_ratio is None else round(cpu_ratio, 3),
                "target": t.target,
                "met": None if ratio is None or t.target is None else ratio <= t.target,
                "checked": checked,
            }
        )
    loads = [
        {
            "table": load.table,
            "rows": load.rows,
            "seconds": round(load.seconds, 2),
            "rows_per_s": round(load.rows_per_s),
            "rows_per_cpu_s": round(load.rows_per_cpu_s),
            "target": ROWS_PER_S if load.table in ("projects", "messages") else None,
            "met": load.rows_per_s >= ROWS_PER_S
            if load.table in ("projects", "messages")
            else None,
        }
        for load in built.loads
    ]
    load_after = os.getloadavg()
    turn_median = statistics.median(turns)
    add_median = statistics.median(w for w, _ in adds)
    add_cpu = statistics.median(c for _, c in adds)
    raw_median = statistics.median(w for w, _ in raw_adds)
    report: dict[str, Any] = {
        "machine": machine(),
        # other work on the machine: it inflates wall times (the CPU figures less so)
        "loadAverage": {"before": load_before[0], "after": load_after[0]},
        "scale": args.scale,
        "runs": args.runs,
        "data": {
            "loads": loads,
            "ftsRebuildSeconds": built.fts_rebuild_seconds,
            "buildSeconds": built.seconds,
        },
        "peer": peer or "llm is not installed here: no peer timing",
        "timings": rows,
        "chatTurn": {
            "medianMs": round(turn_median, 2),
            "p90Ms": round(sorted(turns)[int(len(turns) * 0.9)], 2),
            "cpuMedianMs": round(statistics.median(turns_cpu), 2),
            "turns": len(turns),
            "target": TURN_MS,
            "met": turn_median < TURN_MS,
            "session": f"{built.big_session_messages:,} messages",
        },
        "llmTurn": llm_turns,
        "mediaAdd": {
            "files": files,
            "secondsRuns": [round(w, 2) for w, _ in adds],
            "medianSeconds": round(add_median, 2),
            "cpuMedianSeconds": round(add_cpu, 2),
            "filesPerS": round(files / add_median, 1),
            "filesPerCpuS": round(files / add_cpu, 1),
            "target": FILES_PER_S,
            "met": files / add_median >= FILES_PER_S if files >= RATES_AT else None,
            "noEmbedMedianSeconds": round(raw_median, 2),
            "noEmbedFilesPerS": round(files / raw_median, 1),
        },
        "apply": applied,
        "margin": {"cpu": MARGIN, "wall": WALL_MARGIN},
    }
    report["allMet"] = (
        all(r["met"] is not False for r in rows)
        and all(x["met"] is not False for x in loads)
        and report["chatTurn"]["met"]
        and report["mediaAdd"]["met"] is not False
        and report["apply"]["met"] is not False
    )
    # --check: ratios only (absolute rates depend on the machine and on the data's size)
    report["ratiosChecked"] = all(r["checked"] is not False for r in rows)
    return report


def print_report(report: dict[str, Any]) -> None:
    info = report["machine"]
    print()
    print(
        f"moviecli benchmark, scale {report['scale']}, {report['runs']} runs each (median), "
        "process start to exit"
    )
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, {info['system']}, Python {info['python']}"
        f"; load average {report['loadAverage']['before']:.1f} before the timings, "
        f"{report['loadAverage']['after']:.1f} after"
    )
    print()
    print(f"{'data':<26} {'rows':>10} {'seconds':>8} {'rows/s':>9} {'per CPU s':>10}  target")
    for load in report["data"]["loads"]:
        verdict = "" if load["met"] is None else ("ok" if load["met"] else "MISSED")
        target = f">={load['target']:,}" if load["target"] else ""
        print(
            f"{load['table']:<26} {load['rows']:>10,} {load['seconds']:>8.1f} "
            f"{load['rows_per_s']:>9,} {load['rows_per_cpu_s']:>10,}  {target} {verdict}"
        )
    print(f"{'FTS5 rebuild':<26} {'':>10} {report['data']['ftsRebuildSeconds']:>8.1f}")
    print()
    header = f"{'command':<36} {'median ms':>9} {'CPU ms':>7} {'floor':<16} {'ratio':>6} "
    print(header + f"{'CPU':>6} {'target':>6}  result")
    for r in report["timings"]:
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        cpu = "" if r["cpu_ratio"] is None else f"{r['cpu_ratio']:.2f}x"
        target = "" if r["target"] is None else f"{r['target']:.1f}x"
        verdict = "" if r["met"] is None else ("ok" if r["met"] else "MISSED")
        if r["checked"] is False:
            verdict += " (check FAILED)"
        elif r["met"] is False:
            verdict += " (check ok)"
        print(
            f"{r['command']:<36} {r['median_ms']:>9.0f} {r['cpu_median_ms']:>7.0f} "
            f"{r['floor'] or '':<16} {ratio:>6} {cpu:>6} {target:>6}  {verdict}"
        )
    print(f"peer: {report['peer']}")
    turn = report["chatTurn"]
    print(
        f"\nchat turn inside the process ({turn['session']} in the session): median "
        f"{turn['medianMs']:.1f} ms, p90 {turn['p90Ms']:.1f} ms, CPU {turn['cpuMedianMs']:.1f} "
        f"ms (target < {turn['target']:.0f} ms): {'ok' if turn['met'] else 'MISSED'}"
    )
    print(f"chat turn through the model server: {_llm_line(report['llmTurn'])}")
    add = report["mediaAdd"]
    print(
        f"media add of {add['files']} files (distinct texts embedded), one process: median "
        f"{add['medianSeconds']:.1f} s ({add['cpuMedianSeconds']:.1f} s CPU), "
        f"{add['filesPerS']:.0f} files/s ({add['filesPerCpuS']:.0f} per CPU second; target >= "
        f"{add['target']:.0f}): {_verdict(add['met'])}; --no-embed "
        f"{add['noEmbedFilesPerS']:.0f} files/s"
    )
    ap = report["apply"]
    print(
        f"apply of {ap['projects']} new projects, one process: median {ap['medianSeconds']:.2f} "
        f"s ({ap['cpuMedianSeconds']:.2f} s CPU), {ap['projectsPerS']:.0f} projects/s "
        f"({ap['projectsPerCpuS']:.0f} per CPU second; target >= {ap['target']:.0f}): "
        f"{_verdict(ap['met'])}; unchanged re-apply {ap['unchangedSeconds']:.2f} s"
    )


def _verdict(met: bool | None, *, short: bool = False) -> str:
    if met is None:
        return "not judged at this size" if short else f"not judged (its target is at {RATES_AT})"
    return "ok" if met else "MISSED"


def _llm_line(llm: dict[str, Any]) -> str:
    if "skipped" in llm:
        return f"not measured ({llm['skipped']})"
    return (
        f"median {llm['medianSeconds']:.2f} s, slowest {llm['maxSeconds']:.2f} s, first piece "
        f"of the reply after {llm['firstPieceMedianSeconds']:.2f} s ({llm['turns']} turns, "
        f"{llm.get('readByModel', 0)} read by the model, "
        f"{llm['model']} on {llm['server']}, 2 threads)"
    )


def markdown(report: dict[str, Any]) -> str:
    """The table for README's Performance section."""
    info = report["machine"]
    lines = [
        f"Measured on {info['cpu']}, {info['cores']} cores, {info['system']}, Python "
        f"{info['python']}; scale {report['scale']}, median of {report['runs']} runs, "
        "process start to exit; load average "
        f"{report['loadAverage']['before']:.1f} before the timings, "
        f"{report['loadAverage']['after']:.1f} after (other work on the machine).",
        "",
        "| data | rows | rows/s (per CPU second) | target |",
        "|---|---:|---:|---|",
    ]
    for load in report["data"]["loads"]:
        target = "" if load["target"] is None else f"≥ {load['target']:,}"
        verdict = "" if load["met"] is None else (" ✓" if load["met"] else " missed")
        lines.append(
            f"| {load['table']} | {load['rows']:,} | {load['rows_per_s']:,} "
            f"({load['rows_per_cpu_s']:,}) | {target}{verdict} |"
        )
    lines.append(
        f"| FTS5 index rebuild | | {report['data']['ftsRebuildSeconds']:.1f} s | |"
    )  # fmt: skip
    lines += [
        "",
        "| command | median ms | floor | ratio (CPU ratio) | target |",
        "|---|---:|---|---:|---|",
    ]
    for r in report["timings"]:
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}x ({r['cpu_ratio']:.2f}x)"
        target = "" if r["target"] is None else f"≤ {r['target']:.1f}x"
        verdict = "" if r["met"] is None else (" ✓" if r["met"] else " missed")
        lines.append(
            f"| `{r['command']}` | {r['median_ms']:.0f} | {r['floor'] or ''} | {ratio} | "
            f"{target}{verdict} |"
        )
    turn, add = report["chatTurn"], report["mediaAdd"]
    lines += [
        "",
        f"- chat turn inside the process: median {turn['medianMs']:.1f} ms, p90 "
        f"{turn['p90Ms']:.1f} ms, CPU {turn['cpuMedianMs']:.1f} ms (target < "
        f"{turn['target']:.0f} ms"
        f"{', met' if turn['met'] else ', missed'})",
        f"- chat turn through the model server: {_llm_line(report['llmTurn'])}",
        f"- `media add` of {add['files']:,} files, each with its own text to embed, one "
        f"process: {add['medianSeconds']:.1f} s ({add['cpuMedianSeconds']:.1f} s CPU), "
        f"{add['filesPerS']:.0f} files/s (target ≥ "
        f"{add['target']:.0f}, {_verdict(add['met'], short=True).lower()}); with `--no-embed` "
        f"{add['noEmbedFilesPerS']:.0f} files/s",
        f"- `apply` of {report['apply']['projects']:,} new projects, one process: "
        f"{report['apply']['medianSeconds']:.2f} s ({report['apply']['cpuMedianSeconds']:.2f} s "
        f"CPU), {report['apply']['projectsPerS']:.0f} projects/s (target ≥ "
        f"{report['apply']['target']:.0f}, "
        f"{_verdict(report['apply']['met'], short=True).lower()})",
        f"- peer: {report['peer']}",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
