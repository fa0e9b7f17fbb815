"""moviecli db upgrade | current | history | check | backup, and databases moviecli must
refuse: outdated or newer schema, garbage files, foreign databases (exit 6, no traceback).
"""

from __future__ import annotations

import sqlite3
import stat

import pytest
import sqlalchemy as sa

from tests.conftest import BACKEND, PG_URL
from tests.future_schema import CURRENT as HEAD
from tests.future_schema import FUTURE, code_ahead, set_revision

OUTDATED = "Error: database schema is out of date (run moviecli db upgrade)\n"


def _describe(url):
    from moviecli.storage.db import database

    return database(url).describe()


# --- upgrade, current, history ---------------------------------------------------------------


def test_upgrade_an_empty_database(cli, empty_db):
    where = _describe(empty_db)
    before = cli("db", "current")
    assert before.exit_code == 0, before.stderr
    assert before.stdout == f"{where}: no schema (latest is {HEAD})\n"

    result = cli("db", "upgrade")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"Upgraded {where}: empty → {HEAD}\n"

    again = cli("db", "upgrade", "--json")
    assert again.exit_code == 0
    assert again.json() == {"before": HEAD, "after": HEAD, "backup": None}
    assert cli("db", "upgrade").stdout == f"Already at the latest schema ({HEAD}).\n"

    current = cli("db", "current")
    assert current.stdout == f"{where}: {HEAD} (up to date)\n"
    assert cli("db", "current", "--json").json() == {
        "database": where,
        "revision": HEAD,
        "head": HEAD,
        "upToDate": True,
    }


def test_upgrade_json_on_an_empty_database(cli, empty_db):
    result = cli("db", "upgrade", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == {"before": None, "after": HEAD, "backup": None}


def test_history(cli, db_url):
    from moviecli.storage import schema

    result = cli("db", "history")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "revision\tdown\thead\tcurrent\tdescription"
    assert lines[1].startswith("0001_initial\t\t\t\tInitial schema of users")
    assert lines[-1].startswith(f"{HEAD}\t{schema.REVISIONS[-2]}\tyes\tyes\t")
    assert len(lines) == 1 + len(schema.REVISIONS)

    data = cli("db", "history", "--json").json()
    assert [(r["revision"], r["isHead"], r["isCurrent"]) for r in data] == [
        (revision, revision == HEAD, revision == HEAD) for revision in schema.REVISIONS
    ]
    assert data[0]["downRevision"] is None


def test_history_of_an_empty_database_marks_nothing_current(cli, empty_db):
    data = cli("db", "history", "--json").json()
    assert data and not any(r["isCurrent"] for r in data)


# --- check ---------------------------------------------------------------------------------


def test_check_a_fresh_database(cli, db_url, home):
    result = cli("db", "check")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        f"schema revision: {HEAD}\nschema matches the models\nintegrity: ok\n"
        f"store: {home / 'media'}, 0 files, ok\n"
    )
    assert cli("db", "check", "--json").json() == {
        "revision": HEAD,
        "ok": True,
        "schemaDifferences": [],
        "integrity": ["ok"],
        "store": {
            "root": str(home / "media"),
            "files": 0,
            "missing": [],
            "unreferenced": [],
            "corrupt": [],
            "pending": 0,
        },
        "warnings": [],
    }


def test_check_finds_a_missing_index(cli, db_url):
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP INDEX ux_users_email_key"))
    engine.dispose()
    result = cli("db", "check", "--json")
    assert result.exit_code == 6
    data = result.json()
    assert data["ok"] is False
    assert any("ux_users_email_key" in diff for diff in data["schemaDifferences"])
    plain = cli("db", "check")
    assert plain.exit_code == 6
    assert "schema differs from the models:\n" in plain.stdout
    assert "  missing index ux_users_email_key\n" in plain.stdout


def test_check_an_empty_database(cli, empty_db):
    result = cli("db", "check")
    assert result.exit_code == 6
    # SQLite: no file yet; PostgreSQL: a database without tables.
    missing = {
        "sqlite": f"no database at {_describe(empty_db)}",
        "postgresql": "the database has no moviecli schema",
    }[BACKEND]
    assert result.stderr == f"Error: {missing} (run moviecli init to create it)\n"


# --- backup --------------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_backup_to_a_file(cli, admin, home, tmp_path):
    dest = tmp_path / "copy.db"
    result = cli("db", "backup", str(dest))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"Backed up to {dest}\n"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    with sqlite3.connect(dest) as conn:
        emails = [row[0] for row in conn.execute("SELECT email FROM users")]
        (integrity,) = conn.execute("PRAGMA integrity_check").fetchone()
    conn.close()
    assert (emails, integrity) == (["admin@example.com"], "ok")

    # The copy is a working moviecli database.
    whoami = cli("--db", f"sqlite:///{dest}", "whoami", "--json")
    assert whoami.exit_code == 0, whoami.stderr
    assert whoami.json()["email"] == "admin@example.com"


