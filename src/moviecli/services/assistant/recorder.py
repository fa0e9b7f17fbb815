"""What a chat message gives the project's story record, step by step (SPEC section 5).

- initial_concept: the message is the concept (a later message replaces it);
- story_development: the message is the synopsis (later messages add paragraphs);
- character_creation: each line ``Name: description`` is one character;
- scene_production: each line ``Scene title: description`` is one scene;
- other steps: the message is noted as a direction for that step;
- a manual override's custom input is a direction, whatever the step.

Pure functions: :func:`interpret` reads the text, :meth:`Recording.apply` merges it into a
story dict (the freshest one, under the project's lock) and says what it did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from moviecli.services.workflow import STEPS

if TYPE_CHECKING:
    from moviecli.services.story import StoryUpdate

MAX_NAME = 80
_LINE = re.compile(r"^\s*(?:[-*•]\s*|\d+[.)]\s*)?([^:\n]{1,80}?)\s*:\s*(.*?)\s*$")


@dataclass(frozen=True)
class Recording:
    step: str
    concept: str | None = None
    synopsis: str | None = None
    characters: tuple[tuple[str, str], ...] = ()
    scenes: tuple[tuple[str, str], ...] = ()
    direction: str | None = None
    override: str | None = None
    unparsed: int = 0  # lines of a character/scene message that were not "X: y"

    @property
    def empty(self) -> bool:
        return not (
            self.concept
            or self.synopsis
            or self.characters
            or self.scenes
            or self.direction
            or self.override
        )

    def updates(self) -> list[StoryUpdate]:
        """This recording as the story service's updates (what chat records goes through
        ``story.record``, so that every change is a revision): the concept is set, the
        synopsis extended by a paragraph, characters and scenes set by name, directions
        (and a manual override's input) appended."""
        from moviecli.services.story import StoryUpdate

        out: list[StoryUpdate] = []
        if self.concept:
            out.append(StoryUpdate("concept", "set", self.concept))
        if self.synopsis:
            out.append(StoryUpdate("synopsis", "extend", self.synopsis))
        out += [StoryUpdate("character", "set", d, name=n) for n, d in self.characters]
        out += [StoryUpdate("scene", "set", d, name=n) for n, d in self.scenes]
        for text in (self.direction, self.override):
            if text:
                out.append(StoryUpdate("direction", "extend", text, step=self.step))
        return out

    def apply(self, story: dict[str, Any], at: datetime) -> tuple[dict[str, Any], list[str]]:
        """A new story dict with this recording merged in, and sentences saying what changed."""
        story = {
            "concept": story.get("concept"),
            "synopsis": story.get("synopsis"),
            "characters": [dict(c) for c in story.get("characters", [])],
            "scenes": [dict(s) for s in story.get("scenes", [])],
            "directions": [dict(d) for d in story.get("directions", [])],
        }
        said: list[str] = []
        if self.concept:
            verb = "Updated" if story["concept"] else "Recorded"
            story["concept"] = self.concept
            said.append(f"{verb} the concept: {_quote(self.concept)}.")
        if self.synopsis:
            if story["synopsis"]:
                story["synopsis"] = f"{story['synopsis']}\n\n{self.synopsis}"
                said.append(f"Added to the synopsis (now {_words(story['synopsis'])} words).")
            else:
                story["synopsis"] = self.synopsis
                said.append(f"Recorded the synopsis ({_words(self.synopsis)} words).")
        if self.characters:
            said.extend(_merge(story["characters"], "name", self.characters, "character"))
        if self.scenes:
            said.extend(_merge(story["scenes"], "title", self.scenes, "scene"))
        for text in (self.direction, self.override):
            if text:
                story["directions"].append(
                    {"step": self.step, "text": text, "at": at.isoformat().replace("+00:00", "Z")}
                )
        if self.direction:
            said.append(
                f"Noted as a direction for {STEPS[self.step].title}: {_quote(self.direction)}."
            )
        return story, said


def _merge(
    items: list[dict[str, Any]], key: str, new: tuple[tuple[str, str], ...], noun: str
) -> list[str]:
    """Add or update items by name (case-insensitively); sentences for what was done."""
    added: list[str] = []
    updated: list[str] = []
    index = {str(item.get(key, "")).lower(): item for item in items}
    for name, description in new:
        existing = index.get(name.lower())
        if existing is None:
            item = {key: name, "description": description}
            items.append(item)
            index[name.lower()] = item
            added.append(name)
        else:
            existing["description"] = description
            if name not in updated:
                updated.append(name)
    said = []
    if added:
        said.append(f"Recorded {_count(len(added), noun)}: {', '.join(added)}.")
    if updated:
        said.append(f"Updated {_count(len(updated), noun)}: {', '.join(updated)}.")
    return said


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _words(text: str) -> int:
    return len(text.split())


def _quote(text: str, limit: int = 160) -> str:
    one_line = " ".join(text.split())
    if len(one_line) > limit:
        one_line = one_line[: limit - 1].rstrip() + "…"
    return f'"{one_line}"'


def parse_pairs(text: str) -> tuple[list[tuple[str, str]], int]:
    """``Name: description`` lines (a leading bullet or number is allowed); and how many
    non-blank lines were something else."""
    pairs: list[tuple[str, str]] = []
    other = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _LINE.match(line)
        if match and match.group(1).strip():
            pairs.append((match.group(1).strip(), match.group(2)))
        else:
            other += 1
    return pairs, other


def interpret(step: str, text: str, *, override: str | None = None) -> Recording:
    """What ``text`` (a user message sent in ``step``) records; ``override`` is the custom
    input of a manual override."""
    text = text.strip()
    override = override.strip() if override else None
    if not text:
        return Recording(step, override=override)
    if step == "initial_concept":
        return Recording(step, concept=text, override=override)
    if step == "story_development":
        return Recording(step, synopsis=text, override=override)
    if step in ("character_creation", "scene_production"):
        pairs, other = parse_pairs(text)
        if step == "character_creation":
            return Recording(step, characters=tuple(pairs), unparsed=other, override=override)
        return Recording(step, scenes=tuple(pairs), unparsed=other, override=override)
    return Recording(step, direction=text, override=override)
