"""Issue 13 item 10, the apply-file cases: a file nested deeply, over 10 MB, with a
20,000-part dotted key, a directory or a FIFO is refused with exit 2 and one line,
before tomllib sees it, and changes nothing (services/tomlfile.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from moviecli.services import tomlfile

Cli = Callable[..., Any]

GOOD = "[[project]]\ntitle = 'A'\ngenre = 'drama'\nepisodeCount = 1\n"


@pytest.fixture
def no_tomllib(monkeypatch: pytest.MonkeyPatch) -> None:
    """tomllib must never see the file: it fails the test if it is called."""
    import tomllib

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("tomllib saw a file that should have been refused before")

    monkeypatch.setattr(tomllib, "loads", refuse)
    monkeypatch.setattr(tomllib, "load", refuse)


def refused(cli: Cli, path: Path, message: str) -> None:
    result = cli("apply", str(path))
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr == f"Error: {path} {message}\n"
    projects = cli("project", "list", "--json").json()
    assert projects["total"] == 0


def test_13_10_apply_file_nested_deeply(
    cli: Cli, admin: Any, tmp_path: Path, no_tomllib: None
) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(GOOD + "x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    refused(cli, path, "nests tables or arrays more than 32 deep (line 5)")
    inline = tmp_path / "inline.toml"
    inline.write_text("x = " + "{a = " * 40 + "1" + "}" * 40 + "\n")
    refused(cli, inline, "nests tables or arrays more than 32 deep (line 1)")


def test_13_10_apply_file_over_10_mb(
    cli: Cli, admin: Any, tmp_path: Path, no_tomllib: None
) -> None:
    path = tmp_path / "big.toml"
    with path.open("w") as handle:
        handle.write(GOOD)
        handle.write("#" * (tomlfile.MAX_BYTES - len(GOOD) + 1))
    refused(cli, path, "is 10,485,761 bytes, over the limit of 10 MiB")


def test_13_10_apply_file_with_a_20000_part_dotted_key(
    cli: Cli, admin: Any, tmp_path: Path, no_tomllib: None
) -> None:
    path = tmp_path / "dotted.toml"
    path.write_text(GOOD + "a." * 20_000 + "a = 1\n")
    refused(cli, path, "has a key of more than 64 dotted parts (line 5)")
    header = tmp_path / "header.toml"
    header.write_text(GOOD + "[project." + ".".join(['"x"'] * 20_000) + "]\n")
    refused(cli, header, "has a key of more than 64 dotted parts (line 5)")


def test_13_10_apply_file_that_is_a_directory(
    cli: Cli, admin: Any, tmp_path: Path, no_tomllib: None
) -> None:
    refused(cli, tmp_path, "is a directory, not a file")


def test_13_10_apply_file_that_is_a_fifo(
    cli_process: Cli, cli: Cli, admin: Any, tmp_path: Path
) -> None:
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    # A real process with a timeout: a hang fails the test instead of blocking the run.
    result = cli_process("apply", str(fifo), timeout=30)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {fifo} is not a regular file (a FIFO, socket or device)\n"
    assert cli("project", "list", "--json").json()["total"] == 0


def test_13_10_apply_file_not_utf8(cli: Cli, admin: Any, tmp_path: Path, no_tomllib: None) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(GOOD.encode() + b"description = 'caf\xe9'\n")
    refused(cli, path, "is not UTF-8 text (line 5)")


def test_13_10_a_media_entry_that_is_a_fifo_is_a_problem_of_the_file(
    cli: Cli, admin: Any, tmp_path: Path
) -> None:
    os.mkfifo(tmp_path / "look.png")
    path = tmp_path / "media.toml"
    path.write_text(GOOD + "[[project.media]]\nfile = 'look.png'\nmediaType = 'concept_art'\n")
    result = cli("apply", str(path))
    assert result.exit_code == 2
    assert "  project[1].media[1].file: not a regular file: look.png" in result.stderr
    assert cli("project", "list", "--json").json()["total"] == 0


def test_13_10_a_template_file_is_bounded_the_same_way(
    cli: Cli, admin: Any, tmp_path: Path, no_tomllib: None
) -> None:
    path = tmp_path / "tpl.toml"
    path.write_text("name = 'x'\n" + "a." * 20_000 + "a = 1\n")
    result = cli("template", "add", str(path))
    assert result.exit_code == 2
    assert result.stderr == f"Error: {path} has a key of more than 64 dotted parts (line 2)\n"


# --- the shape check itself: what it must not refuse ---------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        # dots, brackets and quotes inside strings and comments are not structure
        'a = "x.y.z[[[{{{\\"" # a.b.c.d [[[[\n',
        "b = '''\n[[[[\n''' \n",
        'c = """a\\"""" \n',
        "d = [1.5, 2.5, {e.f = 1.25}, [[[1]]]]\n",
        "[t.u]\nv.w = 1\n[[x.y]]\nz = [\n  [1, 2],\n  [3],\n]\n",
        "k = " + ", ".join(["1.5"] * 5000).join("[]") + "\n",  # many dots in one value
        "e = " + "[" * 32 + "]" * 32 + "\n",
    ],
)
def test_the_shape_check_passes_what_tomllib_reads(text: str) -> None:
    import tomllib

    tomllib.loads(text)  # valid TOML
    assert tomlfile.shape_problem(text) is None


def test_13_10_an_integer_of_5000_digits(cli: Any, admin: Any, tmp_path: Path) -> None:
    """tomllib raises a plain ValueError for it (not TOMLDecodeError): it was exit 1."""
    path = tmp_path / "big.toml"
    path.write_text(
        '[[project]]\ntitle = "Big"\ngenre = "drama"\nepisodeCount = ' + "9" * 5000 + "\n"
    )
    result = cli("apply", str(path))
    assert (result.exit_code, result.stderr.splitlines()) == (
        2,
        [f"Error: {path} is not valid TOML: a number has over 4,300 digits"],
    )
