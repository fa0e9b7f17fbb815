"""services/limits.py, the one home of the subscription limits (SPEC section 2): the focused
tests of ``scripts/mutation limits``. The commands that apply them are tested through the
CLI in tests/cli/test_projects.py, test_users.py and test_apply.py."""

from __future__ import annotations

import pytest

from moviecli.errors import LimitReached
from moviecli.models import User
from moviecli.services import limits


def owner(tier: str = "free", *, projects: int | None = None, episodes: int | None = None):
    default_projects, default_episodes = limits.tier_limits(tier)
    return User(
        id="u1",
        email="olive@example.com",
        name="Olive",
        tier=tier,
        max_projects=default_projects if projects is None else projects,
        max_episodes_per_project=default_episodes if episodes is None else episodes,
    )


def test_each_tier_gives_its_limits():
    assert limits.TIER_LIMITS == {"free": (1, 3), "pro": (10, 20), "enterprise": (100, 50)}
    assert [limits.tier_limits(t) for t in ("free", "pro", "enterprise")] == [
        (1, 3),
        (10, 20),
        (100, 50),
    ]
    with pytest.raises(KeyError):
        limits.tier_limits("platinum")


@pytest.mark.parametrize(
    ("episodes", "problem"),
    [
        (0, "must be between 1 and 50"),
        (-1, "must be between 1 and 50"),
        (1, None),
        (50, None),
        (51, "must be between 1 and 50"),
    ],
)
def test_an_episode_count_is_from_1_to_50_whatever_the_tier(episodes, problem):
    assert limits.MAX_EPISODES == 50
    assert limits.episodes_problem(episodes) == problem


@pytest.mark.parametrize(
    ("max_projects", "max_episodes", "problems"),
    [
        (None, None, {}),
        (0, 1, {}),
        (100_000, 50, {}),
        (-1, None, {"subscription.maxProjects": "must be between 0 and 100000"}),
        (100_001, None, {"subscription.maxProjects": "must be between 0 and 100000"}),
        (None, 0, {"subscription.maxEpisodesPerProject": "must be between 1 and 50"}),
        (None, 51, {"subscription.maxEpisodesPerProject": "must be between 1 and 50"}),
        (
            -1,
            51,
            {
                "subscription.maxProjects": "must be between 0 and 100000",
                "subscription.maxEpisodesPerProject": "must be between 1 and 50",
            },
        ),
    ],
)
def test_the_limits_an_admin_sets(max_projects, max_episodes, problems):
    assert limits.subscription_problems(max_projects, max_episodes) == problems


def test_the_project_count_stops_at_the_limit():
    free = owner("free")  # one project
    limits.check_project_count(free, 0)
    with pytest.raises(LimitReached) as raised:
        limits.check_project_count(free, 1)
    assert str(raised.value) == "maximum projects reached for your subscription tier (free: 1)"
    with pytest.raises(LimitReached):
        limits.check_project_count(free, 2)
    limits.check_project_count(owner("pro"), 9)
    with pytest.raises(LimitReached, match=r"\(pro: 10\)"):
        limits.check_project_count(owner("pro"), 10)
    with pytest.raises(LimitReached):  # an admin may set 0: no project at all
        limits.check_project_count(owner("pro", projects=0), 0)


@pytest.mark.parametrize(
    ("max_projects", "owned", "slots"), [(1, 0, 1), (1, 1, 0), (10, 3, 7), (1, 4, 0)]
)
def test_project_slots_never_go_below_zero(max_projects, owned, slots):
    assert limits.project_slots(owner(projects=max_projects), owned) == slots


def test_the_episode_limit_is_the_owners():
    free = owner("free")  # three episodes per project
    assert not limits.over_episode_limit(free, 3)
    assert limits.over_episode_limit(free, 4)
    assert limits.episode_limit_text(free) == "(free: 3 episodes per project)"
    limits.check_episodes(free, 3)
    with pytest.raises(LimitReached) as raised:
        limits.check_episodes(free, 4)
    assert str(raised.value) == (
        "episodeCount 4 is above the limit of your subscription tier "
        "(free: 3 episodes per project)"
    )
    with pytest.raises(LimitReached) as raised:
        limits.check_episodes(owner("pro", episodes=5), 6, whose="the creator's")
    assert str(raised.value) == (
        "episodeCount 6 is above the limit of the creator's subscription tier "
        "(pro: 5 episodes per project)"
    )
    limits.check_episodes(owner("pro", episodes=5), 5)
