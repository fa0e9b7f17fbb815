"""moviecli session …: list, show (paged history), export, pause/resume/close, search,
and who may read or write which session."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chathelp import chatter


@pytest.fixture
def team(cli, make_user, login_as, admin):
    """alice's project with bob collaborating; pat a producer, sam a stranger."""
    people = {
        name: make_user(f"{name}@example.com", role=role)
        for name, role in (
            ("alice", "user"),
            ("bob", "user"),
            ("pat", "producer"),
            ("sam", "user"),
        )
    }
    login_as(people["alice"])
    assert cli("project", "create", "Moon", "--genre", "sci-fi", "--episodes", "2").exit_code == 0
    assert cli("project", "collab", "add", "Moon", "bob@example.com").exit_code == 0
    people["admin"] = admin
    return people


def _turn(cli: Any, *args: str) -> dict[str, Any]:
    result = cli("chat", *args, "--json")
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = result.json()
    return data


def test_show_pages_newest_by_default_oldest_first_within(cli, admin):
    cli("project", "create", "P", "--genre", "drama", "--episodes", "2")
    turn = chatter(cli, "P")
    sid = turn("-m", "message one")["sessionId"]
    for n in range(2, 6):
        turn("-m", f"message {n}")
    # 5 turns = 10 messages; pages of 4: 1-4, 5-8, 9-10
    newest = cli("session", "show", sid[:6], "--limit", "4", "--json").json()
    assert (newest["total"], newest["page"], newest["limit"]) == (10, 3, 4)
    assert [m["role"] for m in newest["items"]] == ["user", "assistant"]
    assert newest["items"][0]["content"] == "message 5"
    assert newest["session"]["id"] == sid
    assert newest["session"]["messageCount"] == 10
    assert newest["session"]["awaitingUserInput"] is True
    assert newest["session"]["sessionState"] == "active"
    first = cli("session", "show", sid, "--limit", "4", "--page", "1", "--json").json()
    assert [m["content"] for m in first["items"]][::2] == ["message one", "message 2"]
    ids = [m["id"] for m in first["items"]]
    assert ids == sorted(ids)
    assert set(first["items"][0]) == {
        "id",
        "role",
        "content",
        "timestamp",
        "attachments",
        "metadata",
    }
    assert cli("session", "show", sid, "--limit", "201").exit_code == 2
    plain = cli("session", "show", sid, "--limit", "2")
    assert plain.exit_code == 0
    assert "--- user #" in plain.stdout and "message 5" in plain.stdout


def test_export_has_the_conversation_history(cli, admin):
    cli("project", "create", "P", "--genre", "drama", "--episodes", "2")
    sid = _turn(cli, "P", "-m", "A quiet film")["sessionId"]
    data = cli("session", "export", sid).json()
    assert data["id"] == sid
    assert [m["role"] for m in data["conversationHistory"]] == ["user", "assistant"]
    assert data["conversationHistory"][0]["content"] == "A quiet film"
    assert data["conversationHistory"][0]["metadata"] == {
        "step": "initial_concept",
        "intent": "story",
    }
    assert data["currentStep"] == "initial_concept"
    assert data["lastChoices"][-1]["id"] == "manual_override"
    assert data["contextData"]["backend"] == "builtin"


def test_pause_resume_close(cli, admin):
    cli("project", "create", "P", "--genre", "drama", "--episodes", "2")
    sid = _turn(cli, "P", "-m", "hello")["sessionId"]
    assert cli("session", "pause", sid, "--json").json()["sessionState"] == "paused"
    assert cli("session", "list", "--state", "paused", "--json").json()["total"] == 1
    # sending to a paused session makes it active again (it is the latest open one)
    data = _turn(cli, "P", "-m", "again")
    assert (data["sessionId"], data["sessionState"]) == (sid, "active")
    assert cli("session", "pause", sid).exit_code == 0
    result = cli("session", "resume", sid)
    assert (result.exit_code, result.stdout) == (
        0,
        f"Session {sid[:8]}: paused → active\n"
        f"Continue it with: moviecli chat P --session {sid[:8]}\n",
    )
    assert cli("session", "close", sid, "--json").json()["sessionState"] == "completed"
    result = cli("session", "resume", sid)
    assert result.exit_code == 5
    assert result.stderr.startswith(f"Error: cannot resume session {sid[:8]}: it is completed")
    # a closed session is read-only: chat starts a new one
    data = _turn(cli, "P", "-m", "more")
    assert data["sessionId"] != sid
    assert data["notice"] == "Your last session on 'P' is completed; started a new one."
    assert cli("session", "list", "--state", "bogus").exit_code == 2


