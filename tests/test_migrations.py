"""The Alembic migrations: in step with storage/schema.py and the models, on both backends.

Every command compares the database's revision with ``schema.HEAD`` without importing
alembic, so ``schema.REVISIONS`` must list exactly the migration scripts, in order. The
suite only ever upgrades: moviecli ships no downgrade path that users would run.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import sqlalchemy as sa

from moviecli.services import dbadmin
from moviecli.storage import schema
from tests.conftest import BACKEND

VERSIONS = Path(dbadmin.__file__).parent.parent / "storage" / "migrations" / "versions"


def _scripts() -> dict[str, ast.Module]:
    return {
        path.name: ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted(VERSIONS.glob("*.py"))
        if path.name != "__init__.py"
    }


def test_schema_revisions_are_the_alembic_revisions_in_order():
    assert list(schema.REVISIONS) == dbadmin.script_revisions()
    assert schema.REVISIONS[-1] == schema.HEAD


def test_the_history_is_one_line_from_the_first_revision():
    history = dbadmin.history(None)
    assert [r.revision for r in history] == list(schema.REVISIONS)
    assert history[0].down_revision is None
    for before, after in itertools.pairwise(history):
        assert after.down_revision == before.revision
    assert [r.revision for r in history if r.is_head] == [schema.HEAD]


def test_each_script_is_named_after_its_revision():
    for name, module in _scripts().items():
        assigned = {
            node.targets[0].id: node.value
            for node in module.body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
        }
        revision = assigned["revision"]
        assert isinstance(revision, ast.Constant)
        assert name == f"{revision.value}.py"


def test_scripts_do_not_import_the_models():
    # A migration is frozen: later model changes must not alter what it creates.
    for name, module in _scripts().items():
        imported = {
            alias.name
            for node in ast.walk(module)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {node.module or "" for node in ast.walk(module) if isinstance(node, ast.ImportFrom)}
        assert not any(m.startswith("moviecli") for m in imported), name


def test_upgrade_an_empty_database_then_check_is_clean(empty_db):
    from moviecli.storage.db import database

    db = database(empty_db)
    assert not db.exists() or db.current_revision() is None  # SQLite: no file yet
    result = dbadmin.upgrade(db)
    assert (result.before, result.after, result.backup) == (None, schema.HEAD, None)
    assert db.current_revision() == schema.HEAD

    check = dbadmin.check(db)
    assert check.schema_differences == []
    assert check.integrity == ["ok"]
    assert check.ok

    again = dbadmin.upgrade(db)
    assert (again.before, again.after) == (schema.HEAD, schema.HEAD)


def test_upgrade_and_check_through_the_cli(cli, empty_db):
    upgraded = cli("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.stderr
    assert upgraded.stdout.endswith(f": empty → {schema.HEAD}\n")
    check = cli("db", "check", "--json")
    assert check.exit_code == 0, check.stdout
    data = check.json()
    assert {k: data[k] for k in ("revision", "ok", "schemaDifferences", "integrity")} == {
        "revision": schema.HEAD,
        "ok": True,
        "schemaDifferences": [],
        "integrity": ["ok"],
    }
    assert data["warnings"] == []  # upgrade made the database owner-only


def test_full_text_search_machinery_exists_but_is_not_a_difference(empty_db):
    from moviecli.storage.db import database

    db = database(empty_db)
    dbadmin.upgrade(db)
    with db.engine.connect() as conn:
        if BACKEND == "sqlite":
            names = {
                row[0]
                for row in conn.execute(
                    sa.text("SELECT name FROM sqlite_master WHERE type='table'")
                )
            }
            assert schema.FTS_TABLE in names
        else:
            indexes = {
                row[0]
                for row in conn.execute(
                    sa.text("SELECT indexname FROM pg_indexes WHERE tablename = 'messages'")
                )
            }
            assert schema.FTS_INDEX in indexes
    assert dbadmin.check(db).schema_differences == []


def test_include_name_filters_only_the_full_text_machinery():
    assert not schema.include_name("messages_fts", "table", {})
    assert not schema.include_name("messages_fts_data", "table", {})
    assert not schema.include_name(schema.FTS_INDEX, "index", {})
    assert schema.include_name("messages", "table", {})
    assert schema.include_name("ix_messages_session_id", "index", {})
    assert schema.include_name(None, "schema", {})


def test_every_model_table_is_created(empty_db):
    from sqlmodel import SQLModel

    import moviecli.models  # noqa: F401
    from moviecli.storage.db import database

    db = database(empty_db)
    dbadmin.upgrade(db)
    with db.engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    assert "alembic_version" in tables


def _upgrade_to(db, revision: str) -> None:
    """Migrate ``db`` to an older ``revision`` (a database made by an earlier moviecli)."""
    from alembic import command

    if db.sqlite_path is not None:
        db.sqlite_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with db.engine.connect() as conn:
        conn = conn.execution_options(moviecli_write=True)
        command.upgrade(dbadmin._alembic_config(conn), revision)
        conn.commit()


def test_0002_story_revisions_upgrades_a_database_holding_data(empty_db):
    from moviecli.storage.db import database, dispose_all

    db = database(empty_db)
    _upgrade_to(db, "0001_initial")
    now = "2026-11-30 12:00:00"
    story = '{"concept": "A heist", "characters": [{"name": "Mia", "description": "x"}]}'
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (id, email, name, role, preferences, tier, max_projects, "
                "max_episodes_per_project, password_hash, failed_logins, created_at, updated_at) "
                "VALUES ('u1', 'a@example.com', 'A', 'user', '{}', 'pro', 10, 10, 'x', 0, "
                ":now, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            sa.text(
                "INSERT INTO projects (id, title, description, genre, episode_count, "
                "target_audience, status, created_by, aspect_ratio, episode_duration, "
                "quality_tier, current_phase, completed_steps, overall_progress, story, "
                "created_at, updated_at) VALUES ('p1', 'Heist', '', 'drama', 2, 'family', "
                "'concept', 'u1', '16:9', 22, 'standard', 'initial_concept', '[]', 0, "
                ":story, :now, :now)"
            ),
            {"now": now, "story": story},
        )
    dispose_all()

    db = database(empty_db)
    result = dbadmin.upgrade(db, backup=False)
    assert (result.before, result.after) == ("0001_initial", schema.HEAD)
    assert dbadmin.check(db).ok
    from moviecli.models import Project, StoryRevision, User
    from moviecli.services import story

    with db.write() as session:
        project = session.get(Project, "p1")
        actor = session.get(User, "u1")
        assert project is not None and actor is not None
        assert story.show(session, actor, "p1").concept == "A heist"
        assert story.show(session, actor, "p1").logline is None  # an older record
        story.record(
            session,
            project,
            [story.StoryUpdate("logline", "set", "Cats steal the moon.")],
            actor=actor,
            source=story.Source("command"),
        )
    with db.session() as session:
        rows = session.execute(sa.select(StoryRevision.__table__.c["field", "after"])).all()
        assert [tuple(r) for r in rows] == [("logline", "Cats steal the moon.")]
        project = session.get(Project, "p1")
        assert project is not None
        assert project.story["characters"] == [{"name": "Mia", "description": "x"}]


def _insert_0002_rows(db, users, projects) -> None:
    """Users (id, email) and projects (id, title, creator) as moviecli 0002 stored them."""
    now = "2026-11-30 12:00:00"
    with db.engine.begin() as conn:
        for user_id, email in users:
            conn.execute(
                sa.text(
                    "INSERT INTO users (id, email, name, role, preferences, tier, max_projects, "
                    "max_episodes_per_project, password_hash, failed_logins, created_at, "
                    "updated_at) VALUES (:id, :email, 'A', 'user', '{}', 'pro', 10, 10, 'x', 0, "
                    ":now, :now)"
                ),
                {"id": user_id, "email": email, "now": now},
            )
        for project_id, title, creator in projects:
            conn.execute(
                sa.text(
                    "INSERT INTO projects (id, title, description, genre, episode_count, "
                    "target_audience, status, created_by, aspect_ratio, episode_duration, "
                    "quality_tier, current_phase, completed_steps, overall_progress, story, "
                    "created_at, updated_at) VALUES (:id, :title, '', 'drama', 2, 'family', "
                    "'concept', :creator, '16:9', 22, 'standard', 'initial_concept', '[]', 0, "
                    "'{}', :now, :now)"
                ),
                {"id": project_id, "title": title, "creator": creator, "now": now},
            )


def test_13_4_migration_backfills_the_fold_keys(empty_db):
    from moviecli.storage.db import database, dispose_all

    db = database(empty_db)
    _upgrade_to(db, "0002_story_revisions")
    _insert_0002_rows(
        db,
        [("u1", "Ádmin@Example.com"), ("u2", "bob@example.com")],
        [("p1", "Über Heist", "u1"), ("p2", "über heist", "u2"), ("p3", "ﬁne Cut", "u1")],
    )
    dispose_all()
    db = database(empty_db)
    result = dbadmin.upgrade(db, backup=False)
    assert (result.before, result.after) == ("0002_story_revisions", schema.HEAD)
    assert dbadmin.check(db).ok
    with db.engine.connect() as conn:
        users = dict(conn.execute(sa.text("SELECT id, email_key FROM users")).all())
        titles = dict(conn.execute(sa.text("SELECT id, title_key FROM projects")).all())
    assert users == {"u1": "ádmin@example.com", "u2": "bob@example.com"}
    assert titles == {"p1": "über heist", "p2": "über heist", "p3": "fine cut"}


def test_13_4_migration_reports_every_collision_and_changes_nothing(cli, empty_db):
    from moviecli.storage.db import database, dispose_all

    db = database(empty_db)
    _upgrade_to(db, "0002_story_revisions")
    _insert_0002_rows(
        db,
        # NFKC pairs: PostgreSQL's lower() let them both in too (SQLite's even "Éve"/"éve").
        [("u1", "ﬁona@example.com"), ("u2", "Fiona@example.com"), ("u3", "bob@example.com")],
        [("p1", "ﬁne Cut", "u3"), ("p2", "Fine Cut", "u3"), ("p3", "Fine Cut", "u1")],
    )
    dispose_all()
    result = cli("db", "upgrade")
    assert result.exit_code == 5
    assert result.stderr == (
        "Error: cannot upgrade the schema to 0003_fold_keys: these differ only in case or "
        "Unicode form, and must be unique: emails 'ﬁona@example.com' (user u1) and "
        "'Fiona@example.com' (user u2); titles 'ﬁne Cut' (project p1) and 'Fine Cut' "
        "(project p2) of user u3 (nothing was changed; rename one of each (in sqlite3 or "
        "psql: UPDATE users SET email = … WHERE id = …, or UPDATE projects SET title = … "
        "WHERE id = …), then run moviecli db upgrade again)\n"
    )
    dispose_all()
    db = database(empty_db)
    assert db.current_revision() == "0002_story_revisions"
    with db.engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("users")}
    assert "email_key" not in columns
    if db.sqlite_path is not None:  # the backup of an unchanged database is not kept
        assert list(db.sqlite_path.parent.glob("*.bak")) == []
    # Renamed, the upgrade goes through.
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE users SET email = 'eve2@example.com' WHERE id = 'u2'"))
        conn.execute(sa.text("UPDATE projects SET title = 'Fine Cut 2' WHERE id = 'p2'"))
    dispose_all()
    again = cli("db", "upgrade")
    assert again.exit_code == 0, again.stderr
