"""Generation metadata read from the files (services/provenance.py): a file for each tool's
format, written with Pillow, and the malformed and huge ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

from moviecli.services.provenance import MAX_CHUNK, read
from tests import media_factory as mf

A1111 = (
    "masterpiece, a cat in a space suit,\n"
    "standing on the moon\n"
    "Negative prompt: blurry, lowres,\n"
    "extra limbs\n"
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 1234567890, "
    'Size: 832x1216, Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Lora hashes: "moon: '
    'abc123, cat: def456", Version: v1.10.1'
)


def png(path: Path, *texts: tuple[str, str, str]) -> Path:
    """An image with text chunks: (kind, key, value), kind tEXt, zTXt or iTXt."""
    info = PngImagePlugin.PngInfo()
    for kind, key, value in texts:
        if kind == "iTXt":
            info.add_itxt(key, value, zip=True)
        else:
            info.add_text(key, value, zip=kind == "zTXt")
    Image.new("RGB", (16, 16), (10, 20, 30)).save(path, pnginfo=info)
    return path


def with_user_comment(path: Path, comment: bytes, fmt: str = "JPEG") -> Path:
    img = Image.new("RGB", (16, 16))
    exif = img.getexif()
    exif.get_ifd(0x8769)[0x9286] = comment
    img.save(path, fmt, exif=exif)
    return path


def test_automatic1111_png(tmp_path: Path) -> None:
    reading = read(png(tmp_path / "a.png", ("tEXt", "parameters", A1111)))
    assert reading.warnings == []
    assert reading.found is not None
    assert reading.found.metadata() == {
        "agentId": "Automatic1111",
        "promptUsed": "masterpiece, a cat in a space suit,\nstanding on the moon",
        "modelVersion": "sd_xl_base_1.0",
        "parameters": {
            "negativePrompt": "blurry, lowres,\nextra limbs",
            "steps": 28,
            "sampler": "DPM++ 2M",
            "scheduleType": "Karras",
            "cfgScale": 6.5,
            "seed": 1234567890,
            "size": "832x1216",
            "modelHash": "31e35c80fc",
            "model": "sd_xl_base_1.0",
            "loraHashes": "moon: abc123, cat: def456",
            "version": "v1.10.1",
        },
    }


def test_forge_and_a_compressed_chunk(tmp_path: Path) -> None:
    text = "a fox\nSteps: 20, Sampler: Euler a, Seed: 7, Model hash: 0f0f, Version: f2.0.1v1.10.1"
    found = read(png(tmp_path / "f.png", ("iTXt", "parameters", text))).found
    assert found is not None
    assert (found.agent_id, found.prompt, found.model) == ("Forge", "a fox", "0f0f")


@pytest.mark.parametrize(
    "comment",
    [
        b"UNICODE\x00" + A1111.encode("utf-16-be"),  # what piexif writes (A1111's JPEG)
        b"UNICODE\x00" + A1111.encode("utf-16-le"),
        b"UNICODE\x00" + A1111.encode("utf-16"),  # with a byte-order mark
        b"ASCII\x00\x00\x00" + A1111.encode("ascii"),
    ],
)
def test_automatic1111_jpeg_user_comment(tmp_path: Path, comment: bytes) -> None:
    found = read(with_user_comment(tmp_path / "a.jpg", comment)).found
    assert found is not None
    assert found.prompt == "masterpiece, a cat in a space suit,\nstanding on the moon"
    assert found.parameters["seed"] == 1234567890


def test_automatic1111_webp_user_comment(tmp_path: Path) -> None:
    path = with_user_comment(
        tmp_path / "a.webp", b"UNICODE\x00" + A1111.encode("utf-16-be"), "WEBP"
    )
    found = read(path).found
    assert found is not None and found.model == "sd_xl_base_1.0"


def test_a_camera_comment_is_no_generation(tmp_path: Path) -> None:
    reading = read(with_user_comment(tmp_path / "c.jpg", b"ASCII\x00\x00\x00Holiday at sea"))
    assert (reading.found, reading.warnings) == (None, [])


COMFY_PROMPT = {
    "4": {
        "class_type": "CheckpointLoaderSimple",
        "inputs": {"ckpt_name": "juggernautXL.safetensors"},
    },
    "5": {
        "class_type": "EmptyLatentImage",
        "inputs": {"width": 1024, "height": 576, "batch_size": 1},
    },
    "6": {
        "class_type": "CLIPTextEncode",
        "inputs": {"text": "a heist on the moon", "clip": ["4", 1]},
    },
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "watermark", "clip": ["4", 1]}},
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 42,
            "steps": 30,
            "cfg": 7.0,
            "sampler_name": "euler",
            "scheduler": "normal",
            "denoise": 1.0,
            "model": ["4", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
        },
    },
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
}
COMFY_WORKFLOW = {
    "nodes": [
        {"id": 4, "type": "CheckpointLoaderSimple", "widgets_values": ["dreamshaper.safetensors"]},
        {"id": 6, "type": "CLIPTextEncode", "widgets_values": ["a quiet harbour at dawn"]},
        {
            "id": 3,
            "type": "KSampler",
            "widgets_values": [99, "fixed", 25, 5.5, "dpmpp_2m", "karras", 0.8],
        },
    ],
    "links": [],
}


def test_comfyui_prompt_graph(tmp_path: Path) -> None:
    path = png(
        tmp_path / "c.png",
        ("tEXt", "prompt", json.dumps(COMFY_PROMPT)),
        ("tEXt", "workflow", json.dumps(COMFY_WORKFLOW)),
    )
    reading = read(path)
    assert reading.warnings == []
    assert reading.found is not None
    assert reading.found.metadata() == {
        "agentId": "ComfyUI",
        "promptUsed": "a heist on the moon",
        "modelVersion": "juggernautXL.safetensors",
        "parameters": {
            "negativePrompt": "watermark",
            "seed": 42,
            "steps": 30,
            "cfgScale": 7.0,
            "sampler": "euler",
            "scheduler": "normal",
            "denoisingStrength": 1.0,
            "size": "1024x576",
            "nodes": 6,
        },
    }


def test_comfyui_text_through_a_primitive_node(tmp_path: Path) -> None:
    graph = json.loads(json.dumps(COMFY_PROMPT))
    graph["6"]["inputs"]["text"] = ["9", 0]
    graph["9"] = {"class_type": "PrimitiveString", "inputs": {"value": "from a primitive"}}
    found = read(png(tmp_path / "c.png", ("tEXt", "prompt", json.dumps(graph)))).found
    assert found is not None and found.prompt == "from a primitive"


def test_comfyui_workflow_alone(tmp_path: Path) -> None:
    found = read(png(tmp_path / "w.png", ("zTXt", "workflow", json.dumps(COMFY_WORKFLOW)))).found
    assert found is not None
    assert found.metadata() == {
        "agentId": "ComfyUI",
        "promptUsed": "a quiet harbour at dawn",
        "modelVersion": "dreamshaper.safetensors",
        "parameters": {
            "nodes": 3,
            "seed": 99,
            "steps": 25,
            "cfgScale": 5.5,
            "sampler": "dpmpp_2m",
            "scheduler": "karras",
            "denoisingStrength": 0.8,
        },
    }


def test_novelai(tmp_path: Path) -> None:
    comment = {
        "prompt": "a lighthouse",
        "uc": "lowres",
        "steps": 28,
        "seed": 5,
        "scale": 5.0,
        "sampler": "k_euler",
    }
    path = png(
        tmp_path / "n.png",
        ("tEXt", "Software", "NovelAI"),
        ("tEXt", "Source", "NovelAI Diffusion V3 7BCCAA2C"),
        ("tEXt", "Comment", json.dumps(comment)),
    )
    found = read(path).found
    assert found is not None
    assert found.metadata() == {
        "agentId": "NovelAI",
        "promptUsed": "a lighthouse",
        "modelVersion": "NovelAI Diffusion V3 7BCCAA2C",
        "parameters": {
            "negativePrompt": "lowres",
            "steps": 28,
            "sampler": "k_euler",
            "seed": 5,
            "cfgScale": 5.0,
        },
    }


def test_fooocus_json_parameters(tmp_path: Path) -> None:
    data = {
        "prompt": "a red door",
        "negative_prompt": "",
        "base_model": "juggernautXL_v8",
        "steps": 30,
        "seed": "12",
        "fooocus_scheme": "fooocus",
        "styles": ["a", "b"],
    }
    found = read(png(tmp_path / "f.png", ("tEXt", "parameters", json.dumps(data)))).found
    assert found is not None
    assert (found.agent_id, found.prompt, found.model) == (
        "Fooocus",
        "a red door",
        "juggernautXL_v8",
    )
    assert found.parameters == {"steps": 30, "seed": "12", "fooocusScheme": "fooocus"}


def save_xmp(path: Path, packet: str, fmt: str = "PNG") -> Path:
    """XMP as each format carries it (PNG: an iTXt chunk; JPEG and WebP: Pillow's xmp=)."""
    img = Image.new("RGB", (16, 16))
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", packet)
        img.save(path, fmt, pnginfo=info)
    else:
        img.save(path, fmt, xmp=packet.encode())
    return path


XMP = """<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
 xmp:CreatorTool="Midjourney"
 Iptc4xmpExt:DigitalSourceType="{source}">
<dc:description><rdf:Alt>
<rdf:li xml:lang="x-default">a moon base, cinematic --ar 16:9</rdf:li>
</rdf:Alt></dc:description>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"""
AI = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_xmp_digital_source_type(tmp_path: Path, fmt: str) -> None:
    path = save_xmp(tmp_path / f"x.{fmt.lower()}", XMP.format(source=AI), fmt)
    found = read(path).found
    assert found is not None
    assert found.metadata() == {
        "agentId": "Midjourney",
        "promptUsed": "a moon base, cinematic --ar 16:9",
        "parameters": {"digitalSourceType": "trainedAlgorithmicMedia"},
    }


def test_xmp_of_a_photo_is_no_generation(tmp_path: Path) -> None:
    path = tmp_path / "x.jpg"
    photo = XMP.format(source="http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture")
    Image.new("RGB", (16, 16)).save(path, "JPEG", xmp=photo.encode())
    assert read(path).found is None


def test_nothing_to_read(tmp_path: Path) -> None:
    assert read(mf.png(tmp_path / "plain.png")).found is None
    assert read(mf.jpeg(tmp_path / "plain.jpg")).found is None
    assert read(mf.wav(tmp_path / "a.wav")).found is None
    assert read(tmp_path / "missing.png").found is None


# --- malformed and huge --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chunks", "warning"),
    [
        (
            [("tEXt", "parameters", "just a caption")],
            "the 'parameters' text chunk is not in Automatic1111's format: ignored",
        ),
        (
            [("tEXt", "prompt", '{"3": {"class_type": "KSampler", ')],
            "the ComfyUI 'prompt' text chunk is not valid JSON (Expecting property name",
        ),
        (
            [("tEXt", "prompt", "[1, 2, 3]")],
            "the ComfyUI 'prompt' text chunk is not a graph of nodes: ignored",
        ),
        (
            [("tEXt", "prompt", "[" * 10_000 + "]" * 10_000)],
            "the ComfyUI 'prompt' text chunk nests deeper than 64 levels: ignored",
        ),
        (
            [("tEXt", "workflow", '{"nodes": 3}')],
            "the ComfyUI 'workflow' text chunk has no list of nodes: ignored",
        ),
        (
            [("tEXt", "prompt", json.dumps({str(i): {"inputs": {}} for i in range(5001)}))],
            "the ComfyUI graph has 5,001 nodes, over 5,000: ignored",
        ),
        (
            [("tEXt", "parameters", "x" * (MAX_CHUNK + 1))],
            f"the 'parameters' text chunk holds {MAX_CHUNK + 1:,} characters, over the 256,000",
        ),
        ([("tEXt", "Comment", "{}")], "the 'Comment' text chunk is from no tool we know"),
    ],
)
def test_malformed_chunks_warn_and_keep_nothing(
    tmp_path: Path, chunks: list[tuple[str, str, str]], warning: str
) -> None:
    reading = read(png(tmp_path / "bad.png", *chunks))
    assert reading.found is None
    assert len(reading.warnings) == 1
    assert reading.warnings[0].startswith(warning)