@pytest.mark.sqlite_only
def test_backup_into_a_directory_and_json(cli, db_url, tmp_path):
    result = cli("db", "backup", str(tmp_path), "--json")
    assert result.exit_code == 0, result.stderr
    written = result.json()["backup"]
    assert written.startswith(f"{tmp_path}/moviecli-")
    assert written.endswith(".db")
    assert list(tmp_path.glob("moviecli-*.db"))


@pytest.mark.sqlite_only
def test_backup_refuses_to_overwrite_or_a_missing_directory(cli, db_url, tmp_path):
    existing = tmp_path / "taken.db"
    existing.write_text("mine")
    result = cli("db", "backup", str(existing))
    assert result.exit_code == 2
    assert result.stderr == f"Error: {existing} already exists (choose another destination)\n"
    assert existing.read_text() == "mine"

    missing = tmp_path / "no" / "such" / "dir" / "copy.db"
    result = cli("db", "backup", str(missing))
    assert result.exit_code == 2
    assert result.stderr == f"Error: directory {missing.parent} does not exist\n"


@pytest.mark.sqlite_only
def test_backup_without_a_database(cli, home, tmp_path):
    result = cli("db", "backup", str(tmp_path / "copy.db"))
    assert result.exit_code == 6
    assert result.stderr == (f"Error: no database at {home / 'moviecli.db'} (run moviecli init)\n")


@pytest.mark.postgres_only
def test_backup_on_postgresql_points_to_pg_dump(cli, db_url, tmp_path):
    result = cli("db", "backup", str(tmp_path / "copy.db"))
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: backup works on SQLite databases only (use pg_dump for PostgreSQL)\n"
    )
    assert not (tmp_path / "copy.db").exists()


def test_backup_needs_a_destination(cli, db_url):
    result = cli("db", "backup")
    assert result.exit_code == 2
    assert result.stderr == "Error: Missing argument 'DEST' (see 'moviecli db backup --help')\n"
    assert result.stdout == ""


# --- a schema behind or ahead of the code ------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("whoami",),
        ("user", "list"),
        ("user", "show"),
        ("db", "check"),
        ("login", "x", "--password-stdin"),
    ],
)
def test_outdated_schema_is_refused(cli, admin, monkeypatch, tmp_path, args):
    code_ahead(monkeypatch, tmp_path)
    result = cli(*args, input="some-password\n")
    assert result.exit_code == 6
    assert result.stderr == OUTDATED
    assert result.stdout == ""


def test_outdated_schema_json_error(cli, admin, monkeypatch, tmp_path):
    code_ahead(monkeypatch, tmp_path)
    result = cli("whoami", "--json")
    assert result.exit_code == 6
    assert result.json() == {
        "error": {
            "code": "storage",
            "message": "database schema is out of date (run moviecli db upgrade)",
            "details": {},
        }
    }


def test_db_upgrade_brings_an_outdated_schema_up_to_date(
    cli, admin, db_url, home, monkeypatch, tmp_path
):
    code_ahead(monkeypatch, tmp_path)
    where = _describe(db_url)
    current = cli("db", "current")
    assert current.stdout == f"{where}: {HEAD} (latest is {FUTURE})\n"
    assert cli("db", "current", "--json").json()["upToDate"] is False

    result = cli("db", "upgrade")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Upgraded {where}: {HEAD} → {FUTURE}"
    if BACKEND == "sqlite":
        # SQLite databases are backed up before an upgrade.
        (backup,) = home.glob(f"moviecli.db.{HEAD}.*.bak")
        assert lines[1:] == [f"Backup of the previous database: {backup}"]
        with sqlite3.connect(backup) as conn:
            (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        conn.close()
        assert revision == HEAD
    else:
        assert lines[1:] == []

    assert cli("db", "current").stdout == f"{where}: {FUTURE} (up to date)\n"
    whoami = cli("whoami", "--json")
    assert whoami.exit_code == 0, whoami.stderr
    assert whoami.json()["email"] == "admin@example.com"
    assert cli("db", "check").exit_code == 0


@pytest.mark.parametrize("args", [("whoami",), ("db", "check"), ("db", "upgrade"), ("init",)])
def test_newer_schema_is_refused(cli, admin, db_url, args):
    set_revision(db_url, "0099_from_the_future")
    result = cli(*args)
    assert result.exit_code == 6
    assert result.stderr == (
        "Error: database schema '0099_from_the_future' is newer than this moviecli "
        "(upgrade moviecli)\n"
    )


def test_current_shows_a_newer_schema(cli, db_url):
    set_revision(db_url, "0099_from_the_future")
    result = cli("db", "current", "--json")
    assert result.exit_code == 0
    assert result.json()["revision"] == "0099_from_the_future"
    assert result.json()["upToDate"] is False


# --- databases that are not moviecli's -------------------------------------------------------

COMMANDS = [("whoami",), ("db", "current"), ("db", "check"), ("db", "upgrade"), ("init",)]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("args", COMMANDS)
@pytest.mark.parametrize(
    "content",
    [b"this is not a database\n" * 50, b"SQLite format 3\x00" + b"\xff" * 4000],
    ids=["text", "bad-header"],
)
def test_garbage_database_file(cli, home, args, content):
    home.mkdir(parents=True, exist_ok=True)
    path = home / "moviecli.db"
    path.write_bytes(content)
    result = cli(*args)
    assert result.exit_code == 6
    assert result.stderr == (
        f"Error: {path} is not a SQLite database or is corrupt "
        "(restore it from a backup made with moviecli db backup)\n"
    )
    assert path.read_bytes() == content  # left as it was


@pytest.mark.sqlite_only
def test_garbage_database_file_in_a_real_process(cli_process, home):
    home.mkdir(parents=True, exist_ok=True)
    (home / "moviecli.db").write_bytes(b"\x00garbage" * 1000)
    for args in (("whoami",), ("user", "list", "--json"), ("db", "backup", str(home / "b.db"))):
        result = cli_process(*args)
        assert result.exit_code == 6, result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith("Error: ")
        assert "is not a SQLite database or is corrupt" in result.stderr
    assert not (home / "b.db").exists()


@pytest.mark.sqlite_only
@pytest.mark.parametrize("args", COMMANDS[:1] + COMMANDS[2:])
def test_foreign_sqlite_database(cli, home, args):
    home.mkdir(parents=True, exist_ok=True)
    path = home / "moviecli.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE recipes (id INTEGER PRIMARY KEY, title TEXT)")
    conn.close()
    result = cli(*args)
    assert result.exit_code == 6
    assert result.stderr == (
        f"Error: {path} is not a moviecli database "
        "(point --db or MOVIECLI_DATABASE_URL at a moviecli database)\n"
    )
    with sqlite3.connect(path) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master")]
    conn.close()
    assert tables == ["recipes"]


