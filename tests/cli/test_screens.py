"""Screens on a terminal (issue 14 items 1-5): tables that fit 80 columns keeping what
identifies a row whole, names instead of raw ids, aligned icons, highlighted matches and
progress on stderr. Rendered through a rich Console of a given width (the ``terminal``
fixture); the plain (piped) forms are pinned by the commands' own tests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests import media_factory as mf
from tests.conftest import PG_URL
from tests.projecthelp import new_project

LONG_TITLE = "Night Shift at the Haunted Lighthouse Museum of Forgotten Things"
LONG_FILE = "neon_rain_over_the_harbor_wide_establishing_shot_v2.png"
LONG_DESCRIPTION = (
    "Neon rain falling over a harbor at night, reflections of pink and cyan signs on wet "
    "cobblestones, a lone figure under an umbrella"
)
WIDTHS = [80, 120]


def cells(line: str) -> int:
    from rich.cells import cell_len

    return cell_len(line)


def assert_fits(text: str, width: int) -> None:
    wide = [line for line in text.splitlines() if cells(line) > width]
    assert not wide, f"wider than {width}:\n" + "\n".join(wide)


def column(text: str, header: str) -> list[str]:
    """The cells of one column of a rich table, each row's wrapped lines joined."""
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if re.search(rf"┃ {re.escape(header)}\b", line))
    heads = lines[head].split("┃")
    index = next(i for i, h in enumerate(heads) if h.strip().startswith(header))
    rows: list[list[str]] = []
    for line in lines[head + 2 :]:
        if not line.startswith("│"):
            break
        parts = line.split("│")
        first = parts[1].strip()
        if first or not rows:
            rows.append([])
        part = parts[index].strip()
        if part:
            rows[-1].append(part)
    return [" ".join(r) for r in rows]


def folded(cell: str) -> str:
    """A cell folded inside a word (a long filename) read back whole."""
    return cell.replace(" ", "")


@pytest.fixture
def heist(cli: Any, admin: Any, tmp_path: Path) -> dict[str, Any]:
    new_project(cli, LONG_TITLE, "--genre", "horror", "--episodes", "6")
    project = new_project(cli, "Space Heist", "--genre", "sci-fi", "--episodes", "4")
    cli("project", "use", "Space Heist")
    image = mf.png(tmp_path / LONG_FILE)
    added = cli(
        "media", "add", "Space Heist", str(image), "--type", "style_reference",
        "--description", LONG_DESCRIPTION, "--tag", "neon", "--tag", "rain", "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    small = mf.png(tmp_path / "mia.png", seed=1)
    cli("media", "add", "Space Heist", str(small), "--type", "character_design", "--no-embed")
    return project


# --- item 1: every table fits 80 columns -------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_14_1_project_list_keeps_title_and_id_whole(cli, heist, terminal, width):
    terminal(width)
    result = cli("project", "list")
    assert result.exit_code == 0, result.stderr
    assert_fits(result.stdout, width)
    titles = column(result.stdout, "Title")
    assert titles == ["Space Heist *", LONG_TITLE]
    assert column(result.stdout, "ID")[0] == heist["id"][:8]
    assert "Status" in result.stdout and "Progress" in result.stdout
    if width == 120:
        assert "Updated" in result.stdout


@pytest.mark.parametrize("width", WIDTHS)
def test_14_1_media_list_and_search_fit(cli, heist, terminal, width):
    terminal(width)
    listed = cli("media", "list")
    assert listed.exit_code == 0, listed.stderr
    assert_fits(listed.stdout, width)
    assert [folded(f) for f in column(listed.stdout, "File")] == ["mia.png", LONG_FILE]
    assert len(column(listed.stdout, "ID")[0]) == 8
    found = cli("media", "search", "rainy neon harbor")
    assert found.exit_code == 0, found.stderr
    assert_fits(found.stdout, width)
    assert folded(column(found.stdout, "File")[0]) == LONG_FILE
    # the description wraps at words, whole, under a header wide enough to read
    assert column(found.stdout, "Description")[0] == LONG_DESCRIPTION


OTHER_SCREENS = {
    "user list": ("user", "list"),
    "session list": ("session", "list"),
    "session search": ("session", "search", "heist"),
    "workflow list": ("workflow", "list"),
    "template list": ("template", "list"),
    "media types": ("media", "types"),
    "story history": ("story", "history"),
    "story show": ("story", "show"),
    "project episodes": ("project", "episodes"),
    "project show": ("project", "show"),
    "project progress": ("project", "progress"),
    "whoami": ("whoami",),
    "db history": ("db", "history"),
}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("screen", OTHER_SCREENS)
def test_14_1_every_other_table_fits(cli, heist, make_user, terminal, screen, width):
    make_user("bob.builder@construction-company-example.org", name="Bob the Builder")
    said = cli("chat", "-m", "A heist on the moon: Mia and Rex rob the lunar bank in a storm.")
    assert said.exit_code == 0, said.stderr
    terminal(width)
    result = cli(*OTHER_SCREENS[screen])
    assert result.exit_code == 0, result.stderr
    assert_fits(result.stdout, width)
    if screen == "user list":
        emails = [folded(e) for e in column(result.stdout, "Email")]
        assert "bob.builder@construction-company-example.org" in emails
    if screen == "workflow list":
        assert column(result.stdout, "Id")[-1] == "final_assembly"


@pytest.mark.parametrize("width", [80, 100, 120, 160])
def test_14_1_project_show_has_all_eight_phases(cli, heist, terminal, width):
    terminal(width)
    result = cli("project", "show")
    assert result.exit_code == 0, result.stderr
    assert_fits(result.stdout, width)
    for phase in (
        "Initial concept", "Story development", "Character creation", "Visual design",
        "Audio design", "Scene production", "Post-production", "Final assembly",
    ):  # fmt: skip
        assert phase in result.stdout


# --- item 3: icons that keep the columns aligned ---------------------------------------------


def drawn(line: str) -> int:
    """Cells a terminal with an emoji font draws: every pictograph two cells wide."""
    from rich.cells import cell_len

    return sum(2 if ord(c) >= 0x1F000 else cell_len(c) for c in line if c != "\ufe0f")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("command", [("workflow", "list"), ("project", "progress")])
def test_14_3_workflow_icons_keep_columns_aligned(cli, admin, terminal, command, width):
    new_project(cli, "Aligned")
    cli("project", "use", "Aligned")
    terminal(width)
    result = cli(*command)
    assert result.exit_code == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith(("│", "┃", "┏"))]
    if command == ("project", "progress"):
        rows = [line for line in result.stdout.splitlines() if line.startswith(("│", "╭"))]
    assert rows
    assert {drawn(line) for line in rows} == {drawn(rows[0])}, "\n".join(rows)
    assert "Post-production" in result.stdout and "🏁" in result.stdout


