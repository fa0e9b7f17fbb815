"""Thumbnails of stored images (the series bible embeds them), cached by content.

A thumbnail is a WebP (JPEG where Pillow lacks WebP) no larger than a *step*: a side in
pixels and a byte cap. The caller picks one step for a whole document from how many
images it holds (:func:`step_for`), so that the document stays under a known size: 320 px
and at most 24 KB each for a few hundred images, down to 160 px and 4 KB each.

Encoding: WebP method 2 (half the time of the default method 4, about 3% more bytes).
The rungs, best first, are each of QUALITIES (70, 55, 40) at the step's side, then each
again at 3/4 of that side, and so on; a thumbnail gets the first rung that fits its cap,
so the cap always holds. The images of one document are alike, so the search starts at
the rung the previous thumbnail of that cap fitted at (in this process) and walks down
until one fits, then up while the one above still fits: the same rung as a search from
the top (sizes fall from rung to rung), in about two encodes instead of three or more.

*Previews.* ``media add`` (and ``media version``, ``apply``, chat attachments) decode
every image fully to check it (services/probe.py); while the pixels are there,
:func:`preview_of` reduces an image larger than 320 px to 320 px (upright, RGB or RGBA)
and encodes it once at quality 85, and :func:`keep_preview` keeps it in the cache once the
store has named the file: ``<cache>/thumbnails/ab/<sha256>.preview``. A thumbnail is made
from the preview when there is one (decoding a 320 px WebP, about 1-2 ms), else from the
stored original (about 10-30 ms to decode a 1024 px PNG): images added before previews
existed, images of 320 px or less, a preview that cannot be read (it is dropped).

Both are named by the original's sha256, so a cached one never goes stale:
``<cache>/thumbnails/ab/<sha256>.<cap>`` (owner-only, written atomically, a write that
fails is no error). Reading one from the cache takes well under a millisecond. Cold, the
work is spread over the machine's cores (forked worker processes).
:meth:`ThumbnailCache.prune` drops the thumbnails and previews of originals that have left
the store, so a deleted image does not live on in the cache.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from moviecli.services.probe import Probe

# Bytes of thumbnails one document may hold: 21.4 MB once in base64 (4/3 larger), which
# leaves the captions room under 25 MB, the usual mail limit, up to 4,000 images.
IMAGE_BUDGET = 16_000_000
PARALLEL_FROM = 16  # fewer thumbnails to make than this: not worth starting workers


@dataclass(frozen=True)
class Step:
    cap: int  # bytes, at most
    side: int  # pixels, the longer side at most


STEPS = (
    Step(24_000, 320),
    Step(16_000, 320),
    Step(12_000, 280),
    Step(8_000, 240),
    Step(6_000, 200),
    Step(4_000, 160),
)
QUALITIES = (70, 55, 40)
PREVIEW_SIDE = STEPS[0].side
PREVIEW_QUALITY = 85
# WebP's method 2 encodes in half the time of its default 4, for about 3% more bytes.
_OPTIONS: dict[str, dict[str, Any]] = {"WEBP": {"method": 2}, "JPEG": {"optimize": True}}


def step_for(count: int, budget: int = IMAGE_BUDGET) -> Step:
    """The largest step whose caps, for ``count`` images, fit in ``budget`` (else the
    smallest: beyond 4,000 images each one adds at most 4 KB)."""
    for step in STEPS:
        if step.cap * count <= budget:
            return step
    return STEPS[-1]


@dataclass(frozen=True)
class Thumb:
    data: bytes
    mime: str
    width: int
    height: int


class Unreadable(Exception):
    """The original cannot be turned into a thumbnail; the message says why."""


def _format() -> tuple[str, str]:
    from PIL import features

    return ("WEBP", "image/webp") if features.check("webp") else ("JPEG", "image/jpeg")


# EXIF orientation → the transpose that shows the picture upright (as ImageOps does).
_ORIENT = {2: 0, 3: 3, 4: 1, 5: 5, 6: 4, 7: 6, 8: 2}


def reduce(img: Any, side: int, fmt: str) -> Any:
    """``img`` upright (its EXIF orientation applied), no larger than ``side`` (never
    enlarged), in RGB, or RGBA when it is transparent and ``fmt`` keeps transparency.

    Decodes ``img`` if it is not yet (a JPEG scaled down while decoded). The one rule of
    what a preview and a thumbnail look like: probe's preview and :func:`make` use it."""
    img.draft("RGB", (side, side))  # JPEG not yet loaded: decode scaled down
    orientation = img.getexif().get(0x0112)
    if img.mode.startswith("I;16"):  # Pillow cannot reduce 16-bit pixels 2x or more
        img = img.convert("I")
    img.thumbnail((side, side))  # decodes, then reduces (in place)
    transparent = img.mode in ("RGBA", "LA", "PA") or (
        img.mode == "P" and "transparency" in img.info
    )
    out = img.convert("RGBA" if transparent and fmt == "WEBP" else "RGB")
    if orientation in _ORIENT:
        from PIL import Image

        out = out.transpose(Image.Transpose(_ORIENT[orientation]))
    return out


