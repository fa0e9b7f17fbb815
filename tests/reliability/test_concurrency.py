"""Eight processes writing at once through the service layer lose nothing, never fail with
"database is locked", and leave exact counts (SPEC sections 1 and 7).

Each worker imports everything, says it is ready and waits at a file barrier, so that all
of them start together; then it loops 100 writes, four kinds in turn: a chat turn on the
shared project (workers 0 and 1 share one session, the others have their own), a media
add to the shared project (now and then bytes that every worker adds: one record each),
a project update (its own project renamed, the shared project's description), and a new
collaborator on the shared project. Every failure is collected, none expected.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.reliability.storecheck import integrity_ok, store_agrees

WORKERS = 8
LOOPS = 100
COMMON = 5  # contents every worker adds

# argv: K ADMIN_ID SHARED OWN FILES GO READY SHARED_SESSION COLLABORATOR_IDS(comma-separated)
WORKER = r"""
import json, sys, time
from pathlib import Path

k, admin_id, shared, own = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
files, go, ready = Path(sys.argv[5]), Path(sys.argv[6]), Path(sys.argv[7])
shared_session, collaborators = sys.argv[8], sys.argv[9].split(",")

from moviecli import config
from moviecli.models import User
from moviecli.services import chat, media_add, media_fields, projects
from moviecli.services.assistant.builtin import BuiltinAssistant
from moviecli.storage.db import database

db = database(config.database_url(None))
with db.session() as session:
    actor = session.get(User, admin_id)
backend = BuiltinAssistant()
fields = media_fields.AssetFields(media_type="storyboard", description=f"frames of worker {k}")
ready.touch()
deadline = time.monotonic() + 120
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("barrier timeout")
    time.sleep(0.001)

