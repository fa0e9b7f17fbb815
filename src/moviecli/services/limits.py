"""Subscription limits (SPEC section 2), in one place: what each tier allows, the bounds an
admin may set, and the checks that project create, project update and apply make.

Every check here reads the owner's numbers from the user row (an admin may have changed
them); the tier only gives a new user, or a user moved to another tier, their defaults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from moviecli.errors import LimitReached

if TYPE_CHECKING:
    from moviecli.models import User

# tier → (maxProjects, maxEpisodesPerProject)
TIER_LIMITS: dict[str, tuple[int, int]] = {
    "free": (1, 3),
    "pro": (10, 20),
    "enterprise": (100, 50),
}
# The most episodes a project may have, whatever the tier (and so the highest
# maxEpisodesPerProject and defaultEpisodes).
MAX_EPISODES = 50
# The highest maxProjects an admin may set.
MAX_PROJECTS = 100_000


def tier_limits(tier: str) -> tuple[int, int]:
    """(maxProjects, maxEpisodesPerProject) that ``tier`` gives."""
    return TIER_LIMITS[tier]


def episodes_problem(episodes: int) -> str | None:
    """What is wrong with an episodeCount whatever the tier, or None."""
    if not 1 <= episodes <= MAX_EPISODES:
        return f"must be between 1 and {MAX_EPISODES}"
    return None


def subscription_problems(max_projects: int | None, max_episodes: int | None) -> dict[str, str]:
    """What is wrong with the limits an admin sets (user update), keyed by field."""
    problems: dict[str, str] = {}
    if max_projects is not None and not 0 <= max_projects <= MAX_PROJECTS:
        problems["subscription.maxProjects"] = f"must be between 0 and {MAX_PROJECTS}"
    if max_episodes is not None and not 1 <= max_episodes <= MAX_EPISODES:
        problems["subscription.maxEpisodesPerProject"] = f"must be between 1 and {MAX_EPISODES}"
    return problems


def check_project_count(owner: User, owned: int) -> None:
    """One more project for ``owner``, who has ``owned``: LimitReached at the limit."""
    if owned >= owner.max_projects:
        raise LimitReached(
            f"maximum projects reached for your subscription tier "
            f"({owner.tier}: {owner.max_projects})"
        )


def project_slots(owner: User, owned: int) -> int:
    """How many more projects ``owner`` may create (never below 0)."""
    return max(owner.max_projects - owned, 0)


def over_episode_limit(owner: User, episodes: int) -> bool:
    return episodes > owner.max_episodes_per_project


def episode_limit_text(owner: User) -> str:
    """The owner's limit as the messages name it: "(free: 3 episodes per project)"."""
    return f"({owner.tier}: {owner.max_episodes_per_project} episodes per project)"


def check_episodes(owner: User, episodes: int, *, whose: str = "your") -> None:
    """``episodes`` for a project of ``owner``: LimitReached above the owner's limit."""
    if over_episode_limit(owner, episodes):
        raise LimitReached(
            f"episodeCount {episodes} is above the limit of {whose} subscription tier "
            + episode_limit_text(owner)
        )
