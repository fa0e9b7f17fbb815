"""moviecli workflow list and moviecli project progress (the phase checklist)."""

from __future__ import annotations

import pytest

from tests.chathelp import chatter


def test_workflow_list(cli, admin):
    data = cli("workflow", "list", "--json").json()
    assert (data["total"], data["page"]) == (8, 1)
    assert [s["id"] for s in data["items"]][:3] == [
        "initial_concept",
        "story_development",
        "character_creation",
    ]
    scene = data["items"][5]
    assert scene == {
        "position": 6,
        "id": "scene_production",
        "title": "Scene production",
        "description": "Break episodes into scenes and storyboard them.",
        "prerequisites": ["character_creation", "visual_design"],
        "requirement": "at least 1 scene",
        "estimatedTime": "2 h",
        "icon": "🎬",
    }
    plain = cli("workflow", "list")
    assert plain.stdout.splitlines()[0] == (
        "#\tid\tstep\tneeds completed\tto complete it, the project needs\ttime"
    )
    assert plain.stdout.splitlines()[8] == (
        "8\tfinal_assembly\tFinal assembly\tpost_production\t"
        "overall progress of at least 80% and a final video\t1 h"
    )


def test_project_progress(cli, admin):
    cli("project", "create", "P", "--genre", "drama", "--episodes", "2")
    turn = chatter(cli, "P")
    turn("-m", "A quiet film", "--choice", "story_development")
    data = cli("project", "progress", "P", "--json").json()
    assert (data["currentPhase"], data["completedSteps"], data["overallProgress"]) == (
        "story_development",
        ["initial_concept"],
        13,
    )
    assert data["status"] == "pre-production"
    phases = {p["id"]: p for p in data["phases"]}
    assert phases["initial_concept"]["state"] == "done"
    assert phases["initial_concept"]["needs"] == []
    assert phases["story_development"]["state"] == "current"
    assert phases["story_development"]["needs"] == [
        "a story synopsis (send it as a message in Story development)"
    ]
    assert phases["scene_production"]["blockedBy"] == ["Character creation", "Visual design"]
    plain = cli("project", "progress", "P")
    assert plain.stdout.splitlines()[:4] == [
        "P: pre-production, 13% (1/8 steps), on story_development",
        "  ✓ Initial concept (done)",
        "  ▶ Story development (current)",
        "      needs a story synopsis (send it as a message in Story development)",
    ]


@pytest.mark.parametrize("command", [("project", "progress", "P"), ("workflow", "list")])
def test_on_a_terminal(cli, admin, monkeypatch, command):
    from moviecli import render

    cli("project", "create", "P", "--genre", "drama", "--episodes", "2")
    monkeypatch.setattr(render, "use_rich", lambda: True)
    monkeypatch.setenv("COLUMNS", "200")
    result = cli(*command)
    assert result.exit_code == 0, result.stderr
    assert "Story development" in result.stdout


def test_progress_of_an_invisible_project_is_not_found(cli, admin, make_user, login_as):
    cli("project", "create", "P", "--genre", "drama", "--episodes", "2")
    login_as(make_user("eve@example.com"))
    assert cli("project", "progress", "P").exit_code == 3
