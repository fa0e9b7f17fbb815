"""Make the code one schema revision ahead of the test databases.

To test what happens to a database whose schema is behind the code (exit 6, ``db
upgrade``, the backup before it, ``init`` upgrading), the tests copy the migration scripts,
add a no-op revision ``NNNN_future`` after the real head, and point
``moviecli.storage.schema`` and ``dbadmin`` at that copy in-process.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from moviecli.storage import schema as _schema

CURRENT = _schema.HEAD  # the real head
FUTURE = f"{int(CURRENT[:4]) + 1:04d}_future"

_SCRIPT = f'''"""A later schema that changes nothing (tests only).

Revision ID: {FUTURE}
Revises: {CURRENT}
"""

revision = "{FUTURE}"
down_revision = "{CURRENT}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
'''


def code_ahead(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Install the future revision; databases migrated before are now out of date."""
    from moviecli.services import dbadmin
    from moviecli.storage import schema
    from moviecli.storage.db import dispose_all

    assert schema.HEAD == CURRENT
    source = Path(dbadmin.__file__).parent.parent / "storage" / "migrations"
    scripts = tmp_path / "migrations"
    shutil.copytree(source, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / f"{FUTURE}.py").write_text(_SCRIPT, encoding="utf-8")

    original = dbadmin._alembic_config

    def alembic_config(connection: Any = None) -> Any:
        cfg = original(connection)
        cfg.set_main_option("script_location", str(scripts))
        return cfg

    monkeypatch.setattr(dbadmin, "_alembic_config", alembic_config)
    monkeypatch.setattr(schema, "REVISIONS", (*schema.REVISIONS, FUTURE))
    monkeypatch.setattr(schema, "HEAD", FUTURE)
    # Database objects remember that they checked their schema: start afresh.
    dispose_all()
    return FUTURE


def set_revision(url: str, revision: str) -> None:
    """Write ``revision`` into a database's alembic_version (e.g. a newer, unknown one)."""
    import sqlalchemy as sa

    from moviecli.storage.db import dispose_all

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    finally:
        engine.dispose()
    dispose_all()
