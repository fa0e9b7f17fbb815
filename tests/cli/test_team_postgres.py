"""A team on one PostgreSQL database and one shared media store (SPEC sections 4 and 6).

Two "machines": two MOVIECLI_HOMEs, each with its own config.toml (written with
``moviecli config set``) and its own login, both pointing ``database.url`` at the test's
PostgreSQL database and ``media.store`` at one shared directory. Real processes of the
console script work at the same time: collaborators see each other's media and session
history, the subscription limit holds across machines, nothing is lost or duplicated.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import media_factory as mf
from tests.conftest import PASSWORD

pytestmark = pytest.mark.postgres_only

MOVIECLI = Path(sys.executable).with_name("moviecli")
TURNS = 6


@dataclass
class Machine:
    """One team member's computer: its own home, config and token file."""

    name: str
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("MOVIECLI_DATABASE_URL", "MOVIECLI_TOKEN", "MOVIECLI_HOME")
        }
        return {**env, "MOVIECLI_HOME": str(self.home), "NO_COLOR": "1", **extra}

    def run(self, *args: str, input: str | None = None, **extra: str) -> Any:
        proc = subprocess.run(
            [str(MOVIECLI), *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=300,
            env=self.env(**extra),
        )
        return proc

    def ok(self, *args: str, input: str | None = None) -> Any:
        proc = self.run(*args, input=input)
        assert proc.returncode == 0, (self.name, args, proc.stderr)
        return proc

    def json(self, *args: str) -> Any:
        import json

        return json.loads(self.ok(*args, "--json").stdout)

    def start(self, script: str, **extra: str) -> subprocess.Popen[str]:
        """A shell running several commands one after another (``$mc`` is moviecli)."""
        return subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(mc=str(MOVIECLI), **extra),
        )


def join(*procs: subprocess.Popen[str]) -> list[tuple[int, str, str]]:
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        results.append((proc.returncode, out, err))
    return results


def set_up(machine: Machine, url: str, store: Path, email: str) -> None:
    """What the README's team guide tells each member to do."""
    machine.home.mkdir(mode=0o700)
    machine.ok("config", "set", "database.url", url)
    machine.ok("config", "set", "media.store", str(store))
    assert machine.ok("config", "get", "database.url").stdout.strip() == url
    machine.ok("db", "upgrade")  # already current: says so and changes nothing
    machine.ok("login", email, "--password-stdin", input=PASSWORD + "\n")
    assert machine.json("whoami")["email"] == email


