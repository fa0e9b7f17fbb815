"""The two rules for text from users, files and the database, in one place.

- :func:`fold` is the key two strings are compared by when case must not matter (emails,
  titles, character names): Unicode NFKC, then casefold, computed in Python. Never
  compare with SQL ``lower()``: SQLite's folds ASCII only ("Über" ≠ "über").
- :func:`visible` makes control characters visible before text reaches a terminal or a
  plain (piped) line of output, so a title holding ESC sequences cannot rewrite the
  screen. Tab and newline are kept; :func:`one_line` escapes newlines too. JSON output needs
  neither: the encoder escapes control characters already.
- :func:`is_utf8` tells text that can be stored from the lone surrogates Linux hands
  over for bytes that are not UTF-8 (in arguments and on stdin): no database, model or
  terminal takes those.
"""

from __future__ import annotations

import re
import unicodedata


def bracket_depth(text: str) -> int:
    """How deep ``[`` and ``{`` nest in ``text``, counted before a JSON parser sees it (a
    parser recurses: 100,000 brackets would exhaust its stack). Brackets inside strings
    count too unless the caller removed the strings first: an upper bound, and cheap."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def fold(text: str) -> str:
    """The case- and compatibility-insensitive key of ``text`` (NFKC + casefold)."""
    return unicodedata.normalize("NFKC", text).casefold()


def _escape(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# C0 controls (ESC included), DEL and the C1 controls (0x80-0x9f: CSI is 0x9b).
_CONTROLS = [*range(0x20), 0x7F, *range(0x80, 0xA0)]
_VISIBLE = {c: _escape(c) for c in _CONTROLS if c not in (0x09, 0x0A)}
_ONE_LINE = {c: _escape(c) for c in _CONTROLS if c != 0x09} | {0x0A: "\\n", 0x0D: "\\r"}


def visible(text: str) -> str:
    """``text`` with every control character but tab and newline shown as ``\\xNN``."""
    return text.translate(_VISIBLE)


def one_line(text: str) -> str:
    """``text`` fit for one line: every control character but tab escaped (newline too)."""
    return text.translate(_ONE_LINE)


def is_utf8(text: str) -> bool:
    """Whether ``text`` is valid Unicode text (no lone surrogates: bytes that were not
    UTF-8, as Python decodes them from arguments and stdin)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """The words of ``text`` (runs of letters and digits, as the full-text engines split
    them), folded, in order, once each."""
    return list(dict.fromkeys(fold(w) for w in _WORD.findall(text)))
