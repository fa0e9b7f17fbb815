"""moviecli project bible: the page read with html.parser (no browser needed; the browser
test is tests/browser/test_bible_browser.py), the file it writes, and its error paths."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from tests import media_factory as mf
from tests.biblehelp import HOSTILE, Page, build, decode, set_story
from tests.projecthelp import new_project

SECTIONS = ["story", "progress", "characters", "mood-board", "art", "scenes", "audio", "video"]


@pytest.fixture
def heist(cli: Any, admin: Any, database: Any, tmp_path: Path) -> dict[str, Any]:
    return build(cli, database, tmp_path)


def bible(cli: Any, *args: str) -> Any:
    return cli("project", "bible", *args)


def test_the_page_shows_the_whole_project(cli: Any, heist: dict, tmp_path: Path) -> None:
    out = tmp_path / "bible.html"
    result = bible(cli, "Space Heist", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    size = out.stat().st_size
    shown = f"{size / 1000:.0f} KB" if size < 100_000 else f"{size / 1_000_000:.1f} MB"
    assert result.stdout == (
        f"Wrote {out}: the series bible of 'Space Heist', 11 images, {shown}\n"
    )
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    page = Page(out.read_text(encoding="utf-8"))

    assert page.section_ids() == [*SECTIONS, "episodes", "directions"]
    assert page.text_of(page.one("h1")) == "Space Heist"
    assert page.text_of(page.one("p", class_="logline")) == "Nine lives, one moon, no plan."
    chips = [page.text_of(e) for e in page.find("li") if ".chips" in e.path]
    assert chips[:3] == ["sci-fi", "teen (PG-13)", "concept"]
    story = page.text_of(page.one("section", id="story"))
    assert "Cats steal the moon." in story and "Act one. Act two." in story

    # Characters: story order, then the name only a design gives; the group shot under both.
    cards = [e for e in page.find("article") if "character" in e.attrs["class"]]
    names = [page.text_of(next(e for e in page.children(c) if e.tag == "h3")) for c in cards]
    assert names == ["Mia", "Rex", "Zed"]
    per_character = [len([i for i in page.find("img") if _inside(page, i, c)]) for c in cards]
    assert per_character == [3, 0, 1]
    assert "No character design yet." in page.text_of(cards[1])
    assert "The planner." in page.text_of(cards[0])

    assert len(page.images_in("#mood-board")) == 2
    assert len(page.images_in("#art")) == 1  # the archived concept art is left out
    scenes = [e for e in page.find("article") if "scene" in e.attrs["class"]]
    assert [page.text_of(s).split(" ")[0] for s in scenes] == ["Opening"]
    frames = [i for i in page.find("img") if _inside(page, i, scenes[0])]
    assert [f.attrs["alt"] for f in frames] == ["frame-0.jpg", "frame-1.jpg", "frame-2.png"]
    assert "Storyboards without a scene" in page.text_of(page.one("section", id="scenes"))

    audio = page.text_of(page.one("section", id="audio"))
    assert "music track theme.wav 0:02.5 2" in audio
    video = page.text_of(page.one("section", id="video"))
    assert "video segment cut.mp4 0:01 64x48 @ 12.0 fps 1" in video

    rows = [page.text_of(r) for r in page.find("tr") if "#episodes" in r.path]
    assert rows[1:] == [
        "1 in-production 3 1 0 0",
        "2 in-production 0 0 1 0",
        "3 planned 0 0 0 0",
    ]
    phases = [e for e in page.find("li") if ".phases" in e.path and e.attrs.get("class")]
    assert [p.attrs["class"] for p in phases] == ["current", *["blocked"] * 7]
    assert "needs a story synopsis" not in page.text_of(phases[1])  # it has one
    assert "after Initial concept" in page.text_of(phases[1])
    assert "needs a final video" in page.text_of(phases[7])

    generated = page.text_of(page.one("details", class_="gen"))
    assert generated.startswith("Generated with sdxl-1.0 Model sdxl-1.0 Generated 20")
    prompt = page.one("span", class_="prompt")
    assert page.text_of(prompt) == "a cat <b>bold</b> on the moon"
    assert "Keep it neon." in page.text_of(page.one("section", id="directions"))


def _inside(page: Page, element: Any, parent: Any) -> bool:
    return element in page.children(parent)


def test_every_image_is_an_embedded_thumbnail(cli: Any, heist: dict, tmp_path: Path) -> None:
    out = tmp_path / "b.html"
    assert bible(cli, "Space Heist", "-o", str(out)).exit_code == 0
    html = out.read_text(encoding="utf-8")
    page = Page(html)
    images = page.find("img")
    assert len(images) == 11
    for element in images:
        img = decode(element.attrs["src"])
        assert max(img.size) <= 320
        assert (str(img.width), str(img.height)) == (
            element.attrs["width"],
            element.attrs["height"],
        )
    # The 1200x800 style references come out 320x213.
    assert {decode(e.attrs["src"]).size for e in page.images_in("#mood-board")} == {(320, 213)}


def test_nothing_leaves_the_page(cli: Any, heist: dict, tmp_path: Path) -> None:
    out = tmp_path / "b.html"
    assert bible(cli, "Space Heist", "-o", str(out)).exit_code == 0
    page = Page(out.read_text(encoding="utf-8"))
    assert page.find("script") == [] and page.find("link") == [] and page.find("iframe") == []
    for element in page.elements:
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            value = element.attrs.get(name)
            if value is not None and name != "data":
                assert value.startswith(("data:image/", "#")), (element.tag, name, value[:60])
    csp = page.one("meta", **{"http-equiv": "Content-Security-Policy"}).attrs["content"]
    assert csp.startswith("default-src 'none'; img-src data:;")


def test_untrusted_text_is_escaped(cli: Any, admin: Any, database: Any, tmp_path: Path) -> None:
    from tests import media_factory as mf
    from tests.biblehelp import add

    project = new_project(cli, HOSTILE)
    set_story(
        database,
        project["id"],
        {
            "logline": "</p><img src=x onerror=alert(1)>",
            "concept": "<style>body{display:none}</style>",
            "characters": [{"name": "<b>Mia</b>", "description": "\x1b[31mred\x1b[0m"}],
        },
    )
    image = mf.png(tmp_path / "a&b<c>.png")
    add(
        cli,
        project["id"],
        [image],
        "character_design",
        "--character",
        "<b>Mia</b>",
        "--description",
        '"><script>alert(2)</script>',
    )
    out = tmp_path / "b.html"
    result = bible(cli, project["id"], "-o", str(out))
    assert result.exit_code == 0, result.stderr
    # The confirmation is one line, however the title reads.
    assert result.stdout.count("\n") == 1
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html and "onerror=" not in html.replace("onerror=alert", "")
    assert "<style>body" not in html
    page = Page(html)
    assert page.find("script") == [] and len(page.find("style")) == 1
    assert page.text_of(page.one("h1")) == HOSTILE
    assert page.text_of(page.one("title")) == f"{HOSTILE} — series bible"
    assert page.text_of(page.one("p", class_="logline")) == "</p><img src=x onerror=alert(1)>"
    assert len(page.find("img")) == 1
    assert page.one("img").attrs["alt"] == '"><script>alert(2)</script>'
    card = page.one("article", **{"class": "card character"})
    assert page.text_of(card).startswith("<b>Mia</b> \\x1b[31mred\\x1b[0m")


def test_an_existing_file_is_kept_without_force(cli: Any, heist: dict, tmp_path: Path) -> None:
    out = tmp_path / "b.html"
    out.write_text("mine")
    out.chmod(0o644)
    result = bible(cli, "Space Heist", "-o", str(out))
    assert result.exit_code == 5
    assert result.stderr == f"Error: {out} already exists (pass --force to replace it)\n"
    assert out.read_text() == "mine"
    result = bible(cli, "Space Heist", "-o", str(out), "--force")
    assert result.exit_code == 0, result.stderr
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # replaced, not rewritten in place
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_json_report(cli: Any, heist: dict, tmp_path: Path) -> None:
    out = tmp_path / "b.html"
    result = bible(cli, "Space Heist", "-o", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == {
        "output": str(out),
        "sizeBytes": out.stat().st_size,
        "images": 11,
        "thumbnailSide": 320,
        "missingPreviews": 0,
    }


def test_stdout(cli: Any, heist: dict) -> None:
    result = bible(cli, "Space Heist", "-o", "-")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("<!DOCTYPE html>")
    assert Page(result.stdout).text_of(Page(result.stdout).one("h1")) == "Space Heist"


def test_current_project_and_quiet(cli: Any, heist: dict, tmp_path: Path) -> None:
    out = tmp_path / "b.html"
    result = cli("-q", "project", "bible", "-o", str(out))
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert out.exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ((), 2, "Error: no output file given (pass -o FILE.html, or -o - for stdout)\n"),
        (("-o", "{tmp}"), 2, "Error: {tmp} is a directory (name a file, e.g. -o bible.html)\n"),
        (("-o", "{tmp}/nowhere/b.html"), 2, "Error: no such directory: {tmp}/nowhere\n"),
        (
            ("-o", "-", "--json"),
            2,
            "Error: --json reports on a written file (pass -o FILE.html)\n",
        ),
    ],
)
def test_usage_errors(
    cli: Any, heist: dict, tmp_path: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    result = bible(cli, "Space Heist", *(a.format(tmp=tmp_path) for a in args))
    assert result.exit_code == code
    assert result.stdout == ("" if "--json" not in args else result.stdout)
    assert result.stderr == message.format(tmp=tmp_path)


def test_not_found_and_not_logged_in(
    cli: Any, admin: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    out = tmp_path / "b.html"
    result = bible(cli, "Nope", "-o", str(out))
    assert (result.exit_code, result.stderr) == (3, "Error: project 'Nope' not found\n")
    monkeypatch.delenv("MOVIECLI_TOKEN")
    result = bible(cli, "Nope", "-o", str(out))
    assert result.exit_code == 4
    assert not out.exists()


def test_who_may_read_it(
    cli: Any, heist: dict, make_user: Any, login_as: Any, tmp_path: Path
) -> None:
    out = tmp_path / "b.html"
    login_as(make_user("otto@example.com"))
    assert bible(cli, heist["id"], "-o", str(out)).exit_code == 3
    assert not out.exists()
    login_as(make_user("pat@example.com", role="producer"))  # producers read everything
    result = bible(cli, heist["id"], "-o", str(out))
    assert result.exit_code == 0, result.stderr


def test_a_file_missing_from_the_store_is_a_placeholder(
    cli: Any, heist: dict, home: Path, tmp_path: Path
) -> None:
    objects = sorted((home / "media" / "objects").rglob("*"))
    victim = next(p for p in objects if p.is_file() and p.read_bytes().startswith(b"\x89PNG"))
    victim.unlink()
    out = tmp_path / "b.html"
    result = bible(cli, "Space Heist", "-o", str(out))
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Warning: no preview of ")
    assert lines[0].endswith(": the stored file is missing from the media store")
    page = Page(out.read_text(encoding="utf-8"))
    missing = page.find("div", **{"class": "missing"})
    assert missing and all("the stored file is missing" in page.text_of(m) for m in missing)
    assert len(page.find("img")) + len(missing) == 11


def test_an_empty_project(cli: Any, admin: Any, tmp_path: Path) -> None:
    new_project(cli, "Blank")
    out = tmp_path / "b.html"
    assert bible(cli, "Blank", "-o", str(out)).exit_code == 0
    page = Page(out.read_text(encoding="utf-8"))
    assert page.section_ids() == [
        "story",
        "progress",
        "characters",
        "mood-board",
        "scenes",
        "audio",
        "episodes",
    ]
    text = page.text_of(page.one("main"))
    for empty in (
        "No concept recorded yet.",
        "No characters recorded yet.",
        "No style references yet.",
        "No scenes recorded yet.",
        "No audio yet.",
    ):
        assert empty in text
    assert page.find("img") == []


def test_thumbnails_are_cached_and_pruned(
    cli: Any, heist: dict, home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "b.html"
    assert bible(cli, "Space Heist", "-o", str(out)).exit_code == 0
    cache = home / "cache" / "thumbnails"
    cached = sorted(p for p in cache.rglob("*") if p.is_file())
    assert len([p for p in cached if p.suffix == ".24000"]) == 10  # the group shot twice
    assert len([p for p in cached if p.suffix == ".preview"]) == 8  # made at media add
    assert {stat.S_IMODE(p.stat().st_mode) for p in cached} == {0o600}
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    first = out.read_bytes()
    # A second run reads them back: the same page but for its date.
    assert bible(cli, "Space Heist", "-o", str(out), "--force").exit_code == 0
    assert _without_date(out.read_bytes()) == _without_date(first)
    # An original gone from the store takes its thumbnail with it.
    result = cli("media", "list", "Space Heist", "--type", "environment_design", "--json")
    media_id = result.json()["items"][0]["id"]
    assert cli("media", "delete", media_id, "--yes").exit_code == 0
    assert bible(cli, "Space Heist", "-o", str(out), "--force").exit_code == 0
    assert len([p for p in cache.rglob("*") if p.is_file()]) == 17


def _previews(home: Path) -> dict[str, Path]:
    """The previews in the cache, by the sha256 of their original."""
    cache = home / "cache" / "thumbnails"
    return {p.name.split(".")[0]: p for p in cache.rglob("*.preview")}


def test_16_1_a_2000_image_bible_uses_the_previews_made_at_add(
    cli: Any, heist: dict, home: Path, tmp_path: Path
) -> None:
    previews = _previews(home)
    # media add made one of each image over 320 px (the three 32 px ones need none).
    assert len(previews) == 8
    for path in previews.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert max(decode_bytes(path.read_bytes()).size) == 320
    # The originals that have a preview are damaged since: the bible never opens them.
    for sha in previews:
        (home / "media" / "objects" / sha[:2] / sha).write_bytes(b"damaged since")
    out = tmp_path / "b.html"
    result = bible(cli, "Space Heist", "-o", str(out))
    assert (result.exit_code, result.stderr) == (0, "")
    page = Page(out.read_text(encoding="utf-8"))
    assert len(page.find("img")) == 11 and not page.find("div", **{"class": "missing"})
    assert {decode(e.attrs["src"]).size for e in page.images_in("#mood-board")} == {(320, 213)}


def test_16_1_a_damaged_preview_falls_back_to_the_original(
    cli: Any, heist: dict, home: Path, tmp_path: Path
) -> None:
    previews = _previews(home)
    assert len(previews) == 8
    for path in previews.values():
        path.write_bytes(b"RIFF garbage")
    out = tmp_path / "b.html"
    result = bible(cli, "Space Heist", "-o", str(out))
    assert (result.exit_code, result.stderr) == (0, "")
    page = Page(out.read_text(encoding="utf-8"))
    assert len(page.find("img")) == 11
    assert {decode(e.attrs["src"]).size for e in page.images_in("#mood-board")} == {(320, 213)}
    assert _previews(home) == {}  # dropped, not read again


def test_16_1_prune_drops_the_preview_of_a_deleted_original(
    cli: Any, heist: dict, home: Path, tmp_path: Path
) -> None:
    result = cli("media", "list", "Space Heist", "--type", "style_reference", "--json")
    victim = result.json()["items"][0]
    assert victim["sha256"] in _previews(home)
    assert cli("media", "delete", victim["id"], "--yes").exit_code == 0
    assert bible(cli, "Space Heist", "-o", str(tmp_path / "b.html")).exit_code == 0
    assert victim["sha256"] not in _previews(home)
    assert len(_previews(home)) == 7


def test_16_1_media_version_keeps_a_preview_too(
    cli: Any, heist: dict, home: Path, tmp_path: Path
) -> None:
    result = cli("media", "list", "Space Heist", "--type", "concept_art", "--json")
    old = result.json()["items"][0]
    assert old["sha256"] not in _previews(home)  # 32 px: none needed
    bigger = mf.jpeg(tmp_path / "old-v2.jpg", size=(1000, 400), seed=3)
    result = cli("media", "version", old["id"], str(bigger), "--no-embed", "--json")
    assert result.exit_code == 0, result.stderr
    assert max(decode_bytes(_previews(home)[result.json()["sha256"]].read_bytes()).size) == 320


def decode_bytes(data: bytes) -> Any:
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def _without_date(html: bytes) -> bytes:
    import re

    return re.sub(rb"made by moviecli on [^.]*\.", b"", html)


def test_write_failure_is_a_storage_error(
    cli: Any, heist: dict, tmp_path: Path, monkeypatch: Any
) -> None:
    import errno

    from moviecli.services import bible as bible_service

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(bible_service.os, "fsync", full)
    out = tmp_path / "b.html"
    result = bible(cli, "Space Heist", "-o", str(out))
    assert result.exit_code == 6
    assert result.stderr == f"Error: cannot write {out}: No space left on device\n"
    assert list(tmp_path.glob("*.html")) == [] and list(tmp_path.glob(".*")) == []


@pytest.mark.parametrize(
    ("chromium", "message"),
    [
        ("/nowhere/chromium", "Error: MOVIECLI_CHROMIUM names no program: /nowhere/chromium\n"),
        ("false", "Error: Chromium could not print the PDF (exit status 1)\n"),
    ],
)
def test_pdf_without_a_working_chromium(
    cli: Any, heist: dict, tmp_path: Path, monkeypatch: Any, chromium: str, message: str
) -> None:
    monkeypatch.setenv("MOVIECLI_CHROMIUM", chromium)
    out, pdf = tmp_path / "b.html", tmp_path / "b.pdf"
    result = bible(cli, "Space Heist", "-o", str(out), "--pdf", str(pdf))
    assert (result.exit_code, result.stdout, result.stderr) == (6, "", message)
    assert not out.exists() and not pdf.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_pdf_is_checked_before_the_work(cli: Any, heist: dict, tmp_path: Path) -> None:
    pdf = tmp_path / "b.pdf"
    pdf.write_text("mine")
    result = bible(cli, "Space Heist", "--pdf", str(pdf))
    assert (result.exit_code, result.stderr) == (
        5,
        f"Error: {pdf} already exists (pass --force to replace it)\n",
    )
    assert pdf.read_text() == "mine"


def test_parameters_read_from_the_file_are_shown(cli: Any, admin: Any, tmp_path: Path) -> None:
    from tests.biblehelp import add
    from tests.services.test_provenance import A1111, png

    project = new_project(cli, "Read")
    add(
        cli,
        project["id"],
        [png(tmp_path / "cat.png", ("tEXt", "parameters", A1111))],
        "concept_art",
    )
    out = tmp_path / "b.html"
    assert bible(cli, "Read", "-o", str(out)).exit_code == 0
    page = Page(out.read_text(encoding="utf-8"))
    details = page.one("details", class_="gen")
    rows = [page.text_of(e) for e in page.children(details) if e.tag in ("dt", "dd")]
    assert rows[:4] == ["Model", "sd_xl_base_1.0", "Agent", "Automatic1111"]
    assert "negativePrompt" in rows and "blurry, lowres, extra limbs" in rows
    assert rows[rows.index("seed") + 1] == "1234567890"
