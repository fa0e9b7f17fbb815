"""The project rules in the service layer, without the CLI."""

from __future__ import annotations

import pytest
from sqlmodel import select

from moviecli.errors import (
    Ambiguous,
    Conflict,
    InvalidTransition,
    LimitReached,
    NotFound,
    PermissionDenied,
    UsageError,
    ValidationFailed,
)
from moviecli.models import Project, User
from moviecli.services import projects
from moviecli.services.projects import Fields
from tests.projecthelp import add_media, add_session


@pytest.fixture
def people(make_user):
    return {
        "olive": make_user("olive@example.com", tier="pro", name="Olive"),
        "carol": make_user("carol@example.com", tier="pro", name="Carol"),
        "pat": make_user("pat@example.com", role="producer", name="Pat"),
        "ada": make_user("ada@example.com", role="admin", tier="enterprise", name="Ada"),
        "free": make_user("free@example.com", tier="free", name="Free"),
    }


def create(database, account, title, **fields):
    fields.setdefault("genre", "drama")
    fields.setdefault("episode_count", 2)
    template = fields.pop("template", None)
    with database.write() as session:
        actor = session.get(User, account.id)
        return projects.create_project(
            session, actor, Fields(title=title, **fields), template=template
        )


def run(database, account, fn, *args, write=True, **kwargs):
    with database.write() if write else database.session() as session:
        actor = session.get(User, account.id)
        return fn(session, actor, *args, **kwargs)


# --- validation ------------------------------------------------------------------------------


def test_validate_every_field():
    problems = projects.validate(
        Fields(
            title=" ",
            description="x" * 10_001,
            genre="opera",
            episode_count=0,
            target_audience="all",
            aspect_ratio="1:1",
            episode_duration=181,
            quality_tier="8k",
        )
    )
    assert set(problems) == {
        "title",
        "description",
        "genre",
        "episodeCount",
        "targetAudience",
        "projectSettings.aspectRatio",
        "projectSettings.episodeDuration",
        "projectSettings.qualityTier",
    }


def test_validate_accepts_bounds():
    assert projects.validate(Fields(title="x" * 200, episode_count=50, episode_duration=180)) == {}
    assert projects.validate(Fields(title="x", episode_count=1, episode_duration=1)) == {}
    assert projects.validate(Fields()) == {}


def test_create_reports_missing_and_invalid_together(database, people):
    with pytest.raises(ValidationFailed) as err:
        create(database, people["olive"], "", genre=None, episode_count=None, quality_tier="x")
    assert set(err.value.details) == {
        "title",
        "genre",
        "episodeCount",
        "projectSettings.qualityTier",
    }


# --- limits ----------------------------------------------------------------------------------


def test_project_limit_per_tier(database, people):
    create(database, people["free"], "One")
    with pytest.raises(LimitReached) as err:
        create(database, people["free"], "Two")
    assert str(err.value) == "maximum projects reached for your subscription tier (free: 1)"
    assert err.value.exit_code == 5


def test_pro_tier_allows_ten(database, people):
    for n in range(10):
        create(database, people["olive"], f"P{n}")
    with pytest.raises(LimitReached, match=r"\(pro: 10\)"):
        create(database, people["olive"], "P10")


def test_limit_is_checked_before_title(database, people):
    create(database, people["free"], "One")
    with pytest.raises(LimitReached):
        create(database, people["free"], "one")


def test_episode_limit(database, people):
    with pytest.raises(LimitReached, match=r"\(free: 3 episodes per project\)"):
        create(database, people["free"], "Long", episode_count=4)


def test_failed_create_changes_nothing(database, people):
    with pytest.raises(LimitReached):
        create(database, people["free"], "Long", episode_count=4)
    with database.session() as session:
        user = session.get(User, people["free"].id)
        assert "currentProject" not in user.preferences
        assert session.exec(select(Project)).all() == []


def test_duplicate_title(database, people):
    create(database, people["olive"], "Heist")
    with pytest.raises(Conflict, match="you already have a project titled 'HEIST'"):
        create(database, people["olive"], "HEIST")
    create(database, people["carol"], "Heist")


# --- status machine ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "held_from", "allowed"),
    [
        ("concept", None, ["pre-production", "on-hold"]),
        ("pre-production", None, ["production", "on-hold"]),
        ("production", None, ["post-production", "on-hold"]),
        ("post-production", None, ["completed", "on-hold"]),
        ("completed", None, ["on-hold"]),
        ("on-hold", "production", ["production"]),
        ("on-hold", None, ["concept"]),
    ],
)
def test_allowed_next(status, held_from, allowed):
    project = Project(title="x", genre="drama", episode_count=1, created_by="u", status=status)
    project.held_from = held_from
    assert projects.allowed_next(project) == allowed