@pytest.fixture
def team(db_url: str, make_user: Any, tmp_path: Path) -> dict[str, Any]:
    if not MOVIECLI.exists():
        pytest.skip("no moviecli console script")
    store = tmp_path / "shared-media"
    people = {
        "paula": make_user("paula@example.com", role="producer", tier="pro"),
        "carol": make_user("carol@example.com", tier="free"),
    }
    a = Machine("paula's laptop", tmp_path / "laptop")
    b = Machine("carol's desktop", tmp_path / "desktop")
    set_up(a, db_url, store, "paula@example.com")
    set_up(b, db_url, store, "carol@example.com")
    files = tmp_path / "files"
    files.mkdir()
    mf.png(files / "look.png", seed=1)
    mf.wav(files / "theme.wav", seed=2)
    for n in range(3):
        mf.png(files / f"a{n}.png", seed=10 + n)
        mf.png(files / f"b{n}.png", seed=20 + n)
    mf.png(files / "same.png", seed=99)
    (files / "team.toml").write_text(
        '[[project]]\ntitle = "Heist"\ngenre = "sci-fi"\nepisodeCount = 3\n'
        'collaborators = ["carol@example.com"]\n'
        '[[project.media]]\nfile = "look.png"\nmediaType = "style_reference"\n'
        '[[project.media]]\nfile = "theme.wav"\nmediaType = "music_track"\n'
    )
    return {"a": a, "b": b, "store": store, "files": files, "people": people, "url": db_url}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_machines_share_one_database_and_one_store(team: dict[str, Any]) -> None:
    a: Machine = team["a"]
    b: Machine = team["b"]
    files: Path = team["files"]
    store: Path = team["store"]

    # The producer sets the project up from a file on the laptop.
    a.ok("apply", str(files / "team.toml"))

    # Both work at once: chat turns in their own sessions and media adds, including the
    # same bytes from both sides.
    def work(tag: str) -> str:
        adds = " ".join(str(files / f"{tag}{n}.png") for n in range(3))
        return f"""
        for i in $(seq 1 {TURNS}); do
          "$mc" chat Heist -m "{tag} message $i" --json >/dev/null
          if [ "$i" = 2 ]; then "$mc" -q media add Heist {adds} --type concept_art; fi
          if [ "$i" = 3 ]; then "$mc" -q media add Heist {files / "same.png"} --type storyboard; fi
        done
        """

    results = join(a.start(work("a")), b.start(work("b")))
    for code, _out, err in results:
        assert code == 0, err
        assert "Traceback" not in err and "locked" not in err

    # Media: everything from both machines, once each; the store holds every file.
    media = b.json("media", "list", "Heist", "--limit", "200")["items"]
    names = sorted(m["filename"] for m in media)
    assert names == sorted(
        ["look.png", "theme.wav", "same.png", *(f"{t}{n}.png" for t in "ab" for n in range(3))]
    )
    for item in media:
        assert (store / "objects" / item["sha256"][:2] / item["sha256"]).is_file()
    for machine in (a, b):  # nothing went to a machine's own default store
        assert not (machine.home / "media").exists()

    # Carol gets the producer's file out of the shared store on her machine.
    (from_paula,) = [m for m in media if m["filename"] == "a1.png"]
    out = team["files"].parent / "exported.png"
    b.ok("media", "export", from_paula["id"], str(out))
    assert sha256(out) == sha256(files / "a1.png")

    # Sessions: each member's history, complete and in order, readable by the other.
    sessions = a.json("session", "list", "--all", "--project", "Heist")["items"]
    assert len(sessions) == 2
    by_user = {s["user"]: s for s in sessions}
    assert set(by_user) == {team["people"]["paula"].id, team["people"]["carol"].id}
    for reader, owner, tag in ((a, "carol", "b"), (b, "paula", "a")):
        session_id = by_user[team["people"][owner].id]["id"]
        history = reader.json("session", "show", session_id, "--limit", "200")
        assert history["total"] == 2 * TURNS
        users = [m["content"] for m in history["items"] if m["role"] == "user"]
        assert users == [f"{tag} message {i}" for i in range(1, TURNS + 1)]
        assert [m["role"] for m in history["items"]] == ["user", "assistant"] * TURNS
    # Both sessions build on the one project: each message added its sentence to the
    # concept, none lost to the other machine.
    concept = a.json("project", "show", "Heist")["story"]["concept"]
    assert sorted(concept.split(". ")) == sorted(
        f"{t} message {i}" for t in "ab" for i in range(1, TURNS + 1)
    )

    # Full-text search over the team's history, from either machine.
    found = b.json("session", "search", "message", "--project", "Heist", "--limit", "200")
    assert len([m for m in found["items"] if m["role"] == "user"]) == 2 * TURNS
    assert {m["sessionId"] for m in found["items"]} == {s["id"] for s in sessions}


# The limit race: every process imports first, then waits for the same moment.
RUNNER = """
import sys, time
from pathlib import Path

go, ready = Path(sys.argv[1]), Path(sys.argv[2])
from moviecli.cli import main
import moviecli.services.projects, moviecli.storage.db

ready.touch()
deadline = time.monotonic() + 60
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("barrier timeout")
    time.sleep(0.001)
sys.argv = ["moviecli", *sys.argv[3:]]
main()
"""


def test_the_subscription_limit_holds_across_machines(
    team: dict[str, Any], tmp_path: Path
) -> None:
    """Carol (free: one project) creates from both machines at once, twice on each:
    exactly one project is made."""
    a: Machine = team["a"]
    b: Machine = team["b"]
    carol = team["people"]["carol"]
    go = tmp_path / "go"
    procs = []
    for n, machine in enumerate((a, b, a, b)):
        ready = tmp_path / f"ready-{n}"
        args = ["project", "create", f"Carol {n}", "--genre", "drama", "--episodes", "1"]
        # On the laptop Carol borrows Paula's machine with her own token.
        extra = {"MOVIECLI_TOKEN": carol.token} if machine is a else {}
        proc = subprocess.Popen(
            [sys.executable, "-c", RUNNER, str(go), str(ready), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=machine.env(**extra),
        )
        procs.append((ready, proc))
    deadline = time.monotonic() + 120
    while not all(ready.exists() for ready, _ in procs):
        assert time.monotonic() < deadline, "the processes did not get ready"
        assert all(p.poll() is None for _, p in procs), [p.communicate() for _, p in procs]
        time.sleep(0.01)
    go.touch()
    results = join(*(p for _, p in procs))
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 5, 5, 5], results
    for code, _, err in results:
        if code == 5:
            assert "maximum projects reached for your subscription tier (free: 1)" in err
    mine = b.json("project", "list", "--mine")["items"]
    assert len(mine) == 1