def preview_of(img: Any) -> bytes | None:
    """The preview of an image whose pixels are loaded (probe makes it while checking the
    file): :data:`PREVIEW_SIDE` px at most, encoded once at a high quality. None for an
    image already that small (its thumbnails are made from it as cheaply)."""
    if max(img.size) <= PREVIEW_SIDE:
        return None
    fmt, _ = _format()
    out = io.BytesIO()
    reduce(img, PREVIEW_SIDE, fmt).save(out, fmt, quality=PREVIEW_QUALITY, **_OPTIONS[fmt])
    return out.getvalue()


def make(source: Path, step: Step) -> Thumb:
    """A thumbnail of the image at ``source`` that fits ``step``."""
    from PIL import Image, UnidentifiedImageError

    from moviecli.services.probe import open_image

    fmt, mime = _format()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with open_image(source) as (original, _):
                img = reduce(original, step.side, fmt)
    except FileNotFoundError:
        raise Unreadable("the stored file is missing from the media store") from None
    except UnidentifiedImageError:
        raise Unreadable("not an image Pillow can read") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise Unreadable("the image is too large to read safely") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise Unreadable(f"the image is damaged ({exc})") from None
    return _encode(img, step, fmt, mime)


def from_preview(preview: bytes, step: Step) -> Thumb | None:
    """The thumbnail of ``step`` made from a preview (decoding at most 320 px instead of
    the original); None when the preview cannot be read."""
    from PIL import Image

    fmt, mime = _format()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(preview)) as original:
                if max(original.size) > PREVIEW_SIDE:  # not a preview we made
                    return None
                img = reduce(original, step.side, fmt)
    except Exception:  # damaged in any way: the original is there to make it from
        return None
    return _encode(img, step, fmt, mime)


# Per cap, the rung the last thumbnail of this process fitted at: where the next starts.
_fitted: dict[int, int] = {}


