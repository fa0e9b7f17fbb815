"""Speed tricks beside the normal path they stand in for (issue 15, item 3): each is run on
the same data as that path, and the two must agree.

- the search cache's ``newest`` column (``services/search_index.py``) against
  ``counting.newest()``, on a full build and on an incremental refresh;
- the search cache refreshed incrementally against the cache built whole, every column;
- ``media search``'s numpy prefilter (the cache's project, public, type and newest
  columns) against the SQL of what the actor may read (``access.visible_media``), what
  counts as newest and what has an embedding: the same total, the same media;
- ``media list``'s total counted from the indexes alone (all records minus those with a
  previous version) against the count of what it lists (``counting.newest()``);
- a chat session's history paged by ``seq`` ranges and totalled by ``message_count``
  against the messages paged with ``pagination.paginate``;
- ``session search``'s total from the FTS5 index alone (who reads everything, on SQLite)
  against the total counted through the sessions join;
- media inserted with Core (``media add``'s executemany, ``media version``'s single insert)
  and returned without reading them back (``public_of_row``) against the records stored;
- the final-cut count of ``project list`` (SQL, ``projects.final_cut_counts``) against the
  one of ``project episodes`` (worked out in Python, ``projects.episode_board``).

The data: version chains in several projects, with versions deleted from the middle, the
end and the start of a chain (``media delete`` relinks the chain around them), public and
private media, media without an embedding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from moviecli.models import Media, Project, User, utcnow
from moviecli.services import access, counting
from tests.projecthelp import ROLES, add_media, cast_and_projects


@dataclass
class Versions:
    users: dict[str, User]
    projects: dict[str, str]  # title -> id
    media: dict[str, str]  # name -> id


def _vector(seed: int) -> bytes:
    import numpy as np

    from moviecli.services.embeddings import DIM

    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return (v / np.linalg.norm(v)).astype(np.float32).tobytes()


@pytest.fixture
def versions(database: Any) -> Versions:
    """Cleo's Lighthouse (Bob collaborates) and Harbour, Eve's Desert. Chains a1→a2→a3,
    b1→b2, c1→c2 and d1→d2→d3 in Lighthouse, e1→e2 in Desert (e2 public), singles in
    each project, one without an embedding. Everything stamped an hour ago but the two
    made public just now: a search cache built now is refreshed later from a few minutes
    before now, not by reading every row again."""
    owners = {"Lighthouse": "cleo", "Harbour": "cleo", "Desert": "eve"}
    users, ids = cast_and_projects(database, owners)
    media: dict[str, str] = {}
    seed = 0

    def chain(project: str, prefix: str, length: int, kind: str = "concept_art") -> None:
        nonlocal seed
        before = None
        for n in range(1, length + 1):
            seed += 1
            name = f"{prefix}{n}"
            before = media[name] = add_media(
                database,
                ids[project],
                users[owners[project]].id,
                kind,
                name=f"{name}.png",
                previous_version=before,
                version=n,
                embedding=_vector(seed),
            )

    chain("Lighthouse", "a", 3)
    chain("Lighthouse", "b", 2)
    chain("Lighthouse", "c", 2, "storyboard")
    chain("Lighthouse", "d", 3)
    chain("Lighthouse", "single", 1)
    chain("Harbour", "h", 2, "storyboard")
    chain("Desert", "e", 2)
    chain("Desert", "lone", 1, "storyboard")
    media["bare"] = add_media(database, ids["Harbour"], users["cleo"].id, "concept_art")
    an_hour_ago = utcnow() - timedelta(hours=1)
    with database.write() as session:
        session.execute(sa.update(Media).values(updated_at=an_hour_ago, created_at=an_hour_ago))
        session.execute(
            sa.update(Media)
            .where(col(Media.id).in_([media["e2"], media["lone1"]]))
            .values(visibility="public", updated_at=utcnow())  # as media visibility does
        )
    return Versions(users, ids, media)


def _ids(database: Any, *where: Any) -> set[str]:
    with database.session() as session:
        return set(session.execute(sa.select(col(Media.id)).where(*where)).scalars())


def _change_the_chains(database: Any, world: Versions, tmp_path: Path) -> None:
    """Versions deleted from the middle, the end and the start of chains (as ``media
    delete`` does it: the chain relinked, no other record's updated_at moved), and a
    new version added in Desert."""
    from moviecli.services import media
    from moviecli.services.store import MediaStore

    store = MediaStore(tmp_path / "store")
    cleo = world.users["cleo"]
    for name in ("a2", "b2", "c1", "d2"):
        media.delete(database, cleo, world.media[name], store=store)
    world.media["e3"] = add_media(
        database,
        world.projects["Desert"],
        world.users["eve"].id,
        "concept_art",
        name="e3.png",
        previous_version=world.media["e2"],
        version=3,
        embedding=_vector(99),
    )


def _index_newest(database: Any, directory: Path) -> set[str]:
    from moviecli.services.search_index import SearchIndex

    with database.session() as session:
        view = SearchIndex(database.url, directory).view(session)
    return {i.decode() for i in view.ids[view.newest].tolist()}


def test_15_3_the_search_cache_marks_newest_what_counting_does(
    database: Any, versions: Versions, tmp_path: Path
) -> None:
    """The cache's ``newest`` column is ``counting.newest()``: built whole, refreshed
    after versions were deleted and added, and built whole again."""
    cache = tmp_path / "cache"

    def named(ids: set[str]) -> set[str]:
        names = {i: n for n, i in versions.media.items()}
        return {names.get(i, i) for i in ids}

    expected = named(_ids(database, counting.newest()))
    assert expected == {"a3", "b2", "c2", "d3", "single1", "h2", "e2", "lone1", "bare"}
    assert named(_index_newest(database, cache)) == expected

    _change_the_chains(database, versions, tmp_path)
    expected = named(_ids(database, counting.newest()))
    # a1 → a3 and d1 → d3 relinked: a1 and d1 are still superseded; b1 is newest again
    assert expected == {"a3", "b1", "c2", "d3", "single1", "h2", "e3", "lone1", "bare"}
    assert named(_index_newest(database, cache)) == expected  # refreshed incrementally
    assert named(_index_newest(database, tmp_path / "whole")) == expected  # built whole


def test_15_3_a_refreshed_search_cache_is_the_cache_built_whole(
    database: Any, versions: Versions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After visibility, status, text and embedding changes, deletes and a new version,
    the generation merged from the old one holds what a whole build reads, column by
    column and vector by vector."""
    import numpy as np

    from moviecli.services import media
    from moviecli.services.media_fields import Changes
    from moviecli.services.search_index import SearchIndex, View

    def view(directory: Path) -> View:
        with database.session() as session:
            return SearchIndex(database.url, directory).view(session)

    ids = versions.media
    with database.write() as session:  # kept as they are: not read again by the refresh
        session.execute(
            sa.update(Media)
            .where(col(Media.id) == ids["c2"])
            .values(visibility="public", status="draft")
        )
    before = view(tmp_path / "cache")
    cleo, eve = versions.users["cleo"], versions.users["eve"]
    with database.write() as session:
        media.set_visibility(session, cleo, ids["a3"], "public")
        media.set_visibility(session, eve, ids["e2"], "private")
    media.update(database, cleo, ids["b2"], Changes(status="archived"), embed=False)
    media.update(database, cleo, ids["single1"], Changes(description="new text"), embed=False)
    with database.write() as session:  # as media embed stores a vector
        session.execute(
            sa.update(Media)
            .where(col(Media.id).in_([ids["h2"], ids["bare"]]))
            .values(embedding=_vector(7), updated_at=utcnow())
        )
    _change_the_chains(database, versions, tmp_path)

    merged = []
    merge = SearchIndex._merge
    monkeypatch.setattr(
        SearchIndex, "_merge", lambda self, *a: merged.append(1) or merge(self, *a)
    )
    refreshed = view(tmp_path / "cache")
    assert merged, "refreshed from the old generation, not built whole"
    whole = view(tmp_path / "whole")
    assert len(refreshed.ids) == len(before.ids) - 3  # four deleted, one added
    for name in ("ids", "media_type", "status", "public", "has_vector", "newest"):
        assert getattr(refreshed, name).tolist() == getattr(whole, name).tolist(), name
    assert refreshed.projects[refreshed.project].tolist() == whole.projects[whole.project].tolist()
    assert np.array_equal(refreshed.vectors, whole.vectors)
    at = {i.decode(): n for n, i in enumerate(refreshed.ids.tolist())}
    assert refreshed.public[at[ids["a3"]]] and not refreshed.public[at[ids["e2"]]]
    assert refreshed.public[at[ids["c2"]]] and refreshed.status[at[ids["c2"]]] != 0
    assert refreshed.has_vector[at[ids["bare"]]] and not refreshed.has_vector[at[ids["single1"]]]


# --- media search: the numpy prefilter against the SQL of access and counting --------------


@pytest.fixture
def fixed_query(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any query is one fixed unit vector (which media match does not depend on it)."""
    import numpy as np

    from moviecli.services import embeddings

    vector = np.frombuffer(_vector(0), dtype=np.float32)
    monkeypatch.setattr(embeddings, "embed_query", lambda text: vector)


def _searched(database: Any, world: Versions, actor: str, **filters: Any) -> tuple[int, set[str]]:
    from moviecli.services.media_search import search

    found = search(database, world.users[actor], "anything", limit=200, **filters)
    return found.total, {hit.media.id for hit in found.items}


def _searchable(database: Any, world: Versions, actor: str, *where: Any) -> set[str]:
    """What search should find, as SQL: readable, newest, with an embedding."""
    user = world.users[actor]
    return _ids(
        database,
        access.visible_media(user),
        counting.newest(),
        col(Media.embedding).is_not(None),
        *where,
    )


@pytest.mark.parametrize("actor", sorted(ROLES))
def test_15_3_search_finds_and_counts_what_access_and_counting_select(
    database: Any, versions: Versions, tmp_path: Path, fixed_query: None, actor: str
) -> None:
    """Everywhere, in one project, of one type; before and after versions change."""
    user = versions.users[actor]
    with database.session() as session:
        seen = set(session.execute(access.visible_project_ids(user)).scalars())
    for step in ("built whole", "refreshed"):
        if step == "refreshed":
            _change_the_chains(database, versions, tmp_path)
        expected = _searchable(database, versions, actor)
        assert _searched(database, versions, actor) == (len(expected), expected)
        concept = _searchable(database, versions, actor, col(Media.media_type) == "concept_art")
        assert _searched(database, versions, actor, media_type="Concept-Art") == (
            len(concept),
            concept,
        )
        for project in seen:  # (one they may not see: exit 3, tested in tests/cli)
            inside = _searchable(database, versions, actor, col(Media.project_id) == project)
            assert _searched(database, versions, actor, project=project) == (len(inside), inside)


def test_15_3_search_prefilter_anchors(
    database: Any, versions: Versions, fixed_query: None
) -> None:
    """The expected sets above, spelled out once: Bob collaborates on Lighthouse only and
    sees Desert's public e2 and lone1; Eve sees Desert only; the admin every newest
    version with an embedding (not the bare record)."""
    names = {i: n for n, i in versions.media.items()}
    bob = {names[i] for i in _searched(database, versions, "bob")[1]}
    assert bob == {"a3", "b2", "c2", "d3", "single1", "e2", "lone1"}
    eve = {names[i] for i in _searched(database, versions, "eve")[1]}
    assert eve == {"e2", "lone1"}
    ada = {names[i] for i in _searched(database, versions, "ada")[1]}
    assert ada == {"a3", "b2", "c2", "d3", "single1", "h2", "e2", "lone1"}


# --- media list: the total counted from the indexes ---------------------------------------


def test_15_3_media_list_total_is_the_count_of_what_it_lists(
    database: Any, versions: Versions, tmp_path: Path
) -> None:
    """The default view counts all records minus those with a previous version; listing
    every page, or a filter (counted by paginate), finds that many: before and after
    versions are deleted from the middle, the end and the start of chains."""
    from moviecli.services.media import list_media

    admin = versions.users["ada"]
    for step in ("as made", "after deletes"):
        if step == "after deletes":
            _change_the_chains(database, versions, tmp_path)
        for project in versions.projects.values():
            newest = _ids(database, col(Media.project_id) == project, counting.newest())
            with database.session() as session:
                _, listed = list_media(session, admin, project, limit=2)
                pages = [
                    list_media(session, admin, project, page=n, limit=2)[1].items
                    for n in range(1, listed.pages + 1)
                ]
                _, filtered = list_media(session, admin, project, status="active", limit=200)
            assert listed.total == len(newest)
            assert {m.id for page in pages for m in page} == newest
            assert filtered.total == len(newest)  # every record here is active


# --- chat sessions: history by seq ranges, totals by message_count ---------------------------


CONTENTS = [
    "storm over the harbour",
    "the crew rehearses",
    "storm at sea, night",
    "a quiet morning",
    "sea shanty",
]


def _chat(database: Any, world: Versions, project: str, owner: str, messages: int) -> str:
    """A session whose messages go in as every message does (``append_message``)."""
    from moviecli.models import ChatSession
    from moviecli.services.chat.sessions import append_message

    with database.write() as session:
        chat = ChatSession(project_id=world.projects[project], user_id=world.users[owner].id)
        session.add(chat)
        session.flush()
        for n in range(messages):
            role = "user" if n % 2 == 0 else "assistant"
            append_message(session, chat, role, f"{CONTENTS[n % len(CONTENTS)]} ({n})")
        return chat.id


@pytest.mark.parametrize("limit", [1, 7, 20, 23])
def test_15_3_history_pages_by_seq_are_the_pages_of_the_messages(
    database: Any, versions: Versions, limit: int
) -> None:
    """``session show`` pages by seq ranges and counts by message_count; ``paginate`` over
    the messages in order gives the same pages and total, the newest page by default."""
    from sqlmodel import select

    from moviecli.models import Message
    from moviecli.services.chat.sessions import history, recent
    from moviecli.services.pagination import paginate

    chat = _chat(database, versions, "Lighthouse", "cleo", 23)
    _chat(database, versions, "Lighthouse", "bob", 5)  # another session's messages between
    _chat(database, versions, "Desert", "eve", 4)
    cleo = versions.users["cleo"]
    ordered = select(Message).where(col(Message.session_id) == chat).order_by(col(Message.seq))
    with database.session() as session:
        _, newest = history(session, cleo, chat, limit=limit)
        assert newest.total == 23
        for number in range(1, newest.pages + 2):  # and one page past the end
            _, page = history(session, cleo, chat, page=number, limit=limit)
            expected = paginate(session, ordered, page=number, limit=limit)
            assert (page.total, page.page) == (expected.total, expected.page)
            assert [m.content for m in page.items] == [m.content for m in expected.items]
        last = paginate(session, ordered, page=newest.pages, limit=limit)
        assert [m.content for m in newest.items] == [m.content for m in last.items]
        everything = session.exec(ordered).all()
        tail = [m.content for m in everything[-limit:]]
        assert [m.content for m in recent(session, cleo, chat, limit)] == tail


# --- session search: the FTS5 count against the join --------------------------------------


@pytest.mark.parametrize("query", ["storm", "storm sea", "sea", "nowhere"])
def test_15_3_session_search_total_everywhere_is_the_sum_over_projects(
    database: Any, versions: Versions, query: str
) -> None:
    """Who reads everything is counted from the full-text index alone (on SQLite); each
    project's total is counted through the sessions join; the first is the sum of the
    others, and is what the pages hold. Also after a project with sessions is deleted."""
    from moviecli.services import projects
    from moviecli.services.chat.fulltext import search

    _chat(database, versions, "Lighthouse", "cleo", 12)
    _chat(database, versions, "Lighthouse", "bob", 7)
    _chat(database, versions, "Desert", "eve", 9)
    _chat(database, versions, "Harbour", "cleo", 6)
    ada = versions.users["ada"]
    for step in ("as made", "after a project is deleted"):
        if step != "as made":
            with database.write() as session:
                projects.delete(session, ada, versions.projects.pop("Harbour"))
        with database.session() as session:
            everywhere = search(session, ada, query, limit=200)
            per_project = sum(
                search(session, ada, query, project_ref=p, limit=200).total
                for p in versions.projects.values()
            )
        assert everywhere.total == per_project == len(everywhere.items)


# --- media inserted with Core: the record returned is the record stored --------------------


def test_15_3_media_added_with_core_reads_back_as_returned(
    database: Any, versions: Versions, tmp_path: Path
) -> None:
    """``media add`` (a batch: one executemany) and ``media version`` (one insert) build
    their rows by hand and return them without reading them back; every field of what
    they return is what a read of the stored record gives."""
    from moviecli import render
    from moviecli.services import media, media_add
    from moviecli.services.media_fields import AssetFields, Changes
    from moviecli.services.store import MediaStore
    from tests import media_factory as mf

    store = MediaStore(tmp_path / "store")
    cleo = versions.users["cleo"]
    paths = [mf.png(tmp_path / f"still-{n}.png", seed=n) for n in range(3)]
    fields = AssetFields(
        media_type="style_reference", tags=["noir"], characters=["Mia"], description="dusk"
    )
    added = media_add.add_files(
        database, cleo, versions.projects["Lighthouse"], paths, fields, embed=False, store=store
    ).records
    newer = media_add.add_version(
        database,
        cleo,
        added[0].id,
        mf.png(tmp_path / "still-v2.png", seed=9),
        Changes(description="dusk, later"),
        embed=False,
        store=store,
    )
    returned = [*added, newer]
    with database.session() as session:
        stored = [media.public(session.get(Media, r.id)) for r in returned]
    assert [render.jsonable(r) for r in returned] == [render.jsonable(s) for s in stored]
    assert newer.previous_version == added[0].id and newer.version == 2


# --- final cut: project list's count against the episode board's --------------------------


def _final_videos(database: Any, world: Versions) -> str:
    """Lighthouse (2 episodes): episode 1 cut twice (both active), episode 2's cut
    superseded by an archived version, a draft cut and one without an episode."""
    project, owner = world.projects["Lighthouse"], world.users["cleo"].id

    def cut(episode: int | None, status: str = "active", **fields: Any) -> str:
        return add_media(database, project, owner, "final_video", episode=episode,
                         status=status, **fields)  # fmt: skip

    cut(1)
    cut(1, name="ep1-alt.mp4")
    first = cut(2)
    cut(2, "archived", previous_version=first, version=2)
    cut(2, "draft")
    cut(None)
    return project


def test_15_3_project_list_and_episode_board_count_the_same_final_cuts(
    database: Any, versions: Versions
) -> None:
    from moviecli.services import projects

    project_id = _final_videos(database, versions)
    with database.session() as session:
        project = session.get(Project, project_id)
        board = projects.episode_board(session, project)
        listed = projects.final_cut_counts(session, [project_id])
    assert [e.status for e in board.episodes] == ["final-cut", "in-production"]
    assert listed[project_id] == board.final_cut == 1


def test_15_3_final_cuts_past_the_episode_count_are_counted_alike(
    database: Any, versions: Versions
) -> None:
    from moviecli.services import projects

    project_id = _final_videos(database, versions)
    add_media(database, project_id, versions.users["cleo"].id, "final_video", episode=2)
    with database.write() as session:  # project update --episodes 1
        projects.update(
            session, versions.users["cleo"], project_id, projects.Fields(episode_count=1)
        )
    with database.session() as session:
        project = session.get(Project, project_id)
        board = projects.episode_board(session, project)
        listed = projects.final_cut_counts(session, [project_id])
    assert listed[project_id] == board.final_cut
