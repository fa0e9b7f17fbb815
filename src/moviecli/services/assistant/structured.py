"""The model's understanding of a message (issue 12 item 6): the structure it is asked for,
the reply read out of it while it streams, and the rules that decide what a turn records
from it.

With ``chat.backend = "openai"`` the model answers one JSON object,
``{intent, reply, storyUpdates}``, constrained by :data:`SCHEMA` through the endpoint's
structured output (``response_format``). One streamed request does both jobs: the
``reply`` string is read out of the JSON as it arrives (:class:`ReplyReader`), so the
creator sees the prose at once; the rest is read when the answer is complete
(:func:`parse`). A second request for the structure after a prose reply would double a
turn's latency (4-6 s through a small local model), so the reply is not streamed first
and structured after.

:func:`decide` says which understanding a turn records from; the model never decides
alone (see its docstring).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moviecli.errors import MovieCliError
from moviecli.services import story as story_service
from moviecli.services.assistant.understanding import Understanding
from moviecli.services.story import StoryUpdate
from moviecli.text import fold

MODEL_INTENTS = ("story", "question", "smalltalk")
FIELDS = ("concept", "logline", "synopsis", "character", "scene", "direction")

# No maxLength/minLength/maxItems: llama.cpp turns a schema into a grammar, and length
# bounds made that grammar fail before. Every property is required and no other is
# allowed, as OpenAI's strict mode wants; "name" is "" where it does not apply.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "intent": {"type": "string", "enum": list(MODEL_INTENTS)},
        "reply": {"type": "string"},
        "storyUpdates": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "enum": list(FIELDS)},
                    "op": {"type": "string", "enum": ["set", "extend", "remove"]},
                    "name": {"type": "string"},
                    "text": {"type": "string"},
                },
                "required": ["field", "op", "name", "text"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["intent", "reply", "storyUpdates"],
    "additionalProperties": False,
}


def response_formats() -> list[dict[str, Any]]:
    """The ``response_format`` values to try, in order: OpenAI's ``json_schema`` (OpenAI,
    Ollama, vLLM, llama.cpp's llama-server), then ``json_object`` with a ``schema``
    (llama-cpp-python's server, which refuses ``json_schema`` with an HTTP 500 naming
    ``response_format``)."""
    return [
        {
            "type": "json_schema",
            "json_schema": {"name": "turn", "schema": SCHEMA, "strict": True},
        },
        {"type": "json_object", "schema": SCHEMA},
    ]


INSTRUCTIONS = (
    "Answer with one JSON object: "
    '{"intent": "story" | "question" | "smalltalk", "reply": "...", "storyUpdates": [...]}. '
    "intent: story when the message gives story material (premise, plot, characters, "
    "scenes, directions), question when it asks something, smalltalk otherwise. "
    "reply: one to three sentences to the creator; do not list what was recorded, the "
    "engine says it after your reply. storyUpdates: only for story material, else []; "
    'each {"field": "concept" | "logline" | "synopsis" | "character" | "scene" | '
    '"direction", "op": "set" | "extend" | "remove", "name": the character\'s name or the '
    'scene\'s title ("" for other fields), "text": the creator\'s own words, copied '
    "exactly}. engineReading in the facts is how the engine reads the message: keep it "
    "unless it is wrong."
)


class ReplyReader:
    """The ``reply`` string of a JSON object read as the object streams in: :meth:`feed`
    returns the reply text each piece completes (escapes decoded), so the prose reaches the
    terminal as the model writes it. An answer that does not start with ``{`` is prose (an
    endpoint that ignored the structure): it is passed through as it is."""

    def __init__(self) -> None:
        self.mode: str | None = None  # "json" | "prose", after the first non-blank character
        self.depth = 0
        self.in_string = False
        self.escape = ""  # an escape sequence not complete yet ("\\", "\\u00")
        self.string = ""  # the string being read (a key, or a value at depth 1)
        self.deep = 0  # characters of the string being read inside storyUpdates
        self.key: str | None = None  # the last key read at depth 1
        self.expect_key = False
        self.in_reply = False
        self.reply_done = False
        self.surrogate = ""

    def feed(self, piece: str) -> str:
        out: list[str] = []
        for ch in piece:
            if self.mode is None:
                if ch.isspace():
                    continue
                self.mode = "json" if ch == "{" else "prose"
            if self.mode == "prose":
                out.append(ch)
            else:
                self._char(ch, out)
        return "".join(out)

    def _char(self, ch: str, out: list[str]) -> None:
        if self.in_string:
            self._string_char(ch, out)
            return
        if ch == '"':
            self.in_string = True
            self.string = ""
            self.deep = 0
            self.in_reply = (
                self.depth == 1 and not self.expect_key and self.key == "reply"
            ) and not self.reply_done
        elif ch in "{[":
            self.depth += 1
            self.expect_key = ch == "{" and self.depth == 1
        elif ch in "}]":
            self.depth -= 1
        elif ch == "," and self.depth == 1:
            self.expect_key = True
        elif ch == ":" and self.depth == 1:
            self.expect_key = False

    def _string_char(self, ch: str, out: list[str]) -> None:
        if self.escape:
            self.escape += ch
            text = self._escaped()
            if text is None:
                return
            self.escape = ""
            self._take(text, out)
            return
        if ch == "\\":
            self.escape = ch
        elif ch == '"':
            self.in_string = False
            if self.in_reply:
                self.in_reply, self.reply_done = False, True
            elif self.depth == 1 and self.expect_key:
                self.key = self.string
        else:
            self._take(ch, out)

    def _escaped(self) -> str | None:
        """The text of the escape held, or None while it is not complete."""
        simple = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r"}
        simple["t"] = "\t"
        kind = self.escape[1]
        if kind != "u":
            return simple.get(kind, kind)
        if len(self.escape) < 6:
            return None
        try:
            code = int(self.escape[2:6], 16)
        except ValueError:
            return ""
        if 0xD800 <= code < 0xDC00:  # the first half of a pair: wait for the second
            self.surrogate = chr(code)
            return ""
        if 0xDC00 <= code < 0xE000 and self.surrogate:
            pair = (self.surrogate + chr(code)).encode("utf-16", "surrogatepass")
            self.surrogate = ""
            return pair.decode("utf-16")
        return chr(code)

    def _take(self, text: str, out: list[str]) -> None:
        if self.depth > 1:
            self.deep += len(text)
        if self.in_reply:
            out.append(text)
        elif self.depth == 1 and self.expect_key:
            self.string += text


class Unusable(Exception):
    """The model's answer has no usable structure (the message says why)."""


@dataclass(frozen=True)
class Reading:
    """What the model said a message is and asks of the story (not checked yet)."""

    intent: str
    reply: str
    updates: tuple[StoryUpdate, ...]


def parse(answer: str, step: str) -> Reading:
    """The model's JSON answer as a :class:`Reading`; :class:`Unusable` when it is not the
    object :data:`SCHEMA` describes (cut short, prose, a wrong type, an unknown value)."""
    stripped = answer.strip()
    if not stripped.startswith("{"):
        raise Unusable("the model answered prose, not the JSON structure")
    try:
        data = json.loads(stripped)
    except ValueError as exc:
        cut = " (cut short: raise chat.max_tokens?)" if "Unterminated" in str(exc) else ""
        raise Unusable(f"the model's JSON is not valid: {exc}{cut}") from None
    if not isinstance(data, dict):
        raise Unusable("the model's JSON is not an object")
    intent, reply, raw = data.get("intent"), data.get("reply"), data.get("storyUpdates")
    if intent not in MODEL_INTENTS:
        raise Unusable(f"the model's intent {intent!r} is not one of {', '.join(MODEL_INTENTS)}")
    if not isinstance(reply, str):
        raise Unusable("the model's reply is not a string")
    if not isinstance(raw, list):
        raise Unusable("the model's storyUpdates is not a list")
    updates = []
    for n, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise Unusable(f"story update {n} is not an object")
        field, op = item.get("field"), item.get("op")
        text, name = item.get("text", ""), item.get("name") or None
        if field not in FIELDS or op not in ("set", "extend", "remove"):
            raise Unusable(f"story update {n} has field {field!r} and op {op!r}")
        if not isinstance(text, str) or not (name is None or isinstance(name, str)):
            raise Unusable(f"story update {n}: text and name must be strings")
        if field in ("concept", "logline", "synopsis", "direction"):
            name = None
        step_of = step if field == "direction" else None
        updates.append(StoryUpdate(field, op, text, name=name, step=step_of))
    return Reading(intent, reply, tuple(updates))


def _flat(text: str) -> str:
    return " ".join(fold(text).split())


_EDGES = re.compile(r"^[\W_]+|[\W_]+$")  # quotes, punctuation, blanks at the ends


def _in_message(part: str, message: str) -> bool:
    core = _flat(_EDGES.sub("", part))
    return not core or core in _flat(message)


def check(reading: Reading, builtin: Understanding, story: dict[str, Any], at: datetime) -> None:
    """:class:`Unusable` unless the model's updates may be recorded: the story service's
    own checks (``story.check_updates`` and ``story.preview``: sizes, names, fields,
    operations, limits; the code every path records with), and three rules of the chat:

    - the model records the creator's words, not its own: every text and name is in the
      message (case, width and spacing aside; quotes and punctuation at the ends too);
    - a replacement of the concept, logline or synopsis needs the message to ask for it:
      the built-in reading of the message (a ``Concept:`` label) sets that field too.
      Otherwise a weak model replaces the concept with whatever the creator said last;
    - the model removes nothing (a character named in a message is not one to delete):
      ``story set --remove-…`` and ``/undo`` do that.
    """
    _valid, problems = story_service.check_updates(reading.updates)
    if problems:
        raise Unusable("the model's story updates are invalid: " + "; ".join(problems))
    for update in reading.updates:
        for part in (update.text, update.name or ""):
            if not _in_message(part, builtin.text):
                raise Unusable(
                    f"the model's {update.field} {story_service.quote(part, 60)} is not in "
                    "the message"
                )
        if update.op == "remove":
            what = f"{update.field} {update.name}" if update.name else f"the {update.field}"
            raise Unusable(
                f"the model would remove {what}: the chat removes nothing "
                "(moviecli story set, /undo)"
            )
        if update.field in story_service.TEXT_FIELDS and update.op == "set":
            asked = any(u.field == update.field and u.op == "set" for u in builtin.updates)
            if (story or {}).get(update.field) and not asked:
                raise Unusable(
                    f"the model would replace the {update.field}, which the message does not "
                    f"ask for ('{update.field.capitalize()}: …' does)"
                )
    try:
        story_service.preview(story, reading.updates, at=at)
    except MovieCliError as exc:
        raise Unusable(f"the model's story updates do not fit the story: {exc}") from None


@dataclass(frozen=True)
class Decision:
    """The understanding a turn records from, who gave it, and why not the model's."""

    understanding: Understanding
    by: str  # "model" | "builtin"
    fallback: str | None = None  # why the model's understanding was not taken


def decide(
    builtin: Understanding,
    reading: Reading | None,
    problem: str | None,
    story: dict[str, Any],
    at: datetime,
) -> Decision:
    """Which understanding the turn records from: the built-in one (``builtin``) or the
    model's (``reading``; ``problem`` says why there is none).

    The built-in classifier is deterministic and conservative: it says "question" or
    "small talk" only on short messages with strong marks ("hi", "thanks", "what does
    this step need?") and was measured at 97%+ on the labelled corpus; everything else is
    story material. A model, a small local one above all, is not: a 135M model called
    "hi" story material and replaced the concept with it. So:

    - a command, a choice or no message at all: the built-in reading; the engine alone
      runs commands and moves the workflow (the model is not asked for either);
    - a question or small talk by the built-in classifier: the built-in reading, nothing
      recorded, whatever the model claims ("hi" never records anything);
    - story material by the built-in classifier: the model's reading when it says story
      and its updates pass :func:`check` (it may split and route the creator's words
      better than the rules: "Mia is a thief and Rex her brother" as two characters);
      otherwise the built-in reading. A model that calls story material a question or
      small talk does not make the message's material go unrecorded.
    """
    if builtin.intent in ("question", "smalltalk"):
        noun = "a question" if builtin.intent == "question" else "small talk"
        return Decision(builtin, "builtin", f"the built-in classifier heard {noun}")
    if builtin.intent != "story":
        return Decision(builtin, "builtin")
    if reading is None:
        return Decision(builtin, "builtin", problem or "the model gave no structure")
    if reading.intent != "story":
        return Decision(
            builtin,
            "builtin",
            f"the model called story material {reading.intent}; the built-in reading records it",
        )
    if not reading.updates:
        return Decision(builtin, "builtin", "the model found nothing to record")
    try:
        check(reading, builtin, story, at)
    except Unusable as exc:
        return Decision(builtin, "builtin", str(exc))
    understood = Understanding("story", builtin.text, tuple(reading.updates))
    return Decision(understood, "model")


def engine_reading(builtin: Understanding) -> dict[str, Any]:
    """How the engine reads the message, in the schema's terms (a hint for the model)."""
    return {
        "intent": builtin.intent if builtin.intent in MODEL_INTENTS else "smalltalk",
        "storyUpdates": [
            {"field": u.field, "op": u.op, "name": u.name or "", "text": u.text}
            for u in builtin.updates
        ],
    }
