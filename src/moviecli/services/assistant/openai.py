"""Reply text from any OpenAI-compatible chat-completions endpoint (Ollama, LM Studio,
vLLM, OpenAI), streamed as it arrives.

config.toml: ``chat.backend = "openai"``, ``chat.base_url``, ``chat.model``,
``chat.api_key_env`` (the name of the env var holding the key) and ``chat.timeout``
(seconds), ``chat.max_tokens``.

The model writes the prose and reads the message: it answers the JSON object of
``structured.SCHEMA`` (``{intent, reply, storyUpdates}``) through the endpoint's structured
output, and the ``reply`` is streamed out of it as it arrives. What the turn records from
its reading is decided by the engine (``structured.decide``); the move, the requirements
and the choices stay the engine's, and its own lines follow the model's prose.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from moviecli.errors import UsageError
from moviecli.services.assistant import BackendFailed, ReplyContext
from moviecli.services.assistant.builtin import ASK
from moviecli.services.assistant.structured import (
    INSTRUCTIONS,
    ReplyReader,
    Unusable,
    engine_reading,
    parse,
    response_formats,
)
from moviecli.services.workflow import STEPS

SYSTEM = (
    "You are the production assistant of moviecli, guiding a creator through making an "
    "AI-made movie series, one workflow step at a time. Reply in plain text, briefly and "
    "concretely, in the creator's language. Build on the facts you are given: the engine "
    "has already recorded the material and decided the move; never claim a step is done "
    "or a move happened unless the facts say so. " + INSTRUCTIONS
)


@dataclass
class OpenAIBackend:
    base_url: str
    model: str
    api_key: str | None = None
    timeout: float = 60.0
    max_tokens: int = 600
    name: str = "openai"

    @classmethod
    def from_config(cls, data: dict[str, Any]) -> OpenAIBackend:
        from moviecli import config

        base_url = config.get_value("chat.base_url", data)
        model = config.get_value("chat.model", data)
        if not base_url or not model:
            raise UsageError(
                "the openai chat backend needs chat.base_url and chat.model",
                hint="moviecli config set chat.base_url http://localhost:11434/v1",
            )
        key_env = config.get_value("chat.api_key_env", data)
        return cls(
            base_url=str(base_url).rstrip("/"),
            model=str(model),
            api_key=os.environ.get(key_env) if key_env else None,
            timeout=float(config.get_value("chat.timeout", data)),
            max_tokens=int(config.get_value("chat.max_tokens", data)),
        )

    def messages(self, ctx: ReplyContext) -> list[dict[str, str]]:
        outcome = ctx.outcome
        step = STEPS[outcome.applied.current_phase]
        facts = {
            "project": ctx.project,
            "stepOfThisTurn": outcome.step,
            "currentStep": {
                "id": step.id,
                "title": step.title,
                "goal": step.description,
                "whatToAsk": ASK[step.id],
            },
            "engineReading": engine_reading(outcome.understanding),
            "move": None
            if outcome.move is None
            else {"to": outcome.move.target, "kind": outcome.move.kind},
            "blocked": outcome.blocked,
            "stillMissing": list(outcome.missing),
            "progress": {
                "completedSteps": list(outcome.applied.completed),
                "overallProgress": outcome.applied.overall_progress,
                "status": outcome.applied.status,
                "workflowCompleted": outcome.applied.workflow_completed,
            },
            "choices": [c.as_json() for c in outcome.choices],
            "attachments": [{"filename": f, "mediaType": t} for f, t in outcome.attachments],
            "contextData": ctx.context_data,
            # The engine's answer to a question or small talk: facts to build on.
            "engineAnswer": list(outcome.answer),
        }
        out = [{"role": "system", "content": SYSTEM}]
        for role, content in ctx.history:
            if role in ("user", "assistant"):
                out.append({"role": role, "content": content})
        out.append(
            {
                "role": "system",
                "content": "Facts of this turn (JSON):\n" + json.dumps(facts, ensure_ascii=False),
            }
        )
        out.append({"role": "user", "content": ctx.user_text or "(no text: see the facts)"})
        return out

    def reply(self, ctx: ReplyContext, on_chunk: Callable[[str], None] | None = None) -> str:
        """The model's prose, streamed to ``on_chunk`` as it arrives; its reading of the
        message goes to ``ctx.reading`` (or why there is none to ``ctx.problem``).

        ``response_format`` is tried as OpenAI's ``json_schema``, then as ``json_object``
        with a ``schema`` (llama-cpp-python's server), each only after an error refusing the
        format (no reply was streamed then); an endpoint that refuses both gets no
        ``response_format``, and its prose comes with the built-in understanding."""
        messages = self.messages(ctx)
        formats: list[dict[str, Any] | None] = [*response_formats(), None]
        for n, fmt in enumerate(formats):
            body: dict[str, Any] = {
                "model": self.model,
                "messages": messages,
                "stream": True,
                "max_tokens": self.max_tokens,
            }
            if fmt is not None:
                body["response_format"] = fmt
            reader = _Prose(on_chunk, len(ctx.user_text) + OVERLONG_MARGIN)
            try:
                answer = self.complete(body, reader.feed)
            except HTTPStatusFailed as exc:
                if exc.refuses_format and n + 1 < len(formats):
                    continue  # this response_format is refused: the next one
                raise
            except Unusable as exc:  # the answer was given up mid-stream
                ctx.problem = str(exc)
                return reader.prose()
            break
        try:
            reading = parse(answer, ctx.outcome.step)
        except Unusable as exc:
            ctx.problem = str(exc)
            if fmt is None:
                ctx.problem = "the endpoint takes no structured output (response_format)"
            return reader.prose()
        ctx.reading = reading
        return _said(reading.reply)

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def complete(self, body: dict[str, Any], on_piece: Callable[[str], None] | None) -> str:
        """POST ``body`` and return the model's text, each piece given to ``on_piece`` as
        it arrives (a streamed answer) or all at once (a server that answers in one JSON).

        ``timeout`` bounds every wait: for the connection, for the first byte of the
        answer and between two pieces of it; a reply may stream for longer than that.
        """
        import httpx

        headers = {"Accept": "text/event-stream, application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        url = self.url
        parts: list[str] = []

        def take(piece: str) -> None:
            parts.append(piece)
            if on_piece is not None:
                on_piece(piece)

        try:
            with (
                httpx.Client(timeout=httpx.Timeout(self.timeout)) as client,
                client.stream("POST", url, json=body, headers=headers) as response,
            ):
                if response.status_code >= 400:
                    response.read()
                    raise HTTPStatusFailed(
                        response.status_code,
                        f"{url} answered HTTP {response.status_code}: "
                        f"{_short(response.text) or response.reason_phrase}",
                        response.text,
                    )
                kind = response.headers.get("content-type", "")
                if "text/event-stream" in kind:
                    for piece in _sse_content(response.iter_lines()):
                        take(piece)
                else:
                    response.read()
                    take(_message_content(response.json()))
        except httpx.TimeoutException:
            raise BackendFailed(f"{url} did not answer within {self.timeout:g} s") from None
        except httpx.ConnectError as exc:
            raise BackendFailed(f"cannot reach {url}: {_short(str(exc))}") from None
        except httpx.HTTPError as exc:
            said = f" after {len(''.join(parts))} characters" if parts else ""
            raise BackendFailed(
                f"{url} broke off the answer{said}: {_short(str(exc)) or type(exc).__name__}"
            ) from None
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise BackendFailed(f"unreadable answer from {url}: {_short(str(exc))}") from None
        return "".join(parts)


# A story update's text or name may be this much longer than the message (quotes,
# escapes); a longer one cannot be the creator's words (structured.check), so the answer
# is given up at once instead of waiting for a small model that copies and rambles on
# until max_tokens (minutes on a loaded machine).
OVERLONG_MARGIN = 40


class _Prose:
    """The reply text read out of the streamed answer, blanks at its start dropped,
    each new piece given to ``on_chunk``; :class:`Unusable` as soon as a string inside
    ``storyUpdates`` outgrows ``limit`` (closing the stream stops the generation)."""

    def __init__(self, on_chunk: Callable[[str], None] | None, limit: int) -> None:
        self.reader = ReplyReader()
        self.on_chunk = on_chunk
        self.limit = limit
        self.text = ""
        self.sent = 0  # how much of the text went to on_chunk

    def feed(self, piece: str) -> None:
        text = self.reader.feed(piece)
        if self.reader.deep > self.limit:
            raise Unusable(
                f"the model's story update outgrew the message ({self.reader.deep} "
                "characters): the answer was given up"
            )
        if not self.text:
            text = text.lstrip()
        if not text:
            return
        self.text += text
        # nothing goes out before a word: a reply that is only "{" is no prose
        if self.on_chunk is not None and any(ch.isalnum() for ch in self.text):
            self.on_chunk(self.text[self.sent :])
            self.sent = len(self.text)

    def prose(self) -> str:
        return _said(self.text)


def _said(text: str) -> str:
    """The model's prose, or nothing when it holds no word (a lone "{")."""
    text = text.strip()
    return text if any(ch.isalnum() for ch in text) else ""


class HTTPStatusFailed(BackendFailed):
    """The endpoint answered with an HTTP error status."""

    def __init__(self, status: int, message: str, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body

    @property
    def refuses_format(self) -> bool:
        """Does the error say the request's ``response_format`` is refused? HTTP 400 or
        422, or any error naming it (llama-cpp-python's server answers its validation
        error about ``json_schema`` with HTTP 500)."""
        return self.status in (400, 422) or "response_format" in self.body


def _sse_content(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        event = json.loads(data)
        if event.get("error"):
            raise BackendFailed(f"the backend reported an error: {_short(str(event['error']))}")
        for choice in event.get("choices", []):
            piece = (choice.get("delta") or {}).get("content")
            if piece:
                yield piece


def _message_content(data: dict[str, Any]) -> str:
    return str(data["choices"][0]["message"]["content"])


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
