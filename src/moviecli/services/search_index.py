"""The on-disk float32 matrix that ``media search`` ranks with numpy (SPEC section 4).

Decoding 100,000 embedding blobs from the database for every query would cost more than
the query; instead the vectors live in a cache beside the data (one per database URL)::

    <data>/cache/search/<url hash>/state.json     which generation, and what it was built from
    <data>/cache/search/<url hash>/<gen>.vec.npy  N x 384 float32, memory-mapped when read
    <data>/cache/search/<url hash>/<gen>.meta.npz ids, projects, types, flags of the N rows

The cache remembers ``count(*)`` and ``max(updated_at)`` of the media table (two index
lookups). When they differ it is refreshed incrementally: rows updated since a little
before the remembered maximum are read again, and when the counts still differ the ids
are reconciled (deleted rows dropped, missed ones read). The new generation is written
beside the old and ``state.json`` replaced atomically, so concurrent readers always see a
whole generation.

Which rows are the newest version of their asset is asked of the database at every refresh
(``counting.newest()``, the rule media list and the dashboard use), not worked out from the
rows held: deleting a version relinks the chain without touching the newer record's
``updated_at``, so an incremental refresh would not see the link change.

The cache only ranks. Access is decided by the database: the rows of a result page are
read back through the access filter, so a stale cache can at worst miss or reorder an
item, never show one the actor may not see.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Session, col

from moviecli.enums import MEDIA_STATUSES, MEDIA_TYPES
from moviecli.models import Media
from moviecli.services import counting
from moviecli.services.embeddings import DIM, MODEL_ID

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

FORMAT = 2  # 2: no previous-version column; newest comes from counting.newest()
# Rows whose transaction committed after a later-stamped one: read back this far.
WINDOW = timedelta(minutes=10)
FETCH_CHUNK = 2000
# A generation's name: secrets.token_hex(6). (isalnum() and islower() refused the one in
# about 280 that is all digits: its state read as none, the cache built again and the old
# generation's files left behind.)
_HEX = frozenset("0123456789abcdef")


def _new_generation() -> str:
    return secrets.token_hex(6)


# (id, project id, type, status, visibility, vector bytes or old index)
Row = tuple[Any, ...]


def cache_dir(url: str) -> Path:
    from moviecli import config

    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    return config.paths().data_dir / "cache" / "search" / key


@dataclass
class View:
    """One generation of the cache, ready for numpy."""

    ids: npt.NDArray[Any]  # S32
    vectors: npt.NDArray[np.float32]  # N x DIM (memory-mapped)
    project: npt.NDArray[np.int32]  # index into projects
    projects: npt.NDArray[Any]  # S32, sorted
    media_type: npt.NDArray[np.int8]  # index into MEDIA_TYPES
    status: npt.NDArray[np.int8]  # index into MEDIA_STATUSES
    public: npt.NDArray[np.bool_]
    has_vector: npt.NDArray[np.bool_]
    newest: npt.NDArray[np.bool_]

    def project_codes(self, project_ids: list[str]) -> npt.NDArray[np.int32]:
        import numpy as np

        wanted = np.array(sorted({p.encode() for p in project_ids}), dtype="S32")
        if not len(wanted) or not len(self.projects):
            return np.empty(0, dtype=np.int32)
        pos = np.searchsorted(self.projects, wanted)
        pos = np.clip(pos, 0, len(self.projects) - 1)
        found = self.projects[pos] == wanted
        codes: npt.NDArray[np.int32] = pos[found].astype(np.int32)
        return codes


def _signature(session: Session) -> tuple[int, datetime | None]:
    # Two statements: SQLite answers each from an index (count(*) from the smallest one,
    # max() from ix_media_updated_at); asked together they would scan the table.
    count = session.execute(sa.select(sa.func.count()).select_from(Media)).scalar_one()
    latest = session.execute(sa.select(sa.func.max(col(Media.updated_at)))).scalar_one()
    return int(count), latest


_COLUMNS = (
    col(Media.id),
    col(Media.project_id),
    col(Media.media_type),
    col(Media.status),
    col(Media.visibility),
    col(Media.embedding),
)


def _superseded(session: Session) -> set[str]:
    """The ids of the records that are not the newest version of their asset."""
    stmt = sa.select(col(Media.id)).where(sa.not_(counting.newest()))
    return set(session.execute(stmt).scalars())


def _map(path: Path) -> Any:
    """The .npy file memory-mapped, its pages faulted in at once (MAP_POPULATE) rather
    than one by one during the product: about half the time for 150 MB."""
    import mmap

    import numpy as np

    flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        offset = f.tell()
        if fortran or not shape or shape[0] == 0:
            return np.load(path)
        mapped = mmap.mmap(f.fileno(), 0, flags=flags, prot=mmap.PROT_READ)
    return np.frombuffer(mapped, dtype=dtype, offset=offset).reshape(shape)


class SearchIndex:
    def __init__(self, url: str, directory: Path | None = None) -> None:
        self.directory = directory or cache_dir(url)

    # --- reading ------------------------------------------------------------------------------

    def _state(self) -> dict[str, Any] | None:
        try:
            state: dict[str, Any] = json.loads((self.directory / "state.json").read_text())
        except (OSError, ValueError):
            return None
        if state.get("format") != FORMAT or state.get("model") != MODEL_ID:
            return None
        gen = state.get("gen")
        if not (isinstance(gen, str) and len(gen) == 12 and set(gen) <= _HEX):
            return None  # a name made by _write, nothing else (no "../" from a hand edit)
        return state

    def _load(self, gen: str) -> View | None:
        import numpy as np

        try:
            vectors = _map(self.directory / f"{gen}.vec.npy")
            with np.load(self.directory / f"{gen}.meta.npz") as meta:
                arrays = {name: meta[name] for name in View.__dataclass_fields__ if name in meta}
        except (OSError, ValueError):
            return None
        if len(arrays) != len(View.__dataclass_fields__) - 1:
            return None
        # A damaged or foreign generation is built again, never ranked with.
        rows = vectors.shape[0] if vectors.ndim == 2 else -1
        if vectors.dtype != np.float32 or vectors.shape[1:] != (DIM,):
            return None
        lengths = {len(a) for name, a in arrays.items() if name != "projects"}
        if lengths - {rows}:
            return None
        return View(vectors=vectors, **arrays)

    def view(self, session: Session) -> View:
        """The current generation, refreshed first when the media table changed."""
        count, latest = _signature(session)
        stamp = latest.isoformat() if latest else None
        state = self._state()
        if state is not None and state["count"] == count and state["latest"] == stamp:
            loaded = self._load(state["gen"])
            if loaded is not None:
                return loaded
        old = self._load(state["gen"]) if state is not None else None
        if old is None or state is None or state.get("latest") is None:
            rows = self._rows(session, None)
            view = self._build(rows, None, _superseded(session))
        else:
            since = datetime.fromisoformat(state["latest"]) - WINDOW
            rows = self._merge(session, old, since, count)
            view = self._build(rows, old.vectors, _superseded(session))
        self._write(view, count, stamp)
        return view

    # --- refreshing ---------------------------------------------------------------------------

    def _rows(self, session: Session, where: sa.ColumnElement[bool] | None) -> dict[str, Row]:
        stmt = sa.select(*_COLUMNS)
        if where is not None:
            stmt = stmt.where(where)
        result = session.execute(stmt.execution_options(yield_per=FETCH_CHUNK))
        return {row[0]: tuple(row) for row in result}

    def _merge(self, session: Session, old: View, since: datetime, count: int) -> dict[str, Row]:
        """The old rows, with those changed since ``since`` read again.

        A row kept from the old generation carries the index of its old vector instead
        of the vector's bytes.
        """
        projects = [p.decode() for p in old.projects.tolist()]
        rows: dict[str, Row] = {}
        for i, (raw, project, mtype, status, public, has) in enumerate(
            zip(
                old.ids.tolist(),
                old.project.tolist(),
                old.media_type.tolist(),
                old.status.tolist(),
                old.public.tolist(),
                old.has_vector.tolist(),
                strict=True,
            )
        ):
            media_id = raw.decode()
            rows[media_id] = (
                media_id,
                projects[project],
                MEDIA_TYPES[mtype],
                MEDIA_STATUSES[status],
                "public" if public else "private",
                i if has else None,
            )
        rows.update(self._rows(session, col(Media.updated_at) >= since))
        if len(rows) != count:
            present = set(session.execute(sa.select(col(Media.id))).scalars())
            for gone in set(rows) - present:
                del rows[gone]
            missing = sorted(present - set(rows))
            for start in range(0, len(missing), FETCH_CHUNK):
                chunk = missing[start : start + FETCH_CHUNK]
                rows.update(self._rows(session, col(Media.id).in_(chunk)))
        return rows

    def _build(self, rows: dict[str, Row], old_vectors: Any, superseded: set[str]) -> View:
        import numpy as np

        ordered = sorted(rows.values(), key=lambda r: r[0])
        n = len(ordered)
        projects = np.array(sorted({r[1].encode() for r in ordered}), dtype="S32")
        project_of = {p: i for i, p in enumerate(projects.tolist())}
        type_of = {t: i for i, t in enumerate(MEDIA_TYPES)}
        status_of = {s: i for i, s in enumerate(MEDIA_STATUSES)}
        vectors = np.zeros((n, DIM), dtype=np.float32)
        has = np.zeros(n, dtype=np.bool_)
        for i, r in enumerate(ordered):
            source = r[5]
            if isinstance(source, int):
                vectors[i] = old_vectors[source]
                has[i] = True
            elif source is not None and len(source) == DIM * 4:
                vectors[i] = np.frombuffer(source, dtype=np.float32)
                has[i] = True
        return View(
            ids=np.array([r[0].encode() for r in ordered], dtype="S32"),
            vectors=vectors,
            project=np.array([project_of[r[1].encode()] for r in ordered], dtype=np.int32),
            projects=projects,
            media_type=np.array([type_of.get(r[2], 0) for r in ordered], dtype=np.int8),
            status=np.array([status_of.get(r[3], 0) for r in ordered], dtype=np.int8),
            public=np.array([r[4] == "public" for r in ordered], dtype=np.bool_),
            has_vector=has,
            newest=np.array([r[0] not in superseded for r in ordered], dtype=np.bool_),
        )

    def _write(self, view: View, count: int, stamp: str | None) -> None:
        import numpy as np

        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            old_state = self._state()
            gen = _new_generation()
            np.save(self.directory / f"{gen}.vec.npy", view.vectors)
            np.savez(
                self.directory / f"{gen}.meta.npz",
                ids=view.ids,
                project=view.project,
                projects=view.projects,
                media_type=view.media_type,
                status=view.status,
                public=view.public,
                has_vector=view.has_vector,
                newest=view.newest,
            )
            state = {"format": FORMAT, "model": MODEL_ID, "gen": gen, "count": count}
            state["latest"] = stamp
            temp = self.directory / f"state.{gen}.tmp"
            temp.write_text(json.dumps(state))
            os.replace(temp, self.directory / "state.json")
        except OSError:
            return  # no cache this time: the next query builds it again
        if old_state is not None:
            for suffix in ("vec.npy", "meta.npz"):
                with contextlib.suppress(OSError):
                    (self.directory / f"{old_state['gen']}.{suffix}").unlink()
        # Generations left by processes that refreshed at the same time (or were killed
        # while writing); a minute old, no reader is still opening them.
        now = time.time()
        for path in self.directory.iterdir():
            if path.name.startswith(gen) or path.name == "state.json":
                continue
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > 60:
                    path.unlink()
