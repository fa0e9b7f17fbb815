"""A project worth a series bible, built through the CLI (media add) with real files, and a
parser that reads the page the way the tests need (html.parser: no browser needed).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from tests import media_factory as mf
from tests.projecthelp import new_project

HOSTILE = "Moon <script>alert('x')</script> & \"Heist\""


def set_story(database: Any, project_id: str, story: dict[str, Any]) -> None:
    """Write the story record directly (the chat and story commands fill it for real)."""
    from moviecli.models import Project

    with database.write() as session:
        project = session.get(Project, project_id)
        assert project is not None
        project.story = story
        session.add(project)


def add(cli: Any, project: str, files: list[Path], media_type: str, *extra: str) -> list[Any]:
    result = cli(
        "media",
        "add",
        project,
        *map(str, files),
        "--type",
        media_type,
        "--no-embed",
        "--json",
        *extra,
    )
    assert result.exit_code == 0, result.stderr
    records: list[Any] = result.json()
    return records


def build(cli: Any, database: Any, tmp_path: Path, title: str = "Space Heist") -> dict[str, Any]:
    """Two story characters (one with two designs, one with a group shot), a third known
    only from a design, a mood board of two, a scene with three frames (one generated), a
    storyboard without a scene, concept art, a song, a video, and an archived image."""
    files = tmp_path / "files"
    files.mkdir(exist_ok=True)
    project = new_project(cli, title, "--genre", "sci-fi", "--episodes", "3", "--audience", "teen")
    pid = project["id"]
    set_story(
        database,
        pid,
        {
            "concept": "Cats steal the moon.",
            "logline": "Nine lives, one moon, no plan.",
            "synopsis": "Act one.\nAct two.",
            "characters": [
                {"name": "Mia", "description": "The planner."},
                {"name": "Rex", "description": "The muscle."},
            ],
            "scenes": [{"title": "Opening", "description": "The vault on the far side."}],
            "directions": [
                {"step": "visual_design", "text": "Keep it neon.", "at": "2026-01-01T00:00:00Z"}
            ],
        },
    )
    mia = [mf.png(files / f"mia-{i}.png", size=(640, 480), seed=i) for i in range(2)]
    add(cli, pid, mia, "character_design", "--character", "mia")  # matched case-insensitively
    group = mf.png(files / "group.png", size=(300, 600), seed=7)
    add(cli, pid, [group], "character_design", "--character", "Mia", "--character", "Zed")
    looks = [mf.jpeg(files / f"look-{i}.jpg", size=(1200, 800), seed=i) for i in range(2)]
    add(cli, pid, looks, "style_reference", "--description", "neon rain")
    frames = [mf.jpeg(files / f"frame-{i}.jpg", size=(800, 450), seed=10 + i) for i in range(2)]
    add(cli, pid, frames, "storyboard", "--scene", "Opening", "--episode", "1")
    made = mf.png(files / "frame-2.png", size=(800, 450), seed=12)
    add(
        cli,
        pid,
        [made],
        "storyboard",
        "--scene",
        "opening",
        "--episode",
        "1",
        "--generated",
        "--prompt",
        "a cat <b>bold</b> on the moon",
        "--model-version",
        "sdxl-1.0",
    )
    add(cli, pid, [mf.png(files / "loose.png", seed=20)], "storyboard")
    add(cli, pid, [mf.png(files / "moonbase.png", seed=21)], "environment_design")
    add(cli, pid, [mf.wav(files / "theme.wav", seconds=2.5)], "music_track", "--episode", "2")
    add(cli, pid, [mf.mp4(files / "cut.mp4")], "video_segment", "--episode", "1")
    old = add(cli, pid, [mf.png(files / "old.png", seed=30)], "concept_art")[0]
    result = cli("media", "update", old["id"], "--status", "archived", "--no-embed")
    assert result.exit_code == 0, result.stderr
    return project


# --- reading the page ------------------------------------------------------------------------


@dataclass(eq=False)  # two identical images in two places are two elements
class Element:
    tag: str
    attrs: dict[str, str]
    text: list[str] = field(default_factory=list)
    path: list[str] = field(default_factory=list)  # ids and classes of the ancestors
    depth: int = 0


class Page(HTMLParser):
    """Every element with its attributes, its own text and its ancestors' ids/classes."""

    VOID = frozenset({"meta", "img", "br", "hr", "input", "link", "source", "wbr"})

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.stack: list[Element] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        path = [*self.stack[-1].path] if self.stack else []
        if self.stack:
            parent = self.stack[-1].attrs
            path += [f"#{parent['id']}"] if "id" in parent else []
            path += [f".{c}" for c in parent.get("class", "").split()]
        element = Element(tag, values, path=path, depth=len(self.stack))
        self.elements.append(element)
        if tag not in self.VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            element.text.append(data)

    # --- queries --------------------------------------------------------------------------

    def find(self, tag: str, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.elements
            if e.tag == tag and all(e.attrs.get(k.rstrip("_")) == v for k, v in attrs.items())
        ]

    def one(self, tag: str, **attrs: str) -> Element:
        found = self.find(tag, **attrs)
        assert len(found) == 1, (tag, attrs, len(found))
        return found[0]

    def text_of(self, element: Element) -> str:
        return " ".join(" ".join(element.text).split())

    def children(self, parent: Element) -> list[Element]:
        """Every element inside ``parent``, in document order."""
        start = self.elements.index(parent)
        out = []
        for element in self.elements[start + 1 :]:
            if element.depth <= parent.depth:
                break
            out.append(element)
        return out

    def section_ids(self) -> list[str]:
        return [e.attrs["id"] for e in self.find("section")]

    def images_in(self, marker: str) -> list[Element]:
        return [e for e in self.find("img") if marker in e.path]


def decode(src: str) -> Any:
    """The image a data: URI holds (Pillow), checked whole."""
    from PIL import Image

    assert src.startswith("data:image/"), src[:40]
    header, payload = src.split(",", 1)
    assert header.endswith(";base64")
    img = Image.open(io.BytesIO(base64.b64decode(payload, validate=True)))
    img.load()
    return img
