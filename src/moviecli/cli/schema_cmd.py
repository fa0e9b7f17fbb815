"""moviecli schema: the JSON Schema of the --json shapes, generated from the models."""

from __future__ import annotations

import importlib
from typing import Any

import typer

from moviecli import render
from moviecli.enums import completer
from moviecli.errors import ValidationFailed

# entity → "module:class" of what --json prints for it. Users, projects, templates and
# media are pydantic models (moviecli.models); sessions, messages and chat turns are
# dataclasses of the chat service, printed with camelCase names like the models.
ENTITIES = {
    "user": "moviecli.models:UserPublic",
    "project": "moviecli.models:ProjectPublic",
    "story": "moviecli.models:StoryPublic",
    "revision": "moviecli.models:StoryRevisionPublic",
    "template": "moviecli.models:TemplatePublic",
    "media": "moviecli.models:MediaPublic",
    "session": "moviecli.services.chat:SessionInfo",
    "message": "moviecli.services.chat:MessageInfo",
    "turn": "moviecli.services.chat:TurnResult",
}
# The schema's title for the dataclass shapes (the models keep their own names).
TITLES = {"session": "SessionPublic", "message": "MessagePublic", "turn": "TurnPublic"}


def schema(
    entity: str | None = typer.Argument(
        None,
        metavar="ENTITY",
        help=", ".join(ENTITIES) + " (default: all, under $defs)",
        autocompletion=completer(tuple(ENTITIES)),
    ),
) -> None:
    """Print the JSON Schema of the --json output, for generating client types.

    One entity prints its schema; no entity prints every shape under "$defs".
    Property names are the camelCase names --json prints.
    """
    from pydantic.json_schema import models_json_schema

    generator = _generator()
    if entity is not None and entity not in ENTITIES:
        raise ValidationFailed(
            {"entity": f"{entity!r} is not one of: {', '.join(ENTITIES)}"},
            message=f"unknown entity {entity!r}",
        )
    if entity is not None:
        render.print_json(
            shape(entity).model_json_schema(
                by_alias=True, mode="serialization", schema_generator=generator
            )
        )
        return
    _, combined = models_json_schema(
        [(shape(name), "serialization") for name in ENTITIES],
        by_alias=True,
        title="moviecli --json shapes",
        schema_generator=generator,
    )
    render.print_json(combined)


def shape(entity: str) -> Any:
    """The pydantic model of an entity's --json shape (built from a dataclass if need be)."""
    import dataclasses
    import typing

    from pydantic import Field, create_model

    from moviecli.models import PublicModel

    module_name, _, name = ENTITIES[entity].partition(":")
    cls = getattr(importlib.import_module(module_name), name)
    if not dataclasses.is_dataclass(cls):
        return cls
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            fields[f.name] = (hints[f.name], f.default)
        elif f.default_factory is not dataclasses.MISSING:
            fields[f.name] = (hints[f.name], Field(default_factory=f.default_factory))
        else:
            fields[f.name] = (hints[f.name], ...)
    model: Any = create_model(TITLES.get(entity, name), __base__=PublicModel, **fields)
    doc = cls.__doc__ or ""
    if not doc.startswith(f"{name}("):  # not the signature dataclass writes itself
        model.__doc__ = doc
    return model


def _generator() -> Any:
    from pydantic.json_schema import GenerateJsonSchema

    class Shapes(GenerateJsonSchema):
        """A model whose serializer only leaves out the fields that do not apply (media's
        sparse technicalData, …) keeps its fields' schema, not "any object"."""

        def ser_schema(self, schema: Any) -> Any:
            if schema.get("type") in ("function-plain", "function-wrap"):
                return_schema = schema.get("return_schema")
                if return_schema is None or return_schema.get("type") in ("dict", "any"):
                    return None
            return super().ser_schema(schema)

    return Shapes
