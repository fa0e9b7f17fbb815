"""How the chat writes to stdout: every line through ``text.visible``, and on a terminal
wrapped at word boundaries to its width (a streamed reply too, as it arrives), so that no
word is ever cut at the edge. Piped output is not wrapped: one line per line of text."""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from moviecli.text import visible

# A line's first word after which its continuation lines are indented: a list marker
# ("-", "1."), or a short heading ("you:", "Recommended:").
_MARKER = re.compile(r"^(?:[-*•]|\d{1,3}[.)]|[^\s:]{1,12}:)$")


def cells(text: str) -> int:
    """The width of ``text`` on a terminal (wide characters and emoji take two cells)."""
    from rich.cells import cell_len

    return int(cell_len(text))


@dataclass
class Wrapper:
    """Writes text to ``out``, breaking lines at spaces so that none is wider than
    ``width`` cells (None: no wrapping). Fed piece by piece, it gives the same lines as
    when fed the whole text at once; a word is only cut when it is wider than a line."""

    out: TextIO
    width: int | None
    col: int = 0
    indent: str = ""  # the leading spaces of the current line
    hang: str = ""  # the indent of its continuation lines
    word: str = ""
    spaces: int = 0
    at_start: bool = True
    first: bool = True

    def feed(self, text: str) -> None:
        if self.width is None:
            self.out.write(text)
            return
        for ch in text:
            if ch == "\n":
                self.end()
                self.out.write("\n")
                self.col, self.indent, self.hang, self.spaces = 0, "", "", 0
                self.at_start = self.first = True
            elif ch == " " and self.at_start:
                self.indent += ch
                self.hang = self.indent
            elif ch == " ":
                self._flush()
                self.spaces += 1
            else:
                if self.at_start:
                    self.at_start = False
                    self.out.write(self.indent)
                    self.col = len(self.indent)
                self.word += ch

    def end(self) -> None:
        """Write the word held back (the end of a reply, or of a line)."""
        if self.width is not None:
            self._flush()

    def _flush(self) -> None:
        if not self.word:
            return
        assert self.width is not None
        word, self.word = self.word, ""
        size = cells(word)
        if self.col > len(self.indent) and self.col + self.spaces + size > self.width:
            self.out.write("\n" + self.hang)
            self.col = len(self.hang)
        else:
            self.out.write(" " * self.spaces)
            self.col += self.spaces
        self.spaces = 0
        while self.col + size > self.width and size > 1:
            room = max(1, self.width - self.col)
            head = _fit(word, room)
            self.out.write(head + "\n" + self.hang)
            word = word[len(head) :]
            size = cells(word)
            self.col = len(self.hang)
        self.out.write(word)
        self.col += size
        if self.first:
            self.first = False
            if _MARKER.match(word) and self.col + 1 < self.width // 2:
                self.hang = " " * (self.col + 1)


def _fit(word: str, room: int) -> str:
    """The longest start of ``word`` that fits in ``room`` cells (at least one character)."""
    out = ""
    for ch in word:
        if cells(out + ch) > room and out:
            break
        out += ch
    return out


@dataclass
class Stream:
    """A reply written as it arrives (a backend's chunks), wrapped; then what the engine
    added after it (its own lines), or, if its final text differs from what was streamed,
    the whole reply."""

    wrapper: Wrapper
    enabled: bool
    written: list[str] = field(default_factory=list)

    def write(self, piece: str) -> None:
        if not self.enabled:
            return
        self.written.append(piece)
        self.wrapper.feed(visible(piece))
        self.wrapper.out.flush()

    def finish(self, response: str) -> None:
        """The end of the reply: what the stream did not show (the engine's own lines
        after a model's prose), or the whole reply again when it differs."""
        self.wrapper.end()
        streamed, whole = "".join(self.written).strip(), response.strip()
        if streamed == whole:
            self.wrapper.feed("\n")
        elif streamed and whole.startswith(streamed):
            self.wrapper.feed(visible(whole[len(streamed) :]) + "\n")
        else:
            if self.written:  # the engine rewrote the reply after the stream: say it all
                self.wrapper.feed("\n")
            self.wrapper.feed(visible(response) + "\n")
        self.written.clear()

    def abandon(self) -> None:
        """The turn failed mid-stream: end the line."""
        if self.written:
            self.wrapper.end()
            self.wrapper.feed("\n")
        self.written.clear()


@dataclass
class Screen:
    out: TextIO
    width: int | None

    @classmethod
    def for_stdout(cls) -> Screen:
        """Wrapped to the terminal's width when stdout is one; plain lines otherwise."""
        width = None
        if sys.stdout.isatty():
            width = max(20, shutil.get_terminal_size((80, 24)).columns)
        return cls(sys.stdout, width)

    def line(self, text: str) -> None:
        wrapper = Wrapper(self.out, self.width)
        wrapper.feed(visible(text) + "\n")

    def lines(self, lines: list[str]) -> None:
        for text in lines:
            self.line(text)

    def raw(self, text: str) -> None:
        self.lines(text.splitlines())

    def choices(self, choices: list[dict[str, Any]], *, heading: bool = True) -> None:
        if not choices:
            return
        if heading:
            self.out.write("\nChoices:\n")
        self.lines(choice_lines(choices))

    def stream(self, *, enabled: bool) -> Stream:
        return Stream(Wrapper(self.out, self.width), enabled)


def choice_lines(choices: list[dict[str, Any]], highlight: int | None = None) -> list[str]:
    lines = []
    for number, c in enumerate(choices, start=1):
        star = " ★ recommended" if c.get("isRecommended") else ""
        mark = ">" if highlight == number - 1 else " "
        lines.append(
            f" {mark}{number}. {c['icon']} {c['title']}{star} ({c['estimatedTime']}): "
            f"{c['description']}"
        )
    return lines


def message_lines(role: str, content: str, *, indent: bool) -> list[str]:
    who = {"user": "you", "assistant": "assistant", "system": "system"}.get(role, role)
    lines = content.splitlines() or [""]
    pad = "  " if indent else ""
    out = [f"{pad}{who}: {lines[0]}"]
    out.extend(f"{pad}{' ' * (len(who) + 2)}{line}" for line in lines[1:])
    return out