def test_session_choice_new_and_explicit(cli, admin):
    cli("project", "create", "P", "--genre", "drama", "--episodes", "2")
    first = _turn(cli, "P", "-m", "one")["sessionId"]
    second = _turn(cli, "P", "--new", "-m", "two")["sessionId"]
    assert second != first
    assert _turn(cli, "P", "-m", "three")["sessionId"] == second  # the latest open one
    assert _turn(cli, "--session", first, "-m", "four")["sessionId"] == first
    result = cli("chat", "P", "--session", first, "--new", "-m", "x")
    assert result.exit_code == 2
    listed = cli("session", "list", "--project", "P", "--json").json()
    assert [s["id"] for s in listed["items"]] == [first, second]
    assert listed["items"][0]["messageCount"] == 4


def test_access_to_sessions(cli, login_as, team):
    login_as(team["alice"])
    alice_sid = _turn(cli, "Moon", "-m", "The moon heist")["sessionId"]
    login_as(team["bob"])
    bob_sid = _turn(cli, "Moon", "-m", "Bob's idea")["sessionId"]
    assert bob_sid != alice_sid  # each user has their own sessions

    # collaborators read each other's history but write only their own sessions
    assert cli("session", "show", alice_sid, "--json").exit_code == 0
    result = cli("chat", "--session", alice_sid, "-m", "hijack")
    assert result.exit_code == 4
    assert result.stderr == ("Error: only the session's owner (or an admin) can write to it\n")
    assert cli("session", "pause", alice_sid).exit_code == 4
    assert cli("session", "list", "--json").json()["total"] == 1
    assert cli("session", "list", "--all", "--json").json()["total"] == 2

    # a producer reads every history but cannot chat on a project that is not theirs
    login_as(team["pat"])
    assert cli("session", "export", alice_sid).exit_code == 0
    assert cli("session", "list", "--all", "--json").json()["total"] == 2
    result = cli("chat", "Moon", "-m", "notes")
    assert result.exit_code == 4
    found = cli("session", "search", "moon", "--json").json()["items"]
    assert [(h["sessionId"], h["role"]) for h in found] == [
        (bob_sid, "assistant"),  # Bob's message extended the concept, his reply quotes it
        (alice_sid, "assistant"),  # the reply quotes the concept
        (alice_sid, "user"),
    ]

    # a stranger sees nothing: not found, not forbidden
    login_as(team["sam"])
    for args in (
        ("session", "show", alice_sid),
        ("session", "export", alice_sid),
        ("session", "pause", alice_sid),
        ("chat", "--session", alice_sid, "-m", "x"),
    ):
        result = cli(*args)
        assert result.exit_code == 3, args
        assert result.stderr == f"Error: session {alice_sid!r} not found\n"
    assert cli("session", "search", "moon", "--json").json()["total"] == 0
    assert cli("session", "list", "--all", "--json").json()["total"] == 0

    # admins do everything
    login_as(team["admin"])
    assert cli("session", "pause", alice_sid).exit_code == 0
    assert _turn(cli, "--session", alice_sid, "-m", "admin note")["sessionId"] == alice_sid