def test_a_bad_chunk_does_not_hide_a_good_one(tmp_path: Path) -> None:
    path = png(
        tmp_path / "mixed.png",
        ("tEXt", "parameters", "caption only"),
        ("tEXt", "prompt", json.dumps(COMFY_PROMPT)),
    )
    reading = read(path)
    assert reading.found is not None and reading.found.agent_id == "ComfyUI"
    assert len(reading.warnings) == 1


def test_a_huge_compressed_chunk_is_skipped(tmp_path: Path) -> None:
    # 3 MB once decompressed (a few KB in the file): over Pillow's 1 MB bound.
    path = png(
        tmp_path / "bomb.png",
        ("tEXt", "parameters", A1111),
        ("zTXt", "workflow", "x" * 3_000_000),
    )
    reading = read(path)
    assert reading.warnings == [
        "a compressed text chunk is over 1 MB once decompressed: not read, the rest is"
    ]
    assert reading.found is not None and reading.found.model == "sd_xl_base_1.0"
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # put back


@pytest.mark.parametrize(
    ("xmp", "warning"),
    [
        (
            '<!DOCTYPE x [<!ENTITY a "aaaa">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&a;</x:xmpmeta>',
            "the XMP packet declares a DOCTYPE or entities: ignored",
        ),
        (
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF></x:xmpmeta>',
            "the XMP packet is not valid XML",
        ),
        ("hello", "the XMP packet is not XMP: ignored"),
    ],
)
def test_malformed_xmp(tmp_path: Path, xmp: str, warning: str) -> None:
    reading = read(save_xmp(tmp_path / "x.png", xmp))
    assert reading.found is None
    assert [w[: len(warning)] for w in reading.warnings] == [warning]


