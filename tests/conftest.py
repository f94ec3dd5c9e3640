"""Shared fixtures: deterministic fakes for unit tests, the real models for integration tests."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from fakes import FakeEmbedder, FakeStatistics, use_fake_backend
from kulturplan.config import Settings, load_settings
from kulturplan.region import load_profile
from kulturplan.store import ChunkStore

load_profile()  # as the app does on start: the region's name becomes a stopword of the language layer

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
SEED = CORPUS / "samverkan_med_kommunerna.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# A small good document, ingested beside bad files to show the rest of a run goes on.
GOOD = "bra.txt"
GOOD_TEXT = (
    "Kultur i Karlskrona\n\nKarlskrona har ett rikt föreningsliv och ett nytt kulturhus vid torget.\n\n"
    "Biblioteken\n\nBiblioteken erbjuder läsecirklar för äldre och språkcaféer för nyanlända.\n"
)


@pytest.fixture(autouse=True)
def _no_vocabulary_between_tests():
    """A loaded index registers its generic words with the language layer for the whole process (as
    in the app); a test starts without another test's."""
    from kulturplan.language import use_vocabulary

    use_vocabulary(None)
    yield
    use_vocabulary(None)


@pytest.fixture
def index_vocabulary():
    """The generic-word judgement of an index with the default rule that holds none of the words a
    test uses (for unit tests without an index: the commonest words of Swedish still frame)."""
    from kulturplan.language import use_vocabulary
    from kulturplan.vocabulary import CorpusVocabulary

    vocabulary = CorpusVocabulary(FakeStatistics(), Settings().generic_word_rule)
    use_vocabulary(vocabulary)
    return vocabulary


def free_port() -> int:
    """A free TCP port on the loopback interface (servers in tests listen only there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving_app(settings: Settings, embedder, feedback_file: Path | None = None, generators=None) -> Iterator[str]:
    """The real Gradio app on a free loopback port, in a thread of this process; yields its URL.
    Feedback goes to `feedback_file`, or to the data directory's store; `generators` (by name)
    replace the configured ones."""
    from assistant.engine import Assistant
    from kulturplan.feedback import FeedbackStore
    from ui.app import build_app, launch

    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    feedback = FeedbackStore(feedback_file) if feedback_file else None
    app = build_app(Assistant(settings, embedder=embedder, generators=generators), settings, feedback)
    port = free_port()
    launch(app, settings, "127.0.0.1", port, block=False)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings isolated in a temporary data directory; small batches so batching is exercised."""
    return load_settings(data_dir=tmp_path / "data", embedding_batch_size=2, chunk_max_tokens=120)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def fake_backend(monkeypatch, tmp_path):
    """The CLI with the deterministic embedder as its backend, in tmp_path; undone after the test."""
    use_fake_backend(monkeypatch, tmp_path)


@pytest.fixture
def store(settings: Settings) -> ChunkStore:
    return ChunkStore.open(settings)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder holding the good document GOOD."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / GOOD).write_text(GOOD_TEXT, encoding="utf-8")
    return folder


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
