"""Startup time of moviecli beside its floors (SPEC section 7).

Times whole processes, start to exit, side by side in one run:

    python -c "import typer"      the floor of ``moviecli --help``    (target: within 2.5x)
    python -c "import sqlmodel"   the floor of commands that open the database
                                  (``moviecli whoami`` here; target: within 1.3x)

Run it with the project's venv (stdlib only):

    .venv/bin/python benchmarks/startup.py [--runs 10] [--out benchmarks/out/startup.json]

It makes a throw-away MOVIECLI_HOME, runs ``moviecli init`` there, runs each command once
to warm the caches, then ``--runs`` rounds of all commands (interleaved, so that a slow
moment of the machine hits every command alike). It prints a table and writes JSON.
``--check`` exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "out" / "startup.json"


@dataclass
class Timing:
    name: str
    argv: list[str]
    runs_ms: list[float]  # wall clock, process start to exit
    cpu_ms: list[float]  # user + system CPU of the process: steadier on a busy machine

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs_ms)

    @property
    def min_ms(self) -> float:
        return min(self.runs_ms)

    @property
    def cpu_median_ms(self) -> float:
        return statistics.median(self.cpu_ms)


@dataclass
class Ratio:
    name: str
    floor: str
    median: float
    min: float
    cpu: float
    target: float

    @property
    def met(self) -> bool:
        return self.median <= self.target


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


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU milliseconds of one process (stdout is not a terminal)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = (time.perf_counter() - start) * 1000
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            sys.exit(f"{' '.join(argv)} exited {code}:\n{err.read().decode(errors='replace')}")
    return elapsed, (usage.ru_utime + usage.ru_stime) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per command")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output file")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    python = sys.executable
    moviecli = str(Path(python).parent / "moviecli")
    if not Path(moviecli).exists():
        sys.exit(f"no moviecli beside {python}: run this with the project's venv python")

    with tempfile.TemporaryDirectory(prefix="moviecli-bench-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOVIECLI_")}
        env.update(MOVIECLI_HOME=home, NO_COLOR="1")
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
            input=b"a-long-passphrase-1\n",
            env=env,
            capture_output=True,
        )
        if init.returncode != 0:
            sys.exit(f"moviecli init failed ({init.returncode}):\n{init.stderr.decode()}")

        timings = [
            Timing("import typer", [python, "-c", "import typer"], [], []),
            Timing("import sqlmodel", [python, "-c", "import sqlmodel"], [], []),
            Timing("moviecli --help", [moviecli, "--help"], [], []),
            Timing("moviecli whoami", [moviecli, "whoami"], [], []),
        ]
        for t in timings:  # warm-up: bytecode caches, page cache
            run_once(t.argv, env)
        for _ in range(args.runs):
            for t in timings:
                wall, cpu = run_once(t.argv, env)
                t.runs_ms.append(wall)
                t.cpu_ms.append(cpu)

    by_name = {t.name: t for t in timings}
    ratios = []
    for name, floor, target in [
        ("moviecli --help", "import typer", 2.5),
        ("moviecli whoami", "import sqlmodel", 1.3),
    ]:
        t, f = by_name[name], by_name[floor]
        ratios.append(
            Ratio(
                name,
                floor,
                t.median_ms / f.median_ms,
                t.min_ms / f.min_ms,
                t.cpu_median_ms / f.cpu_median_ms,
                target,
            )
        )

    info = machine()
    print(f"moviecli startup, {args.runs} runs each, process start to exit")
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, {info['system']}, Python {info['python']}"
    )
    print()
    print(f"{'command':<30} {'median ms':>10} {'min ms':>10} {'CPU ms':>10}")
    for t in timings:
        print(f"{t.name:<30} {t.median_ms:>10.1f} {t.min_ms:>10.1f} {t.cpu_median_ms:>10.1f}")
    print()
    print(f"{'ratio':<36} {'median':>7} {'min':>7} {'CPU':>7} {'target':>7}  result (median)")
    for r in ratios:
        label = f"{r.name} / {r.floor}"
        verdict = "ok" if r.met else "MISSED"
        print(
            f"{label:<36} {r.median:>6.2f}x {r.min:>6.2f}x {r.cpu:>6.2f}x {r.target:>6.1f}x  "
            f"{verdict}"
        )
    print("(CPU: median user+system time; steadier than wall time when the machine is busy)")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": info,
        "runs": args.runs,
        "timings": [
            {
                **asdict(t),
                "median_ms": round(t.median_ms, 1),
                "min_ms": round(t.min_ms, 1),
                "cpu_median_ms": round(t.cpu_median_ms, 1),
            }
            for t in timings
        ],
        "ratios": [
            {
                "command": r.name,
                "floor": r.floor,
                "median": round(r.median, 3),
                "min": round(r.min, 3),
                "cpu_median": round(r.cpu, 3),
                "target": r.target,
                "met": r.met,
            }
            for r in ratios
        ],
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 1 if args.check and not all(r.met for r in ratios) else 0


if __name__ == "__main__":
    sys.exit(main())