def test_odd_user_comment_code(tmp_path: Path) -> None:
    reading = read(with_user_comment(tmp_path / "j.jpg", b"JIS\x00\x00\x00\x00\x00abc"))
    assert reading.found is None
    assert reading.warnings == [
        "the EXIF UserComment uses a character code we do not read "
        "(b'JIS\\x00\\x00\\x00\\x00\\x00'): ignored"
    ]


def test_what_is_kept_is_bounded(tmp_path: Path) -> None:
    long_prompt = "moon " * 3_000  # 15,000 characters
    params = ", ".join(f"Key{i}: {i}" for i in range(60))
    text = f"{long_prompt}\nSteps: 20, Sampler: Euler, Model: {'m' * 300}, "
    text += f"Note: {'n' * 2_000}, {params}"
    reading = read(png(tmp_path / "long.png", ("tEXt", "parameters", text)))
    found = reading.found
    assert found is not None
    assert reading.warnings == ["the prompt is 14,999 characters: kept the first 10,000"]
    assert found.prompt is not None and len(found.prompt) == 10_000
    assert found.model == "m" * 200
    assert len(found.parameters) == 40
    assert found.parameters["note"] == "n" * 1_000 + "…"


def _fuzz_values() -> list[Any]:
    return [
        "",
        "\x00\x01",
        "Steps: 1, Seed: x, Size: y",
        "{" * 65 + "}" * 65,
        "null",
        "[]",
        '{"a": {"class_type": 1, "inputs": {"positive": ["a", 0]}}}',
        '{"a": {"class_type": "KSampler", "inputs": {"positive": ["a", 0]}}}',
    ]


