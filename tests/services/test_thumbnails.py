"""Thumbnails (services/thumbnails.py) and the bible's pure helpers: every image mode Pillow
hands us, the byte caps, the cache, and files that cannot be read."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from PIL import Image

from moviecli.services import thumbnails
from moviecli.services.bible import _duration, check_output, write_file
from moviecli.services.thumbnails import STEPS, Step, ThumbnailCache, Unreadable, make, step_for
from tests import media_factory as mf


def _open(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def test_step_follows_the_count() -> None:
    assert step_for(0) == step_for(1) == step_for(666) == Step(24_000, 320)
    assert step_for(667) == Step(16_000, 320)
    assert step_for(2_000) == Step(8_000, 240)
    assert step_for(2_001) == Step(6_000, 200)
    assert step_for(4_000) == Step(4_000, 160)
    assert step_for(100_000) == STEPS[-1]
    # What the README promises: the images of a bible up to 4,000 fit in the budget.
    for count in (1, 10, 100, 1_000, 2_000, 3_000, 4_000):
        assert step_for(count).cap * count <= thumbnails.IMAGE_BUDGET


@pytest.mark.parametrize(
    ("mode", "size", "fmt", "expected"),
    [
        ("RGB", (1200, 800), "PNG", (320, 213)),
        ("RGBA", (400, 800), "PNG", (160, 320)),
        ("P", (640, 480), "GIF", (320, 240)),
        ("L", (100, 50), "PNG", (100, 50)),  # never enlarged
        ("CMYK", (800, 800), "JPEG", (320, 320)),
        ("I;16", (640, 320), "PNG", (320, 160)),
        ("1", (640, 640), "PNG", (320, 320)),
    ],
)
def test_every_mode_becomes_a_web_image(
    tmp_path: Path, mode: str, size: tuple[int, int], fmt: str, expected: tuple[int, int]
) -> None:
    source = tmp_path / f"img.{fmt.lower()}"
    Image.new(mode, size).save(source, fmt)
    thumb = make(source, STEPS[0])
    img = _open(thumb.data)
    assert img.format == "WEBP" and thumb.mime == "image/webp"
    assert img.size == (thumb.width, thumb.height) == expected
    assert len(thumb.data) <= STEPS[0].cap
    assert img.mode == ("RGBA" if mode == "RGBA" else "RGB")


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    source = tmp_path / "portrait.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: shown 90° clockwise
    Image.new("RGB", (800, 400), (200, 10, 10)).save(source, "JPEG", exif=exif)
    thumb = make(source, STEPS[0])
    assert (thumb.width, thumb.height) == (160, 320)


def test_first_frame_of_an_animation(tmp_path: Path) -> None:
    source = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (64, 64), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(source, save_all=True, append_images=frames[1:], duration=100, loop=0)
    img = _open(make(source, STEPS[0]).data).convert("RGB")
    red, _, blue = img.getpixel((32, 32))
    assert red > 200 and blue < 50


def test_noise_is_squeezed_under_the_cap(tmp_path: Path) -> None:
    source = tmp_path / "noise.png"
    Image.effect_noise((1024, 1024), 120).convert("RGB").save(source)
    for step in STEPS:
        thumb = make(source, step)
        assert len(thumb.data) <= step.cap, step
        assert max(thumb.width, thumb.height) <= step.side


@pytest.mark.parametrize("kind", ["missing", "truncated", "not-an-image", "bomb"])
def test_unreadable_originals(tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "x"
    expected = {
        "missing": "the stored file is missing from the media store",
        "truncated": "the image is damaged",
        "not-an-image": "not an image Pillow can read",
        "bomb": "the image is too large to read safely",
    }[kind]
    if kind == "truncated":
        mf.truncated(mf.png(tmp_path / "full.png", size=(300, 300)), source, keep=0.3)
    elif kind == "not-an-image":
        source.write_bytes(b"just text")
    elif kind == "bomb":
        mf.png(source, size=(400, 400))
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(Unreadable) as info:
        make(source, STEPS[0])
    assert str(info.value).startswith(expected)


def test_cache_round_trip_and_prune(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path / "cache" / "thumbnails")
    sources = [mf.png(tmp_path / f"{i}.png", size=(400, 300), seed=i) for i in range(3)]
    shas = [f"{i:064x}" for i in range(3)]
    made = thumbnails.thumbnails(zip(shas, sources, strict=True), STEPS[0], cache)
    assert all(not isinstance(t, str) for t in made.values())
    for sha in shas:
        path = cache.path(sha, STEPS[0])
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        cached = cache.get(sha, STEPS[0])
        assert cached is not None and cached == made[sha]
    assert stat.S_IMODE(cache.root.stat().st_mode) == 0o700
    assert cache.get(shas[0], STEPS[1]) is None  # another step is another thumbnail
    # A damaged cache entry is made again, never served.
    cache.path(shas[1], STEPS[0]).write_bytes(b"garbage")
    assert cache.get(shas[1], STEPS[0]) is None
    again = thumbnails.thumbnails([(shas[1], sources[1])], STEPS[0], cache)
    assert again[shas[1]] == made[shas[1]]
    assert cache.prune(lambda sha: sha != shas[2]) == 1
    assert cache.get(shas[2], STEPS[0]) is None and cache.get(shas[0], STEPS[0]) is not None


def test_many_thumbnails_are_made_in_worker_processes(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path / "thumbnails")
    count = thumbnails.PARALLEL_FROM + 2
    originals = [
        (f"{i:064x}", mf.png(tmp_path / f"{i}.png", size=(500, 300), seed=i)) for i in range(count)
    ]
    originals.append(("f" * 64, tmp_path / "missing.png"))
    seen: list[int] = []
    made = thumbnails.thumbnails(originals, STEPS[2], cache, progress=seen.append)
    assert len(seen) == len(made) == count + 1
    assert made["f" * 64] == "the stored file is missing from the media store"
    assert all((t.width, t.height) == (280, 168) for k, t in made.items() if k != "f" * 64)
    assert len(list(cache.root.rglob("*.12000"))) == count


def test_unwritable_cache_is_no_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = ThumbnailCache(blocker / "thumbnails")
    made = thumbnails.thumbnails([("a" * 64, mf.png(tmp_path / "a.png"))], STEPS[0], cache)
    assert not isinstance(made["a" * 64], str)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0:00"),
        (2.5, "0:02.5"),
        (59.96, "1:00"),
        (65, "1:05"),
        (3723.4, "1:02:03"),
        (None, "—"),
        (-1, "—"),
        (True, "—"),
    ],
)
def test_durations(seconds: object, shown: str) -> None:
    assert _duration(seconds) == shown


def test_write_file_never_replaces_a_file_that_appeared(tmp_path: Path) -> None:
    from moviecli.errors import Conflict

    target = tmp_path / "b.html"
    check_output(target, force=False)
    target.write_text("someone else's")  # between the check and the write
    with pytest.raises(Conflict):
        write_file(target, "<html>", force=False)
    assert target.read_text() == "someone else's"
    assert [p.name for p in tmp_path.iterdir()] == ["b.html"]
    assert write_file(target, "<html>é", force=True) == len("<html>é".encode())
    assert target.read_text(encoding="utf-8") == "<html>é"
