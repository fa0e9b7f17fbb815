"""What a file really is, from its content: family, MIME type and technical data.

``filetype`` sniffs the type from the first bytes (never the name); Pillow reads images
(size, and a full decode that catches truncated files; the decoded pixels also give the
*preview* the series bible makes its thumbnails from, services/thumbnails.py);
``pymediainfo`` reads audio and video (duration, resolution, fps, sample rate, and
MediaInfo's own truncation check). No header parsing by hand. Each library is imported
only when a file needs it.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moviecli.enums import MEDIA_FAMILIES

FAMILIES = ("image", "video", "audio")


class Rejected(Exception):
    """A file that cannot be added; the message says why, for one stderr line."""


@dataclass
class Probe:
    family: str  # image | video | audio
    mime_type: str
    technical_data: dict[str, Any] = field(default_factory=dict)
    # An image's preview (services/thumbnails.py), made while its pixels were loaded
    # here; kept in the thumbnail cache once the store names the file, never recorded.
    preview: bytes | None = field(default=None, repr=False)


def types_of(family: str) -> list[str]:
    return [t for t, f in MEDIA_FAMILIES.items() if f == family]


def sniff(path: Path) -> tuple[str, str]:
    """(family, MIME type) from the content; anything else → Rejected."""
    import filetype

    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise Rejected("no such file") from None
    except OSError as exc:
        raise Rejected(f"cannot read it: {exc.strerror}") from None
    if size == 0:
        raise Rejected("the file is empty")
    try:
        kind = filetype.guess(str(path))
    except OSError as exc:
        raise Rejected(f"cannot read it: {exc.strerror}") from None
    if kind is None:
        raise Rejected("file type not supported (not an image, audio or video file)")
    family = kind.mime.split("/", 1)[0]
    if family not in FAMILIES:
        raise Rejected(f"file type not supported ({kind.mime} is not an image, audio or video)")
    return family, kind.mime


def check_family(family: str, media_type: str) -> None:
    wanted = MEDIA_FAMILIES[media_type]
    if family != wanted:
        article = "an" if family[0] in "aeiou" else "a"
        raise Rejected(
            f"{article} {family} file cannot be {media_type}, which takes {wanted} files "
            f"(for {family} use {', '.join(types_of(family))})"
        )


def probe(path: Path, media_type: str | None = None) -> Probe:
    """Sniff, check the family against ``media_type`` and read the technical data."""
    family, mime = sniff(path)
    if family == "image":
        if media_type is not None:
            check_family(family, media_type)
        return Probe(family, mime, *_image(path, mime))
    info = _mediainfo(path)
    # An MP4 or WebM holding only sound is audio (filetype only sees the container).
    if family == "video" and info["video"] is None and info["audio"] is not None:
        family = "audio"
        mime = mime.replace("video/", "audio/", 1)
    if media_type is not None:
        check_family(family, media_type)
    return Probe(family, mime, _av_data(family, info))


@contextlib.contextmanager
def open_image(path: Path) -> Iterator[tuple[Any, bool]]:
    """``Image.open``, and whether a text chunk was skipped to open it.

    Pillow refuses a PNG whose compressed text chunk (zTXt, iTXt) decompresses beyond its
    1 MB bound; the pixels may be fine. Such a chunk is skipped (Pillow's own switch, on
    only while the chunks before the pixels are read), so metadata alone never makes an
    image unreadable; a truncated image still fails when its pixels are loaded.
    """
    from PIL import Image, ImageFile

    skipped = False
    try:
        img = Image.open(path)
    except ValueError as exc:
        if "MAX_TEXT_CHUNK" not in str(exc):
            raise
        skipped = True
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = True
        try:
            img = Image.open(path)
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous
    with img:
        yield img, skipped


def _image(path: Path, mime: str) -> tuple[dict[str, Any], bytes | None]:
    """The technical data of an image, and its preview (the bible's thumbnails are made
    from it: the pixels are decoded here anyway, decoding them again would cost more)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with open_image(path) as (img, _):
                width, height = img.size
                img.load()  # decodes the pixels: a truncated file fails here
                preview = _preview(img)
    except UnidentifiedImageError:
        Image.init()
        if mime in Image.MIME.values():
            raise Rejected(f"the image is damaged or truncated ({mime})") from None
        raise Rejected(f"file type not supported ({mime} cannot be read)") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise Rejected("the image is too large to read safely") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise Rejected(f"the image is damaged or truncated ({exc})") from None
    return {"resolution": f"{width}x{height}"}, preview


def _preview(img: Any) -> bytes | None:
    """A preview is a saving, never a reason to refuse a file."""
    from moviecli.services.thumbnails import preview_of

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            preview: bytes | None = preview_of(img)
    except Exception:
        return None
    return preview


def _mediainfo(path: Path) -> dict[str, Any]:
    from pymediainfo import MediaInfo

    try:
        info = MediaInfo.parse(path)
    except Exception as exc:  # pymediainfo raises plain exceptions for unreadable files
        raise Rejected(f"cannot read it as audio or video ({exc})") from None
    general = video = audio = None
    for track in info.tracks:
        if track.track_type == "General" and general is None:
            general = track
        elif track.track_type == "Video" and video is None:
            video = track
        elif track.track_type == "Audio" and audio is None:
            audio = track
    if general is not None and str(getattr(general, "istruncated", "")).lower() == "yes":
        raise Rejected("the file is truncated")
    if video is None and audio is None:
        raise Rejected("the file holds no audio or video stream (damaged or truncated?)")
    return {"general": general, "video": video, "audio": audio}


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _av_data(family: str, info: dict[str, Any]) -> dict[str, Any]:
    general, video, audio = info["general"], info["video"], info["audio"]
    data: dict[str, Any] = {}
    duration_ms = None
    for track in (general, video if family == "video" else audio):
        if track is not None and duration_ms is None:
            duration_ms = _number(getattr(track, "duration", None))
    if duration_ms is not None:
        data["duration"] = round(duration_ms / 1000, 3)
    if family == "video" and video is not None:
        width, height = _number(video.width), _number(video.height)
        if width and height:
            data["resolution"] = f"{int(width)}x{int(height)}"
        fps = _number(getattr(video, "frame_rate", None))
        if fps:
            data["fps"] = round(fps, 3)
    if family == "audio" and audio is not None:
        rate = _number(getattr(audio, "sampling_rate", None))
        if rate:
            data["sampleRate"] = int(rate)
    return data