def test_14_3_no_icons_in_plain_output(cli, admin):
    result = cli("workflow", "list")
    assert result.exit_code == 0
    assert not [c for c in result.stdout if ord(c) >= 0x1F000]
    assert "post_production\tPost-production" in result.stdout


# --- item 2: names, not hex ------------------------------------------------------------------

RAW_ID = re.compile(r"\b[0-9a-f]{32}\b")


@pytest.mark.parametrize("width", WIDTHS)
def test_14_2_names_not_hex(cli, heist, admin, terminal, width):
    said = cli("chat", "-m", "A heist on the moon.", "--json")
    assert said.exit_code == 0, said.stderr
    session_id = said.json()["sessionId"]
    media_id = cli("media", "list", "--json").json()["items"][0]["id"]
    terminal(width)
    short = heist["id"][:8]

    whoami = cli("whoami")
    assert whoami.exit_code == 0, whoami.stderr
    assert not RAW_ID.search(whoami.stdout), whoami.stdout
    assert f"Space Heist ({short})" in whoami.stdout  # current and active project

    shown = cli("media", "show", media_id[:8])
    assert shown.exit_code == 0, shown.stderr
    assert not RAW_ID.search(shown.stdout), shown.stdout
    assert f"Space Heist ({short})" in shown.stdout
    assert f"{admin.email} ({admin.id[:8]})" in shown.stdout

    listed = cli("session", "list")
    assert listed.exit_code == 0, listed.stderr
    assert not RAW_ID.search(listed.stdout)
    assert admin.email in [folded(u) for u in column(listed.stdout, "User")]

    session = cli("session", "show", session_id[:8])
    assert session.exit_code == 0, session.stderr
    assert not RAW_ID.search(session.stdout), session.stdout
    assert f"Space Heist ({short})" in session.stdout
    assert admin.email in session.stdout


def test_14_2_plain_output_names_with_whole_ids(cli, heist, admin):
    media_id = cli("media", "list", "--json").json()["items"][0]["id"]
    shown = cli("media", "show", media_id)
    assert f"project\tSpace Heist ({heist['id']})\n" in shown.stdout
    assert f"created by\t{admin.email} ({admin.id})\n" in shown.stdout
    whoami = cli("whoami")
    assert f"current project\tSpace Heist ({heist['id']})\n" in whoami.stdout
    assert cli("whoami", "--json").json()["preferences"]["currentProject"] == heist["id"]


# --- item 4: matches highlighted on a terminal ------------------------------------------------

STYLE_CODES = re.compile(r"\x1b\[[0-9;]*m")
HIGHLIGHTED = r"\x1b\[[0-9;]*1;33m{}\x1b\[0m"  # bold yellow (render.MATCH_STYLE)


