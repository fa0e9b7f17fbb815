"""The one resolver: exact id, unique prefix of ≥ 4 characters, email; ambiguity is exit 2."""

from __future__ import annotations

import pytest
from sqlmodel import col

from moviecli.errors import Ambiguous, NotFound, UsageError
from moviecli.models import User
from moviecli.services.resolve import MIN_PREFIX, by_id_or_prefix, one_of, user_by_email
from moviecli.services.users import resolve_user
from tests.projecthelp import user_row

IDS = {
    "ann": "abcd1111" + "0" * 24,
    "ben": "abcd2222" + "0" * 24,
    "cat": "abce3333" + "0" * 24,
}


@pytest.fixture
def people(database):
    """Three users with chosen ids (inserted directly: no password hashing)."""
    with database.write() as session:
        for name, user_id in IDS.items():
            role = "admin" if name == "ann" else "user"
            session.add(user_row(f"{name.title()}@Example.com", role=role, id=user_id))
    with database.session() as session:
        yield session, {name: session.get(User, user_id) for name, user_id in IDS.items()}


def test_exact_id(people):
    session, _ = people
    assert by_id_or_prefix(session, User, IDS["ben"], what="user").name == "Ben"


@pytest.mark.parametrize(("ref", "who"), [("abcd2", "Ben"), ("abce", "Cat"), ("ABCD1", "Ann")])
def test_unique_prefix(people, ref, who):
    session, _ = people
    assert by_id_or_prefix(session, User, ref, what="user").name == who


def test_ambiguous_prefix_lists_the_candidates(people):
    session, _ = people
    with pytest.raises(Ambiguous) as caught:
        by_id_or_prefix(
            session, User, "abcd", what="user", describe=lambda u: f"{u.id[:8]} {u.email}"
        )
    error = caught.value
    assert error.exit_code == 2
    message = str(error)
    assert message.startswith("user 'abcd' is ambiguous: ")
    assert message.endswith(" (give more characters of the id)")
    candidates = message.removeprefix("user 'abcd' is ambiguous: ").split(" (")[0]
    assert sorted(candidates.split(", ")) == [
        "abcd1111 Ann@Example.com",
        "abcd2222 Ben@Example.com",
    ]


def test_prefix_shorter_than_four_is_not_searched(people):
    session, _ = people
    assert MIN_PREFIX == 4
    with pytest.raises(NotFound) as caught:
        by_id_or_prefix(session, User, "abe", what="user")
    assert str(caught.value) == "user 'abe' not found"
    assert caught.value.exit_code == 3


@pytest.mark.parametrize("ref", ["abcf", "abcd%", "abc_", "ffff0000"])
def test_no_match(people, ref):
    session, _ = people
    with pytest.raises(NotFound):
        by_id_or_prefix(session, User, ref, what="user")


def test_empty_reference_is_a_usage_error(people):
    session, _ = people
    with pytest.raises(UsageError) as caught:
        by_id_or_prefix(session, User, "  ", what="user")
    assert str(caught.value) == "no user given"


def test_where_hides_rows_as_not_found(people):
    session, _ = people
    only_cat = col(User.id) == IDS["cat"]
    with pytest.raises(NotFound):
        by_id_or_prefix(session, User, IDS["ann"], what="user", where=only_cat)
    assert by_id_or_prefix(session, User, "abce", what="user", where=only_cat).name == "Cat"
    # Hidden rows do not make a visible one ambiguous: Ben shares Ann's prefix "abcd".
    ann_or_cat = col(User.id).in_([IDS["ann"], IDS["cat"]])
    assert by_id_or_prefix(session, User, "abcd", what="user", where=ann_or_cat).name == "Ann"


def test_one_of_shows_at_most_five():
    class Row:
        def __init__(self, n: int) -> None:
            self.id = f"id{n}"

    with pytest.raises(Ambiguous) as caught:
        one_of([Row(n) for n in range(6)], "id", what="thing")
    assert str(caught.value) == (
        "thing 'id' is ambiguous: id0, id1, id2, id3, id4 … (give more characters of the id)"
    )
    with pytest.raises(NotFound):
        one_of([], "x", what="thing")
    single = Row(9)
    assert one_of([single], "id9", what="thing") is single


@pytest.mark.parametrize("email", ["ben@example.com", "BEN@EXAMPLE.COM", "  Ben@Example.com "])
def test_user_by_email_ignores_case_and_spaces(people, email):
    session, _ = people
    user = user_by_email(session, email)
    assert user is not None
    assert user.id == IDS["ben"]


def test_user_by_email_unknown(people):
    session, _ = people
    assert user_by_email(session, "nobody@example.com") is None


def test_resolve_user_for_an_admin(people):
    session, users = people
    admin = users["ann"]
    assert resolve_user(session, admin, "abcd2").id == IDS["ben"]
    assert resolve_user(session, admin, "cat@example.com").id == IDS["cat"]


def test_resolve_user_for_a_non_admin(people):
    session, users = people
    ben = users["ben"]
    # Themselves by id or prefix; others only by exact email.
    assert resolve_user(session, ben, "abcd2").id == IDS["ben"]
    assert resolve_user(session, ben, "abcd").id == IDS["ben"]  # Ann's id is not visible
    assert resolve_user(session, ben, "CAT@example.com").id == IDS["cat"]
    for ref in (IDS["cat"], "abce", IDS["ann"]):
        with pytest.raises(NotFound) as caught:
            resolve_user(session, ben, ref)
        assert str(caught.value) == f"user {ref!r} not found"
    with pytest.raises(NotFound) as caught:
        resolve_user(session, ben, "ghost@example.com")
    assert str(caught.value) == "user 'ghost@example.com' not found"
