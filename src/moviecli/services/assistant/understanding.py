"""What a chat message is, before anything is recorded (issue 12, item 1).

Every message is exactly one of:

- ``command``: a slash command (``/help``, ``/story``…); it never reaches the story;
- ``choice``: only a number (the choice shown with that number), only a step id or step
  title, or only the title of a choice shown last;
- ``question``: ends with ``?`` or starts like a question ("what does…", "how do i…",
  "can I…") or a request for help ("help", "explain…", "tell me…", "show me…");
- ``smalltalk``: greetings, thanks, ok/yes/no and other messages with no story content;
- ``story``: everything else: story material, the only intent that is recorded.

Pure functions over the text and the choices shown last; the built-in path and the model's
path both end in the same :class:`Understanding`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from moviecli.enums import CHOICE_IDS
from moviecli.services.story import FieldName, StoryUpdate
from moviecli.services.workflow import STEPS
from moviecli.text import fold

Intent = Literal["command", "choice", "question", "smalltalk", "story"]
INTENTS: tuple[Intent, ...] = ("command", "choice", "question", "smalltalk", "story")

# The slash commands of the REPL and line mode (also accepted by -m), with what they do.
SLASH_COMMANDS: dict[str, str] = {
    "help": "this help",
    "choices": "show the choices again",
    "progress": "the phase checklist",
    "story": "what the story holds so far",
    "undo": "undo the latest change to the story",
    "history": "the last N messages (default 10)",
    "attach": "attach a file (T: its media type; inferred otherwise)",
    "override": "manual override: your own direction",
    "pause": "pause the session and leave",
    "quit": "leave (the session is paused)",
}
COMMAND_USAGE = {
    "history": "/history [N]",
    "attach": "/attach FILE [T]",
    "override": "/override TEXT",
}
COMMAND_ALIASES = {"h": "help", "?": "help", "exit": "quit", "q": "quit"}


def _vocabulary(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_NUMBER = re.compile(
    r"^\s*(?:#|no\.?\s*|number\s+|option\s+|choice\s+)?(\d{1,9})\s*[.)]?\s*$", re.I
)
_SENTENCE_END = re.compile(r"[.!?…]+(?:\s+|$)")

# Words that open a question: wh-words on their own, auxiliaries followed by a subject.
_WH_ALONE = {"what", "whats", "what's", "how", "hows", "how's", "which", "why", "whys"}
_WH_AUX = {"who", "whos", "who's", "when", "where", "wheres", "where's", "whom", "whose"}
_AUX = {
    "can", "could", "should", "would", "will", "do", "does", "did", "is", "are", "am",
    "was", "were", "may", "might", "shall", "have", "has", "cant", "can't", "isnt",
    "isn't", "dont", "don't", "doesnt", "doesn't", "shouldnt", "shouldn't", "wont",
    "won't", "arent", "aren't",
}  # fmt: skip
_SUBJECTS = {
    "i", "we", "you", "u", "it", "this", "that", "these", "those", "there", "my", "our",
    "the", "a", "an", "one", "he", "she", "they", "me", "next", "now", "left", "missing",
    "i'm", "im", "it's", "its",
}  # fmt: skip
# Auxiliaries that open a short question whatever follows ("do storyboards count"); the
# others need a subject ("will do" and "was a cop" are not questions).
_LOOSE_AUX = {"do", "does", "did", "can", "could", "should", "would", "is", "are", "am"}
_REQUESTS = (
    "help", "explain", "tell me", "show me", "remind me", "list my", "give me",
    "i need help", "i'm stuck", "im stuck", "any tips", "any ideas", "not sure what",
    "not sure how", "i don't know what", "i dont know what", "i don't know how",
    "i dont know how",
)  # fmt: skip
_PERSONS = {"i", "we", "you", "u", "my", "our", "me"}
# Words with no story content: greetings, thanks, acknowledgements, fillers, farewells.
_SMALLTALK = _vocabulary(
    """hi hello hey heya hiya yo howdy hallo hola greetings morning good evening afternoon
    night there again all everyone thanks thank you thx ty tysm tyvm cheers much so a lot
    very ok okay okey k kk cool great nice perfect awesome amazing excellent wonderful
    brilliant lovely super yes yeah yea yep yup ya no nope nah sure thing fine alright
    right got it sounds sound works gotcha understood noted lol haha hehe lmao hmm hm
    hmmm uh um uhm er wow yay woo woohoo bye goodbye later see cya brb one sec second
    moment wait let me think thinking idk dunno not yet will do done for the help
    appreciated appreciate that's thats it's fair enough indeed agreed deal please pls
    plz then nvm np nm ikr omg oh ah ahh aha ooh oops sorry"""
)
# Leading words that do not change what the rest of a message is ("hey, what do I do").
_OPENERS = {
    "hi", "hello", "hey", "heya", "hiya", "yo", "ok", "okay", "so", "sorry", "um", "uh",
    "hmm", "well", "oh", "and", "but", "also", "quick", "question", "pls", "please",
}  # fmt: skip
_MAX_SMALLTALK_WORDS = 8
_MAX_QUESTION_WORDS = 15


def words(text: str) -> list[str]:
    """The words of ``text``, folded (``moviecli.text.fold``), apostrophes kept."""
    return [w.replace("\u2019", "'") for w in _WORD.findall(fold(text))]


_REPEATS = re.compile(r"(.)\1+")


def _smalltalk_word(word: str) -> str | None:
    """The small-talk word ``word`` is, also typed long ("hiii", "thxxx", "cooool")."""
    if word in _SMALLTALK:
        return word
    for short in (_REPEATS.sub(r"\1", word), _REPEATS.sub(r"\1\1", word)):
        if short in _SMALLTALK:
            return short
    return None


def smalltalk_words(text: str) -> set[str]:
    """The small-talk words of ``text``, as the vocabulary spells them."""
    return {w for w in map(_smalltalk_word, words(text)) if w is not None}


def _key(text: str) -> str:
    """A step id, step title or choice title as typed, without case, spaces or marks."""
    return "".join(ch for ch in fold(text) if ch.isalnum())


def command_name(text: str) -> str | None:
    """The name of the slash command ``text`` is (aliases resolved), else None."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return None
    name = stripped[1:].split(maxsplit=1)[0] if stripped[1:].strip() else ""
    name = fold(name)
    return COMMAND_ALIASES.get(name, name)