@pytest.mark.postgres_only
@pytest.mark.parametrize("args", COMMANDS[:1] + COMMANDS[2:])
def test_foreign_postgresql_database(cli, empty_db, args):
    engine = sa.create_engine(empty_db)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE recipes (id serial PRIMARY KEY, title text)"))
    engine.dispose()
    result = cli(*args)
    assert result.exit_code == 6
    assert result.stderr == (
        f"Error: {_describe(empty_db)} is not a moviecli database "
        "(point --db or MOVIECLI_DATABASE_URL at a moviecli database)\n"
    )


@pytest.mark.sqlite_only
def test_missing_sqlite_database(cli, home):
    result = cli("whoami")
    assert result.exit_code == 6
    assert result.stderr == (
        f"Error: no database at {home / 'moviecli.db'} (run moviecli init to create it)\n"
    )
    assert not (home / "moviecli.db").exists()


@pytest.mark.sqlite_only
def test_database_path_that_is_a_directory(cli, home, tmp_path):
    result = cli("--db", f"sqlite:///{tmp_path}", "whoami")
    assert result.exit_code == 6
    assert result.stderr == (
        f"Error: cannot open database {tmp_path} (check the path and its permissions)\n"
    )


@pytest.mark.postgres_only
def test_unreachable_postgresql(cli, home):
    assert PG_URL
    url = PG_URL.rsplit("/", 1)[0].rsplit(":", 1)[0] + ":1/moviecli"
    result = cli("--db", url, "whoami")
    assert result.exit_code == 6
    assert result.stderr.startswith("Error: cannot connect to postgresql+psycopg://")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.postgres_only
def test_missing_postgresql_database(cli, home):
    assert PG_URL
    url = PG_URL.rsplit("/", 1)[0] + "/no_such_database_here"
    result = cli("--db", url, "whoami")
    assert result.exit_code == 6
    assert result.stderr.startswith(f"Error: cannot connect to {url}: ")
    assert 'database "no_such_database_here" does not exist' in result.stderr


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "mysql://db/movies",
            "Error: unsupported database URL 'mysql://db/movies' "
            "(use sqlite:///PATH or postgresql+psycopg://…)\n",
        ),
        (
            "not a url",
            "Error: cannot parse database URL 'not a url' "
            "(use sqlite:///PATH or postgresql+psycopg://…)\n",
        ),
    ],
)
def test_unusable_database_url(cli, home, url, message):
    for args in (("--db", url, "whoami"), ("--db", url, "db", "upgrade")):
        result = cli(*args)
        assert result.exit_code == 6
        assert result.stderr == message


def test_unusable_database_url_from_the_environment(cli, home, monkeypatch):
    monkeypatch.setenv("MOVIECLI_DATABASE_URL", "::")
    result = cli("whoami")
    assert result.exit_code == 6
    assert result.stderr.startswith("Error: cannot parse database URL '::'")


def test_typer_usage_error_is_one_line(cli, db_url):
    result = cli("db", "upgrade", "--now")
    assert result.exit_code == 2
    assert result.stderr == "Error: No such option: --now (see 'moviecli db upgrade --help')\n"
    assert result.stdout == ""
