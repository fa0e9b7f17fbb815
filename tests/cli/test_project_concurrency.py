"""Concurrent creates in real processes: limits and unique titles hold (SPEC section 3).

Each process imports everything first, says it is ready, then waits for a file to appear,
so that all of them run ``project create`` at the same moment. The limit check and the
insert share one write transaction (BEGIN IMMEDIATE on SQLite, the creator's row locked
FOR UPDATE on PostgreSQL), so exactly one of them gets the last slot.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.projecthelp import new_project

PROCESSES = 4

# Runs the real CLI entry point once the barrier file appears.
RUNNER = """
import sys, time
from pathlib import Path

go, ready = Path(sys.argv[1]), Path(sys.argv[2])
from moviecli.cli import main
import moviecli.services.projects, moviecli.storage.db  # the imports are not the race

ready.touch()
deadline = time.monotonic() + 60
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("barrier timeout")
    time.sleep(0.001)
sys.argv = ["moviecli", *sys.argv[3:]]
main()
"""


def race(tmp_path: Path, commands: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
    go = tmp_path / "go"
    procs = []
    for n, args in enumerate(commands):
        ready = tmp_path / f"ready-{n}"
        procs.append(
            (
                ready,
                subprocess.Popen(
                    [sys.executable, "-c", RUNNER, str(go), str(ready), *args],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=dict(os.environ),
                ),
            )
        )
    deadline = time.monotonic() + 60
    while not all(ready.exists() for ready, _ in procs):
        assert time.monotonic() < deadline, "the processes did not get ready"
        assert all(p.poll() is None for _, p in procs), [p.communicate() for _, p in procs]
        time.sleep(0.01)
    go.touch()
    results = []
    for _, proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def create_args(title: str) -> list[str]:
    return ["project", "create", title, "--genre", "drama", "--episodes", "1"]


@pytest.mark.parametrize(("tier", "existing", "limit"), [("free", 0, 1), ("pro", 9, 10)])
def test_one_slot_left_four_processes(cli, make_user, login_as, tmp_path, tier, existing, limit):
    login_as(make_user(f"{tier}@example.com", tier=tier))
    for n in range(existing):
        new_project(cli, f"Existing {n}", "--episodes", "1")
    results = race(tmp_path, [create_args(f"Racer {n}") for n in range(PROCESSES)])

    codes = sorted(r.returncode for r in results)
    assert codes == [0, 5, 5, 5], [(r.returncode, r.stderr) for r in results]
    for r in results:
        assert "locked" not in r.stderr
        assert "Traceback" not in r.stderr
        if r.returncode == 5:
            assert r.stderr == (
                f"Error: maximum projects reached for your subscription tier ({tier}: {limit})\n"
            )
    data = cli("project", "list", "--limit", "200", "--json").json()
    assert data["total"] == limit
    winner = next(r for r in results if r.returncode == 0)
    racers = [i["title"] for i in data["items"] if i["title"].startswith("Racer")]
    assert len(racers) == 1
    assert f"'{racers[0]}'" in winner.stdout


def test_same_title_four_processes(cli, make_user, login_as, tmp_path):
    """Four creates of one title with slots to spare: one project, three conflicts."""
    login_as(make_user("pro@example.com", tier="pro"))
    titles = ["Heist", "HEIST", "heist", "Heist"]
    results = race(tmp_path, [create_args(title) for title in titles])
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 5, 5, 5], [(r.returncode, r.stderr) for r in results]
    for r in results:
        if r.returncode == 5:
            assert r.stderr.startswith("Error: you already have a project titled ")
    assert cli("project", "list", "--json").json()["total"] == 1