def choice_number(text: str) -> int | None:
    """The number a message that is only a number picks ("2", " 2. ", "#2", "option 2")."""
    match = _NUMBER.match(text)
    return int(match.group(1)) if match else None


def choice_named(text: str, shown: Sequence[Mapping[str, Any]] = ()) -> str | None:
    """The choice id a message that is only a step id, a step title or the title of a
    choice shown last names ("story_development", "Story development", "post production",
    "Complete the workflow"), else None."""
    key = _key(text)
    if not key or len(key) > 60:
        return None
    for choice in shown:
        if _key(str(choice.get("title", ""))) == key or _key(str(choice.get("id", ""))) == key:
            return str(choice["id"])
    for choice_id in CHOICE_IDS:
        if _key(choice_id) == key:
            return choice_id
        step = STEPS.get(choice_id)
        if step is not None and _key(step.title) == key:
            return choice_id
    return None


def has_label(text: str) -> bool:
    """Does a line of ``text`` start with a story label (``Concept:``, ``Character Mia:``…)?"""
    return any(_LABEL.match(line) for line in text.splitlines())


_LABEL = re.compile(
    r"^\s*(?:[-*•]\s*)?(?:concept|logline|synopsis|characters?|scenes?)\b[^:\n]{0,80}:",
    re.I,
)


