"""Helpers of the chat tests: one-turn chat calls and media written through the models."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

MIME = {"image": "image/png", "video": "video/mp4", "audio": "audio/mpeg"}


def insert_media(
    database: Any,
    project_id: str,
    user_id: str,
    media_type: str,
    *,
    characters: list[str] | None = None,
    scene: str | None = None,
    style_reference: bool = False,
) -> str:
    """A media record (no file) as media add would leave it; optionally a style reference."""
    from moviecli.enums import MEDIA_FAMILIES
    from moviecli.models import Media, StyleReference

    with database.write() as session:
        media = Media(
            project_id=project_id,
            media_type=media_type,
            characters=characters or [],
            scene=scene,
            filename=f"{media_type}.bin",
            mime_type=MIME[MEDIA_FAMILIES[media_type]],
            size_bytes=10,
            sha256=hashlib.sha256(f"{project_id}/{media_type}/{scene}".encode()).hexdigest(),
            created_by=user_id,
        )
        session.add(media)
        session.flush()
        if style_reference:
            session.add(StyleReference(project_id=project_id, media_id=media.id))
        return media.id


def chatter(cli: Callable[..., Any], project: str) -> Callable[..., dict[str, Any]]:
    """``turn("-m", "text")``: one chat turn on ``project`` with --json, exit 0 required."""

    def turn(*args: str) -> dict[str, Any]:
        result = cli("chat", project, *args, "--json")
        assert result.exit_code == 0, result.stderr
        data: dict[str, Any] = result.json()
        return data

    return turn


def state(data: dict[str, Any]) -> tuple[str, list[str], int, str]:
    """(currentStep, completedSteps, overallProgress, projectStatus) of a turn's JSON."""
    p = data["progress"]
    return (
        data["currentStep"],
        p["completedSteps"],
        p["overallProgress"],
        data["projectStatus"],
    )


def choice_ids(data: dict[str, Any]) -> list[str]:
    return [c["id"] for c in data["choices"]]
