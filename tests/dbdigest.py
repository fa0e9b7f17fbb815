"""A digest of a database's content, to check that a failed command changed nothing
(SPEC section 1: "a failed command changes nothing").

Left out is what may outlive a failure by design: the login tokens (the tests issue their
own) and a user's failed-login counter and lock.
"""

from __future__ import annotations

import hashlib
from typing import Any

# table → columns left out of the digest
OUTLIVES_FAILURE: dict[str, set[str]] = {
    "users": {"failed_logins", "locked_until"},
    "login_tokens": {"*"},
    "login_failures": {"*"},  # failed logins of emails no account has, counted alike
}


def digest(database: Any) -> dict[str, str]:
    """Table name → SHA-256 of its rows (in a fixed order, whatever the backend)."""
    import sqlalchemy as sa
    from sqlmodel import SQLModel

    import moviecli.models  # noqa: F401  (the tables)

    out: dict[str, str] = {}
    with database.engine.connect() as conn:
        for name, table in sorted(SQLModel.metadata.tables.items()):
            skip = OUTLIVES_FAILURE.get(name, set())
            if "*" in skip:
                continue
            columns = [c for c in table.columns if c.name not in skip]
            rows = sorted(repr(tuple(row)) for row in conn.execute(sa.select(*columns)))
            out[name] = hashlib.sha256("\n".join(rows).encode("utf-8", "replace")).hexdigest()
        conn.rollback()
    return out
