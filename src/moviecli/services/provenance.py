"""Where a generated image came from, read from the file itself (issue 16).

AI image tools write how an image was made into the file; this module reads what Pillow
exposes and turns it into the seed's ``generationMetadata`` (``agentId``, ``promptUsed``,
``modelVersion``) plus a ``parameters`` object with the rest:

- Automatic1111 / Forge: a ``parameters`` text chunk (PNG), or the same text in the EXIF
  UserComment (JPEG, WebP): the prompt, ``Negative prompt: …``, then one line of
  ``Key: value`` pairs (Steps, Sampler, CFG scale, Seed, Size, Model, …).
- ComfyUI: ``prompt`` (the graph it ran, JSON) and ``workflow`` (the editor's graph) text
  chunks: the sampler's positive and negative text, checkpoint, seed, steps, cfg, size.
- NovelAI: a ``Comment`` JSON chunk with ``Software`` naming it.
- XMP (IPTC): a ``DigitalSourceType`` of trained algorithmic media marks the image as
  generated; ``dc:description`` is its prompt, ``xmp:CreatorTool`` the tool.

Everything here is untrusted input: each text is bounded before it is parsed (a chunk
over :data:`MAX_CHUNK` characters is not read, JSON nesting is bounded, XML with a DOCTYPE
is refused), and what is kept is bounded too. A chunk that cannot be read is reported in
``warnings`` (one line each) and nothing from it is kept; the file itself is never
refused for its metadata.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moviecli.text import bracket_depth

MAX_CHUNK = 256_000  # characters of one text chunk we are willing to parse
MAX_NODES = 5_000  # nodes of a ComfyUI graph
MAX_DEPTH = 64  # JSON nesting
MAX_PROMPT = 10_000  # as a description (media MAX_TEXT)
MAX_NAME = 200  # agentId, modelVersion (media validation)
MAX_VALUE = 1_000  # one parameter's text
MAX_PARAMETERS = 40

AI_SOURCE_TYPES = ("trainedalgorithmicmedia", "compositewithtrainedalgorithmicmedia")


@dataclass
class Provenance:
    """What the file says about how it was made."""

    agent_id: str | None = None
    prompt: str | None = None
    model: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """As ``generationMetadata`` stores it (camelCase, nothing empty)."""
        out: dict[str, Any] = {
            "agentId": self.agent_id,
            "promptUsed": self.prompt,
            "modelVersion": self.model,
            "parameters": self.parameters or None,
        }
        return {k: v for k, v in out.items() if v not in (None, "", {})}


@dataclass
class Reading:
    found: Provenance | None
    warnings: list[str] = field(default_factory=list)


class _Bad(Exception):
    """One chunk that cannot be read; the message says why (for a warning)."""


# --- the entry point ---------------------------------------------------------------------------


def read(path: Path) -> Reading:
    """The generation metadata an image file carries (None when it carries none)."""
    from PIL import UnidentifiedImageError

    from moviecli.services.probe import open_image

    warnings: list[str] = []
    try:
        with open_image(path) as (img, skipped):
            texts, exif_comment, xmp = _sources(img)
    except ValueError as exc:
        return Reading(None, [f"cannot read its metadata ({_short(exc)})"])
    except (OSError, UnidentifiedImageError, SyntaxError):
        return Reading(None, [])  # not an image: nothing to read (the probe says why)
    if skipped:
        warnings.append(
            "a compressed text chunk is over 1 MB once decompressed: not read, the rest is"
        )
    return _interpret(texts, exif_comment, xmp, warnings)


_TEXT_KEYS = ("parameters", "prompt", "workflow", "Comment")


def _sources(img: Any) -> tuple[dict[str, str], Any, Any]:
    """The text chunks (as str), the EXIF UserComment and the XMP packet of an image."""
    texts: dict[str, str] = {}
    for key, value in img.info.items():
        if isinstance(key, str) and isinstance(value, str):
            texts[key] = value
        elif isinstance(key, str) and isinstance(value, bytes) and key in _TEXT_KEYS:
            texts[key] = value.decode("utf-8", "replace")
    comment = None
    try:
        comment = img.getexif().get_ifd(0x8769).get(0x9286)
    except Exception:  # a damaged EXIF block: no comment
        comment = None
    xmp = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
    return texts, comment, xmp


def _interpret(texts: dict[str, str], exif_comment: Any, xmp: Any, warnings: list[str]) -> Reading:
    found: Provenance | None = None
    readers = (
        ("parameters", _parameters),
        ("prompt", _comfyui_prompt),
        ("workflow", _comfyui_workflow),
        ("Comment", _novelai),
    )
    for key, reader in readers:
        if key not in texts or found is not None:
            continue
        try:
            found = reader(_bounded(texts[key], f"the {key!r} text chunk"), texts)
        except _Bad as exc:
            warnings.append(str(exc))
    if found is None and exif_comment is not None:
        try:
            text = _bounded(_user_comment(exif_comment), "the EXIF UserComment")
            if "Steps: " in text:
                found = _automatic1111(text, texts)
        except _Bad as exc:
            warnings.append(str(exc))
    if xmp:
        try:
            extra = _xmp(xmp)
        except _Bad as exc:
            warnings.append(str(exc))
        else:
            if extra is not None:
                if found is None:
                    found = extra
                else:
                    found.agent_id = found.agent_id or extra.agent_id
                    for k, v in extra.parameters.items():
                        found.parameters.setdefault(k, v)
    if found is not None:
        _limit(found, warnings)
    return Reading(found, warnings)


def _bounded(text: str, what: str) -> str:
    if len(text) > MAX_CHUNK:
        raise _Bad(f"{what} holds {len(text):,} characters, over the {MAX_CHUNK:,} read: ignored")
    return text


def _limit(found: Provenance, warnings: list[str]) -> None:
    """What is kept stays within the sizes the rest of moviecli accepts."""
    if found.prompt is not None:
        found.prompt = found.prompt.strip() or None
    if found.prompt is not None and len(found.prompt) > MAX_PROMPT:
        warnings.append(f"the prompt is {len(found.prompt):,} characters: kept the first 10,000")
        found.prompt = found.prompt[:MAX_PROMPT]
    for name in ("agent_id", "model"):
        value = getattr(found, name)
        if isinstance(value, str):
            value = value.strip()[:MAX_NAME] or None
        setattr(found, name, value)
    kept: dict[str, Any] = {}
    for key, value in list(found.parameters.items())[:MAX_PARAMETERS]:
        if value is None or value == "":
            continue
        if isinstance(value, str) and len(value) > MAX_VALUE:
            value = value[:MAX_VALUE] + "…"
        elif not isinstance(value, (str, int, float, bool)):
            text = json.dumps(value, ensure_ascii=False, default=str)
            value = text if len(text) <= MAX_VALUE else text[:MAX_VALUE] + "…"
        kept[str(key)[:100]] = value
    found.parameters = kept


# --- Automatic1111 / Forge (and Fooocus's JSON) -----------------------------------------------


def _parameters(text: str, texts: dict[str, str]) -> Provenance:
    """The 'parameters' chunk: Automatic1111's text, or a JSON object (Fooocus)."""
    if not text.lstrip().startswith("{"):
        return _automatic1111(text, texts)
    data = _json(text, "the 'parameters' text chunk")
    if not isinstance(data, dict):
        raise _Bad("the 'parameters' text chunk is JSON but not an object: ignored")
    prompt = data.get("prompt") if isinstance(data.get("prompt"), str) else None
    model = next(
        (data[k] for k in ("base_model", "model", "checkpoint") if isinstance(data.get(k), str)),
        None,
    )
    skip = {"prompt", "base_model", "model", "checkpoint"}
    parameters = {
        _camel(str(k)): v
        for k, v in data.items()
        if k not in skip and isinstance(v, (str, int, float, bool))
    }
    agent = "Fooocus" if any("fooocus" in str(k).lower() for k in data) else None
    return Provenance(agent_id=agent, prompt=prompt, model=model, parameters=parameters)