def _encode(img: Any, step: Step, fmt: str, mime: str) -> Thumb:
    """``img`` encoded at the best rung that fits ``step.cap`` (see the module's
    docstring): from the rung the previous thumbnail fitted at, down until one fits, then
    up while the one above still fits."""
    sizes = {0: img}

    def encoded(rung: int) -> tuple[Thumb, bool]:
        shrink, quality = divmod(rung, len(QUALITIES))
        for level in range(len(sizes), shrink + 1):
            bigger = sizes[level - 1]
            sizes[level] = bigger.resize(
                (max(1, bigger.width * 3 // 4), max(1, bigger.height * 3 // 4))
            )
        small = sizes[shrink]
        out = io.BytesIO()
        small.save(out, fmt, quality=QUALITIES[quality], **_OPTIONS[fmt])
        thumb = Thumb(out.getvalue(), mime, small.width, small.height)
        # Noise at 32 px is far below any cap: the second test is never reached.
        floor = max(small.size) <= 32 and quality == len(QUALITIES) - 1
        return thumb, len(thumb.data) <= step.cap or floor

    rung = _fitted.get(step.cap, 0)
    thumb, fits = encoded(rung)
    climb = fits  # the rung above a failed one is known not to fit
    while not fits:
        rung += 1
        thumb, fits = encoded(rung)
    while climb and rung > 0:
        better, fits = encoded(rung - 1)
        if not fits:
            break
        thumb, rung = better, rung - 1
    _fitted[step.cap] = rung
    return thumb


class ThumbnailCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def default(cls) -> ThumbnailCache:
        from moviecli import config

        return cls(config.paths().cache_dir / "thumbnails")

    def path(self, sha256: str, step: Step) -> Path:
        return self.root / sha256[:2] / f"{sha256}.{step.cap}"

    def get(self, sha256: str, step: Step) -> Thumb | None:
        from PIL import Image

        try:
            data = self.path(sha256, step).read_bytes()
            with Image.open(io.BytesIO(data)) as img:  # reads the header only
                width, height = img.size
                mime = Image.MIME.get(img.format or "", "")
        except Exception:  # missing, or damaged: made again
            return None
        return Thumb(data, mime, width, height) if mime.startswith("image/") else None

    def put(self, sha256: str, step: Step, thumb: Thumb) -> None:
        self._write(self.path(sha256, step), thumb.data)

    def preview_path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.preview"

    def put_preview(self, sha256: str, data: bytes) -> None:
        self._write(self.preview_path(sha256), data)

    def _write(self, target: Path, data: bytes) -> None:
        """Write atomically, owner-only; a cache that cannot be written is no error."""
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        try:
            if not target.parent.is_dir():
                self.root.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                for directory in (self.root, target.parent):
                    directory.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(temp, target)
        except OSError:
            with contextlib.suppress(OSError):
                temp.unlink()

    def prune(self, keep: Callable[[str], bool]) -> int:
        """Remove the thumbnails whose sha256 ``keep`` refuses; returns how many."""
        removed = 0
        try:
            directories = list(self.root.iterdir())
        except OSError:
            return 0
        for directory in directories:
            with contextlib.suppress(OSError):
                for entry in directory.iterdir():
                    sha = entry.name.lstrip(".").split(".", 1)[0]
                    if not keep(sha):
                        entry.unlink()
                        removed += 1
        return removed


def keep_preview(found: Probe, sha256: str, cache: ThumbnailCache | None = None) -> None:
    """Keep the preview probe made of a file (if any) in the cache, under the sha256 the
    store staged it as, and let the probe drop it. Called by each path that stages a
    probed file (media add and version, apply, chat attachments through media add)."""
    if found.preview is not None:
        (cache or ThumbnailCache.default()).put_preview(sha256, found.preview)
        found.preview = None


def _made(job: tuple[str, str, Step, str]) -> tuple[str, Thumb | str]:
    """One thumbnail made and cached (in a worker process, or in this one): from the
    file's preview when the cache has one, else from the original."""
    sha256, source, step, cache_root = job
    cache = ThumbnailCache(Path(cache_root))
    thumb = None
    with contextlib.suppress(OSError):
        preview = cache.preview_path(sha256).read_bytes()
        # The page tells of a file gone from the store, whatever the cache still holds.
        if not os.path.exists(source):
            return sha256, "the stored file is missing from the media store"
        thumb = from_preview(preview, step)
        if thumb is None:  # damaged: made from the original below
            cache.preview_path(sha256).unlink()
    if thumb is None:
        try:
            thumb = make(Path(source), step)
        except Unreadable as exc:
            return sha256, str(exc)
    cache.put(sha256, step, thumb)
    return sha256, thumb


def thumbnails(
    originals: Iterable[tuple[str, Path]],
    step: Step,
    cache: ThumbnailCache,
    *,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Thumb | str]:
    """sha256 → its thumbnail, or why there is none; from the cache when it has them."""
    out: dict[str, Thumb | str] = {}
    jobs: list[tuple[str, str, Step, str]] = []
    for sha256, source in originals:
        if sha256 in out:
            continue
        cached = cache.get(sha256, step)
        if cached is not None:
            out[sha256] = cached
            if progress:
                progress(1)
        else:
            out[sha256] = "not made"
            jobs.append((sha256, str(source), step, str(cache.root)))
    for sha256, result in _run(jobs):
        out[sha256] = result
        if progress:
            progress(1)
    return out


def _run(jobs: Sequence[tuple[str, str, Step, str]]) -> Iterable[tuple[str, Thumb | str]]:
    workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1, 8)
    if len(jobs) < PARALLEL_FROM or workers < 2 or sys.platform != "linux":
        yield from map(_made, jobs)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # fork: the workers start at once with Pillow already imported (this process runs no
    # thread of its own at this point).
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        yield from pool.map(_made, jobs, chunksize=8)
