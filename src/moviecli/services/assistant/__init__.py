"""The chat's reply writers behind one small interface.

The workflow logic (what a message is and records, which moves are allowed, the choices)
stays with the engine (``services.workflow``, ``understanding``, ``answers``); a backend
writes the reply text from a :class:`ReplyContext` (a model also reads the message:
``structured``). ``builtin`` is offline and
deterministic; ``openai`` talks to any OpenAI-compatible chat-completions endpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from moviecli.services.assistant.understanding import Understanding
from moviecli.services.workflow import Applied, Choice, Move

if TYPE_CHECKING:
    from moviecli.services.assistant.structured import Reading


@dataclass(frozen=True)
class Outcome:
    """What a turn did, as the engine decided it: the reply is written from this."""

    step: str  # the phase the turn was taken in
    understanding: Understanding  # what the message was
    recorded: tuple[str, ...]  # sentences saying what was recorded, replaced, ignored
    move: Move | None
    applied: Applied
    missing: tuple[str, ...]  # what the (new) current phase still lacks
    choices: tuple[Choice, ...]
    attachments: tuple[tuple[str, str], ...] = ()  # (filename, mediaType)
    # the attached files whose bytes the project already held: nothing new was added
    already: tuple[str, ...] = ()
    answer: tuple[str, ...] = ()  # the engine's answer to a question or small talk
    override: str | None = None  # a manual override's direction

    @property
    def blocked(self) -> list[str]:
        return list(self.move.blocked) if self.move is not None else []


@dataclass
class ReplyContext:
    """Everything a backend may use to write the reply."""

    project: dict[str, Any]
    outcome: Outcome
    user_text: str
    history: list[tuple[str, str]] = field(default_factory=list)  # (role, content), oldest first
    context_data: dict[str, Any] = field(default_factory=dict)
    # A backend that reads the message itself (a model) puts its reading here, or why it
    # has none in ``problem``; the engine decides what the turn records from it
    # (``structured.decide``).
    reading: Reading | None = None
    problem: str | None = None


class BackendFailed(Exception):
    """The reply writer failed (timeout, HTTP error, unreadable answer)."""


class Backend(Protocol):
    name: str

    def reply(self, ctx: ReplyContext, on_chunk: Callable[[str], None] | None = None) -> str: ...


def make_backend(name: str | None = None) -> Backend:
    """The backend named by ``chat.backend`` in config.toml (``builtin`` by default)."""
    from moviecli import config

    data = config.load_config()
    chosen = name or config.get_value("chat.backend", data)
    if chosen == "openai":
        from moviecli.services.assistant.openai import OpenAIBackend

        return OpenAIBackend.from_config(data)
    from moviecli.services.assistant.builtin import BuiltinAssistant

    return BuiltinAssistant()