# The pattern Automatic1111 itself parses its parameters line with: Key: value, the value
# quoted when it holds commas.
_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_NEGATIVE = "Negative prompt:"


def _automatic1111(text: str, _texts: dict[str, str]) -> Provenance:
    lines = text.strip().split("\n")
    params_line = ""
    if len(lines) > 1 and len(_PARAM.findall(lines[-1])) >= 3:
        params_line = lines.pop()
    prompt_lines: list[str] = []
    negative_lines: list[str] = []
    target = prompt_lines
    for line in lines:
        if line.startswith(_NEGATIVE):
            target = negative_lines
            line = line[len(_NEGATIVE) :].strip()
        target.append(line)
    if not params_line and not negative_lines:
        raise _Bad("the 'parameters' text chunk is not in Automatic1111's format: ignored")
    parameters: dict[str, Any] = {}
    negative = "\n".join(negative_lines).strip()
    if negative:
        parameters["negativePrompt"] = negative
    model = None
    for key, raw in _PARAM.findall(params_line):
        value = raw.strip()
        if len(value) > 1 and value[0] == value[-1] == '"':
            try:
                value = json.loads(value)
            except ValueError:
                value = value[1:-1]
        if key.strip() == "Model":
            model = str(value)
        parameters[_camel(key)] = _number(value)
    if model is None and parameters.get("modelHash"):
        model = str(parameters["modelHash"])
    version = parameters.get("version")
    generator = "Forge" if isinstance(version, str) and version.startswith("f") else None
    return Provenance(
        agent_id=generator or "Automatic1111",
        prompt="\n".join(prompt_lines).strip() or None,
        model=model,
        parameters=parameters,
    )


