"""The series bible of a large project (issue 16): render time and file size.

Builds, in a throw-away MOVIECLI_HOME, one project with ``--images`` images (2,000 by
default) shaped like a real series: 40 characters with 5 designs each, 100 style
references (1024x683 JPEG), 200 concept art and environment images (1024x576 PNG), and
storyboards (768x432 PNG, the rest of the count) over 150 scenes and 12 episodes, plus 30
audio clips and a story. The pictures have photo-like detail (a fractal under coarse noise:
their thumbnails weigh what real photos' do, 6-12 KB at 320 px), every one distinct. The
files go into the content-addressed store and the records into the database directly
(``media add`` of each group would spend minutes on process starts, not on the bible).

Each image is probed and its preview kept in the thumbnail cache by the same service
functions ``media add`` calls (services/probe.py, services/thumbnails.py), so the cache
holds what it holds after a real ``media add``. Then, as whole processes (stdout not a
terminal):

    moviecli project bible P -o FILE --force   cold: no thumbnail cached yet (previews are)
    the same                                   warm: medians of --runs, thumbnails cached
    the same, with --without-previews          cold with no cache at all: the thumbnails
                                               made from the originals (a project added
                                               before previews existed)

It prints a table and writes benchmarks/out/bible.json. Run it with the project's venv:

    .venv/bin/python benchmarks/bible.py [--images 2000] [--runs 3] [--keep DIR]
                                         [--without-previews]

With --keep DIR the project is built in DIR and kept; a second run with the same DIR
measures again without building (after ``moviecli db upgrade``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "out" / "bible.json"
sys.path.insert(0, str(HERE))

from _data import ADMIN_EMAIL, init_home  # noqa: E402
from startup import machine, run_once  # noqa: E402

TITLE = "The Benchmark Bible"
CHARACTERS, DESIGNS_EACH = 40, 5
STYLE_REFS, ART = 100, 200
SCENES, EPISODES, AUDIO = 150, 12, 30


def textures(count: int) -> list[Any]:
    """A few large photo-like pictures that the images are cut from."""
    from PIL import Image

    out = []
    for i in range(count):
        size = (1400, 1000)
        fractal = Image.effect_mandelbrot(size, (-2.1 + i * 0.07, -1.2, 0.9, 1.2), 80)
        noise = Image.effect_noise((size[0] // 6, size[1] // 6), 70 + i).resize(size)
        tint = Image.new("RGB", size, ((i * 53) % 255, (i * 97) % 255, (i * 31) % 255))
        base = Image.merge("RGB", (fractal, noise, Image.blend(fractal, noise, 0.5)))
        out.append(Image.blend(base, tint, 0.25))
    return out


def picture(textures: list[Any], n: int, size: tuple[int, int]) -> Any:
    """Image n: a crop of a texture, at an offset of its own, with a mark of its own."""
    from PIL import ImageDraw

    texture = textures[n % len(textures)]
    x = (n * 37) % (texture.width - size[0])
    y = (n * 23) % (texture.height - size[1])
    img = texture.crop((x, y, x + size[0], y + size[1]))
    ImageDraw.Draw(img).rectangle((8, 8, 8 + n % 97, 20), fill=(n % 256, 255 - n % 256, 128))
    return img


def build(home: Path, moviecli: str, env: dict[str, str], images: int) -> dict[str, Any]:
    from datetime import timedelta

    from sqlmodel import select

    from moviecli.models import Media, Project, StyleReference, User, utcnow
    from moviecli.services import probe, thumbnails
    from moviecli.storage.db import database

    init_home(moviecli, env)
    subprocess.run(
        [moviecli, "-q", "project", "create", TITLE, "--genre", "sci-fi", "--episodes", "12"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    db = database(f"sqlite:///{home / 'moviecli.db'}")
    store = home / "media" / "objects"
    tex = textures(12)
    kinds: list[tuple[str, tuple[int, int], str]] = []
    kinds += [("character_design", (512, 768), "PNG")] * (CHARACTERS * DESIGNS_EACH)
    kinds += [("style_reference", (1024, 683), "JPEG")] * STYLE_REFS
    kinds += [("concept_art", (1024, 576), "PNG")] * (ART // 2)
    kinds += [("environment_design", (1024, 576), "PNG")] * (ART - ART // 2)
    kinds += [("storyboard", (768, 432), "PNG")] * max(0, images - len(kinds))
    kinds = kinds[:images]
    scratch = home / "scratch"
    scratch.mkdir()
    with db.write() as session:
        admin = session.exec(select(User).where(User.email == ADMIN_EMAIL)).one()
        project = session.exec(select(Project).where(Project.title == TITLE)).one()
        project.story = {
            "concept": "A crew of retired magicians robs the moon's only bank.",
            "logline": "Nine lives, one moon, no plan.",
            "synopsis": "\n".join(f"Act {i}: the plan goes wrong again." for i in range(1, 6)),
            "characters": [
                {"name": f"Character {c}", "description": f"The {c}th of the crew."}
                for c in range(CHARACTERS)
            ],
            "scenes": [
                {"title": f"Scene {s}", "description": f"What happens in scene {s}."}
                for s in range(SCENES)
            ],
        }
        session.add(project)
        now = utcnow()
        board = 0
        for n, (media_type, size, fmt) in enumerate(kinds):
            path = scratch / f"{media_type}-{n:05d}.{fmt.lower()}"
            options = {"quality": 88} if fmt == "JPEG" else {"compress_level": 1}
            picture(tex, n, size).save(path, fmt, **options)
            data = path.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            # What media add does with each image: probe it (a full decode, making the
            # preview) and keep the preview in the cache once the content is named.
            thumbnails.keep_preview(probe.probe(path, media_type), sha)
            (store / sha[:2]).mkdir(parents=True, exist_ok=True)
            os.replace(path, store / sha[:2] / sha)
            extra: dict[str, Any] = {}
            if media_type == "character_design":
                extra["characters"] = [f"Character {n // DESIGNS_EACH}"]
            elif media_type == "storyboard":
                extra["scene"] = f"Scene {board % SCENES}"
                extra["episode"] = 1 + (board % SCENES) * EPISODES // SCENES
                extra["timestamp"] = float(board // SCENES)
                board += 1
            if n % 3 == 0:
                extra["agent_generated"] = True
                extra["generation_metadata"] = {
                    "promptUsed": f"cinematic still, moon bank heist, shot {n}",
                    "modelVersion": "sdxl-1.0",
                    "parameters": {"steps": 30, "sampler": "DPM++ 2M", "seed": n},
                }
            media = Media(
                project_id=project.id,
                media_type=media_type,
                filename=path.name,
                mime_type="image/jpeg" if fmt == "JPEG" else "image/png",
                size_bytes=len(data),
                sha256=sha,
                technical_data={"resolution": f"{size[0]}x{size[1]}"},
                created_by=admin.id,
                created_at=now + timedelta(microseconds=n),
                updated_at=now,
                **extra,
            )
            session.add(media)
            if media_type == "style_reference":
                session.flush()
                session.add(StyleReference(project_id=project.id, media_id=media.id))
        for a in range(AUDIO):
            path = scratch / f"line-{a:03d}.wav"
            with wave.open(str(path), "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(8000)
                out.writeframes(a.to_bytes(2, "little") * 8000 * (1 + a % 5))
            data = path.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            (store / sha[:2]).mkdir(parents=True, exist_ok=True)
            os.replace(path, store / sha[:2] / sha)
            session.add(
                Media(
                    project_id=project.id,
                    media_type="voice_profile" if a % 2 else "music_track",
                    filename=path.name,
                    mime_type="audio/x-wav",
                    size_bytes=len(data),
                    sha256=sha,
                    technical_data={"duration": float(1 + a % 5), "sampleRate": 8000},
                    episode=1 + a % EPISODES,
                    created_by=admin.id,
                )
            )
    shutil.rmtree(scratch)
    store_bytes = sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
    return {"images": len(kinds), "audio": AUDIO, "storeBytes": store_bytes}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build in DIR and keep it")
    parser.add_argument(
        "--without-previews",
        action="store_true",
        help="then once more with the cache emptied (a project added before previews)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    moviecli = str(Path(sys.executable).parent / "moviecli")
    home = args.keep or Path(tempfile.mkdtemp(prefix="moviecli-bible-"))
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOVIECLI_")}
    env.update(MOVIECLI_HOME=str(home), NO_COLOR="1")
    os.environ["MOVIECLI_HOME"] = str(home)
    try:
        start = time.perf_counter()
        if (home / "moviecli.db").exists():
            subprocess.run([moviecli, "-q", "db", "upgrade"], env=env, check=True)
            store = home / "media" / "objects"
            built = {
                "images": args.images,
                "audio": AUDIO,
                "storeBytes": sum(p.stat().st_size for p in store.rglob("*") if p.is_file()),
            }
        else:
            built = build(home, moviecli, env, args.images)
            print(f"built {built['images']} images in {time.perf_counter() - start:.0f} s")
        page = home / "bible.html"
        argv = [moviecli, "project", "bible", TITLE, "-o", str(page), "--force"]
        thumbs = home / "cache" / "thumbnails"
        for made in thumbs.glob("*/*") if thumbs.is_dir() else ():
            if made.suffix != ".preview":  # the thumbnails, not the previews media add made
                made.unlink()
        cold_wall, cold_cpu = run_once(argv, env)
        warm = [run_once(argv, env) for _ in range(args.runs)]
        size = page.stat().st_size
        bare_wall = bare_cpu = None
        if args.without_previews:  # last: the previews are gone with the cache
            shutil.rmtree(home / "cache", ignore_errors=True)
            bare_wall, bare_cpu = run_once(argv, env)
        result = {
            "machine": machine(),
            "load": os.getloadavg(),
            **built,
            "command": " ".join(argv[1:]),
            "coldMs": round(cold_wall),
            "coldCpuMs": round(cold_cpu),
            "warmMs": round(statistics.median(w for w, _ in warm)),
            "warmCpuMs": round(statistics.median(c for _, c in warm)),
            "noPreviewMs": None if bare_wall is None else round(bare_wall),
            "noPreviewCpuMs": None if bare_cpu is None else round(bare_cpu),
            "sizeBytes": size,
        }
    finally:
        if args.keep is None:
            shutil.rmtree(home, ignore_errors=True)
    print(f"{'':28}{'wall':>10}{'cpu':>10}")
    print(f"{'bible, thumbnails made':28}{result['coldMs']:>8} ms{result['coldCpuMs']:>7} ms")
    print(f"{'bible, thumbnails cached':28}{result['warmMs']:>8} ms{result['warmCpuMs']:>7} ms")
    if bare_wall is not None:
        print(f"{'bible, no preview, no cache':28}{bare_wall:>8.0f} ms{bare_cpu:>7.0f} ms")
    print(f"file: {size / 1e6:.1f} MB for {result['images']} images (load {result['load']})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