def test_14_4_session_search_highlights_matches(cli, admin, terminal):
    new_project(cli, "Moon")
    said = cli("chat", "Moon", "-m", "A HEIST \x1b[2J on the moon, the heist of the century")
    assert said.exit_code == 0, said.stderr
    plain = cli("session", "search", "heist")
    assert plain.exit_code == 0
    assert not STYLE_CODES.search(plain.stdout)  # piped: no codes
    assert "A HEIST \\x1b[2J on the moon" in plain.stdout
    as_json = cli("session", "search", "heist", "--json").json()
    assert "\x1b[2J" in as_json["items"][-1]["snippet"]  # JSON keeps the text as it is
    terminal(120, colour=True)
    result = cli("session", "search", "heist")
    assert result.exit_code == 0, result.stderr
    assert re.search(HIGHLIGHTED.format("HEIST"), result.stdout), result.stdout
    assert re.search(HIGHLIGHTED.format("heist"), result.stdout)
    assert not re.search(HIGHLIGHTED.format("moon"), result.stdout)
    # the highlighted text still shows control characters instead of obeying them
    bare = STYLE_CODES.sub("", result.stdout)
    assert "\\x1b[2J" in bare
    assert not [c for c in bare if ord(c) < 32 and c not in "\t\n"]


def test_14_4_media_search_highlights_matches(cli, heist, terminal):
    plain = cli("media", "search", "neon harbor")
    assert not STYLE_CODES.search(plain.stdout)
    terminal(120, colour=True)
    result = cli("media", "search", "neon harbor")
    assert result.exit_code == 0, result.stderr
    assert re.search(HIGHLIGHTED.format("Neon"), result.stdout), result.stdout
    assert re.search(HIGHLIGHTED.format("harbor"), result.stdout)
    assert not re.search(HIGHLIGHTED.format("rain"), result.stdout)


# --- item 5: progress on a terminal, silent otherwise -------------------------------------------

BAR = "━"  # what rich's progress bar draws


def on_a_terminal(*args: str) -> tuple[int, str]:
    from tests.ptyhelp import Terminal

    term = Terminal(*args, columns=100)
    code = term.finish(timeout=120)
    return code, term.raw.decode("utf-8", "replace")


@pytest.fixture
def pictures(tmp_path: Path) -> list[str]:
    folder = tmp_path / "pictures"
    folder.mkdir()
    return [str(mf.png(folder / f"shot-{n:02d}.png", seed=n)) for n in range(12)]


def test_14_5_media_add_shows_progress_on_a_terminal_only(cli, cli_process, admin, pictures):
    new_project(cli, "Shots")
    code, screen = on_a_terminal("media", "add", "Shots", *pictures[:6], "--type", "storyboard")
    assert code == 0, screen
    assert BAR in screen and "6/6" in screen
    assert "6 added to 'Shots'" in screen
    quiet = ("-q", "media", "add", "Shots", *pictures[6:8], "--type", "storyboard")
    code, screen = on_a_terminal(*quiet)
    assert code == 0, screen
    assert BAR not in screen
    code, screen = on_a_terminal(
        "media", "add", "Shots", *pictures[8:10], "--type", "storyboard", "--json"
    )
    assert code == 0, screen
    assert BAR not in screen
    piped = cli_process("media", "add", "Shots", *pictures[10:], "--type", "storyboard")
    assert piped.exit_code == 0, piped.stderr
    assert BAR not in piped.stderr + piped.stdout


def test_14_5_embed_export_backup_and_apply_show_progress(cli, admin, pictures, tmp_path):
    new_project(cli, "Shots")
    added = cli("media", "add", "Shots", *pictures[:4], "--type", "storyboard", "--no-embed")
    assert added.exit_code == 0, added.stderr

    code, screen = on_a_terminal("media", "embed", "--pending")
    assert code == 0, screen
    assert BAR in screen and "Embedded 4 media" in screen

    exported = tmp_path / "out"
    code, screen = on_a_terminal(
        "project", "export", "Shots", "--with-media", str(exported / "media"),
        "-o", str(exported / "shots.toml"),
    )  # fmt: skip
    assert code == 0, screen
    assert BAR in screen and "copying" in screen and "4/4" in screen

    if not PG_URL:  # db backup is SQLite's (PostgreSQL has pg_dump)
        code, screen = on_a_terminal("db", "backup", str(tmp_path / "copy.db"))
        assert code == 0, screen
        assert BAR in screen and "copying" in screen
        code, screen = on_a_terminal("-q", "db", "backup", str(tmp_path / "quiet.db"))
        assert code == 0 and BAR not in screen

    apply_file = tmp_path / "apply.toml"
    lines = ["[[project]]", 'title = "Applied"', 'genre = "drama"', "episodeCount = 2"]
    for path in pictures[4:9]:
        lines += ["[[project.media]]", f'file = "{path}"', 'mediaType = "storyboard"']
    apply_file.write_text("\n".join(lines) + "\n")
    code, screen = on_a_terminal("apply", str(apply_file))
    assert code == 0, screen
    assert BAR in screen and "5/5" in screen
    assert cli("media", "list", "Applied", "--json").json()["total"] == 5