def _camel(key: str) -> str:
    """ "CFG scale" → cfgScale, "Model hash" → modelHash (JSON names are camelCase)."""
    words = [w for w in re.split(r"[\s\-/_]+", key.strip()) if w]
    if not words:
        return key
    return words[0].lower() + "".join(w[:1].upper() + w[1:].lower() for w in words[1:])


def _number(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if re.fullmatch(r"-?\d{1,18}", value):
        return int(value)
    if re.fullmatch(r"-?\d+\.\d+", value):
        return float(value)
    return value


# --- ComfyUI -------------------------------------------------------------------------------


def _json(text: str, what: str) -> Any:
    if bracket_depth(text) > MAX_DEPTH:
        raise _Bad(f"{what} nests deeper than {MAX_DEPTH} levels: ignored")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _Bad(f"{what} is not valid JSON ({_short(exc)}): ignored") from None


def _short(exc: Exception) -> str:
    return str(exc).split("\n", 1)[0][:100]


_SAMPLER_KEYS = {
    "seed": "seed",
    "noise_seed": "seed",
    "steps": "steps",
    "cfg": "cfgScale",
    "sampler_name": "sampler",
    "scheduler": "scheduler",
    "denoise": "denoisingStrength",
}
_MODEL_INPUTS = ("ckpt_name", "unet_name", "model_name")


def _comfyui_prompt(text: str, _texts: dict[str, str]) -> Provenance:
    graph = _json(text, "the ComfyUI 'prompt' text chunk")
    if not isinstance(graph, dict) or not all(isinstance(n, dict) for n in graph.values()):
        raise _Bad("the ComfyUI 'prompt' text chunk is not a graph of nodes: ignored")
    if len(graph) > MAX_NODES:
        raise _Bad(f"the ComfyUI graph has {len(graph):,} nodes, over {MAX_NODES:,}: ignored")
    nodes: dict[str, dict[str, Any]] = {str(k): v for k, v in graph.items()}

    def inputs(node: dict[str, Any]) -> dict[str, Any]:
        value = node.get("inputs")
        return value if isinstance(value, dict) else {}

    def text_of(link: Any, depth: int = 0) -> str | None:
        """The text a sampler input leads to (through conditioning nodes, bounded)."""
        if isinstance(link, str):
            return link
        if depth > 8 or not (isinstance(link, list) and link):
            return None
        node = nodes.get(str(link[0]))
        if node is None:
            return None
        for key in ("text", "text_g", "string", "value", "prompt"):
            found = text_of(inputs(node).get(key), depth + 1) if key in inputs(node) else None
            if found:
                return found
        for key in ("conditioning", "conditioning_1", "positive", "clip"):
            if key in inputs(node):
                found = text_of(inputs(node)[key], depth + 1)
                if found:
                    return found
        return None

    samplers = [n for n in nodes.values() if "sampler" in str(n.get("class_type", "")).lower()]
    sampler = next((n for n in samplers if "positive" in inputs(n)), None)
    parameters: dict[str, Any] = {}
    prompt = None
    if sampler is not None:
        prompt = text_of(inputs(sampler).get("positive"))
        negative = text_of(inputs(sampler).get("negative"))
        if negative:
            parameters["negativePrompt"] = negative
        for key, name in _SAMPLER_KEYS.items():
            value = inputs(sampler).get(key)
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                parameters[name] = value
    if prompt is None:
        for node in nodes.values():
            if str(node.get("class_type", "")).startswith("CLIPTextEncode"):
                prompt = text_of(inputs(node).get("text")) or prompt
                if prompt:
                    break
    model = None
    for node in nodes.values():
        for key in _MODEL_INPUTS:
            if isinstance(inputs(node).get(key), str):
                model = model or inputs(node)[key]
        if node.get("class_type") in ("EmptyLatentImage", "EmptySD3LatentImage"):
            width, height = inputs(node).get("width"), inputs(node).get("height")
            if isinstance(width, int) and isinstance(height, int):
                parameters["size"] = f"{width}x{height}"
    parameters["nodes"] = len(nodes)
    return Provenance(agent_id="ComfyUI", prompt=prompt, model=model, parameters=parameters)


def _comfyui_workflow(text: str, _texts: dict[str, str]) -> Provenance:
    """The editor's graph, read only when the 'prompt' chunk is absent: widget values of
    the text encoders, the checkpoint loader and the sampler."""
    graph = _json(text, "the ComfyUI 'workflow' text chunk")
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    if not isinstance(nodes, list) or not all(isinstance(n, dict) for n in nodes):
        raise _Bad("the ComfyUI 'workflow' text chunk has no list of nodes: ignored")
    if len(nodes) > MAX_NODES:
        raise _Bad(f"the ComfyUI workflow has {len(nodes):,} nodes, over {MAX_NODES:,}: ignored")
    prompt = model = None
    parameters: dict[str, Any] = {"nodes": len(nodes)}
    for node in nodes:
        kind = str(node.get("type", ""))
        values = node.get("widgets_values")
        if not isinstance(values, list) or not values:
            continue
        if kind.startswith("CLIPTextEncode") and isinstance(values[0], str) and prompt is None:
            prompt = values[0]
        elif kind.startswith("CheckpointLoader") and isinstance(values[0], str):
            model = model or values[0]
        elif kind == "KSampler" and len(values) >= 7:
            seed, _control, steps, cfg, sampler, scheduler, denoise = values[:7]
            parameters.update(
                seed=seed,
                steps=steps,
                cfgScale=cfg,
                sampler=sampler,
                scheduler=scheduler,
                denoisingStrength=denoise,
            )
    return Provenance(agent_id="ComfyUI", prompt=prompt, model=model, parameters=parameters)


# --- NovelAI -------------------------------------------------------------------------------


def _novelai(text: str, texts: dict[str, str]) -> Provenance:
    if "novelai" not in texts.get("Software", "").lower():
        raise _Bad("the 'Comment' text chunk is from no tool we know: ignored")
    data = _json(text, "the NovelAI 'Comment' text chunk")
    if not isinstance(data, dict):
        raise _Bad("the NovelAI 'Comment' text chunk is not an object: ignored")
    parameters: dict[str, Any] = {}
    for key, name in (
        ("uc", "negativePrompt"),
        ("steps", "steps"),
        ("sampler", "sampler"),
        ("seed", "seed"),
        ("scale", "cfgScale"),
        ("width", "width"),
        ("height", "height"),
    ):
        if isinstance(data.get(key), (str, int, float)):
            parameters[name] = data[key]
    prompt = (
        data.get("prompt") if isinstance(data.get("prompt"), str) else texts.get("Description")
    )
    source = texts.get("Source")
    return Provenance(
        agent_id="NovelAI", prompt=prompt, model=source if source else None, parameters=parameters
    )


# --- EXIF UserComment and XMP ------------------------------------------------------------------


def _user_comment(value: Any) -> str:
    """EXIF UserComment: 8 bytes naming the character code, then the text."""
    if isinstance(value, str):
        return value
    if not isinstance(value, bytes):
        raise _Bad("the EXIF UserComment is not text: ignored")
    if len(value) > MAX_CHUNK * 2 + 8:
        raise _Bad(f"the EXIF UserComment holds {len(value):,} bytes: ignored")
    code, body = value[:8], value[8:]
    if code.startswith(b"UNICODE"):
        if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return body.decode("utf-16", "replace")
        # No byte-order mark: ASCII text tells its order by where its zero bytes are.
        big = body[:1] == b"\x00" and body[1:2] != b"\x00"
        return body.decode("utf-16-be" if big else "utf-16-le", "replace").rstrip("\x00")
    if code.startswith(b"ASCII") or code == b"\x00" * 8:
        return body.decode("utf-8", "replace").rstrip("\x00")
    raise _Bad(f"the EXIF UserComment uses a character code we do not read ({code!r}): ignored")


def _xmp(packet: Any) -> Provenance | None:
    import xml.etree.ElementTree as ET

    text = packet.decode("utf-8", "replace") if isinstance(packet, bytes) else str(packet)
    text = _bounded(text, "the XMP packet")
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise _Bad("the XMP packet declares a DOCTYPE or entities: ignored")
    start = text.find("<x:xmpmeta")
    start = start if start >= 0 else text.find("<rdf:RDF")
    end_tag = "</x:xmpmeta>" if text.startswith("<x:xmpmeta", start) else "</rdf:RDF>"
    end = text.find(end_tag, max(start, 0))
    if start < 0 or end < 0:
        raise _Bad("the XMP packet is not XMP: ignored")
    try:
        root = ET.fromstring(text[start : end + len(end_tag)])
    except ET.ParseError as exc:
        raise _Bad(f"the XMP packet is not valid XML ({_short(exc)}): ignored") from None
    values: dict[str, str] = {}
    for element in root.iter():
        local = element.tag.rsplit("}", 1)[-1]
        for attr, value in element.attrib.items():
            values.setdefault(attr.rsplit("}", 1)[-1], value)
        if local == "description":
            texts = [t.strip() for t in element.itertext() if t.strip()]
            if texts:
                values.setdefault("description", texts[0])
        elif element.text and element.text.strip():
            values.setdefault(local, element.text.strip())
    source = values.get("DigitalSourceType", "")
    generated = source.rstrip("/").rsplit("/", 1)[-1].lower() in AI_SOURCE_TYPES
    if not generated:
        return None
    parameters = {"digitalSourceType": source.rstrip("/").rsplit("/", 1)[-1]}
    return Provenance(
        agent_id=values.get("CreatorTool"),
        prompt=values.get("description"),
        model=None,
        parameters=parameters,
    )


# --- using it ----------------------------------------------------------------------------------


def merged(explicit: dict[str, Any] | None, found: Provenance | None) -> dict[str, Any] | None:
    """The generationMetadata of a new record: what the user said wins, key by key; the
    file fills the rest (and gives ``parameters``). None when neither says anything."""
    if found is None:
        return explicit
    record = found.metadata()
    if explicit:
        record.update({k: v for k, v in explicit.items() if v not in (None, "")})
    return record or None


def model_matches(metadata: dict[str, Any] | None, name: str) -> bool:
    """``media list --model NAME``: NAME is a part of modelVersion, whatever the case
    (NFKC + casefold)."""
    from moviecli.text import fold

    model = (metadata or {}).get("modelVersion")
    return isinstance(model, str) and fold(name.strip()) in fold(model)