def is_question(text: str) -> bool:
    """Ends with ``?`` or starts like a question or a request for help (one line, short,
    no label). "What if the moon was a prison?" is a pitch, not a question; "what if I
    skip it?" is one."""
    stripped = text.strip()
    if "\n" in stripped or has_label(stripped):
        return False
    found = words(stripped)
    if not found:
        return stripped.strip("?!. ") == "" and "?" in stripped
    while len(found) > 1 and found[0] in _OPENERS:
        found = found[1:]
    if found[:2] in (["what", "if"], ["how", "about"]) and (
        len(found) < 3 or found[2] not in _PERSONS
    ):
        return False  # a pitch: "What if the moon was a prison?", "how about a western"
    if stripped.rstrip(" )]*_~!").endswith("?"):
        return True
    lowered = " ".join(found)
    if any(lowered == r or lowered.startswith(r + " ") for r in _REQUESTS):
        return len(found) <= _MAX_QUESTION_WORDS * 2
    if len(found) > _MAX_QUESTION_WORDS or ":" in stripped or _sentences(stripped) > 1:
        return False
    first, second = found[0], found[1] if len(found) > 1 else ""
    if first in _WH_ALONE:
        return True
    if first in _WH_AUX:  # "when do I…", not "When the vault opens…"
        return second in _AUX or second in _PERSONS
    if first in _LOOSE_AUX:
        return len(found) > 1 and second not in _AUX
    return first in _AUX and second in _SUBJECTS


def _sentences(text: str) -> int:
    return len([s for s in _SENTENCE_END.split(text.strip()) if s.strip()])


def is_smalltalk(text: str) -> bool:
    """Greetings, thanks, ok/yes/no, fillers: a few words, none of them story content
    (a message of emoji or punctuation only is small talk too)."""
    found = words(text)
    if len(found) > _MAX_SMALLTALK_WORDS:
        return False
    return all(_smalltalk_word(w) is not None for w in found)


def classify(text: str, shown: Sequence[Mapping[str, Any]] = ()) -> Intent:
    """The intent of a message, given the choices shown last (their ids and titles)."""
    if text.strip().startswith("/"):
        return "command"
    if choice_number(text) is not None or choice_named(text, shown) is not None:
        return "choice"
    if is_question(text):
        return "question"
    if is_smalltalk(text):
        return "smalltalk"
    return "story"


# --- story material: labels, items, the current step's field -----------------------------------

_BULLET = re.compile(r"^\s*(?:[-*•·‣◦\u2013\u2014>]+\s+|\(?\d{1,3}[.)]\s+|#{1,6}\s+)")
_TEXT_LABEL = re.compile(r"^(concept|logline|log line|synopsis|summary)\s*:\s*(.*)$", re.I | re.S)
_ITEM_LABEL = re.compile(
    r"^(characters?|cast|scenes?)\b(?:\s+([^:\n]{1,200}?))?\s*:\s*(.*)$", re.I | re.S
)
_HEADER = re.compile(r"^(?:the\s+)?(?:\d+\s+)?(?:more|new(?:\s+ones?)?|others?)\s*:\s*(.*)$", re.I)
# "Name: description" and "Name - description" (a spaced dash of any kind).
_PAIR = re.compile(r"^([^:\n]{1,200}?)\s*(?::|\s[-\u2013\u2014]{1,2}\s)\s*(.*)$", re.S)
_PAREN = re.compile(r"^(.*?)\s*\(([^()]{1,40})\)\s*$")
_CONNECTIVES = {"also", "and", "plus", "oh", "ok", "okay", "so", "then"}
# Labels that are notes about the step, not names ("Tone: dark" in character_creation).
_NOT_NAMES = _vocabulary(
    """note notes tone style mood setting theme themes look vibe genre idea ideas todo
    ps p.s age role roles format title working title logline concept synopsis summary
    episode episodes season arc arcs development list design designs count work
    description descriptions details scenes characters cast"""
)
_MAX_NAME_WORDS = {"character": 6, "scene": 10}
_FIELD_OF_LABEL = {"log line": "logline", "summary": "synopsis"}
_TEXT_FIELDS: dict[str, FieldName] = {
    "concept": "concept",
    "logline": "logline",
    "synopsis": "synopsis",
}
_ITEM_FIELD = {"character": "character", "characters": "character", "cast": "character"}
_DEFAULT_ITEM = {"character_creation": "character", "scene_production": "scene"}


