"""The store against a real Chroma server (`chroma run` on a loopback port) instead of the embedded one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.pipeline import Ingestor
from kulturplan.config import load_settings
from kulturplan.store import ChunkStore, StoreError

from chroma_process import ChromaProcess
from conftest import free_port
from fakes import FakeEmbedder


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory) -> Iterator[str]:
    """A Chroma server on a free loopback port, persisting into a temporary folder; always stopped."""
    server = ChromaProcess(tmp_path_factory.mktemp("chroma-server"), free_port()).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def server_settings(chroma_server, tmp_path):
    """Settings for the server, with a collection of their own so that tests do not see each other."""
    return load_settings(
        data_dir=tmp_path / "data",
        chroma_url=chroma_server,
        collection=f"test-{uuid.uuid4().hex[:12]}",
        embedding_batch_size=2,
        chunk_max_tokens=120,
    )


def run(settings, store, embedder, *paths: Path, prune: bool = False):
    return Ingestor(settings, store, embedder).run(list(paths), prune=prune, progress=False)


@pytest.mark.integration
def test_ingest_list_reingest_and_search_through_the_server(server_settings, corpus_copy):
    store = ChunkStore.open(server_settings)
    first = FakeEmbedder()
    report = run(server_settings, store, first, corpus_copy)
    assert report.ok and report.added == ["samverkan_med_kommunerna.txt"]
    assert report.embedded_chunks == len(first.embedded_texts) == store.count() > 3

    # A fresh client sees the same index: the state lives in the server, not in the client.
    reopened = ChunkStore.open(server_settings)
    (document,) = reopened.documents()
    assert (document.source, document.title, document.format) == (
        "samverkan_med_kommunerna.txt",
        "Samverkan med kommunerna",
        "txt",
    )
    assert document.chunks == report.embedded_chunks

    again = FakeEmbedder()
    second = run(server_settings, reopened, again, corpus_copy)
    assert second.embedded_chunks == 0 and again.embedded_texts == []
    assert second.unchanged == ["samverkan_med_kommunerna.txt"]
    assert reopened.count() == report.embedded_chunks

    # The server ranks by cosine similarity of the vectors we stored: recompute it locally.
    query = FakeEmbedder().embed_query("konstresurscentrum i Ronneby")
    chunks = reopened.all_chunks()
    vectors = FakeEmbedder().embed_documents([c.text for c in chunks], [c.embedding_title for c in chunks])
    expected = sorted(zip(vectors @ query, (c.id for c in chunks)), reverse=True)[:3]
    hits = reopened.search(query, k=3)
    assert [h.chunk.id for h in hits] == [chunk_id for _, chunk_id in expected]
    assert [h.score for h in hits] == pytest.approx([score for score, _ in expected], abs=1e-5)
    assert any("konstresurscentrum" in h.chunk.text for h in hits)
    filtered = reopened.search(FakeEmbedder().embed_query("kultur"), k=50, where={"source": "nothing-such.txt"})
    assert filtered == []

    # Server mode writes nothing into the local data directory.
    assert not server_settings.chroma_path.exists()


@pytest.mark.integration
def test_changed_document_is_updated_in_place_on_the_server(server_settings, corpus_copy):
    store = ChunkStore.open(server_settings)
    run(server_settings, store, FakeEmbedder(), corpus_copy)
    before = store.version()
    seed = corpus_copy / "samverkan_med_kommunerna.txt"
    seed.write_text(
        seed.read_text(encoding="utf-8").replace("två gånger varje år", "tre gånger varje år"), encoding="utf-8"
    )
    embedder = FakeEmbedder()
    report = run(server_settings, store, embedder, corpus_copy)
    assert report.updated == ["samverkan_med_kommunerna.txt"]
    assert len(embedder.embedded_texts) == 1 and report.deleted_chunks == 1
    assert store.version() != before
    assert len({m["doc_hash"] for m in store.all_metadata().values()}) == 1


@pytest.mark.integration
def test_collection_built_with_another_model_is_refused_by_the_server_store(server_settings, corpus_copy):
    run(server_settings, ChunkStore.open(server_settings), FakeEmbedder(), corpus_copy)
    other = server_settings.model_copy(update={"embedding_model": "some/other-model"})
    with pytest.raises(StoreError, match="was built with sentence-transformers:embeddinggemma-300m"):
        ChunkStore.open(other)


def test_unreachable_server_is_a_store_error_with_the_url(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = load_settings(data_dir=tmp_path / "data", chroma_url=url)
    with pytest.raises(StoreError) as raised:
        ChunkStore.open(settings)
    message = str(raised.value)
    assert message.startswith(f"cannot open the Chroma store at {url}: ")
    assert "Could not connect to a Chroma server" in message
    assert not isinstance(raised.value.__cause__, StoreError)  # wrapped once, not nested
    assert not settings.chroma_path.exists()


@pytest.mark.parametrize("url", ["localhost:8000", "ftp://127.0.0.1:8000", "http://"])
def test_malformed_chroma_url_is_a_store_error(tmp_path, url):
    with pytest.raises(StoreError, match="chroma_url must look like http://host:port"):
        ChunkStore.open(load_settings(data_dir=tmp_path / "data", chroma_url=url))


def test_collection_name_chroma_rejects_is_a_store_error(tmp_path):
    with pytest.raises(StoreError, match="cannot open the Chroma collection 'ab'"):
        ChunkStore.open(load_settings(data_dir=tmp_path / "data", collection="ab"))
