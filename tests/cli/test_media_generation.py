"""Generation metadata read from the files on ``media add`` (issue 16 item 2), shown by
``media show``, filtered by ``media list --generated / --model``, found by ``media
search`` through the prompt. The files are written with Pillow (tests/services/
test_provenance.py covers every format and malformed chunk one by one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests import media_factory as mf
from tests.projecthelp import new_project
from tests.services.test_provenance import A1111, COMFY_PROMPT, png, with_user_comment


@pytest.fixture
def project(cli: Any, admin: Any) -> dict[str, Any]:
    return new_project(cli, "Space Heist")


def add(cli: Any, *args: str) -> Any:
    return cli("media", "add", "Space Heist", *args, "--no-embed", "--json")


def test_automatic1111_file_fills_generation_metadata(
    cli: Any, project: dict, tmp_path: Path
) -> None:
    path = png(tmp_path / "cat.png", ("tEXt", "parameters", A1111))
    result = add(cli, str(path), "--type", "concept_art")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "1 added to 'Space Heist', 0 already present, 0 rejected\n"
    record = result.json()[0]
    assert record["agentGenerated"] is True
    meta = record["generationMetadata"]
    assert meta["agentId"] == "Automatic1111"
    assert meta["promptUsed"] == "masterpiece, a cat in a space suit,\nstanding on the moon"
    assert meta["modelVersion"] == "sd_xl_base_1.0"
    assert "generationTime" not in meta  # the file does not say when
    assert meta["parameters"]["negativePrompt"] == "blurry, lowres,\nextra limbs"
    assert (meta["parameters"]["steps"], meta["parameters"]["seed"]) == (28, 1234567890)
    # media show prints it, one line per parameter.
    shown = cli("media", "show", record["id"])
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "modelVersion\tsd_xl_base_1.0" in lines
    assert "parameters.sampler\tDPM++ 2M" in lines
    assert "promptUsed\tmasterpiece, a cat in a space suit, standing on the moon" in lines
    assert cli("media", "show", record["id"], "--json").json()["generationMetadata"] == meta


def test_comfyui_jpeg_and_xmp_files(cli: Any, project: dict, tmp_path: Path) -> None:
    comfy = png(tmp_path / "comfy.png", ("tEXt", "prompt", json.dumps(COMFY_PROMPT)))
    jpeg = with_user_comment(tmp_path / "a1111.jpg", b"UNICODE\x00" + A1111.encode("utf-16-be"))
    result = add(cli, str(comfy), str(jpeg), "--type", "storyboard")
    assert result.exit_code == 0, result.stderr
    first, second = result.json()
    assert first["generationMetadata"]["agentId"] == "ComfyUI"
    assert first["generationMetadata"]["promptUsed"] == "a heist on the moon"
    assert second["generationMetadata"]["modelVersion"] == "sd_xl_base_1.0"


def test_explicit_flags_win_and_the_file_fills_the_rest(
    cli: Any, project: dict, tmp_path: Path
) -> None:
    path = png(tmp_path / "cat.png", ("tEXt", "parameters", A1111))
    result = add(
        cli,
        str(path),
        "--type",
        "concept_art",
        "--generated",
        "--prompt",
        "my own words",
        "--agent-id",
        "studio-bot",
    )
    assert result.exit_code == 0, result.stderr
    meta = result.json()[0]["generationMetadata"]
    assert (meta["promptUsed"], meta["agentId"]) == ("my own words", "studio-bot")
    assert meta["modelVersion"] == "sd_xl_base_1.0"
    assert meta["generationTime"].endswith("Z")  # --generated: now, as before
    assert meta["parameters"]["cfgScale"] == 6.5


def test_no_generation_metadata(cli: Any, project: dict, tmp_path: Path) -> None:
    path = png(tmp_path / "cat.png", ("tEXt", "parameters", A1111))
    result = add(cli, str(path), "--type", "concept_art", "--no-generation-metadata")
    assert result.exit_code == 0, result.stderr
    record = result.json()[0]
    assert record["agentGenerated"] is False
    assert "generationMetadata" not in record


def test_a_plain_image_stays_hand_made(cli: Any, project: dict, tmp_path: Path) -> None:
    result = add(cli, str(mf.png(tmp_path / "plain.png")), "--type", "concept_art")
    assert result.exit_code == 0
    assert "Warning" not in result.stderr
    assert result.json()[0]["agentGenerated"] is False


def test_malformed_and_huge_chunks_warn_and_the_files_are_added(
    cli: Any, project: dict, tmp_path: Path
) -> None:
    broken = png(tmp_path / "broken.png", ("tEXt", "prompt", '{"3": {"class_type": '))
    huge = png(
        tmp_path / "huge.png",
        ("tEXt", "parameters", A1111),
        ("zTXt", "workflow", "x" * 3_000_000),  # 3 MB once decompressed
    )
    long = png(tmp_path / "long.png", ("tEXt", "parameters", "y" * 300_000))
    result = add(cli, str(broken), str(huge), str(long), "--type", "concept_art")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[:-1] == [
        f"Warning: {broken}: the ComfyUI 'prompt' text chunk is not valid JSON "
        "(Expecting value: line 1 column 22 (char 21)): ignored",
        f"Warning: {huge}: a compressed text chunk is over 1 MB once decompressed: not read, "
        "the rest is",
        f"Warning: {long}: the 'parameters' text chunk holds 300,000 characters, over the "
        "256,000 read: ignored",
    ]
    broken_record, huge_record, long_record = result.json()
    assert broken_record["agentGenerated"] is False
    assert "generationMetadata" not in broken_record
    assert huge_record["generationMetadata"]["modelVersion"] == "sd_xl_base_1.0"
    assert long_record["agentGenerated"] is False


def test_list_generated_and_by_model(cli: Any, project: dict, tmp_path: Path) -> None:
    sdxl = png(tmp_path / "sdxl.png", ("tEXt", "parameters", A1111))
    comfy = png(tmp_path / "comfy.png", ("tEXt", "prompt", json.dumps(COMFY_PROMPT)))
    plain = mf.png(tmp_path / "plain.png", seed=3)
    assert add(cli, str(sdxl), str(comfy), str(plain), "--type", "concept_art").exit_code == 0

    def names(*args: str) -> tuple[list[str], int]:
        result = cli("media", "list", "Space Heist", *args, "--json")
        assert result.exit_code == 0, result.stderr
        data = result.json()
        return sorted(m["filename"] for m in data["items"]), data["total"]

    assert names() == (["comfy.png", "plain.png", "sdxl.png"], 3)
    assert names("--generated") == (["comfy.png", "sdxl.png"], 2)
    assert names("--model", "SD_XL") == (["sdxl.png"], 1)
    assert names("--model", "juggernaut", "--generated") == (["comfy.png"], 1)
    assert names("--model", "flux") == ([], 0)
    assert names("--model", "xl", "--limit", "1")[1] == 2
    result = cli("media", "list", "Space Heist", "--model", "  ")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: invalid input\n  model: must not be empty\n",
    )


def test_search_finds_the_prompt(cli: Any, project: dict, tmp_path: Path) -> None:
    text = "a lighthouse on a cliff in a storm\nSteps: 20, Sampler: Euler, Seed: 1"
    path = png(tmp_path / "img-001.png", ("tEXt", "parameters", text))
    other = mf.png(tmp_path / "img-002.png", seed=5)
    result = cli("media", "add", "Space Heist", str(path), str(other), "--type", "concept_art")
    assert result.exit_code == 0, result.stderr
    found = cli("media", "search", "lighthouse in a storm", "--json")
    assert found.exit_code == 0, found.stderr
    items = found.json()["items"]
    assert items[0]["filename"] == "img-001.png"
    assert items[0]["similarity"] > items[1]["similarity"] + 0.1