@dataclass
class _Reader:
    """Reads a message line by line into updates (see :func:`material`)."""

    step: str
    updates: list[StoryUpdate]
    ignored: list[str]
    block: list[str]  # lines of the open text block
    block_field: str | None = None  # its field; None: the step's own field
    mode: str | None = None  # "character" | "scene" after a "Characters:" header

    def flush(self) -> None:
        text = "\n".join(self.block).strip()
        self.block = []
        field = self.block_field
        self.block_field = None
        if not text:
            if field is not None:
                self.ignored.append(f"'{field.capitalize()}:' with nothing after it")
            return
        if field is not None:
            self.updates.append(StoryUpdate(_TEXT_FIELDS[field], "set", text))
        elif self.step == "initial_concept":
            self.updates.append(StoryUpdate("concept", "extend", text))
        elif self.step == "story_development":
            self.updates.append(StoryUpdate("synopsis", "extend", text))
        else:
            self.updates.append(StoryUpdate("direction", "extend", text, step=self.step))

    def line(self, raw: str) -> None:
        if not raw.strip():
            if self.block:
                self.block.append("")
            return
        text = _BULLET.sub("", raw, count=1).strip()
        label = _TEXT_LABEL.match(text)
        if label:
            self.flush()
            name = label.group(1).lower()
            self.block_field = _FIELD_OF_LABEL.get(name, name)
            self.block = [label.group(2)]
            self.mode = None
            return
        item = _ITEM_LABEL.match(text)
        if item and self._labelled_items(item):
            return
        header = _HEADER.match(text)
        kind = self.mode or _DEFAULT_ITEM.get(self.step)
        if header and kind:
            self.flush()
            self.mode = kind
            if header.group(1).strip():
                self._items(header.group(1), kind)
            return
        if kind and self.block_field is None and self._items(text, kind):
            return
        if self.block_field is None and self.block and self.mode is None:
            self.block.append(raw.rstrip())
            return
        if not self.block:
            self.flush()
        self.block.append(raw.rstrip())

    def _labelled_items(self, item: re.Match[str]) -> bool:
        """``Character NAME: …``, ``Scene TITLE: …``, or a ``Characters:`` line (alone,
        or followed by items); False when it is none of them ("Character arc: …")."""
        label, name, rest = item.group(1).lower(), item.group(2), item.group(3)
        kind = _ITEM_FIELD.get(label, "scene")
        if name:  # "Character Mia: …", "Scene 1: …"
            title = _clean_name(name)
            if kind == "scene" and title.isdigit():
                title = f"Scene {title}"
            if fold(title) in _NOT_NAMES or len(title.split()) > _MAX_NAME_WORDS[kind]:
                return False
            self.flush()
            self.mode = None
            self._add(kind, title, rest)
            return True
        if rest.strip():  # "Characters: Mia: …; Rex: …"
            self.mode = kind
            if self._items(rest, kind):
                return True
            self.mode = None
            return False
        self.flush()
        self.mode = kind  # "Characters:" alone: the lines that follow are characters
        return True

    def _items(self, text: str, kind: str) -> bool:
        """``Name: description`` items split on ';'; False (nothing taken) when the text
        does not start with one."""
        parts = [p.strip() for p in text.split(";")]
        first = _pair(parts[0], kind)
        if first is None:
            return False
        self.flush()
        taken: list[tuple[str, str]] = [first]
        for part in parts[1:]:
            if not part:
                continue
            pair = _pair(part, kind)
            if pair is None:  # "Mia: a thief; she never lands": still Mia's description
                name, description = taken[-1]
                taken[-1] = (name, f"{description}; {part}" if description else part)
            else:
                taken.append(pair)
        for name, description in taken:
            self._add(kind, name, description)
        return True

    def _add(self, kind: str, name: str, description: str) -> None:
        cleaned = _clean_name(name)
        if not cleaned:
            self.ignored.append(f"a {kind} without a name")
            return
        field: FieldName = "character" if kind == "character" else "scene"
        self.updates.append(StoryUpdate(field, "set", description.strip(), name=cleaned))


