"""The one pagination helper: ``{items, total, page, limit}``, limit 1-200, page from 1."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from moviecli.errors import ValidationFailed
from moviecli.models import MediaType
from moviecli.render import jsonable
from moviecli.services.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, check_page, paginate

# The template database holds the 11 media types of the seed.
ALL_TYPES = sorted(
    [
        "audio_clip",
        "character_design",
        "concept_art",
        "environment_design",
        "final_video",
        "music_track",
        "sound_effect",
        "storyboard",
        "style_reference",
        "video_segment",
        "voice_profile",
    ]
)


def _types():
    return select(MediaType).order_by(col(MediaType.id))


def test_defaults():
    assert (DEFAULT_LIMIT, MAX_LIMIT) == (20, 200)


@pytest.mark.parametrize(("page", "limit"), [(1, 1), (1, 200), (9999, 20)])
def test_valid_pages(page, limit):
    check_page(page, limit)


@pytest.mark.parametrize(
    ("page", "limit", "details"),
    [
        (0, 20, {"page": "must be 1 or more"}),
        (1, 0, {"limit": "must be between 1 and 200"}),
        (1, 201, {"limit": "must be between 1 and 200"}),
        (-3, 500, {"page": "must be 1 or more", "limit": "must be between 1 and 200"}),
    ],
)
def test_invalid_pages_report_every_problem(page, limit, details):
    with pytest.raises(ValidationFailed) as caught:
        check_page(page, limit)
    assert caught.value.details == details
    assert caught.value.exit_code == 2


def test_first_page(database):
    with database.session() as session:
        page = paginate(session, _types(), page=1, limit=4)
    assert [t.id for t in page.items] == ALL_TYPES[:4]
    assert (page.total, page.page, page.limit, page.pages) == (11, 1, 4, 3)


def test_last_and_beyond_the_last_page(database):
    with database.session() as session:
        last = paginate(session, _types(), page=3, limit=4)
        beyond = paginate(session, _types(), page=4, limit=4)
    assert [t.id for t in last.items] == ALL_TYPES[8:]
    assert (beyond.items, beyond.total) == ([], 11)


def test_total_counts_the_filtered_query(database):
    stmt = _types().where(col(MediaType.family) == "audio")
    with database.session() as session:
        page = paginate(session, stmt, page=1, limit=2)
    assert page.total == 4
    assert [t.id for t in page.items] == ["audio_clip", "music_track"]


def test_rows_instead_of_scalars(database):
    stmt = select(MediaType.id, MediaType.family).order_by(col(MediaType.id)).limit(1000)
    with database.session() as session:
        page = paginate(session, stmt, page=2, limit=3, scalars=False)
    assert [tuple(row) for row in page.items] == [
        ("environment_design", "image"),
        ("final_video", "video"),
        ("music_track", "audio"),
    ]


def test_paginate_checks_its_arguments(database):
    with database.session() as session, pytest.raises(ValidationFailed):
        paginate(session, _types(), page=1, limit=MAX_LIMIT + 1)


def test_map_keeps_the_counts():
    page = Page([1, 2, 3], total=13, page=2, limit=3)
    mapped = page.map(str)
    assert (mapped.items, mapped.total, mapped.page, mapped.limit) == (["1", "2", "3"], 13, 2, 3)
    assert mapped.pages == 5


def test_pages_of_an_empty_result_is_one():
    assert Page([], 0, 1, 20).pages == 1


def test_json_shape():
    assert jsonable(Page(["a"], 1, 1, 20)) == {"items": ["a"], "total": 1, "page": 1, "limit": 20}
