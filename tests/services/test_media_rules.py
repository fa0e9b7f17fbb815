"""Pure rules of the media service: the text an embedding stands for, field checks."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("filename", "words"),
    [
        ("frame-00001.png", "frame"),
        ("IMG_0001.JPG", "IMG"),
        ("Stormy_Sea-v3.png", "Stormy Sea"),
        ("heroCloseUp2.webm", "hero Close Up"),
        ("a.png", ""),
    ],
)
def test_filename_words(filename: str, words: str) -> None:
    from moviecli.services.media_fields import filename_words

    assert filename_words(filename) == words


def test_embedding_text() -> None:
    from moviecli.services.media_fields import embedding_text

    text = embedding_text(
        description="stormy ocean",
        tags=["noir", "sea"],
        media_type="style_reference",
        filename="look_01.png",
        characters=["Mia"],
        episode=2,
        scene="opening",
    )
    assert text == (
        "stormy ocean. Tags: noir, sea. style reference. Characters: Mia. Scene: opening. "
        "Episode 2. File: look"
    )
    assert embedding_text(
        description="", tags=[], media_type="sound_effect", filename="1.wav"
    ) == ("sound effect")


def test_validate_fields_reports_everything() -> None:
    from moviecli.errors import ValidationFailed
    from moviecli.models import Project
    from moviecli.services.media_fields import AssetFields, Generation, validate_fields

    project = Project(title="P", genre="drama", episode_count=2, created_by="u")
    with pytest.raises(ValidationFailed) as info:
        validate_fields(
            AssetFields(
                media_type="poster",
                tags=["x" * 101],
                episode=3,
                timestamp=-1,
                status="gone",
                generation=Generation(generation_time="soon"),
            ),
            project,
        )
    assert sorted(info.value.details) == [
        "generationMetadata.generationTime",
        "mediaType",
        "relatedElements.episode",
        "relatedElements.timestamp",
        "status",
        "tags",
    ]
    values = validate_fields(
        AssetFields(media_type="storyboard", tags=[" a ", "a", "b"], characters=["Mia", ""]),
        project,
    )
    assert values["tags"] == ["a", "b"]
    assert values["characters"] == ["Mia"]
    assert values["agent_generated"] is False
