"""Alembic environment: runs on the connection moviecli.services.dbadmin hands over."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import moviecli.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from moviecli.storage.schema import include_name

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
