"""Fuzzed command lines never end in a traceback, only in a documented exit code
(SPEC sections 1 and 7).

Every command of the tree (walked from the root as click does: tests/clitree.py) is
run in-process with Hypothesis-generated arguments: its options in any order, each with a
value that is random text (any Unicode, newlines, empty, bytes that are not UTF-8), a huge
or negative number, a float that is not a number, a value that means something here (an
existing project, the admin's email, an enumeration value, a real file), or an option name
of another command; sometimes an unknown option, an extra argument, the root options, some
stdin. The actor is a logged-in admin with a project, a media file and a chat session, so
that the values can reach the services and not only the parser.

Allowed exits: 0, 2 (usage or validation), 3, 4, 5, 6. Exit 1 ("unexpected") is a bug for
any input. Paths are kept inside the test's directory (the working directory), so that a
fuzzed ``db backup`` or ``media export`` writes nowhere else.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import clitree
from tests import media_factory as mf

ALLOWED = {0, 2, 3, 4, 5, 6}
EXAMPLES = 10  # per command: about a minute for the whole tree


def _tree() -> tuple[Any, list[tuple[list[str], Any]]]:
    root = clitree.root()
    return root, list(clitree.walk(root))


ROOT, COMMANDS = _tree()
ALL_OPTIONS = sorted(
    {opt for _, cmd in COMMANDS for p in cmd.params for opt in getattr(p, "opts", [])} - {"help"}
)
ALL_OPTIONS = [o for o in ALL_OPTIONS if o.startswith("-")]


def _safe(text: str) -> str:
    """No absolute, home or parent paths: fuzzed output files stay in the test directory."""
    text = text.replace("\x00", "").replace("../", "")
    return "./" + text if text[:1] in ("/", "~") else text


NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 1, 50, 51, 200, 201, 2**31, 2**63, 10**400]),
).map(str)
FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e309", "-0", "0x10", "1_000", "½"]),
)
TEXT = st.one_of(
    st.text(max_size=40),
    # what Linux hands over for bytes that are not UTF-8: lone surrogates
    st.binary(max_size=12).map(lambda b: b.decode("utf-8", "surrogateescape")),
).map(_safe)
ODD = st.sampled_from(["", " ", "\n", "\t", "-", "--", "'", '"', "%s", "{}", "\\", "é", "😀"])


@pytest.fixture
def world(
    cli: Callable[..., Any], admin: Any, database: Any, tmp_path: Path, monkeypatch: Any
) -> dict[str, Any]:
    """A project with a media file and a chat session, the admin logged in; cwd in tmp."""
    from moviecli.services import auth

    monkeypatch.chdir(tmp_path)
    project = cli(
        "project", "create", "Fuzz Film", "--genre", "drama", "--episodes", "3", "--json"
    )
    assert project.exit_code == 0, project.stderr
    image = mf.png(tmp_path / "still.png", seed=7)
    added = cli("media", "add", "Fuzz Film", str(image), "--type", "concept_art", "--json")
    assert added.exit_code == 0, added.stderr
    turn = cli("chat", "Fuzz Film", "-m", "A heist on the moon", "--json")
    assert turn.exit_code == 0, turn.stderr
    (tmp_path / "folder").mkdir()
    (tmp_path / "apply.toml").write_text('[[project]]\ntitle = "Applied"\ngenre = "drama"\n')

    def relogin() -> None:
        # a fuzzed logout or passwd must not leave the next example logged out
        with database.write() as session:
            from moviecli.models import User

            user = session.get(User, admin.id)
            monkeypatch.setenv("MOVIECLI_TOKEN", auth.issue_token(session, user))

    return {
        "project": project.json(),
        "media": added.json()[0],
        "session": turn.json()["sessionId"],
        "relogin": relogin,
    }


def _meaningful(world: dict[str, Any]) -> st.SearchStrategy[str]:
    from moviecli.enums import GENRES, MEDIA_FAMILIES

    return st.sampled_from(
        [
            "Fuzz Film",
            world["project"]["id"],
            world["project"]["id"][:4],
            world["media"]["id"][:6],
            world["session"],
            world["session"][:5],
            "admin@example.com",
            "ADMIN@example.com",
            "still.png",
            "folder",
            "apply.toml",
            "missing.png",
            "user",
            "producer",
            "admin",
            "free",
            "pro",
            "enterprise",
            "active",
            "archived",
            "paused",
            "completed",
            "production",
            "on-hold",
            "story_development",
            "manual_override",
            "16:9",
            "premium",
            "toml",
            "json",
            "title",
            "progress",
            "project",
            "media",
            "database.url",
            "media.store",
            "chat.backend",
            "defaultGenre",
            "currentProject",
            *GENRES,
            *MEDIA_FAMILIES,
        ]
    )


@st.composite
def command_lines(draw: Any, path: list[str], command: Any, world: dict[str, Any]) -> list[str]:
    value = st.one_of(TEXT, NUMBERS, FLOATS, ODD, _meaningful(world), st.sampled_from(ALL_OPTIONS))
    groups: list[list[str]] = []
    positionals: list[str] = []
    for param in command.params:
        if param.name == "help" or not draw(st.booleans()):
            continue
        if param.param_type_name == "argument":
            count = draw(st.integers(0, 3)) if param.nargs == -1 else 1
            positionals += [draw(value) for _ in range(count)]
        elif param.is_flag:
            groups.append([draw(st.sampled_from(param.opts))])
        else:
            repeat = draw(st.integers(1, 2)) if param.multiple else 1
            for _ in range(repeat):
                groups.append([draw(st.sampled_from(param.opts)), draw(value)])
    extras = draw(st.lists(st.one_of(value, st.just("--bogus")), max_size=2))
    groups += [[e] for e in extras]
    order = draw(st.permutations(range(len(groups))))
    args = [token for i in order for token in groups[i]]
    # positionals in their order, options interleaved where they fall
    cut = draw(st.integers(0, len(args)))
    line = [*path, *args[:cut], *positionals, *args[cut:]]
    prefix = draw(st.sampled_from([[]] * 6 + [["-q"], ["--db", draw(TEXT)], ["--version"]]))
    return [*prefix, *line]


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_fuzzed_arguments(
    cli: Callable[..., Any], world: dict[str, Any], path: list[str], command: Any
) -> None:
    seen: list[tuple[list[str], int]] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )
    @given(
        argv=command_lines(path, command, world),
        stdin=st.one_of(st.none(), st.text(max_size=200)),
    )
    def run(argv: list[str], stdin: str | None) -> None:
        world["relogin"]()
        result = cli(*argv, input=stdin)
        seen.append((argv, result.exit_code))
        assert result.exit_code in ALLOWED, (argv, result.exit_code, result.stderr)
        assert "Traceback" not in result.stderr + result.stdout, (argv, result.stderr)
        if result.exit_code != 0:
            assert "Error: " in result.stderr, (argv, result.exit_code, result.stderr)

    run()
    assert seen
    if os.environ.get("MOVIECLI_FUZZ_STATS"):
        with open(os.environ["MOVIECLI_FUZZ_STATS"], "a") as out:
            for argv, code in seen:
                out.write(json.dumps([" ".join(path), code, argv]) + "\n")
