from __future__ import annotations


def test_whoami_as_admin(cli, admin):
    result = cli("whoami", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["email"] == "admin@example.com"
    assert data["subscription"] == {
        "tier": "enterprise",
        "maxProjects": 100,
        "maxEpisodesPerProject": 50,
    }


def test_not_logged_in(cli, db_url):
    result = cli("whoami")
    assert result.exit_code == 4
    assert result.stderr == "Error: not logged in (run moviecli login)\n"