def test_search_newest_first_with_snippets(cli, admin):
    cli("project", "create", "P", "--genre", "drama", "--episodes", "2")
    cli("project", "create", "Q", "--genre", "drama", "--episodes", "2")
    _turn(cli, "P", "-m", "The lighthouse keeper climbs the stairs")
    _turn(cli, "P", "--choice", "story_development")
    p_sid = _turn(cli, "P", "-m", "A storm hits the LIGHTHOUSE at night")["sessionId"]
    q_sid = _turn(cli, "Q", "-m", "A lighthouse in the desert")["sessionId"]
    found = cli("session", "search", "lighthouse", "--json").json()
    items = found["items"]
    # replies in initial_concept quote the concept; the synopsis reply does not
    assert [(h["sessionId"], h["role"]) for h in items] == [
        (q_sid, "assistant"),
        (q_sid, "user"),
        (p_sid, "user"),
        (p_sid, "assistant"),
        (p_sid, "user"),
    ]
    assert found["total"] == 5
    assert [h["messageId"] for h in items] == sorted((h["messageId"] for h in items), reverse=True)
    assert set(items[0]) == {"sessionId", "projectId", "messageId", "role", "timestamp", "snippet"}
    assert items[1]["snippet"] == "A lighthouse in the desert"
    # every word must match; no stemming; case-insensitive
    assert cli("session", "search", "storm LIGHTHOUSE", "--json").json()["total"] == 1
    assert cli("session", "search", "lighthouses", "--json").json()["total"] == 0
    assert cli("session", "search", "lighthouse", "--project", "Q", "--json").json()["total"] == 2
    assert cli("session", "search", "--", "-- !!").exit_code == 2
    plain = cli("session", "search", "desert")
    assert plain.exit_code == 0 and "A lighthouse in the desert" in plain.stdout


def test_search_same_hits_on_both_backends(cli, admin):
    """Tokenisation both engines share: words of letters and digits, accents kept."""
    cli("project", "create", "P", "--genre", "drama", "--episodes", "2")
    for text in (
        "café at dawn",
        "cafe at dusk",
        "The moon's shadow",
        "scene_2 and scene 3",
        "Ünïcödé test",
    ):
        _turn(cli, "P", "--new", "-m", text)

    def hits(query: str) -> list[str]:
        data = cli("session", "search", query, "--json").json()
        return [h["snippet"] for h in data["items"] if h["role"] == "user"]

    assert hits("café") == ["café at dawn"]
    assert hits("cafe") == ["cafe at dusk"]
    assert hits("moon") == ["The moon's shadow"]
    assert hits("scene 3") == ["scene_2 and scene 3"]
    assert hits("ünïcödé") == ["Ünïcödé test"]


def test_long_snippets_are_cut_around_the_match(cli, admin):
    cli("project", "create", "P", "--genre", "drama", "--episodes", "2")
    text = "lorem " * 40 + "needle " + "ipsum " * 40
    _turn(cli, "P", "-m", text)
    snippet = cli("session", "search", "needle", "--json").json()["items"][0]["snippet"]
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "needle" in snippet and len(snippet) <= 125


def test_search_counts_every_match(cli, admin):
    cli("project", "create", "P", "--genre", "drama", "--episodes", "2")
    for n in range(3):
        _turn(cli, "P", "--new", "-m", f"echo number {n}")
    found = cli("session", "search", "echo", "--json").json()
    assert (found["total"], len(found["items"])) == (6, 6)
    assert "totalCapped" not in found
    plain = cli("session", "search", "echo", "--limit", "2")
    assert plain.stderr == "page 1 of 3 (6 matches; --page N for more)\n"


def test_bad_arguments_are_usage_errors(cli, admin):
    cli("project", "create", "P", "--genre", "drama", "--episodes", "2")
    sid = _turn(cli, "P", "-m", "hi")["sessionId"]
    for args in (
        ("session", "show", sid, "--page", "0"),
        ("session", "show", sid, "--limit", "0"),
        ("session", "search", "hi", "--page", "0"),
        ("chat", "P", "--session", "", "-m", "x"),
        ("chat", "P", "--custom", "x", "--choice", "story_development"),
        ("chat", "P", "--json"),
    ):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.stderr)
        assert result.stderr.startswith("Error: "), args
    assert cli("session", "show", "zz").exit_code == 3
    assert cli("session", "show", sid, "--page", "99", "--json").json()["items"] == []