errors, outcomes, session_id = [], {}, shared_session if k < 2 else None
for i in range(100):
    try:
        if i % 4 == 0:
            result = chat.take_turn(
                db, actor, chat.TurnRequest(message=f"w{k} turn {i}"),
                project_ref=shared, session_ref=session_id, new=session_id is None,
                backend=backend,
            )
            session_id = result.session_id
        elif i % 4 == 1:
            name = f"common-{i % 5}.png" if i % 8 == 1 else f"w{k}-{i}.png"
            added = media_add.add_files(db, actor, shared, [files / name], fields, embed=False)
            outcomes[name] = [f.outcome for f in added.files] + [f.reason for f in added.files]
        elif i % 4 == 2:
            with db.write() as session:
                renamed = projects.Fields(title=f"Own {k} v{i}", description=f"w{k} {i}")
                projects.update(session, actor, own, renamed)
            with db.write() as session:
                projects.update(session, actor, shared, projects.Fields(description=f"w{k} {i}"))
        else:
            with db.write() as session:
                projects.add_collaborator(session, actor, shared, collaborators[i // 4])
    except Exception as exc:
        errors.append(f"op {i}: {type(exc).__name__}: {exc}")
json.dump({"errors": errors, "session": session_id, "outcomes": outcomes}, sys.stdout)
"""


def make_png(path: Path, n: int) -> None:
    from PIL import Image

    Image.new("RGB", (8, 8), (n % 256, (n // 256) % 256, 40)).save(path, format="PNG")


def insert_users(database: Any, n: int) -> list[str]:
    """``n`` collaborators-to-be, inserted directly (one shared password hash: no KDF each)."""
    from moviecli.models import User, new_id, utcnow
    from moviecli.services import passwords

    hashed = passwords.hash_password("not-used-1")
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "email": f"crew{n}@example.com",
            "email_key": f"crew{n}@example.com",
            "name": f"Crew {n}",
            "role": "user",
            "preferences": {},
            "tier": "free",
            "max_projects": 1,
            "max_episodes_per_project": 3,
            "password_hash": hashed,
            "failed_logins": 0,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(n)
    ]
    with database.write() as session:
        session.execute(sa.insert(User), rows)
    return [r["id"] for r in rows]


def test_eight_processes_mixed_writes(cli, admin, database, tmp_path):
    from moviecli.models import ChatSession, Media, Message, Project, ProjectCollaborator

    shared = cli("project", "create", "Shared", "--genre", "drama", "--episodes", "9", "--json")
    shared_id = shared.json()["id"]
    own_ids = [
        cli(
            "project", "create", f"Own {k}", "--genre", "drama", "--episodes", "3", "--json"
        ).json()["id"]
        for k in range(WORKERS)
    ]
    opening = cli("chat", "Shared", "-m", "opening", "--json")
    assert opening.exit_code == 0, opening.stderr
    shared_session = opening.json()["sessionId"]
    users = insert_users(database, WORKERS * LOOPS // 4)
    files = tmp_path / "files"
    files.mkdir()
    for c in range(COMMON):
        make_png(files / f"common-{c}.png", 60_000 + c)
    for k in range(WORKERS):
        for i in range(1, LOOPS, 4):
            if i % 8 != 1:
                make_png(files / f"w{k}-{i}.png", k * 1000 + i)

    go = tmp_path / "go"
    procs = []
    for k in range(WORKERS):
        ready = tmp_path / f"ready-{k}"
        mine = ",".join(users[k * LOOPS // 4 : (k + 1) * LOOPS // 4])
        args = [str(k), admin.id, shared_id, own_ids[k], str(files), str(go), str(ready)]
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", WORKER, *args, shared_session, mine],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=dict(os.environ),
            )
        )
    deadline = time.monotonic() + 180
    while not all((tmp_path / f"ready-{k}").exists() for k in range(WORKERS)):
        assert time.monotonic() < deadline, "the workers did not get ready"
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.01)
    go.touch()
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err
        assert "locked" not in err.lower(), err
        reports.append(json.loads(out))

    # nothing failed, nothing was "database is locked"
    assert [r["errors"] for r in reports] == [[]] * WORKERS
    integrity_ok(database)
    turns = [i for i in range(LOOPS) if i % 4 == 0]
    with database.session() as session:
        # chat: every message once, in order, in its session
        def contents(session_id: str) -> list[tuple[int, str, str]]:
            rows = session.execute(
                sa.select(Message.seq, Message.role, Message.content)
                .where(Message.session_id == session_id)  # type: ignore[arg-type]
                .order_by(Message.seq)  # type: ignore[arg-type]
            ).all()
            return [tuple(r) for r in rows]

        both = contents(shared_session)
        assert [seq for seq, _, _ in both] == list(range(1, 2 * (1 + 2 * len(turns)) + 1))
        for k in (0, 1):
            said = [c for _, role, c in both if role == "user" and c.startswith(f"w{k} ")]
            assert said == [f"w{k} turn {i}" for i in turns]
        for k in range(2, WORKERS):
            own = contents(reports[k]["session"])
            assert [seq for seq, _, _ in own] == list(range(1, 2 * len(turns) + 1))
            assert [c for _, role, c in own if role == "user"] == [f"w{k} turn {i}" for i in turns]
            assert [role for _, role, _ in own] == ["user", "assistant"] * len(turns)
        total = session.execute(sa.select(sa.func.count()).select_from(Message)).scalar_one()
        assert total == 2 + 2 * WORKERS * len(turns)
        counted = session.execute(sa.select(sa.func.sum(ChatSession.message_count))).scalar_one()
        assert counted == total

        # media: one record per content, the common ones too
        media = session.execute(
            sa.select(Media.filename).where(Media.project_id == shared_id)  # type: ignore[arg-type]
        ).scalars()
        names = sorted(media)
        expected = sorted(p.name for p in files.iterdir())
        assert names == expected
        for k, report in enumerate(reports):
            for name, outcome in report["outcomes"].items():
                assert outcome[0] in ("added", "present"), (k, name, outcome)
                if name.startswith(f"w{k}-"):
                    assert outcome[0] == "added"

        # projects: the last update of each worker holds; every collaborator is there once
        project = session.get(Project, shared_id)
        assert project is not None
        assert project.description in {f"w{k} 98" for k in range(WORKERS)}
        # every turn added its sentence to the concept: none lost to a concurrent turn
        sentences = project.story["concept"].split(". ")
        assert sorted(sentences) == sorted(
            ["opening", *(f"w{k} turn {i}" for k in range(WORKERS) for i in turns)]
        )
        for k, own_id in enumerate(own_ids):
            mine = session.get(Project, own_id)
            assert mine is not None
            assert (mine.title, mine.description) == (f"Own {k} v98", f"w{k} 98")
        collaborators = session.execute(
            sa.select(ProjectCollaborator.user_id).where(
                ProjectCollaborator.project_id == shared_id  # type: ignore[arg-type]
            )
        ).scalars()
        assert sorted(collaborators) == sorted(users)
    store_agrees(database)
