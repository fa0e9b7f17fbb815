"""Tiny real media files for tests: images with Pillow, WAV with ``wave``, MP4 and WebM
with PyAV (its wheels bundle FFmpeg). Each factory takes a path and returns it.

``seed`` varies the content, so two files made with different seeds have different bytes.
"""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path


def png(path: Path, *, size: tuple[int, int] = (32, 24), seed: int = 0) -> Path:
    from PIL import Image

    img = Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, (seed * 13) % 256))
    img.putpixel((0, 0), (seed % 256, 0, 255))
    img.save(path, format="PNG")
    return path


def jpeg(path: Path, *, size: tuple[int, int] = (40, 30), seed: int = 0) -> Path:
    from PIL import Image

    img = Image.new("RGB", size, ((seed * 53) % 256, 120, 200))
    img.save(path, format="JPEG", quality=90)
    return path


def wav(path: Path, *, seconds: float = 0.5, rate: int = 22050, seed: int = 0) -> Path:
    frames = int(seconds * rate)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        sample = (seed % 1000).to_bytes(2, "little", signed=True)
        out.writeframes(sample * frames)
    return path


def _video(
    path: Path, fmt: str, codec: str, *, frames: int, size: tuple[int, int], fps: int, seed: int
) -> Path:
    import av
    import numpy as np

    with av.open(str(path), mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        for i in range(frames):
            pixels = np.full((size[1], size[0], 3), (seed * 29 + i * 9) % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def mp4(
    path: Path, *, frames: int = 12, size: tuple[int, int] = (64, 48), fps: int = 12, seed: int = 0
) -> Path:
    return _video(path, "mp4", "mpeg4", frames=frames, size=size, fps=fps, seed=seed)


def webm(
    path: Path, *, frames: int = 12, size: tuple[int, int] = (64, 48), fps: int = 12, seed: int = 0
) -> Path:
    return _video(path, "webm", "libvpx", frames=frames, size=size, fps=fps, seed=seed)


def exe(path: Path) -> Path:
    """A Windows executable header (MZ), whatever the file is named."""
    path.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200)
    return path


def truncated(source: Path, path: Path, *, keep: float = 0.5) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: max(1, int(len(data) * keep))])
    return path
