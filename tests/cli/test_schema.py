"""moviecli schema [ENTITY]: JSON Schema of the --json shapes (SPEC section 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from moviecli.cli.schema_cmd import ENTITIES
from tests import media_factory as mf
from tests.projecthelp import new_project

TITLES = {
    "user": "UserPublic",
    "project": "ProjectPublic",
    "story": "StoryPublic",
    "revision": "StoryRevisionPublic",
    "template": "TemplatePublic",
    "media": "MediaPublic",
    "session": "SessionPublic",
    "message": "MessagePublic",
    "turn": "TurnPublic",
}


def property_names(schema: dict[str, Any]) -> set[str]:
    """Every property name in a schema and its $defs."""
    names: set[str] = set()
    for node in [schema, *schema.get("$defs", {}).values()]:
        names |= set(node.get("properties", {}))
    return names


def schema_of(cli: Any, entity: str) -> dict[str, Any]:
    result = cli("schema", entity)
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = result.json()
    return data


def test_every_public_shape_exists() -> None:
    import importlib

    assert set(ENTITIES) == set(TITLES)
    for target in ENTITIES.values():
        module, _, name = target.partition(":")
        assert hasattr(importlib.import_module(module), name), target


@pytest.mark.parametrize("entity", list(TITLES))
def test_each_entity_prints_a_json_schema_with_camel_case_names(cli: Any, entity: str) -> None:
    schema = schema_of(cli, entity)
    assert schema["type"] == "object"
    assert schema["title"] == TITLES[entity]
    assert schema["properties"]
    names = property_names(schema)
    assert all("_" not in name for name in names), sorted(n for n in names if "_" in n)
    assert "createdAt" in names or entity in ("template", "message", "turn", "story")


def test_known_names_in_the_schemas(cli: Any) -> None:
    assert {"subscription", "activeProjects"} <= set(schema_of(cli, "user")["properties"])
    project = schema_of(cli, "project")
    assert {"projectSettings", "progress", "styleReferences", "episodeCount"} <= set(
        project["properties"]
    )
    assert {"aspectRatio", "overallProgress"} <= property_names(project)
    media = schema_of(cli, "media")
    assert {"mediaType", "relatedElements", "technicalData", "hasEmbedding"} <= set(
        media["properties"]
    )
    assert "embedding" not in media["properties"]
    assert {"sessionState", "currentStep", "awaitingUserInput", "lastChoices"} <= set(
        schema_of(cli, "session")["properties"]
    )
    assert set(schema_of(cli, "message")["properties"]) == {
        "id",
        "role",
        "content",
        "timestamp",
        "attachments",
        "metadata",
    }


def test_all_shapes_at_once(cli: Any) -> None:
    result = cli("schema")
    assert result.exit_code == 0
    data = result.json()
    assert data["title"] == "moviecli --json shapes"
    assert set(TITLES.values()) <= set(data["$defs"])
    assert all("_" not in name for name in property_names(data))


def test_unknown_entity_is_exit_2(cli: Any) -> None:
    result = cli("schema", "episode")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "Error: unknown entity 'episode'",
        "  entity: 'episode' is not one of: user, project, story, revision, template, media, "
        "session, message, turn",
    ]
    as_json = cli("schema", "episode", "--json")
    assert as_json.exit_code == 2


def test_schema_needs_no_login_nor_database(cli: Any, home: Path) -> None:
    assert cli("schema", "user").exit_code == 0
    assert not (home / "moviecli.db").exists()


def test_the_real_json_outputs_use_the_schema_names(cli: Any, admin: Any, tmp_path: Path) -> None:
    """What the commands print has exactly (or, for optional fields, within) the names
    the schema lists, so generated client types fit the real output."""

    def props(entity: str) -> set[str]:
        return set(schema_of(cli, entity)["properties"])

    whoami = cli("whoami", "--json").json()
    assert set(whoami) <= props("user")
    new_project(cli, "Sea")
    (project,) = cli("project", "list", "--json").json()["items"]
    # The list adds its dashboard columns (ownerName, episodesFinal) to the shape.
    assert props("project") <= set(project)
    assert set(project) - props("project") == {"ownerName", "episodesFinal"}
    template = cli("template", "list", "--json").json()["items"][0]
    assert set(template) <= props("template")
    image = mf.png(tmp_path / "look.png")
    (media,) = cli("media", "add", "Sea", str(image), "--type", "concept_art", "--json").json()
    assert set(media) <= props("media")

    turn = cli("chat", "Sea", "-m", "A storm over the sea", "--json")
    assert turn.exit_code == 0, turn.stderr
    assert set(turn.json()) == props("turn")
    shown = cli("session", "show", turn.json()["sessionId"], "--json").json()
    assert set(shown["session"]) == props("session")
    for message in shown["items"]:
        assert set(message) == props("message")

    story = cli("story", "show", "Sea", "--json").json()
    assert set(story) == props("story")
    (revision, *_) = cli("story", "history", "Sea", "--json").json()["items"]
    assert set(revision) == props("revision")
