"""Forgiving names, in one place: enumerated values matched whatever their case, and
"did you mean" for a name that matches nothing.

Values are compared by their folded key (:func:`moviecli.text.fold`, with ``_``, ``-`` and
spaces taken as one), so ``--genre Sci-Fi`` is ``sci-fi`` and ``--type concept-art`` is
``concept_art``. Suggestions come from :func:`difflib.get_close_matches` over the same keys.
Callers pass only names the actor may see: a suggestion must never leak one.

Only the standard library here: the CLI uses this before the database stack is loaded.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from moviecli.text import fold

_SEPARATORS = re.compile(r"[\s_-]+")
CUTOFF = 0.8  # difflib's ratio a suggestion needs (typos score above; shared domains not)
NEARLY = 0.1  # others are suggested with the best when this close to it


def key(value: str) -> str:
    """The key two names are compared by: folded, separators as one ``-``, trimmed."""
    return _SEPARATORS.sub("-", fold(value).strip())


def canonical(value: str, allowed: Iterable[str]) -> str | None:
    """The allowed value ``value`` names whatever its case (None when none does)."""
    wanted = key(value)
    for candidate in allowed:
        if key(candidate) == wanted:
            return candidate
    return None


def closest(value: str, candidates: Iterable[str], *, n: int = 3) -> list[str]:
    """Up to ``n`` candidates closest to ``value``, best first."""
    by_key: dict[str, str] = {}
    for candidate in candidates:
        by_key.setdefault(key(candidate), candidate)
    wanted = key(value)
    scored = []
    for candidate in by_key:
        matcher = difflib.SequenceMatcher(None, wanted, candidate)
        if matcher.real_quick_ratio() >= CUTOFF and matcher.quick_ratio() >= CUTOFF:
            ratio = matcher.ratio()
            if ratio >= CUTOFF:
                scored.append((ratio, candidate))
    scored.sort(key=lambda pair: -pair[0])
    # the best, and those nearly as close (not every key that shares a few letters)
    matches = [c for r, c in scored[:n] if r >= scored[0][0] - NEARLY]
    if not matches:  # a prefix is a good guess too ("sci" → "sci-fi")
        matches = [k for k in by_key if wanted and k.startswith(wanted)][:n]
    return [by_key[m] for m in matches]


def did_you_mean(value: str, candidates: Iterable[str]) -> str | None:
    """``did you mean 'a' or 'b'?`` for the closest candidates, or None."""
    found = closest(value, candidates)
    if not found:
        return None
    quoted = [repr(f) for f in found]
    listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f"did you mean {listed}?"


def not_one_of(value: object, allowed: Iterable[str]) -> str:
    """The problem with an enumerated value: the allowed ones, and the closest."""
    allowed = list(allowed)
    message = f"{value!r} is not one of: {', '.join(allowed)}"
    guess = did_you_mean(value, allowed) if isinstance(value, str) else None
    return f"{message} ({guess})" if guess else message


def pick(value: str, allowed: Iterable[str], field: str, problems: dict[str, str]) -> str:
    """``value`` as the allowed value it names; when it names none, the problem is
    recorded under ``field`` and ``value`` comes back as given."""
    allowed = list(allowed)
    found = canonical(value, allowed)
    if found is None:
        problems[field] = not_one_of(value, allowed)
        return value
    return found
