"""Reading a TOML file a user names (an apply file, a template file), bounded before it is
parsed.

tomllib trusts its input: nesting 500 arrays deep raises RecursionError, and one key
of 20,000 dotted parts takes it 12 s (quadratic). So the file is checked first, in one
pass that looks only at the characters that matter (brackets, braces, dots, ``=``,
commas, quotes, comments, newlines):

- a regular file (a directory, a FIFO or a device is refused without waiting on it),
  at most ``MAX_BYTES`` (10 MiB), UTF-8;
- tables and arrays nested at most ``MAX_DEPTH`` (32) deep;
- a key (dotted, or a table header) of at most ``MAX_KEY_PARTS`` (64) parts.

Every refusal is a one-line usage error (exit 2) naming the file and the line.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

from moviecli.errors import UsageError

MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 32
MAX_KEY_PARTS = 64

# The characters the shape check stops at; everything else is skipped at C speed.
_SPECIAL = re.compile(r"""[\[\]{}=,.#"'\n]""")


# tomllib reads integers with int(), which refuses more than 4,300 digits (a ValueError)
TOO_MANY_DIGITS = "a number has over 4,300 digits"


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML document in ``path``, or a usage error naming what is wrong with it."""
    import tomllib

    text = read_text(path)
    check_shape(text, path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from exc
    except ValueError:  # tomllib's own: an integer past Python's 4,300 digits
        raise UsageError(f"{path} is not valid TOML: {TOO_MANY_DIGITS}") from None
    except RecursionError:  # within the depth checked above; kept as a safety net
        raise UsageError(f"{path} nests too deeply") from None


def read_text(path: Path, limit: int = MAX_BYTES) -> str:
    """A regular file's text, at most ``limit`` bytes of UTF-8.

    Opened without blocking, so a FIFO is refused at once instead of waiting for a
    writer; its type is checked on the open descriptor (no race with a swap)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not a file") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise UsageError(f"{path} is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(f"{path} is not a regular file (a FIFO, socket or device)")
        if info.st_size > limit:
            raise UsageError(f"{path} is {info.st_size:,} bytes, over the limit of {_mib(limit)}")
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:  # it grew since fstat
        raise UsageError(f"{path} is over the limit of {_mib(limit)}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UsageError(f"{path} is not UTF-8 text (line {line})") from None


def _mib(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MiB"


def check_shape(text: str, path: Path | str = "the file") -> None:
    """Refuse a document nested deeper than ``MAX_DEPTH`` or holding a key of more than
    ``MAX_KEY_PARTS`` parts, in one linear pass, before any parser sees it."""
    problem = shape_problem(text)
    if problem is not None:
        raise UsageError(f"{path} {problem}")


def shape_problem(text: str) -> str | None:
    """What is wrong with the shape of ``text`` (None: nothing), with its line."""
    stack: list[str] = []  # the open "[" (arrays) and "{" (inline tables)
    in_key = True  # reading a key: at the start of a line, after "{" or "," in a table
    in_header = False  # inside a [table] or [[array.of.tables]] header
    parts = 1
    line = 1
    line_start = 0  # where the current line starts
    pos = 0
    end = len(text)
    while pos < end:
        match = _SPECIAL.search(text, pos)
        if match is None:
            break
        char = match.group()
        pos = match.end()
        if char == "\n":
            line += 1
            line_start = pos
            if not stack:
                in_key, in_header, parts = True, False, 1
        elif char == "#":
            newline = text.find("\n", pos)
            pos = end if newline < 0 else newline
        elif char in "\"'":
            pos, lines = _skip_string(text, pos - 1)
            line += lines
        elif char == ".":
            if in_key or in_header:
                parts += 1
                if parts > MAX_KEY_PARTS:
                    return f"has a key of more than {MAX_KEY_PARTS} dotted parts (line {line})"
        elif char == "=":
            if in_key:
                in_key, parts = False, 1
        elif char == "[":
            if not stack and not in_header and in_key and not text[line_start : pos - 1].strip():
                in_header, parts = True, 1
                if text.startswith("[", pos):
                    pos += 1
            else:
                stack.append("[")
        elif char == "{":
            stack.append("{")
            in_key, parts = True, 1
        elif char in "]}":
            if in_header and char == "]":
                in_header = False
                if text.startswith("]", pos):
                    pos += 1
            elif stack:
                stack.pop()
        elif char == "," and stack and stack[-1] == "{":
            in_key, parts = True, 1
        if len(stack) > MAX_DEPTH:
            return f"nests tables or arrays more than {MAX_DEPTH} deep (line {line})"
    return None


def _skip_string(text: str, start: int) -> tuple[int, int]:
    """Past the string that starts at ``start``; and the newlines it holds."""
    quote = text[start]
    triple = text.startswith(quote * 3, start)
    delimiter = quote * 3 if triple else quote
    pos = start + len(delimiter)
    while True:
        found = text.find(delimiter, pos)
        if found < 0:
            return len(text), text.count("\n", start)  # unterminated: the parser says so
        if quote == '"' and _escaped(text, found, pos):
            pos = found + 1
            continue
        if not triple and "\n" in text[pos:found]:
            # A one-line string ends at the end of its line (the parser reports it).
            newline = text.index("\n", pos)
            return newline, 0
        if triple:  # up to two more quotes belong to the string: """a""""
            while text.startswith(quote, found + 3):
                found += 1
        stop = found + len(delimiter)
        return stop, text.count("\n", start, stop)


def _escaped(text: str, at: int, start: int) -> bool:
    """Whether the quote at ``at`` follows an odd number of backslashes."""
    backslashes = 0
    while at - 1 - backslashes >= start and text[at - 1 - backslashes] == "\\":
        backslashes += 1
    return backslashes % 2 == 1
