"""Thumbnails (services/thumbnails.py) and the bible's pure helpers: every image mode Pillow
hands us, the byte caps, the cache, and files that cannot be read."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from PIL import Image

from moviecli.services import probe, thumbnails
from moviecli.services.bible import _duration, check_output, write_file
from moviecli.services.thumbnails import (
    STEPS,
    Step,
    ThumbnailCache,
    Unreadable,
    from_preview,
    make,
    step_for,
)
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


# --- issue 16 item 1: previews made at add, fewer encodes -----------------------------------


def _photo(path: Path, size: tuple[int, int], seed: int = 0) -> Path:
    """Photo-like detail (its thumbnails weigh what a real photo's do)."""
    fractal = Image.effect_mandelbrot(size, (-2.1 + seed * 0.07, -1.2, 0.9, 1.2), 80)
    noise = Image.effect_noise((size[0] // 6, size[1] // 6), 70 + seed).resize(size)
    Image.merge("RGB", (fractal, noise, Image.blend(fractal, noise, 0.5))).save(path)
    return path


@pytest.mark.parametrize(
    ("mode", "size", "fmt"),
    [
        ("RGB", (1200, 800), "PNG"),
        ("RGBA", (400, 800), "PNG"),
        ("P", (640, 480), "GIF"),
        ("CMYK", (800, 800), "JPEG"),
        ("I;16", (640, 320), "PNG"),
        ("1", (640, 640), "PNG"),
    ],
)
def test_16_1_a_thumbnail_from_the_preview_is_the_one_from_the_original(
    tmp_path: Path, mode: str, size: tuple[int, int], fmt: str
) -> None:
    source = tmp_path / f"img.{fmt.lower()}"
    Image.new(mode, size).save(source, fmt)
    found = probe.probe(source)
    assert found.preview is not None and "preview" not in found.technical_data
    preview = _open(found.preview)
    assert preview.format == "WEBP" and max(preview.size) == thumbnails.PREVIEW_SIDE
    for step in (STEPS[0], STEPS[3], STEPS[-1]):
        made, derived = make(source, step), from_preview(found.preview, step)
        assert derived is not None and len(derived.data) <= step.cap
        assert (derived.width, derived.height, derived.mime) == (
            made.width,
            made.height,
            made.mime,
        )
        assert _open(derived.data).mode == _open(made.data).mode


def test_16_1_the_preview_is_upright_and_small_images_need_none(tmp_path: Path) -> None:
    source = tmp_path / "portrait.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: shown 90° clockwise
    Image.new("RGB", (800, 400), (200, 10, 10)).save(source, "JPEG", exif=exif)
    found = probe.probe(source)
    assert found.preview is not None and _open(found.preview).size == (160, 320)
    derived = from_preview(found.preview, STEPS[0])
    assert derived is not None and (derived.width, derived.height) == (160, 320)
    # 320 px or less: the original is as cheap to decode as a preview would be.
    assert probe.probe(mf.png(tmp_path / "small.png", size=(320, 200))).preview is None
    assert probe.probe(mf.wav(tmp_path / "a.wav")).preview is None


def test_16_1_keep_preview_writes_it_owner_only_and_drops_it(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path / "cache" / "thumbnails")
    found = probe.probe(mf.jpeg(tmp_path / "a.jpg", size=(900, 600)))
    preview = found.preview
    thumbnails.keep_preview(found, "a" * 64, cache)
    path = cache.preview_path("a" * 64)
    assert path.read_bytes() == preview and found.preview is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.root.stat().st_mode) == 0o700
    thumbnails.keep_preview(found, "b" * 64, cache)  # nothing left to keep: nothing written
    assert not cache.preview_path("b" * 64).exists()
    # A cache that cannot be written is no error.
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    found = probe.probe(mf.jpeg(tmp_path / "b.jpg", size=(900, 600)))
    thumbnails.keep_preview(found, "c" * 64, ThumbnailCache(blocker / "thumbnails"))


def test_16_1_a_2000_image_bible_uses_the_previews_made_at_add(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = ThumbnailCache(tmp_path / "thumbnails")
    count = thumbnails.PARALLEL_FROM + 2  # in worker processes: they see the previews too
    originals = []
    for i in range(count):
        source = _photo(tmp_path / f"{i}.png", (480, 270), seed=i)
        sha = f"{i:064x}"
        thumbnails.keep_preview(probe.probe(source), sha, cache)
        source.write_bytes(b"damaged since: only its preview can make the thumbnail")
        originals.append((sha, source))
    made = thumbnails.thumbnails(originals, step_for(2_000), cache)
    assert all(not isinstance(t, str) for t in made.values()), made
    for thumb in made.values():
        assert not isinstance(thumb, str)
        assert len(thumb.data) <= step_for(2_000).cap
        assert max(thumb.width, thumb.height) <= step_for(2_000).side
    # In this process too (fewer than PARALLEL_FROM), the original never opened.
    monkeypatch.setattr(thumbnails, "make", _never)
    again = thumbnails.thumbnails(originals[:2], STEPS[0], cache)
    assert all(not isinstance(t, str) for t in again.values()), again


def _never(source: Path, step: Step) -> thumbnails.Thumb:
    raise AssertionError(f"the original {source} was decoded")


def test_16_1_a_damaged_preview_falls_back_to_the_original(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path / "thumbnails")
    source = _photo(tmp_path / "a.png", (640, 480))
    shas = ["a" * 64, "b" * 64, "c" * 64]
    for sha, garbage in zip(shas, (b"garbage", b"", b"RIFF\x00\x00WEBPVP8 "), strict=True):
        cache.put_preview(sha, garbage)
    made = thumbnails.thumbnails([(sha, source) for sha in shas], STEPS[0], cache)
    expected = make(source, STEPS[0])
    for sha in shas:
        assert made[sha] == expected  # made from the original
        assert not cache.preview_path(sha).exists()  # and the damaged preview dropped
    # An image larger than a preview is none of ours either: the original is used.
    cache.put_preview("d" * 64, _webp_of_size((1000, 500)))
    made = thumbnails.thumbnails([("d" * 64, source)], STEPS[0], cache)
    assert made["d" * 64] == expected


def _webp_of_size(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size).save(out, "WEBP")
    return out.getvalue()


def test_16_1_an_original_gone_from_the_store_is_missing_whatever_its_preview(
    tmp_path: Path,
) -> None:
    cache = ThumbnailCache(tmp_path / "thumbnails")
    source = mf.jpeg(tmp_path / "a.jpg", size=(900, 600))
    thumbnails.keep_preview(probe.probe(source), "a" * 64, cache)
    source.unlink()
    made = thumbnails.thumbnails([("a" * 64, source)], STEPS[0], cache)
    assert made["a" * 64] == "the stored file is missing from the media store"


def test_16_1_prune_drops_the_previews_too(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path / "thumbnails")
    cache.put_preview("a" * 64, b"a")
    cache.put_preview("b" * 64, b"b")
    assert cache.prune(lambda sha: sha == "a" * 64) == 1
    assert cache.preview_path("a" * 64).exists() and not cache.preview_path("b" * 64).exists()


def test_16_1_the_best_rung_that_fits_whatever_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The search starts where the previous thumbnail fitted: the result is the one a
    search from the top gives, under the cap, and alike images take two encodes."""
    sources = [_photo(tmp_path / f"{i}.png", (768, 432), seed=i) for i in range(2)]
    sources.append(tmp_path / "noise.png")
    Image.effect_noise((512, 512), 120).convert("RGB").save(sources[-1])
    sources.append(mf.png(tmp_path / "flat.png", size=(800, 600)))
    step = step_for(2_000)
    monkeypatch.setattr(thumbnails, "_fitted", {})
    from_the_top = []
    for source in sources:
        thumbnails._fitted.clear()
        from_the_top.append(make(source, step))
    rungs = len(thumbnails.QUALITIES) * 4
    for start in range(rungs):
        for source, best in zip(sources, from_the_top, strict=True):
            thumbnails._fitted[step.cap] = start
            thumb = make(source, step)
            assert thumb == best, (source.name, start)
            assert len(thumb.data) <= step.cap
    encodes: list[int] = []
    real_save = Image.Image.save

    def counted(self: Image.Image, fp: object, fmt: str | None = None, **kw: object) -> None:
        encodes.append(1)
        real_save(self, fp, fmt, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Image.Image, "save", counted)
    make(sources[0], step)
    encodes.clear()
    make(sources[1], step)
    assert len(encodes) <= 2


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