@pytest.mark.parametrize("value", _fuzz_values())
@pytest.mark.parametrize("key", ["parameters", "prompt", "workflow"])
def test_odd_values_never_raise(tmp_path: Path, key: str, value: str) -> None:
    reading = read(png(tmp_path / "odd.png", ("tEXt", key, value)))
    assert reading.found is None or isinstance(reading.found.metadata(), dict)
    json.dumps(reading.found.metadata() if reading.found else {})


def test_a_huge_compressed_chunk_does_not_make_the_image_unreadable(tmp_path: Path) -> None:
    from moviecli.services import probe, thumbnails

    path = png(tmp_path / "bomb.png", ("zTXt", "workflow", "x" * 3_000_000))
    assert probe.probe(path, "concept_art").technical_data == {"resolution": "16x16"}
    thumb = thumbnails.make(path, thumbnails.STEPS[0])
    assert (thumb.width, thumb.height) == (16, 16)
    # The pixels are still checked whole.
    cut = mf.truncated(
        png(tmp_path / "big.png", ("zTXt", "workflow", "x" * 3_000_000)),
        tmp_path / "cut.png",
        keep=0.9,
    )
    with pytest.raises(probe.Rejected):
        probe.probe(cut, "concept_art")


def test_explicit_values_win_key_by_key(tmp_path: Path) -> None:
    from moviecli.services.provenance import merged

    found = read(png(tmp_path / "a.png", ("tEXt", "parameters", A1111))).found
    assert merged(None, None) is None
    assert merged({"agentId": "me"}, None) == {"agentId": "me"}
    record = merged({"promptUsed": "my words", "modelVersion": None, "taskId": "t1"}, found)
    assert record is not None
    assert record["promptUsed"] == "my words"
    assert record["modelVersion"] == "sd_xl_base_1.0"  # the file fills what was not said
    assert record["taskId"] == "t1"
    assert record["agentId"] == "Automatic1111"
    assert record["parameters"]["seed"] == 1234567890


@pytest.mark.parametrize(
    ("model", "name", "matches"),
    [
        ("sd_xl_base_1.0", "SD_XL", True),
        ("sd_xl_base_1.0", "base_1", True),
        ("\uff33\uff24\uff38\uff2c-Turbo", "sdxl", True),  # fullwidth SDXL folds to ASCII
        ("flux-dev", "sdxl", False),
        (None, "sdxl", False),
    ],
)
def test_model_matches(model: str | None, name: str, matches: bool) -> None:
    from moviecli.services.provenance import model_matches

    assert model_matches({"modelVersion": model} if model else None, name) is matches
