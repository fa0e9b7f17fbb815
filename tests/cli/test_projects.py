"""moviecli project …: every command, its output and its error paths (SPEC section 3)."""

from __future__ import annotations

import itertools
import json

import pytest

from tests.projecthelp import add_media, add_session, new_project

NOT_LOGGED_IN = "Error: not logged in (run moviecli login)\n"
NO_PROJECT = "Error: no project given (pass one or run moviecli project use)\n"


def whoami(cli):
    result = cli("whoami", "--json")
    assert result.exit_code == 0, result.stderr
    return result.json()


# --- create --------------------------------------------------------------------------------


def test_create_with_every_flag(cli, admin):
    result = cli(
        "project",
        "create",
        "  Space Heist  ",
        "--genre",
        "sci-fi",
        "--episodes",
        "6",
        "--audience",
        "teen",
        "--description",
        " Cats steal the moon. ",
        "--aspect-ratio",
        "21:9",
        "--episode-duration",
        "45",
        "--quality",
        "premium",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    data = result.json()
    assert len(data["id"]) == 32
    assert data["title"] == "Space Heist"
    assert data["description"] == "Cats steal the moon."
    assert data["genre"] == "sci-fi"
    assert data["episodeCount"] == 6
    assert data["targetAudience"] == "teen"
    assert data["status"] == "concept"
    assert data["createdBy"] == admin.id
    assert data["collaborators"] == []
    assert data["styleReferences"] == []
    assert data["projectSettings"] == {
        "aspectRatio": "21:9",
        "episodeDuration": 45,
        "qualityTier": "premium",
    }
    assert data["progress"] == {
        "currentPhase": "initial_concept",
        "completedSteps": [],
        "overallProgress": 0,
    }
    assert data["story"] == {
        "concept": None,
        "logline": None,
        "synopsis": None,
        "characters": [],
        "scenes": [],
        "directions": [],
    }
    assert data["createdAt"].endswith("Z")
    assert data["createdAt"] == data["updatedAt"]


def test_create_defaults_and_plain_output(cli, admin):
    result = cli("project", "create", "Night Shift", "--genre", "horror", "--episodes", "4")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Created project 'Night Shift' (")
    assert result.stdout.rstrip().endswith("): horror, 4 episodes, family")
    assert result.stderr == "Next: moviecli chat 'Night Shift'\n"
    data = cli("project", "show", "Night Shift", "--json").json()
    assert data["targetAudience"] == "family"
    assert data["description"] == ""
    assert data["projectSettings"] == {
        "aspectRatio": "16:9",
        "episodeDuration": 22,
        "qualityTier": "standard",
    }


def test_create_quiet_prints_nothing(cli, admin):
    result = cli("-q", "project", "create", "Quiet", "--genre", "drama", "--episodes", "1")
    assert result.exit_code == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", "")


def test_first_project_becomes_current_and_active(cli, admin):
    first = new_project(cli, "First")
    new_project(cli, "Second")
    me = whoami(cli)
    assert me["preferences"]["currentProject"] == first["id"]
    assert len(me["activeProjects"]) == 2
    assert me["activeProjects"][0] == first["id"]


def test_create_reports_every_violation_at_once(cli, admin):
    result = cli(
        "project",
        "create",
        "   ",
        "--genre",
        "western",
        "--episodes",
        "51",
        "--audience",
        "seniors",
        "--aspect-ratio",
        "1:1",
        "--episode-duration",
        "181",
        "--quality",
        "ultra",
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "Error: invalid input"
    assert sorted(lines[1:]) == sorted(
        [
            "  title: is required",
            "  genre: 'western' is not one of: action, comedy, drama, horror, sci-fi, "
            "thriller, romance, documentary",
            "  episodeCount: must be between 1 and 50",
            "  targetAudience: 'seniors' is not one of: children, family, teen, adult",
            "  projectSettings.aspectRatio: '1:1' is not one of: 16:9, 4:3, 21:9",
            "  projectSettings.episodeDuration: must be between 1 and 180 minutes",
            "  projectSettings.qualityTier: 'ultra' is not one of: draft, standard, premium",
        ]
    )
    assert cli("project", "list", "--json").json()["total"] == 0


def test_create_range_lower_bounds(cli, admin):
    result = cli(
        "project", "create", "X", "--genre", "drama", "--episodes", "0", "--episode-duration", "0"
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines()[1:] == [
        "  episodeCount: must be between 1 and 50",
        "  projectSettings.episodeDuration: must be between 1 and 180 minutes",
    ]


def test_create_title_too_long(cli, admin):
    result = cli("project", "create", "x" * 201, "--genre", "drama", "--episodes", "1")
    assert result.exit_code == 2
    assert result.stderr == "Error: invalid input\n  title: must be at most 200 characters\n"
    assert new_project(cli, "y" * 200)["title"] == "y" * 200


def test_create_without_genre_and_episodes(cli, admin):
    result = cli("project", "create", "Bare")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: invalid input\n"
        "  genre: is required (pass --genre, --template or set defaultGenre)\n"
        "  episodeCount: is required (pass --episodes or --template)\n"
    )


def test_create_validation_error_as_json(cli, admin):
    result = cli("project", "create", "J", "--genre", "opera", "--episodes", "2", "--json")
    assert result.exit_code == 2
    assert result.json() == {
        "error": {
            "code": "validation",
            "message": "invalid input",
            "details": {
                "genre": "'opera' is not one of: action, comedy, drama, horror, sci-fi, "
                "thriller, romance, documentary"
            },
        }
    }


def test_create_non_number_episodes_is_a_usage_error(cli, admin):
    result = cli("project", "create", "N", "--genre", "drama", "--episodes", "many")
    assert result.exit_code == 2
    assert result.stderr == "Error: invalid input\n  episodeCount: must be a whole number\n"


def test_duplicate_title_is_case_insensitive(cli, admin):
    new_project(cli, "Space Heist")
    result = cli("project", "create", "SPACE heist", "--genre", "drama", "--episodes", "2")
    assert result.exit_code == 5
    assert result.stderr == "Error: you already have a project titled 'SPACE heist'\n"
    result = cli(
        "project", "create", "Space Heist", "--genre", "drama", "--episodes", "2", "--json"
    )
    assert result.exit_code == 5
    assert result.json()["error"]["code"] == "conflict"


def test_same_title_for_another_creator_is_fine(cli, admin, make_user, login_as):
    new_project(cli, "Space Heist")
    login_as(make_user("bob@example.com"))
    assert new_project(cli, "space heist")["title"] == "space heist"


def test_episodes_above_the_tier(cli, make_user, login_as):
    login_as(make_user("free@example.com", tier="free"))
    result = cli("project", "create", "Long", "--genre", "drama", "--episodes", "4")
    assert result.exit_code == 5
    assert result.stderr == (
        "Error: episodeCount 4 is above the limit of your subscription tier "
        "(free: 3 episodes per project)\n"
    )
    assert new_project(cli, "Short", "--episodes", "3")["episodeCount"] == 3


def test_pro_tier_episode_limit(cli, make_user, login_as):
    login_as(make_user("pro@example.com", tier="pro"))
    result = cli("project", "create", "Long", "--genre", "drama", "--episodes", "21")
    assert result.exit_code == 5
    assert "(pro: 20 episodes per project)" in result.stderr
    assert new_project(cli, "Twenty", "--episodes", "20")["episodeCount"] == 20


def test_free_tier_second_project(cli, make_user, login_as):
    login_as(make_user("free@example.com", tier="free"))
    new_project(cli, "Only One")
    result = cli("project", "create", "Second", "--genre", "drama", "--episodes", "1")
    assert result.exit_code == 5
    assert result.stderr == (
        "Error: maximum projects reached for your subscription tier (free: 1)\n"
    )
    result = cli("project", "create", "Second", "--genre", "drama", "--episodes", "1", "--json")
    assert result.json()["error"]["code"] == "limit_reached"
    assert cli("project", "list", "--json").json()["total"] == 1


def test_deleting_frees_the_slot(cli, make_user, login_as):
    login_as(make_user("free@example.com", tier="free"))
    new_project(cli, "Only One")
    assert cli("project", "delete", "Only One", "--yes").exit_code == 0
    assert new_project(cli, "Another")["title"] == "Another"


def test_admin_override_of_max_projects(cli, admin, make_user, login_as, database):
    from moviecli.models import User

    user = make_user("free@example.com", tier="free")
    with database.write() as session:
        row = session.get(User, user.id)
        row.max_projects = 2
        session.add(row)
    login_as(user)
    new_project(cli, "One")
    new_project(cli, "Two")
    result = cli("project", "create", "Three", "--genre", "drama", "--episodes", "1")
    assert result.exit_code == 5
    assert "(free: 2)" in result.stderr


def test_template_alone(cli, admin):
    result = cli("project", "create", "Office Hours", "--template", "sitcom", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    template = cli("template", "show", "sitcom", "--json").json()
    assert data["genre"] == template["genre"] == "comedy"
    assert data["episodeCount"] == template["episodeCount"]
    assert data["targetAudience"] == template["targetAudience"]
    assert data["projectSettings"] == template["projectSettings"]
    assert data["description"] == template["description"]


def test_template_with_overrides(cli, admin):
    data = new_project(
        cli,
        "Dark Office",
        "--template",
        "sitcom",
        "--genre",
        "horror",
        "--episodes",
        "2",
        "--audience",
        "adult",
        "--description",
        "Mine.",
        "--aspect-ratio",
        "4:3",
        "--episode-duration",
        "30",
        "--quality",
        "draft",
    )
    assert (data["genre"], data["episodeCount"], data["targetAudience"]) == ("horror", 2, "adult")
    assert data["description"] == "Mine."
    assert data["projectSettings"] == {
        "aspectRatio": "4:3",
        "episodeDuration": 30,
        "qualityTier": "draft",
    }


def test_template_name_is_case_insensitive(cli, admin):
    assert new_project(cli, "Toons", "--template", "Kids-Cartoon")["targetAudience"] == "children"


def test_unknown_template(cli, admin):
    result = cli("project", "create", "X", "--template", "telenovela")
    assert result.exit_code == 3
    assert result.stderr == (
        "Error: template 'telenovela' not found (known: anime-action, docu-series, "
        "horror-anthology, kids-cartoon, sitcom)\n"
    )


def test_template_above_the_tier(cli, make_user, login_as):
    # sitcom plans more episodes than the free tier allows: the tier is the limit.
    login_as(make_user("free@example.com", tier="free"))
    result = cli("project", "create", "Sit", "--template", "sitcom")
    assert result.exit_code == 5
    assert "(free: 3 episodes per project)" in result.stderr
    assert new_project(cli, "Sit", "--template", "sitcom", "--episodes", "3")["genre"] == "comedy"


def test_user_defaults_are_used(cli, admin):
    for key, value in (
        ("defaultGenre", "drama"),
        ("defaultAudience", "teen"),
        ("defaultEpisodes", "5"),
    ):
        assert cli("user", "prefs", "set", key, value).exit_code == 0
    result = cli("project", "create", "Defaults", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert (data["genre"], data["targetAudience"], data["episodeCount"]) == ("drama", "teen", 5)
    # explicit flags win over defaults, and the template wins over them too
    data = new_project(cli, "Flags", "--genre", "comedy", "--episodes", "2")
    assert (data["genre"], data["targetAudience"], data["episodeCount"]) == ("comedy", "teen", 2)
    data = new_project(cli, "Tpl", "--template", "docu-series")
    assert (data["genre"], data["targetAudience"]) == ("documentary", "family")


def test_only_default_genre_still_needs_episodes(cli, admin):
    assert cli("user", "prefs", "set", "defaultGenre", "drama").exit_code == 0
    result = cli("project", "create", "Half")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: invalid input\n  episodeCount: is required (pass --episodes or --template)\n"
    )
    assert new_project(cli, "Half", "--episodes", "2")["genre"] == "drama"


def test_create_needs_login(cli, db_url):
    result = cli("project", "create", "X", "--genre", "drama", "--episodes", "1")
    assert result.exit_code == 4
    assert result.stderr == NOT_LOGGED_IN


# --- list ------------------------------------------------------------------------------------


@pytest.fixture
def three(cli, admin):
    """Three projects: Alpha (comedy, production), Bravo (drama), charlie (horror)."""
    alpha = new_project(cli, "Alpha", "--genre", "comedy")
    bravo = new_project(cli, "Bravo", "--genre", "drama")
    charlie = new_project(cli, "charlie", "--genre", "horror")
    for status in ("pre-production", "production"):
        assert cli("project", "status", "Alpha", status).exit_code == 0
    return alpha, bravo, charlie


def titles(result):
    assert result.exit_code == 0, result.stderr
    return [item["title"] for item in result.json()["items"]]


def test_list_page_object(cli, three):
    result = cli("project", "list", "--json")
    data = result.json()
    assert set(data) == {"items", "total", "page", "limit"}
    assert (data["total"], data["page"], data["limit"]) == (3, 1, 20)
    item = data["items"][0]
    assert item["episodesFinal"] == 0
    assert item["ownerName"] == "Ada Admin"
    assert item["progress"]["overallProgress"] == 0
    assert item["projectSettings"]["aspectRatio"] == "16:9"


def test_list_sorts(cli, three):
    # Alpha was updated last (its status moved)
    assert titles(cli("project", "list", "--json")) == ["Alpha", "charlie", "Bravo"]
    assert titles(cli("project", "list", "--sort", "updated", "--json"))[0] == "Alpha"
    assert titles(cli("project", "list", "--sort", "created", "--json")) == [
        "charlie",
        "Bravo",
        "Alpha",
    ]
    # case-insensitive title order
    assert titles(cli("project", "list", "--sort", "title", "--json")) == [
        "Alpha",
        "Bravo",
        "charlie",
    ]


def test_list_sort_by_progress(cli, three, database):
    from moviecli.models import Project

    _, bravo, _ = three
    with database.write() as session:
        row = session.get(Project, bravo["id"])
        row.completed_steps = ["initial_concept", "story_development"]
        row.overall_progress = 25
        session.add(row)
    assert titles(cli("project", "list", "--sort", "progress", "--json"))[0] == "Bravo"


def test_list_filters(cli, three, make_user, login_as):
    assert titles(cli("project", "list", "--status", "production", "--json")) == ["Alpha"]
    assert titles(cli("project", "list", "--status", "concept", "--sort", "title", "--json")) == [
        "Bravo",
        "charlie",
    ]
    assert titles(cli("project", "list", "--genre", "horror", "--json")) == ["charlie"]
    assert (
        titles(cli("project", "list", "--genre", "horror", "--status", "production", "--json"))
        == []
    )


def test_list_mine_and_active(cli, three, make_user, login_as, admin):
    bob = login_as(make_user("bob@example.com", tier="pro"))
    new_project(cli, "Bob's")
    login_as(admin)
    # the admin sees everything; --mine is what they created
    assert cli("project", "list", "--json").json()["total"] == 4
    assert sorted(titles(cli("project", "list", "--mine", "--json"))) == [
        "Alpha",
        "Bravo",
        "charlie",
    ]
    # --active: the admin's activeProjects (their own, plus what they used)
    assert cli("project", "use", "Bob's").exit_code == 0
    assert sorted(titles(cli("project", "list", "--active", "--json"))) == [
        "Alpha",
        "Bob's",
        "Bravo",
        "charlie",
    ]
    login_as(bob)
    assert titles(cli("project", "list", "--active", "--json")) == ["Bob's"]
    assert titles(cli("project", "list", "--mine", "--json")) == ["Bob's"]


def test_list_paging(cli, admin):
    for n in range(5):
        new_project(cli, f"P{n}")
    first = cli("project", "list", "--sort", "title", "--limit", "2", "--json").json()
    assert [i["title"] for i in first["items"]] == ["P0", "P1"]
    assert (first["total"], first["page"], first["limit"]) == (5, 1, 2)
    third = cli("project", "list", "--sort", "title", "--limit", "2", "--page", "3", "--json")
    assert [i["title"] for i in third.json()["items"]] == ["P4"]
    beyond = cli("project", "list", "--limit", "2", "--page", "9", "--json").json()
    assert (beyond["items"], beyond["total"], beyond["page"]) == ([], 5, 9)
    # a plain table says there is more on stderr
    plain = cli("project", "list", "--sort", "title", "--limit", "2")
    assert plain.stderr == "page 1 of 3 (5 projects; --page N for more)\n"
    assert cli("project", "list", "--limit", "200", "--json").json()["limit"] == 200


def test_list_limit_and_page_bounds(cli, admin):
    result = cli("project", "list", "--limit", "500")
    assert result.exit_code == 2
    assert result.stderr == "Error: invalid input\n  limit: must be between 1 and 200\n"
    result = cli("project", "list", "--limit", "0", "--page", "0")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: invalid input\n  page: must be 1 or more\n  limit: must be between 1 and 200\n"
    )


def test_list_bad_options_all_at_once(cli, admin):
    result = cli(
        "project",
        "list",
        "--status",
        "done",
        "--genre",
        "opera",
        "--sort",
        "size",
        "--limit",
        "999",
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: invalid input",
        "  status: 'done' is not one of: concept, pre-production, production, "
        "post-production, completed, on-hold",
        "  genre: 'opera' is not one of: action, comedy, drama, horror, sci-fi, thriller, "
        "romance, documentary",
        "  sort: 'size' is not one of: created, progress, title, updated",
        "  limit: must be between 1 and 200",
    ]


def test_list_plain_table(cli, three):
    result = cli("project", "list", "--sort", "title")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "id\ttitle\tgenre\tstatus\tprogress\tphase\tepisodes\tteam\tupdated"
    alpha = lines[1].split("\t")
    assert alpha[0] == three[0]["id"]
    assert alpha[1:8] == ["Alpha", "comedy", "production", "0%", "initial_concept", "0/3", "0"]
    assert alpha[8].endswith("Z")
    assert len(lines) == 4
    assert result.stderr == ""


def test_list_empty(cli, admin):
    result = cli("project", "list")
    assert result.exit_code == 0
    assert result.stdout == (
        'No projects yet. Create one: moviecli project create "My Series" --template sitcom\n'
    )
    data = cli("project", "list", "--json").json()
    assert data == {"items": [], "total": 0, "page": 1, "limit": 20}


def test_list_counts_final_cuts_and_collaborators(cli, admin, make_user, database):
    project = new_project(cli, "Final", "--episodes", "3")
    carol = make_user("carol@example.com")
    assert cli("project", "collab", "add", "Final", carol.email).exit_code == 0
    add_media(database, project["id"], admin.id, "final_video", episode=1)
    add_media(database, project["id"], admin.id, "final_video", episode=2, status="draft")
    item = cli("project", "list", "--json").json()["items"][0]
    assert item["episodesFinal"] == 1
    assert item["collaborators"] == [carol.id]
    row = cli("project", "list").stdout.splitlines()[1].split("\t")
    assert row[6:8] == ["1/3", "1"]


def test_list_needs_login(cli, db_url):
    result = cli("project", "list")
    assert (result.exit_code, result.stderr) == (4, NOT_LOGGED_IN)


# --- show ------------------------------------------------------------------------------------


def test_show_json(cli, admin, make_user, database):
    project = new_project(cli, "Shown", "--episodes", "2")
    carol = make_user("carol@example.com", name="Carol")
    cli("project", "collab", "add", "Shown", carol.email)
    add_media(database, project["id"], admin.id, "storyboard", episode=1)
    add_media(database, project["id"], admin.id, "music_track")
    chat = add_session(database, project["id"], admin.id, messages=3)
    result = cli("project", "show", "Shown", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["id"] == project["id"]
    assert data["owner"] == {"id": admin.id, "email": admin.email, "name": "Ada Admin"}
    assert data["collaborators"] == [carol.id]
    assert data["collaboratorUsers"] == [
        {"id": carol.id, "email": "carol@example.com", "name": "Carol"}
    ]
    assert [p["id"] for p in data["phases"]][:2] == ["initial_concept", "story_development"]
    assert data["phases"][0]["state"] == "current"
    story = data["phases"][1]
    assert (story["id"], story["title"]) == ("story_development", "Story development")
    assert (story["state"], story["blockedBy"]) == ("blocked", ["Initial concept"])
    assert data["mediaCounts"]["storyboard"] == 1
    assert data["mediaCounts"]["music_track"] == 1
    assert data["mediaCounts"]["final_video"] == 0
    assert len(data["mediaCounts"]) == 11
    assert len(data["sessions"]) == 1
    session = data["sessions"][0]
    assert (session["id"], session["user"], session["messages"]) == (chat, admin.id, 3)
    assert session["sessionState"] == "active"
    assert data["episodeBoard"]["total"] == 2
    assert data["episodeBoard"]["episodes"][0]["status"] == "in-production"


def test_show_plain(cli, admin):
    project = new_project(cli, "Plain", "--episodes", "2", "--description", "About it.")
    result = cli("project", "show", "Plain")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "title\tPlain"
    assert f"id\t{project['id']}" in lines
    assert "description\tAbout it." in lines
    assert "owner\tAda Admin" in lines
    assert "audience\tfamily (PG)" in lines
    assert "episodes\t0/2 final cut" in lines
    assert "settings\t16:9, 22 min, standard" in lines
    assert "phase\tinitial_concept\tcurrent\t" in lines
    assert "phase\tscene_production\tblocked\tCharacter creation,Visual design" in lines
    assert "media\tstoryboard\t0" in lines
    assert "episode\t2\tplanned\t0\t0\t0\t0" in lines


def test_show_story_record(cli, admin, database):
    from moviecli.models import Project

    project = new_project(cli, "Storied")
    with database.write() as session:
        row = session.get(Project, project["id"])
        row.story = {
            "concept": "A heist in space",
            "synopsis": "They steal the moon.",
            "characters": [{"name": "Mia", "description": "pilot"}, {"name": "Rex"}],
            "scenes": [{"title": "Opening", "description": "the dock"}],
            "directions": [],
        }
        session.add(row)
    data = cli("project", "show", "Storied", "--json").json()
    assert data["story"]["concept"] == "A heist in space"
    assert data["story"]["characters"] == [
        {"name": "Mia", "description": "pilot"},
        {"name": "Rex", "description": ""},
    ]
    lines = cli("project", "show", "Storied").stdout.splitlines()
    assert "story.concept\tA heist in space" in lines
    assert "story.characters\tMia,Rex" in lines
    assert "story.scenes\tOpening" in lines


def test_show_not_found(cli, admin):
    result = cli("project", "show", "Nope")
    assert (result.exit_code, result.stderr) == (3, "Error: project 'Nope' not found\n")
    result = cli("project", "show", "Nope", "--json")
    assert result.json()["error"] == {
        "code": "not_found",
        "message": "project 'Nope' not found",
        "details": {},
    }


def test_show_deleted_owner(cli, admin, make_user, login_as):
    bob = login_as(make_user("bob@example.com"))
    new_project(cli, "Orphan")
    login_as(admin)
    assert cli("user", "delete", bob.email, "--yes").exit_code == 0
    data = cli("project", "show", "Orphan", "--json").json()
    assert data["owner"]["name"] == "(deleted user)"
    item = cli("project", "list", "--json").json()["items"][0]
    assert item["ownerName"] == "(deleted user)"


# --- naming a project ------------------------------------------------------------------------


def test_name_by_id_prefix_and_title(cli, admin):
    project = new_project(cli, "Named")
    for ref in (project["id"], project["id"][:4], project["id"][:10].upper(), "named", " NAMED "):
        result = cli("project", "show", ref, "--json")
        assert result.exit_code == 0, (ref, result.stderr)
        assert result.json()["id"] == project["id"]
    # three characters are not a prefix
    result = cli("project", "show", project["id"][:3])
    assert result.exit_code == 3


def test_ambiguous_id_prefix(cli, admin, database):
    from moviecli.models import Project

    with database.write() as session:
        for n, title in ((1, "One"), (2, "Two")):
            session.add(
                Project(
                    id=f"abcd{n:028d}",
                    title=title,
                    genre="drama",
                    episode_count=1,
                    created_by=admin.id,
                )
            )
    result = cli("project", "show", "abcd")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: 'abcd' names several projects: abcd0000 'One' by Ada Admin, "
        "abcd0000 'Two' by Ada Admin (give more characters of the id)\n"
    )
    assert cli("project", "show", "abcd" + "0" * 27 + "2", "--json").json()["title"] == "Two"


def test_title_resolution_prefers_own_project(cli, admin, make_user, login_as):
    bob = make_user("bob@example.com", tier="pro")
    carol = make_user("carol@example.com", tier="pro")
    login_as(bob)
    bobs = new_project(cli, "Heist")
    login_as(carol)
    carols = new_project(cli, "Heist")
    assert cli("project", "collab", "add", "Heist", bob.email).exit_code == 0
    # Bob sees two projects titled Heist: his own wins
    login_as(bob)
    assert cli("project", "show", "heist", "--json").json()["id"] == bobs["id"]
    # the admin sees both and owns neither: ambiguous, both listed
    login_as(admin)
    result = cli("project", "show", "Heist")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: 'Heist' names several projects: ")
    assert f"{bobs['id'][:8]} 'Heist' by Bob" in result.stderr
    assert f"{carols['id'][:8]} 'Heist' by Carol" in result.stderr
    assert result.stderr.endswith(" (name it by id)\n")
    assert cli("project", "show", carols["id"], "--json").json()["createdBy"] == carol.id


def test_single_visible_title_of_another_owner(cli, admin, make_user, login_as):
    bob = make_user("bob@example.com")
    login_as(bob)
    project = new_project(cli, "Bob Only")
    login_as(admin)
    assert cli("project", "show", "bob only", "--json").json()["id"] == project["id"]


def test_title_before_id_prefix(cli, admin, database):
    """A title that is also a prefix of another project's id names the titled one."""
    first = new_project(cli, "First")
    prefix = first["id"][:6]
    titled = new_project(cli, prefix)
    assert cli("project", "show", prefix, "--json").json()["id"] == titled["id"]


# --- current project -------------------------------------------------------------------------


def test_use_and_clear(cli, admin):
    new_project(cli, "One")
    two = new_project(cli, "Two")
    result = cli("project", "use", "Two")
    assert result.exit_code == 0
    assert result.stdout == f"Current project: Two ({two['id'][:8]})\n"
    assert whoami(cli)["preferences"]["currentProject"] == two["id"]
    assert cli("project", "show", "--json").json()["id"] == two["id"]
    assert cli("project", "episodes", "--json").json()["projectId"] == two["id"]
    result = cli("project", "use", "--clear")
    assert (result.exit_code, result.stdout) == (0, "Cleared your current project.\n")
    assert "currentProject" not in whoami(cli)["preferences"]
    result = cli("project", "use", "--clear")
    assert result.stdout == "No current project was set.\n"
    assert cli("project", "use", "--clear", "--json").json() == {"currentProject": None}


def test_use_json_and_active_projects(cli, admin, make_user, login_as):
    bob = login_as(make_user("bob@example.com"))
    new_project(cli, "Bob's")
    login_as(admin)
    result = cli("project", "use", "Bob's", "--json")
    assert result.json()["title"] == "Bob's"
    me = whoami(cli)
    assert me["activeProjects"] == [result.json()["id"]]
    # using it again does not add it twice
    cli("project", "use", "Bob's")
    assert whoami(cli)["activeProjects"] == [result.json()["id"]]
    assert bob.id != admin.id


def test_use_needs_one_of_project_or_clear(cli, admin):
    new_project(cli, "One")
    for args in ((), ("One", "--clear")):
        result = cli("project", "use", *args)
        assert (result.exit_code, result.stderr) == (2, "Error: pass a PROJECT or --clear\n")


def test_use_not_found(cli, admin):
    result = cli("project", "use", "Ghost")
    assert (result.exit_code, result.stderr) == (3, "Error: project 'Ghost' not found\n")


@pytest.mark.parametrize(
    "args",
    [
        ("project", "show"),
        ("project", "episodes"),
        ("project", "update", "--title", "X"),
        ("project", "hold"),
        ("project", "resume"),
        ("project", "export"),
        ("project", "collab", "list"),
    ],
)
def test_no_current_project(cli, admin, args):
    new_project(cli, "One")
    cli("project", "use", "--clear")
    result = cli(*args)
    assert (result.exit_code, result.stderr) == (2, NO_PROJECT)


def test_commands_use_the_current_project(cli, admin):
    new_project(cli, "One")
    two = new_project(cli, "Two")
    cli("project", "use", "Two")
    result = cli("project", "update", "--description", "via current", "--json")
    assert result.json()["id"] == two["id"]
    assert cli("project", "hold", "--json").json()["status"] == "on-hold"
    assert cli("project", "resume", "--json").json()["status"] == "concept"
    assert json.loads(cli("project", "export", "--format", "json").stdout)["id"] == two["id"]
    assert cli("project", "collab", "list", "--json").json()["total"] == 0


# --- update ----------------------------------------------------------------------------------


def test_update_fields(cli, admin):
    new_project(cli, "Before", "--episodes", "3")
    result = cli(
        "project",
        "update",
        "Before",
        "--title",
        " After ",
        "--episodes",
        "7",
        "--genre",
        "comedy",
        "--aspect-ratio",
        "4:3",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "title: 'Before' → 'After'",
        "genre: 'drama' → 'comedy'",
        "episodeCount: 3 → 7",
        "projectSettings.aspectRatio: '16:9' → '4:3'",
    ]
    data = cli("project", "show", "After", "--json").json()
    assert (data["title"], data["episodeCount"], data["genre"]) == ("After", 7, "comedy")
    assert data["projectSettings"]["aspectRatio"] == "4:3"
    assert data["updatedAt"] > data["createdAt"]


def test_update_json_and_settings(cli, admin):
    new_project(cli, "S")
    result = cli(
        "project",
        "update",
        "S",
        "--audience",
        "adult",
        "--episode-duration",
        "90",
        "--quality",
        "premium",
        "--description",
        "new",
        "--json",
    )
    data = result.json()
    assert data["targetAudience"] == "adult"
    assert data["description"] == "new"
    assert data["projectSettings"] == {
        "aspectRatio": "16:9",
        "episodeDuration": 90,
        "qualityTier": "premium",
    }


def test_update_nothing_changed(cli, admin):
    new_project(cli, "Same")
    before = cli("project", "show", "Same", "--json").json()["updatedAt"]
    result = cli("project", "update", "Same", "--genre", "drama")
    assert (result.exit_code, result.stdout) == (0, "'Same': nothing changed\n")
    assert cli("project", "show", "Same", "--json").json()["updatedAt"] == before
    # changing only the case of the title is a change, not a conflict
    result = cli("project", "update", "Same", "--title", "SAME")
    assert result.stdout == "title: 'Same' → 'SAME'\n"


def test_update_needs_a_field(cli, admin):
    new_project(cli, "X")
    result = cli("project", "update", "X")
    assert result.exit_code == 2
    assert result.stderr == "Error: nothing to change (pass --title, --genre, --episodes, …)\n"


def test_update_validation_all_at_once(cli, admin):
    new_project(cli, "X")
    result = cli(
        "project", "update", "X", "--title", "", "--genre", "opera", "--episodes", "99",
        "--quality", "best",
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: invalid input",
        "  title: is required",
        "  genre: 'opera' is not one of: action, comedy, drama, horror, sci-fi, thriller, "
        "romance, documentary",
        "  projectSettings.qualityTier: 'best' is not one of: draft, standard, premium",
        "  episodeCount: must be between 1 and 50",
    ]
    assert cli("project", "show", "X", "--json").json()["genre"] == "drama"


def test_update_title_conflict(cli, admin):
    new_project(cli, "One")
    new_project(cli, "Two")
    result = cli("project", "update", "Two", "--title", "one")
    assert (result.exit_code, result.stderr) == (
        5,
        "Error: you already have a project titled 'one'\n",
    )


def test_update_episodes_above_the_creators_tier(cli, admin, make_user, login_as):
    bob = login_as(make_user("bob@example.com", tier="free"))
    new_project(cli, "Small", "--episodes", "2")
    result = cli("project", "update", "Small", "--episodes", "4")
    assert result.exit_code == 5
    assert result.stderr == (
        "Error: episodeCount 4 is above the limit of your subscription tier "
        "(free: 3 episodes per project)\n"
    )
    # the creator's tier applies, even when an enterprise admin edits
    login_as(admin)
    result = cli("project", "update", "Small", "--episodes", "4")
    assert result.exit_code == 5
    assert "the creator's subscription tier (free: 3" in result.stderr
    assert bob.role == "user"


def test_update_not_found(cli, admin):
    result = cli("project", "update", "Nope", "--title", "X")
    assert result.exit_code == 3


# --- status ----------------------------------------------------------------------------------


def test_status_forward_one_step_at_a_time(cli, admin):
    new_project(cli, "Film")
    path = ["concept", "pre-production", "production", "post-production", "completed"]
    for old, new in itertools.pairwise(path):
        result = cli("project", "status", "Film", new)
        assert (result.exit_code, result.stdout) == (0, f"Film: {old} → {new}\n")
    assert cli("project", "show", "Film", "--json").json()["status"] == "completed"


@pytest.mark.parametrize(
    ("moves", "target", "allowed"),
    [
        ((), "production", "pre-production, on-hold"),
        ((), "completed", "pre-production, on-hold"),
        ((), "concept", "pre-production, on-hold"),
        (("pre-production",), "concept", "production, on-hold"),
        (("pre-production", "production"), "pre-production", "post-production, on-hold"),
        (
            ("pre-production", "production", "post-production", "completed"),
            "post-production",
            "on-hold",
        ),
    ],
)
def test_status_invalid_moves(cli, admin, moves, target, allowed):
    new_project(cli, "Film")
    for status in moves:
        assert cli("project", "status", "Film", status).exit_code == 0
    current = moves[-1] if moves else "concept"
    result = cli("project", "status", "Film", target)
    assert result.exit_code == 5
    assert result.stderr == (
        f"Error: cannot move project 'Film' from {current} to {target} (allowed next: {allowed})\n"
    )
    result = cli("project", "status", "Film", target, "--json")
    assert result.json()["error"]["code"] == "invalid_transition"
    assert cli("project", "show", "Film", "--json").json()["status"] == current


@pytest.mark.parametrize(
    "moves",
    [(), ("pre-production",), ("pre-production", "production"),
     ("pre-production", "production", "post-production"),
     ("pre-production", "production", "post-production", "completed")],
)  # fmt: skip
def test_hold_from_any_state_and_resume_to_it(cli, admin, moves):
    new_project(cli, "Film")
    for status in moves:
        cli("project", "status", "Film", status)
    before = moves[-1] if moves else "concept"
    result = cli("project", "hold", "Film")
    assert (result.exit_code, result.stdout) == (0, f"Film: {before} → on-hold\n")
    result = cli("project", "resume", "Film", "--json")
    assert result.exit_code == 0
    assert result.json()["status"] == before


def test_on_hold_rules(cli, admin):
    new_project(cli, "Film")
    cli("project", "status", "Film", "pre-production")
    assert cli("project", "status", "Film", "on-hold").exit_code == 0
    result = cli("project", "hold", "Film")
    assert (result.exit_code, result.stderr) == (
        5,
        "Error: project 'Film' is already on hold (allowed next: pre-production)\n",
    )
    # from on-hold only back to where it was
    result = cli("project", "status", "Film", "production")
    assert result.stderr == (
        "Error: cannot move project 'Film' from on-hold to production "
        "(allowed next: pre-production)\n"
    )
    assert cli("project", "status", "Film", "pre-production").exit_code == 0
    result = cli("project", "resume", "Film")
    assert (result.exit_code, result.stderr) == (
        5,
        "Error: project 'Film' is not on hold (it is pre-production)\n",
    )


def test_status_unknown_value(cli, admin):
    new_project(cli, "Film")
    result = cli("project", "status", "Film", "wrapped")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: invalid input\n  status: 'wrapped' is not one of: concept, pre-production, "
        "production, post-production, completed, on-hold\n"
    )


def test_status_needs_a_value(cli, admin):
    result = cli("project", "status")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: Missing argument 'NEW'")


# --- delete ----------------------------------------------------------------------------------


def test_delete_cascades_in_one_go(cli, admin, make_user, login_as, database):
    import sqlalchemy as sa

    from moviecli.models import (
        ActiveProject,
        ChatSession,
        Media,
        Message,
        Project,
        ProjectCollaborator,
        StyleReference,
        User,
    )

    keep = new_project(cli, "Keep")
    doomed = new_project(cli, "Doomed")
    carol = make_user("carol@example.com")
    cli("project", "collab", "add", "Doomed", carol.email)
    sessions = [add_session(database, doomed["id"], admin.id, messages=3) for _ in range(2)]
    sessions.append(add_session(database, doomed["id"], carol.id, messages=1))
    kept_session = add_session(database, keep["id"], admin.id, messages=2)
    first = add_media(database, doomed["id"], admin.id, "style_reference", name="a.png")
    add_media(
        database, doomed["id"], admin.id, "style_reference", previous_version=first, version=2
    )
    add_media(database, doomed["id"], admin.id, "video_segment", episode=1)
    kept_media = add_media(database, keep["id"], admin.id, "storyboard")
    with database.write() as session:
        session.add(StyleReference(project_id=doomed["id"], media_id=first))
    # Carol works on it: it is her current and active project; the admin's too
    login_as(carol)
    cli("project", "use", "Doomed")
    login_as(admin)
    cli("project", "use", "Doomed")

    result = cli("project", "delete", "Doomed", "--yes")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ("Deleted project 'Doomed' (3 sessions, 7 messages, 3 media)\n")
    with database.session() as session:

        def count(model, *where):
            return session.execute(
                sa.select(sa.func.count()).select_from(model).where(*where)
            ).scalar_one()

        assert session.get(Project, doomed["id"]) is None
        assert count(ChatSession, ChatSession.project_id == doomed["id"]) == 0
        assert count(Message, Message.session_id.in_(sessions)) == 0
        assert count(Media, Media.project_id == doomed["id"]) == 0
        assert count(StyleReference, StyleReference.project_id == doomed["id"]) == 0
        assert count(ProjectCollaborator, ProjectCollaborator.project_id == doomed["id"]) == 0
        assert count(ActiveProject, ActiveProject.project_id == doomed["id"]) == 0
        # the other project is untouched
        assert count(Message, Message.session_id == kept_session) == 2
        assert session.get(Media, kept_media) is not None
        for user_id in (admin.id, carol.id):
            user = session.get(User, user_id)
            assert "currentProject" not in user.preferences
    assert whoami(cli)["activeProjects"] == [keep["id"]]
    result = cli("project", "show", "Doomed")
    assert result.exit_code == 3


def test_delete_json(cli, admin, database):
    project = new_project(cli, "Gone")
    add_session(database, project["id"], admin.id, messages=2)
    result = cli("project", "delete", "Gone", "--yes", "--json")
    data = result.json()
    assert data["deleted"]["id"] == project["id"]
    assert (data["sessions"], data["messages"], data["media"]) == (1, 2, 0)


def test_delete_needs_yes_without_a_terminal(cli, admin):
    new_project(cli, "Kept")
    result = cli("project", "delete", "Kept")
    assert result.exit_code == 2
    assert result.stderr == "Error: refusing to continue without confirmation (pass --yes)\n"
    assert cli("project", "show", "Kept").exit_code == 0
    # -y is the short form
    assert cli("project", "delete", "Kept", "-y").exit_code == 0


def test_delete_not_found_before_confirmation(cli, admin):
    result = cli("project", "delete", "Ghost")
    assert (result.exit_code, result.stderr) == (3, "Error: project 'Ghost' not found\n")


def test_delete_keeps_other_users_preferences(cli, admin, database):
    from moviecli.models import User

    new_project(cli, "Keep")
    doomed = new_project(cli, "Doomed")
    cli("user", "prefs", "set", "note", json.dumps(f"about {doomed['id']}"))
    cli("project", "use", "Keep")
    cli("project", "delete", "Doomed", "--yes")
    with database.session() as session:
        prefs = session.get(User, admin.id).preferences
    assert prefs["note"] == f"about {doomed['id']}"
    assert prefs["currentProject"] != doomed["id"]


# --- episodes --------------------------------------------------------------------------------


def test_episode_board(cli, admin, database):
    project = new_project(cli, "Board", "--episodes", "4")
    pid = project["id"]
    add_media(database, pid, admin.id, "storyboard", episode=1)
    add_media(database, pid, admin.id, "storyboard", episode=1, name="b.png")
    add_media(database, pid, admin.id, "voice_profile", episode=1)
    add_media(database, pid, admin.id, "music_track", episode=1)
    add_media(database, pid, admin.id, "video_segment", episode=2)
    add_media(database, pid, admin.id, "final_video", episode=2)
    # episode 3: an archived storyboard and a draft final video
    add_media(database, pid, admin.id, "storyboard", episode=3, status="archived")
    add_media(database, pid, admin.id, "final_video", episode=3, status="draft")
    # a replaced version counts once (the newest), and media without an episode not at all
    old = add_media(database, pid, admin.id, "video_segment", episode=4, name="v1.mp4")
    add_media(database, pid, admin.id, "video_segment", episode=4, previous_version=old, version=2)
    add_media(database, pid, admin.id, "concept_art")
    result = cli("project", "episodes", "Board", "--json")
    assert result.exit_code == 0, result.stderr

    def counts(storyboard=0, video_segment=0, audio=0, final_video=0):
        return {
            "storyboard": storyboard,
            "video_segment": video_segment,
            "audio": audio,
            "final_video": final_video,
        }

    assert result.json() == {
        "projectId": pid,
        "episodes": [
            {"episode": 1, "status": "in-production", "counts": counts(storyboard=2, audio=2)},
            {
                "episode": 2,
                "status": "final-cut",
                "counts": counts(video_segment=1, final_video=1),
            },
            {"episode": 3, "status": "in-production", "counts": counts(final_video=1)},
            {"episode": 4, "status": "in-production", "counts": counts(video_segment=1)},
        ],
        "finalCut": 1,
        "total": 4,
    }
    plain = cli("project", "episodes", "Board")
    assert plain.stdout.splitlines() == [
        "ep\tstatus\tstoryboards\tsegments\taudio\tfinal",
        "1\tin-production\t2\t0\t2\t0",
        "2\tfinal-cut\t0\t1\t0\t1",
        "3\tin-production\t0\t0\t0\t1",
        "4\tin-production\t0\t1\t0\t0",
    ]


def test_episode_board_empty(cli, admin):
    new_project(cli, "Empty", "--episodes", "2")
    data = cli("project", "episodes", "Empty", "--json").json()
    assert [e["status"] for e in data["episodes"]] == ["planned", "planned"]
    assert (data["finalCut"], data["total"]) == (0, 2)


def test_episode_board_ignores_episodes_beyond_the_count(cli, admin, database):
    project = new_project(cli, "Shrunk", "--episodes", "3")
    add_media(database, project["id"], admin.id, "final_video", episode=3)
    cli("project", "update", "Shrunk", "--episodes", "2")
    data = cli("project", "episodes", "Shrunk", "--json").json()
    assert len(data["episodes"]) == 2
    assert data["finalCut"] == 0


# --- export ----------------------------------------------------------------------------------


def test_export_json(cli, admin, tmp_path):
    new_project(cli, "Exported")
    result = cli("project", "export", "Exported", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    shown = cli("project", "show", "Exported", "--json").json()
    assert data == shown
    result = cli(
        "project", "export", "Exported", "--format", "json", "-o", str(tmp_path / "p.json")
    )
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == f"Wrote {tmp_path / 'p.json'}\n"
    assert json.loads((tmp_path / "p.json").read_text()) == shown


def test_export_unknown_format(cli, admin):
    new_project(cli, "E")
    result = cli("project", "export", "E", "--format", "yaml")
    assert result.exit_code == 2
    assert result.stderr == "Error: invalid input\n  format: 'yaml' is not one of: toml, json\n"


def test_export_not_found(cli, admin):
    assert cli("project", "export", "Nope").exit_code == 3


# --- the dashboard on a terminal -------------------------------------------------------------


@pytest.mark.parametrize("columns", [120, 80])
def test_list_table_on_a_terminal(cli, admin, monkeypatch, columns):
    """Rich table: the title and short id kept whole (a long title wraps), fits the width."""
    from moviecli import render

    monkeypatch.setattr(render, "use_rich", lambda: True)
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setenv("LINES", "50")
    new_project(cli, "Night Shift at the Haunted Lighthouse Museum of Forgotten Things")
    new_project(cli, "Space Heist")
    cli("project", "use", "Space Heist")
    result = cli("project", "list")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= columns for line in lines)
    assert "Title" in lines[1]
    assert "ID" in lines[1]
    body = [line for line in lines if line.startswith("│")]
    assert "Space Heist *" in body[0]
    assert "Night Shift" in body[1]
    assert "…" not in result.stdout
    assert "0/3" in body[0]
    assert lines[-1].rstrip() == "* your current project (moviecli project use)"
