"""moviecli template …: the built-in templates seeded by init, and custom ones (admin)."""

from __future__ import annotations

import pytest

from tests.projecthelp import new_project

BUILTIN = ["anime-action", "docu-series", "horror-anthology", "kids-cartoon", "sitcom"]
KNOWN = "known: " + ", ".join(BUILTIN)

NOIR = """\
name = "noir-mini"
description = "Short noir."
genre = "thriller"
targetAudience = "adult"
episodeCount = 3

[projectSettings]
aspectRatio = "21:9"
episodeDuration = 15
qualityTier = "premium"
"""


@pytest.fixture
def noir_file(tmp_path):
    path = tmp_path / "noir.toml"
    path.write_text(NOIR)
    return path


def test_list_builtin_templates(cli, admin):
    result = cli("template", "list", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert (data["total"], data["page"], data["limit"]) == (5, 1, 20)
    assert [t["name"] for t in data["items"]] == BUILTIN
    for template in data["items"]:
        assert template["builtin"] is True
        assert template["description"]
        assert 1 <= template["episodeCount"] <= 50
        assert set(template["projectSettings"]) == {
            "aspectRatio",
            "episodeDuration",
            "qualityTier",
        }
        assert set(template) == {
            "name",
            "description",
            "genre",
            "targetAudience",
            "episodeCount",
            "projectSettings",
            "builtin",
        }


def test_builtin_templates_are_plausible(cli, admin):
    items = {t["name"]: t for t in cli("template", "list", "--json").json()["items"]}
    assert items["sitcom"]["genre"] == "comedy"
    assert items["anime-action"]["genre"] == "action"
    assert items["docu-series"]["genre"] == "documentary"
    assert items["horror-anthology"]["genre"] == "horror"
    assert items["horror-anthology"]["targetAudience"] == "adult"
    assert items["kids-cartoon"]["targetAudience"] == "children"


def test_list_plain(cli, admin):
    result = cli("template", "list")
    lines = result.stdout.splitlines()
    assert lines[0] == "name\tgenre\taudience\tepisodes\tsettings\tkind\tdescription"
    assert lines[-1].startswith("sitcom\tcomedy\tfamily\t8\t16:9, 22 min, standard\tbuilt-in\t")
    assert len(lines) == 6


def test_list_paging(cli, admin):
    data = cli("template", "list", "--limit", "2", "--page", "3", "--json").json()
    assert [t["name"] for t in data["items"]] == ["sitcom"]
    assert (data["total"], data["page"], data["limit"]) == (5, 3, 2)
    result = cli("template", "list", "--limit", "201")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: invalid input\n  limit: must be between 1 and 200\n",
    )


def test_any_user_lists_and_shows(cli, make_user, login_as):
    login_as(make_user("bob@example.com"))
    assert cli("template", "list", "--json").json()["total"] == 5
    assert cli("template", "show", "sitcom", "--json").json()["name"] == "sitcom"


def test_list_needs_login(cli, db_url):
    result = cli("template", "list")
    assert (result.exit_code, result.stderr) == (4, "Error: not logged in (run moviecli login)\n")


def test_show(cli, admin):
    result = cli("template", "show", "docu-series", "--json")
    assert result.json() == {
        "name": "docu-series",
        "description": result.json()["description"],
        "genre": "documentary",
        "targetAudience": "family",
        "episodeCount": 4,
        "projectSettings": {
            "aspectRatio": "16:9",
            "episodeDuration": 45,
            "qualityTier": "premium",
        },
        "builtin": True,
    }
    plain = cli("template", "show", "SITCOM").stdout.splitlines()
    assert plain[0] == "name\tsitcom"
    assert "genre\tcomedy" in plain
    assert "kind\tbuilt-in" in plain


def test_show_unknown(cli, admin):
    result = cli("template", "show", "opera")
    assert (result.exit_code, result.stderr) == (
        3,
        f"Error: template 'opera' not found ({KNOWN})\n",
    )


def test_add_show_use_delete(cli, admin, noir_file):
    result = cli("template", "add", str(noir_file))
    assert (result.exit_code, result.stdout) == (0, "Added template 'noir-mini'\n")
    data = cli("template", "show", "noir-mini", "--json").json()
    assert data == {
        "name": "noir-mini",
        "description": "Short noir.",
        "genre": "thriller",
        "targetAudience": "adult",
        "episodeCount": 3,
        "projectSettings": {
            "aspectRatio": "21:9",
            "episodeDuration": 15,
            "qualityTier": "premium",
        },
        "builtin": False,
    }
    # custom templates come after the built-in ones
    names = [t["name"] for t in cli("template", "list", "--json").json()["items"]]
    assert names == [*BUILTIN, "noir-mini"]
    project = new_project(cli, "Rain", "--template", "noir-mini")
    assert (project["genre"], project["episodeCount"]) == ("thriller", 3)
    assert project["projectSettings"]["aspectRatio"] == "21:9"
    result = cli("template", "delete", "noir-mini", "--yes")
    assert (result.exit_code, result.stdout) == (0, "Deleted template 'noir-mini'\n")
    assert cli("template", "show", "noir-mini").exit_code == 3
    # the project made from it stays
    assert cli("project", "show", "Rain").exit_code == 0


