"""The schema revisions this code knows, oldest first, without importing alembic.

Every command compares the database's ``alembic_version`` with ``HEAD`` in one query;
a test checks that this list matches the migration scripts.
"""

REVISIONS: tuple[str, ...] = ("0001_initial", "0002_story_revisions", "0003_fold_keys")
HEAD = REVISIONS[-1]


# Full-text search is backend-specific DDL in the migrations, not part of the models.
FTS_INDEX = "ix_messages_content_fts"  # PostgreSQL GIN index over to_tsvector('simple', …)
FTS_TABLE = "messages_fts"  # SQLite FTS5 table (and its shadow tables)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic filter: leave the full-text machinery out of model comparisons."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(FTS_TABLE)
    return not (type_ == "index" and name == FTS_INDEX)
