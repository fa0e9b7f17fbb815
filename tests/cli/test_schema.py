"""moviecli schema [ENTITY]: JSON Schema of the --json shapes (SPEC section 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from moviecli.cli.schema_cmd import ENTITIES
from tests import media_factory as mf

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


def test_15_1_every_json_output_validates_against_the_schema_of_its_entity(
    cli: Any, admin: Any, tmp_path: Path
) -> None:
    """What each command prints with --json is valid against ``moviecli schema ENTITY``
    (jsonschema, Draft 2020-12), and has the names the schema lists, so client types
    generated from the schema fit the real output (issue 15 item 1)."""
    from jsonschema import Draft202012Validator

    schemas = {entity: schema_of(cli, entity) for entity in ENTITIES}
    checked: dict[str, int] = dict.fromkeys(ENTITIES, 0)

    def valid(entity: str, *records: dict[str, Any], exact: bool = False) -> None:
        schema = schemas[entity]
        Draft202012Validator.check_schema(schema)
        for record in records:
            errors = [e.message for e in Draft202012Validator(schema).iter_errors(record)]
            assert errors == [], f"{entity}: {errors}"
            names = set(schema["properties"])
            assert set(record) == names if exact else set(record) <= names, entity
            checked[entity] += 1

    def out(*args: str) -> Any:
        result = cli(*args, "--json")
        assert result.exit_code == 0, (args, result.stderr)
        return result.json()

    valid("user", out("whoami"), out("user", "show", admin.email), *out("user", "list")["items"])
    created = out("project", "create", "Sea", "--genre", "drama", "--episodes", "3")
    valid("project", created, out("project", "update", "Sea", "--title", "Sea Story"))
    (row,) = out("project", "list")["items"]
    # The list adds its dashboard columns (ownerName, episodesFinal) to the shape.
    assert set(row) - set(schemas["project"]["properties"]) == {"ownerName", "episodesFinal"}
    valid("project", {k: v for k, v in row.items() if k not in ("ownerName", "episodesFinal")})
    valid("template", *out("template", "list")["items"])
    image = mf.png(tmp_path / "look.png")
    (media,) = out("media", "add", "Sea Story", str(image), "--type", "concept_art")
    valid("media", media, out("media", "show", media["id"]))
    valid("media", *out("media", "list", "Sea Story")["items"])
    valid("media", out("media", "update", media["id"], "--description", "a storm"))

    turn = out("chat", "Sea Story", "-m", "A storm over the sea")
    valid("turn", turn, exact=True)
    shown = out("session", "show", turn["sessionId"])
    valid("session", shown["session"], exact=True)
    valid("session", *out("session", "list")["items"], exact=True)
    valid("message", *shown["items"], exact=True)

    valid("story", out("story", "show", "Sea Story"), exact=True)
    valid("revision", *out("story", "history", "Sea Story")["items"], exact=True)
    assert all(checked.values()), checked
