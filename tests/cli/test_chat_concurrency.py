"""Concurrent chat: processes that chat at once lose no message, store each once and in
order, and never fail with "database is locked" (SPEC sections 1 and 7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

# Runs N one-turn `moviecli chat … --json` commands in this process, one after the other,
# and prints [{code, stdout, stderr}] as JSON. argv: PROJECT N TAG [SESSION]
WORKER = r"""
import contextlib, io, json, sys
from moviecli.cli import app

project, n, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
session = sys.argv[4] if len(sys.argv) > 4 else None
results = []
for i in range(n):
    args = ["chat", project, "-m", f"Character {tag}-{i}: line {tag}-{i}", "--json"]
    if session:
        args += ["--session", session]
    else:
        args += ["--new"]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            app(args=args, prog_name="moviecli")
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
    results.append({"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()})
    if code == 0 and session is None:
        session = json.loads(out.getvalue())["sessionId"]
json.dump(results, sys.stdout)
"""

TURNS = 50


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def _finish(procs: list[subprocess.Popen[str]]) -> list[list[dict[str, Any]]]:
    outputs = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr
        results: list[dict[str, Any]] = json.loads(stdout)
        for r in results:
            assert r["code"] == 0, r["stderr"]
            assert "locked" not in r["stderr"].lower()
        outputs.append(results)
    return outputs


def _messages(database: Any, session_id: str) -> list[Any]:
    from sqlmodel import col, select

    from moviecli.models import Message

    with database.session() as session:
        return list(
            session.exec(
                select(Message)
                .where(col(Message.session_id) == session_id)
                .order_by(col(Message.seq))
            ).all()
        )


def _check_in_order(messages: list[Any], turns: int) -> None:
    assert [m.seq for m in messages] == list(range(1, 2 * turns + 1))
    assert [m.id for m in messages] == sorted(m.id for m in messages)
    stamps = [m.timestamp for m in messages]
    assert stamps == sorted(stamps)
    users = [m.content for m in messages if m.role == "user"]
    assert len(users) == len(set(users)) == turns  # each stored once
    # every reply names the character it recorded: it comes after its own message
    position = {m.content: i for i, m in enumerate(messages) if m.role == "user"}
    for i, m in enumerate(messages):
        if m.role == "assistant" and "Recorded 1 character: " in m.content:
            name = m.content.split("Recorded 1 character: ", 1)[1].split(".", 1)[0]
            assert position[f"Character {name}: line {name}"] < i


def test_four_processes_each_with_its_own_session(cli, admin, database):
    assert cli("project", "create", "P", "--genre", "drama", "--episodes", "2").exit_code == 0
    procs = [_start("P", str(TURNS), f"w{k}") for k in range(4)]
    outputs = _finish(procs)
    for k, results in enumerate(outputs):
        sessions = {json.loads(r["stdout"])["sessionId"] for r in results}
        assert len(sessions) == 1
        messages = _messages(database, sessions.pop())
        _check_in_order(messages, TURNS)
        assert [m.content for m in messages if m.role == "user"] == [
            f"Character w{k}-{i}: line w{k}-{i}" for i in range(TURNS)
        ]
    listed = cli("session", "list", "--json").json()
    assert listed["total"] == 4
    assert {s["messageCount"] for s in listed["items"]} == {2 * TURNS}
    # the project took every recording: no character was lost to a concurrent turn
    characters = cli("project", "show", "P", "--json").json()["story"]["characters"]
    assert sorted(c["name"] for c in characters) == sorted(
        f"w{k}-{i}" for k in range(4) for i in range(TURNS)
    )


def test_two_processes_on_one_session(cli, admin, database):
    assert cli("project", "create", "P", "--genre", "drama", "--episodes", "2").exit_code == 0
    sid = cli("chat", "P", "-m", "opening", "--json").json()["sessionId"]
    procs = [_start("P", str(TURNS), tag, sid) for tag in ("a", "b")]
    outputs = _finish(procs)
    for results in outputs:
        assert {json.loads(r["stdout"])["sessionId"] for r in results} == {sid}
    messages = _messages(database, sid)
    _check_in_order(messages, 2 * TURNS + 1)
    for tag in ("a", "b"):
        mine = [
            m.content
            for m in messages
            if m.role == "user" and m.content.startswith(f"Character {tag}-")
        ]
        assert mine == [f"Character {tag}-{i}: line {tag}-{i}" for i in range(TURNS)]
    info = cli("session", "show", sid, "--json").json()["session"]
    assert info["messageCount"] == 2 * (2 * TURNS + 1)
    assert info["awaitingUserInput"] is True
