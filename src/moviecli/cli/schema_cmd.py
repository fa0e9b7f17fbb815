"""moviecli schema: the JSON Schema of the --json shapes, generated from the models."""

from __future__ import annotations

import importlib

import typer

from moviecli import render
from moviecli.enums import completer
from moviecli.errors import ValidationFailed

# entity → the public model that --json prints for it
ENTITIES = {
    "user": "UserPublic",
    "project": "ProjectPublic",
    "template": "TemplatePublic",
    "media": "MediaPublic",
    "session": "SessionPublic",
    "message": "MessagePublic",
}


def schema(
    entity: str | None = typer.Argument(
        None,
        metavar="[ENTITY]",
        help=", ".join(ENTITIES) + " (default: all)",
        autocompletion=completer(tuple(ENTITIES)),
    ),
) -> None:
    """Print the JSON Schema of the --json output, for generating client types."""
    from pydantic.json_schema import models_json_schema

    models = importlib.import_module("moviecli.models")
    available = {
        name: getattr(models, cls) for name, cls in ENTITIES.items() if hasattr(models, cls)
    }
    if entity is not None:
        if entity not in available:
            raise ValidationFailed({"entity": f"{entity!r} is not one of: {', '.join(available)}"})
        render.print_json(available[entity].model_json_schema(by_alias=True))
        return
    _, combined = models_json_schema(
        [(model, "serialization") for model in available.values()],
        by_alias=True,
        title="moviecli --json shapes",
    )
    render.print_json(combined)