def test_add_json_and_defaults(cli, admin, tmp_path):
    path = tmp_path / "min.toml"
    path.write_text('name = "mini"\ngenre = "drama"\nepisodeCount = 2\n')
    data = cli("template", "add", str(path), "--json").json()
    assert data == {
        "name": "mini",
        "description": "",
        "genre": "drama",
        "targetAudience": "family",
        "episodeCount": 2,
        "projectSettings": {
            "aspectRatio": "16:9",
            "episodeDuration": 22,
            "qualityTier": "standard",
        },
        "builtin": False,
    }


def test_add_reports_every_problem(cli, admin, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        'name = "Bad Name"\ngenre = "opera"\nepisodeCount = "x"\ncolour = 1\n'
        "[projectSettings]\nfps = 3\nepisodeDuration = 500\n"
    )
    result = cli("template", "add", str(path))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "Error: invalid input"
    assert sorted(result.stderr.splitlines()[1:]) == sorted(
        [
            "  colour: unknown key",
            "  projectSettings.fps: unknown key",
            "  name: is required: lowercase letters, digits and dashes, up to 64",
            "  episodeCount: must be a number",
            "  genre: 'opera' is not one of: action, comedy, drama, horror, sci-fi, thriller, "
            "romance, documentary",
            "  projectSettings.episodeDuration: must be between 1 and 180 minutes",
        ]
    )
    assert cli("template", "list", "--json").json()["total"] == 5


def test_add_missing_required_keys(cli, admin, tmp_path):
    path = tmp_path / "empty.toml"
    path.write_text('name = "empty"\n')
    result = cli("template", "add", str(path))
    assert result.stderr == (
        "Error: invalid input\n  genre: is required\n  episodeCount: is required\n"
    )


def test_add_duplicate(cli, admin, noir_file, tmp_path):
    assert cli("template", "add", str(noir_file)).exit_code == 0
    result = cli("template", "add", str(noir_file))
    assert (result.exit_code, result.stderr) == (
        5,
        "Error: template 'noir-mini' already exists\n",
    )
    path = tmp_path / "sitcom.toml"
    path.write_text('name = "sitcom"\ngenre = "drama"\nepisodeCount = 2\n')
    assert cli("template", "add", str(path)).exit_code == 5


def test_add_file_problems(cli, admin, tmp_path):
    missing = tmp_path / "missing.toml"
    result = cli("template", "add", str(missing))
    assert (result.exit_code, result.stderr) == (2, f"Error: no such file: {missing}\n")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = [\n")
    result = cli("template", "add", str(broken))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {broken} is not valid TOML: ")
    assert len(result.stderr.splitlines()) == 1


def test_add_and_delete_are_for_admins(cli, admin, make_user, login_as, noir_file):
    assert cli("template", "add", str(noir_file)).exit_code == 0
    login_as(make_user("producer@example.com", role="producer"))
    result = cli("template", "add", str(noir_file))
    assert (result.exit_code, result.stderr) == (4, "Error: only an admin can add templates\n")
    result = cli("template", "delete", "noir-mini", "--yes")
    assert (result.exit_code, result.stderr) == (4, "Error: only an admin can delete templates\n")
    # told before being asked to confirm
    result = cli("template", "delete", "noir-mini")
    assert result.exit_code == 4
    login_as(admin)
    assert cli("template", "show", "noir-mini").exit_code == 0


def test_delete_builtin_refused(cli, admin):
    result = cli("template", "delete", "sitcom", "--yes")
    assert (result.exit_code, result.stderr) == (
        5,
        "Error: 'sitcom' is a built-in template and cannot be deleted\n",
    )
    assert cli("template", "show", "sitcom").exit_code == 0


def test_delete_unknown(cli, admin):
    result = cli("template", "delete", "opera", "--yes")
    assert (result.exit_code, result.stderr) == (
        3,
        f"Error: template 'opera' not found ({KNOWN})\n",
    )


def test_delete_needs_yes_without_a_terminal(cli, admin, noir_file):
    cli("template", "add", str(noir_file))
    result = cli("template", "delete", "noir-mini")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: refusing to continue without confirmation (pass --yes)\n",
    )
    assert cli("template", "show", "noir-mini").exit_code == 0
