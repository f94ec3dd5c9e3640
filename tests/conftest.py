"""Shared fixtures: deterministic fakes for unit tests, the real models for integration tests."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest

from kulturplan.config import Settings, load_settings
from kulturplan.embedding import Embedder
from kulturplan.store import ChunkStore

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
SEED = CORPUS / "samverkan_med_kommunerna.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def free_port() -> int:
    """A free TCP port on the loopback interface (servers in tests listen only there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FakeEmbedder(Embedder):
    """Hashed bag of words: deterministic, instant, and similar texts get similar vectors."""

    name = "fake"
    dimensions = 64

    def __init__(self, fail_after_batches: int | None = None):
        super().__init__(document_prompt="{text}", query_prompt="{query}")
        self.batches = 0
        self.embedded_texts: list[str] = []
        self.fail_after_batches = fail_after_batches

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self.fail_after_batches is not None and self.batches >= self.fail_after_batches:
            raise KeyboardInterrupt("simulated kill of the ingest run")
        self.batches += 1
        self.embedded_texts += texts
        vectors = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                vectors[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimensions] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings isolated in a temporary data directory; small batches so batching is exercised."""
    return load_settings(data_dir=tmp_path / "data", embedding_batch_size=2, chunk_max_tokens=120)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def store(settings: Settings) -> ChunkStore:
    return ChunkStore.open(settings)


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of corpus/ (without its provenance README)."""
    target = tmp_path / "corpus"
    target.mkdir()
    shutil.copy(SEED, target / SEED.name)
    return target


# --- the real models (integration tests) ------------------------------------------------------------
def _models_available(settings: Settings) -> bool:
    from kulturplan import models

    return all(models.is_cached(spec, settings.models_root) for spec in models.MODELS.values())


@pytest.fixture(scope="session")
def real_settings_base() -> Settings:
    settings = load_settings()
    if not _models_available(settings):
        if os.environ.get("CI"):
            pytest.fail("models are not fetched: `make test` runs `kulturplan models fetch` first")
        pytest.skip("models are not fetched (run `kulturplan models fetch`)")
    return settings


@pytest.fixture(scope="session")
def real_embedder(real_settings_base: Settings):
    from kulturplan.embedding import make_embedder

    return make_embedder(real_settings_base)


@pytest.fixture(scope="session")
def real_index(tmp_path_factory, real_settings_base: Settings, real_embedder):
    """corpus/ ingested once with the real embedding model, shared by the integration tests."""
    from ingest.pipeline import ingest

    settings = real_settings_base.model_copy(update={"data_dir": tmp_path_factory.mktemp("real-index")})
    report = ingest(settings, [CORPUS], progress=False, embedder=real_embedder)
    assert report.ok, report.skipped
    return settings
