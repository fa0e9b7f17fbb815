"""Small previews of stored images (the series bible embeds them), cached by content.

A thumbnail is a WebP (JPEG where Pillow lacks WebP) no larger than a *step*: a side in
pixels and a byte cap. The caller picks one step for a whole document from how many
images it holds (:func:`step_for`), so that the document stays under a known size: 320 px
and at most 24 KB each for a few hundred images, down to 160 px and 4 KB each. A
thumbnail that comes out above its cap is encoded again at a lower quality, then smaller.

Thumbnails are made from the stored original, named by its sha256, so a cached one never
goes stale: ``<cache>/thumbnails/ab/<sha256>.<cap>.webp`` (owner-only, written
atomically). Making one means decoding the original (about 20-30 ms for a 1024 px PNG);
reading one from the cache takes well under a millisecond. Cold, the work is spread over
the machine's cores (forked worker processes). :meth:`ThumbnailCache.prune` drops the
thumbnails of originals that have left the store, so a deleted image does not live on in
the cache.
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


def make(source: Path, step: Step) -> Thumb:
    """A thumbnail of the image at ``source`` that fits ``step``."""
    from PIL import Image, UnidentifiedImageError

    from moviecli.services.probe import open_image

    fmt, mime = _format()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with open_image(source) as (original, _):
                original.draft("RGB", (step.side, step.side))  # JPEG: decode scaled down
                orientation = original.getexif().get(0x0112)
                original.thumbnail((step.side, step.side))  # decodes, then reduces
                transparent = original.mode in ("RGBA", "LA", "PA") or (
                    original.mode == "P" and "transparency" in original.info
                )
                img = original.convert("RGBA" if transparent and fmt == "WEBP" else "RGB")
    except FileNotFoundError:
        raise Unreadable("the stored file is missing from the media store") from None
    except UnidentifiedImageError:
        raise Unreadable("not an image Pillow can read") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise Unreadable("the image is too large to read safely") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise Unreadable(f"the image is damaged ({exc})") from None
    if orientation in _ORIENT:
        img = img.transpose(Image.Transpose(_ORIENT[orientation]))
    while True:
        for quality in QUALITIES:
            out = io.BytesIO()
            options = {"method": 4} if fmt == "WEBP" else {"optimize": True}
            img.save(out, fmt, quality=quality, **options)
            if out.tell() <= step.cap:
                return Thumb(out.getvalue(), mime, img.width, img.height)
        if max(img.size) <= 32:  # noise at 32 px is far below any cap: never reached
            return Thumb(out.getvalue(), mime, img.width, img.height)
        img = img.resize((max(1, img.width * 3 // 4), max(1, img.height * 3 // 4)))


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
        """Write atomically, owner-only; a cache that cannot be written is no error."""
        target = self.path(sha256, step)
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        try:
            if not target.parent.is_dir():
                self.root.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                for directory in (self.root, target.parent):
                    directory.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(thumb.data)
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


def _made(job: tuple[str, str, Step, str]) -> tuple[str, Thumb | str]:
    """One thumbnail made and cached (in a worker process, or in this one)."""
    sha256, source, step, cache_root = job
    try:
        thumb = make(Path(source), step)
    except Unreadable as exc:
        return sha256, str(exc)
    ThumbnailCache(Path(cache_root)).put(sha256, step, thumb)
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
