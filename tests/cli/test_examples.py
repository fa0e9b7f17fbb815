"""examples/: the team file applies, and setup-team.sh sets a team up end to end (SPEC
section 6), on the backend under test."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPT = EXAMPLES / "setup-team.sh"
TEAM_FILE = EXAMPLES / "space-heist" / "moviecli.toml"
MOVIECLI = Path(sys.executable).with_name("moviecli")


def test_the_team_file_names_small_real_media() -> None:
    from moviecli.services import probe

    data = tomllib.loads(TEAM_FILE.read_text())
    assert [p["title"] for p in data["project"]] == ["Space Heist", "Moon Diaries"]
    families = set()
    for project in data["project"]:
        for entry in project.get("media", []):
            path = TEAM_FILE.parent / entry["file"]
            assert path.stat().st_size < 16_000, path
            families.add(probe.probe(path, entry["mediaType"]).family)
    assert families == {"image", "audio", "video"}


def test_the_team_file_applies_and_reapplies_unchanged(
    cli: Any, make_user: Any, login_as: Any
) -> None:
    make_user("carol@example.com")
    login_as(make_user("paula@example.com", role="producer", tier="pro"))
    dry = cli("apply", str(TEAM_FILE), "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stderr
    assert [p["action"] for p in dry.json()["projects"]] == ["create", "create"]
    assert cli("apply", str(TEAM_FILE)).exit_code == 0
    again = cli("apply", str(TEAM_FILE))
    assert again.exit_code == 0
    assert "Nothing to change" in again.stdout


@pytest.mark.skipif(not MOVIECLI.exists(), reason="no moviecli console script")
def test_setup_team_script(cli: Any, empty_db: str, home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MOVIECLI_TOKEN"}
    env["MOVIECLI"] = str(MOVIECLI)
    proc = subprocess.run(
        ["bash", str(SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    out = proc.stdout
    assert "Dry run: nothing was written." in out
    assert "  Recorded 2 characters: Mia, Rex." in out
    assert "== done: Space Heist at 25%" in out
    assert "Space Heist" in out and "Moon Diaries" in out  # project list
    assert "in-production" in out  # the episode board: episode 1 has a video segment

    # The script ran in our MOVIECLI_HOME (given, so kept) and left the producer logged in.
    me = cli("whoami", "--json").json()
    assert (me["email"], me["role"]) == ("paula@example.com", "producer")
    projects = {p["title"]: p for p in cli("project", "list", "--json").json()["items"]}
    assert set(projects) == {"Space Heist", "Moon Diaries"}
    heist = projects["Space Heist"]
    assert heist["status"] == "pre-production"
    assert heist["progress"]["currentPhase"] == "character_creation"
    assert heist["progress"]["completedSteps"] == ["initial_concept", "story_development"]
    assert len(heist["collaborators"]) == 1
    assert len(heist["styleReferences"]) == 2
    media = cli("media", "list", "Space Heist", "--json").json()
    assert media["total"] == 4
    assert cli("media", "list", "Moon Diaries", "--json").json()["total"] == 2
    sessions = cli("session", "list", "--all", "--json").json()["items"]
    assert len(sessions) == 1
    history = cli("session", "show", sessions[0]["id"], "--json", "--limit", "200").json()
    assert history["total"] == 10
    assert [m["role"] for m in history["items"]] == ["user", "assistant"] * 5
    objects = [p for p in (home / "media" / "objects").rglob("*") if p.is_file()]
    assert len(objects) == 5  # neon-rain.png is stored once for its two records