def test_hold_and_resume_remember_the_state(database, people):
    olive = people["olive"]
    project = create(database, olive, "Film")
    run(database, olive, projects.set_status, project.id, "pre-production")
    moved, old = run(database, olive, projects.hold, project.id)
    assert (old, moved.status, moved.held_from) == ("pre-production", "on-hold", "pre-production")
    moved, old = run(database, olive, projects.resume, project.id)
    assert (old, moved.status, moved.held_from) == ("on-hold", "pre-production", None)
    with pytest.raises(InvalidTransition, match="is not on hold"):
        run(database, olive, projects.resume, project.id)


def test_producer_cannot_resume_whatever_the_status(database, people):
    project = create(database, people["olive"], "Film")
    with pytest.raises(PermissionDenied):
        run(database, people["pat"], projects.resume, project.id)


# --- naming ----------------------------------------------------------------------------------


def test_resolution_order(database, people):
    olive, carol = people["olive"], people["carol"]
    olives = create(database, olive, "Heist")
    carols = create(database, carol, "Heist")
    run(database, carol, projects.add_collaborator, carols.id, olive.email)
    # the actor's own title first, even when another visible project has it
    assert run(database, olive, projects.resolve, "heist", write=False).id == olives.id
    assert run(database, carol, projects.resolve, "HEIST", write=False).id == carols.id
    # an exact id wins over everything
    assert run(database, olive, projects.resolve, carols.id, write=False).id == carols.id
    # two visible, neither own: ambiguous, listing both
    with pytest.raises(Ambiguous) as err:
        run(database, people["pat"], projects.resolve, "Heist", write=False)
    assert err.value.exit_code == 2
    assert "by Olive" in str(err.value)
    assert "by Carol" in str(err.value)
    # a prefix of an invisible project is not found
    with pytest.raises(NotFound):
        run(database, people["free"], projects.resolve, olives.id[:6], write=False)


def test_resolve_blank(database, people):
    with pytest.raises(UsageError, match="no project given"):
        run(database, people["olive"], projects.resolve, "  ", write=False)


def test_current_project_that_disappeared(database, people):
    olive = people["olive"]
    project = create(database, olive, "Gone")
    with database.write() as session:
        session.delete(session.get(Project, project.id))
    with pytest.raises(UsageError, match="your current project no longer exists"):
        run(database, olive, projects.resolve_or_current, None, write=False)


# --- delete ----------------------------------------------------------------------------------


def test_delete_returns_counts_and_hashes(database, people):
    olive = people["olive"]
    project = create(database, olive, "Doomed")
    add_session(database, project.id, olive.id, messages=4)
    add_media(database, project.id, olive.id, "storyboard", name="a.png")
    add_media(database, project.id, olive.id, "storyboard", name="b.png")
    result = run(database, olive, projects.delete, project.id)
    assert (result.sessions, result.messages, result.media) == (1, 4, 2)
    assert len(result.media_sha256) == 2
    assert result.project.id == project.id


def test_delete_rolls_back_as_a_whole(database, people):
    """An error after the deletes leaves everything in place (one transaction)."""
    olive = people["olive"]
    project = create(database, olive, "Kept")
    add_session(database, project.id, olive.id, messages=2)
    with pytest.raises(RuntimeError), database.write() as session:
        actor = session.get(User, olive.id)
        projects.delete(session, actor, project.id)
        raise RuntimeError("killed")
    detail = run(database, olive, projects.show, project.id, write=False)
    assert len(detail.sessions) == 1
    assert detail.sessions[0].messages == 2


def test_only_creator_or_admin_deletes(database, people):
    olive, carol = people["olive"], people["carol"]
    project = create(database, olive, "Mine")
    run(database, olive, projects.add_collaborator, project.id, carol.email)
    with pytest.raises(PermissionDenied):
        run(database, carol, projects.delete, project.id)
    with pytest.raises(PermissionDenied):
        run(database, people["pat"], projects.delete, project.id)
    with pytest.raises(NotFound):
        run(database, people["free"], projects.delete, project.id)
    run(database, people["ada"], projects.delete, project.id)


# --- list ------------------------------------------------------------------------------------


def test_list_only_what_the_actor_sees(database, people):
    olive, carol = people["olive"], people["carol"]
    create(database, olive, "Olive's")
    shared = create(database, carol, "Shared")
    create(database, carol, "Private")
    run(database, carol, projects.add_collaborator, shared.id, olive.email)
    page = run(database, olive, projects.list_projects, write=False, sort="title")
    assert [r.project.title for r in page.items] == ["Olive's", "Shared"]
    assert page.total == 2
    assert run(database, people["pat"], projects.list_projects, write=False).total == 3
    assert run(database, people["free"], projects.list_projects, write=False).total == 0
    row = run(database, olive, projects.list_projects, write=False, mine=True).items[0]
    assert (row.owner, row.episodes_final) == ("Olive", 0)
