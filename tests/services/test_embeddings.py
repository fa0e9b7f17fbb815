"""The offline embedding model: shape, normalisation, meaning, and the sha256 check."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def embeddings(home: Path) -> Any:
    from moviecli.services import embeddings

    return embeddings


def test_vectors_are_384_float32_unit_vectors(embeddings: Any) -> None:
    import numpy as np

    vectors = embeddings.embedder().embed(["a red fox", "", "x " * 1000])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    blobs = embeddings.embed_texts(["a red fox"])
    assert len(blobs[0]) == 384 * 4
    assert np.allclose(np.frombuffer(blobs[0], dtype=np.float32), vectors[0], atol=1e-3)


def test_batches_give_the_same_vectors(embeddings: Any) -> None:
    import numpy as np

    texts = [f"scene {i}: " + "rain " * i for i in range(40)]
    together = embeddings.embedder().embed(texts, batch_size=16)
    alone = np.stack([embeddings.embed_query(t) for t in texts[:5]])
    assert np.allclose(together[:5], alone, atol=1e-3)


def test_similar_meanings_are_close(embeddings: Any) -> None:
    q = embeddings.embed_query("sea storm")
    near = embeddings.embed_query("stormy ocean with waves")
    far = embeddings.embed_query("a cheerful birthday party with cake")
    assert float(q @ near) > float(q @ far) + 0.2


def test_model_sha256_is_checked_once_per_file_version(
    embeddings: Any, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = embeddings.model_path()
    embeddings.verify_model(path)
    marker = home / "cache" / "model-verified.json"
    assert marker.exists()

    def no_hashing(*args: Any) -> Any:
        raise AssertionError("hashed again")

    monkeypatch.setattr(hashlib, "sha256", no_hashing)
    embeddings.verify_model(path)  # remembered: no second hash


def test_a_damaged_model_is_refused(embeddings: Any, tmp_path: Path) -> None:
    from moviecli.errors import StorageError

    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not a model")
    with pytest.raises(StorageError, match="wrong sha256"):
        embeddings.verify_model(fake)
    with pytest.raises(StorageError, match="is missing"):
        embeddings.verify_model(tmp_path / "nope.onnx")
