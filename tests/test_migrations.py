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
    assert check.json() == {
        "revision": schema.HEAD,
        "ok": True,
        "schemaDifferences": [],
        "integrity": ["ok"],
    }


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