def _clean_name(name: str) -> str:
    name = name.strip().strip("*_\"'`\u201c\u201d\u2018\u2019").strip()
    found = name.split()
    while found and fold(found[0]) in _CONNECTIVES and len(found) > 1:
        found = found[1:]
    return " ".join(found)


def _pair(text: str, kind: str) -> tuple[str, str] | None:
    """(name, description) when ``text`` is ``Name: description`` (or ``Name - …``) and
    the name looks like one: a few words, not a note such as ``Tone:``."""
    match = _PAIR.match(_BULLET.sub("", text, count=1).strip())
    if not match:
        return None
    name, description = _clean_name(match.group(1)), match.group(2).strip()
    paren = _PAREN.match(name)
    if paren and paren.group(1).strip():  # "Sam (12): the kid" → Sam, "(12) the kid"
        name = paren.group(1).strip()
        description = f"({paren.group(2).strip()}) {description}".strip()
    found = name.split()
    if not found or len(found) > _MAX_NAME_WORDS[kind] or fold(name) in _NOT_NAMES:
        return None
    if name[-1] in ".!?," or any(ch in name for ch in "{}[]<>|"):
        return None
    return name, description


def _drop_opener(text: str) -> str:
    """A message that opens with small talk ("hi! my idea is…", "thanks! also Ada: the
    cop", "no, make it darker") without it."""
    match = re.match(r"^\s*([^\n.!?,;:]{1,40})[.!?,;:]+\s+(?=\S)", text)
    if match and is_smalltalk(match.group(1)) and words(match.group(1)):
        return text[match.end() :]
    return text


def material(text: str, step: str) -> tuple[list[StoryUpdate], list[str]]:
    """The story changes a message of story material asks for, and what was ignored.

    - ``Concept:``, ``Logline:``, ``Synopsis:`` set that field (the lines after the label
      belong to it until the next label); ``Character NAME: …`` and ``Scene TITLE: …``
      set that character or scene; all of them in any step;
    - in character_creation ``NAME: …`` is a character, in scene_production ``TITLE: …``
      a scene (also after a ``Characters:`` / ``Scenes:`` line in any step); items split
      on new lines and on ``;``, so "Mia: a thief; Rex: her brother" is two;
    - anything else extends the current step's field: the concept in initial_concept, the
      synopsis (a paragraph) in story_development, a direction in the other steps.
    """
    reader = _Reader(step, [], [], [])
    for raw in _drop_opener(text).strip().splitlines():
        reader.line(raw)
    reader.flush()
    return reader.updates, reader.ignored


@dataclass(frozen=True)
class Understanding:
    """What a message is and what it asks of the story (the built-in understanding and
    the model's both end here; the story service checks the updates before any write)."""

    intent: Intent | None  # None: no message (a choice or files alone)
    text: str = ""
    updates: tuple[StoryUpdate, ...] = ()
    ignored: tuple[str, ...] = ()  # what was not recorded, and why
    choice: str | None = None  # the choice id a choice message names
    number: int | None = None  # the number a choice message gave
    command: str | None = None  # a command's name

    @property
    def records(self) -> bool:
        return bool(self.updates)


def understand(text: str, *, step: str, shown: Sequence[Mapping[str, Any]] = ()) -> Understanding:
    """The built-in understanding of a message sent in ``step``, given the choices shown
    last: its intent, and for story material the updates it asks for."""
    if not text.strip():
        return Understanding(None)
    intent = classify(text, shown)
    if intent == "command":
        return Understanding(intent, text, command=command_name(text))
    if intent == "choice":
        number = choice_number(text)
        named = None if number is not None else choice_named(text, shown)
        return Understanding(intent, text, choice=named, number=number)
    if intent != "story":
        return Understanding(intent, text)
    updates, ignored = material(text, step)
    return Understanding(intent, text, tuple(updates), tuple(ignored))
