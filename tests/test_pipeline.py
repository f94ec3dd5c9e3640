"""Incremental ingestion against a real (embedded) Chroma, with the deterministic fake embedder."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import Ingestor
from kulturplan.store import ChunkStore

from fakes import FakeEmbedder


def run(settings, store, embedder, *paths: Path, prune: bool = False):
    return Ingestor(settings, store, embedder).run(list(paths), prune=prune, progress=False)


def stored_ids(store: ChunkStore) -> set[str]:
    return set(store.all_metadata())


def test_first_ingest_stores_every_chunk_with_metadata(settings, store, fake_embedder, corpus_copy):
    report = run(settings, store, fake_embedder, corpus_copy)
    assert report.ok and report.added == ["samverkan_med_kommunerna.txt"]
    chunks = store.all_chunks()
    assert len(chunks) == report.embedded_chunks > 3
    assert {c.title for c in chunks} == {"Samverkan med kommunerna"}
    assert all(c.doc_chunks == len(chunks) for c in chunks)
    ronneby = [c for c in chunks if "Ronneby" in c.municipalities]
    assert any("konstresurscentrum" in c.text for c in ronneby)
    assert any("utgrävningar" in c.text for c in ronneby)
    # Offsets point into the document's extracted text: every chunk starts where its text starts.
    assert all(c.end > c.start for c in chunks)


def test_reingest_unchanged_corpus_embeds_nothing(settings, store, corpus_copy):
    run(settings, store, FakeEmbedder(), corpus_copy)
    before = stored_ids(store)
    again = FakeEmbedder()
    report = run(settings, store, again, corpus_copy)
    assert report.embedded_chunks == 0 and again.embedded_texts == []
    assert report.unchanged == ["samverkan_med_kommunerna.txt"]
    assert stored_ids(store) == before


def test_a_changed_scope_removes_what_no_longer_holds_from_kept_chunks(settings, store, tmp_path):
    # The section's chunk keeps its id (same text, same title) when the opening changes, so only its
    # metadata is rewritten: the period must go, not linger from the first ingest (Chroma merges).
    folder = tmp_path / "docs"
    folder.mkdir()
    path = folder / "plan.md"
    section = "\n\n## Musik\n\nMusik i Blekinge ger konserter i Ronneby.\n"
    path.write_text("# Kulturplan\n\nPlanen gäller 2022–2025." + section, encoding="utf-8")
    run(settings, store, FakeEmbedder(), folder)
    assert {(c.period_start, c.period_end) for c in store.all_chunks()} == {(2022, 2025)}
    path.write_text("# Kulturplan\n\nPlanerna gällde 2012–2014 och 2015–2017." + section, encoding="utf-8")
    embedder = FakeEmbedder()
    report = run(settings, store, embedder, folder)
    assert report.updated == ["plan.md"] and len(embedder.embedded_texts) == 1  # the opening only
    assert {(c.period_start, c.period_end) for c in store.all_chunks()} == {(None, None)}
    assert all("period_start" not in m for m in store.all_metadata().values())


def test_changed_file_replaces_exactly_its_own_chunks(settings, store, corpus_copy, tmp_path):
    other = corpus_copy / "annat.md"
    other.write_text("# Annat dokument\n\nKarlskrona har ett teaterprojekt för unga.\n", encoding="utf-8")
    run(settings, store, FakeEmbedder(), corpus_copy)
    other_ids = {i for i, m in store.all_metadata().items() if m["source"] == "annat.md"}
    seed = corpus_copy / "samverkan_med_kommunerna.txt"
    seed.write_text(
        seed.read_text(encoding="utf-8").replace("två gånger varje år", "tre gånger varje år"), encoding="utf-8"
    )
    embedder = FakeEmbedder()
    report = run(settings, store, embedder, corpus_copy)
    assert report.updated == ["samverkan_med_kommunerna.txt"] and report.unchanged == ["annat.md"]
    # Only the edited passage is embedded again; the rest of the document keeps its vectors.
    assert len(embedder.embedded_texts) == 1 and "tre gånger" in embedder.embedded_texts[0]
    assert report.deleted_chunks == 1
    texts = [c.text for c in store.all_chunks()]
    assert any("tre gånger varje år" in t for t in texts)
    assert not any("två gånger varje år" in t for t in texts)
    assert {i for i, m in store.all_metadata().items() if m["source"] == "annat.md"} == other_ids
    # Document-level metadata of the kept chunks follows the new version.
    hashes = {m["doc_hash"] for m in store.all_metadata().values() if m["source"] == seed.name}
    assert len(hashes) == 1


def test_deleted_file_is_removed_only_with_prune(settings, store, corpus_copy):
    extra = corpus_copy / "extra.txt"
    extra.write_text("Extra\n\nSölvesborg har en ny konsthall i hamnen.\n", encoding="utf-8")
    run(settings, store, FakeEmbedder(), corpus_copy)
    extra.unlink()
    kept = run(settings, store, FakeEmbedder(), corpus_copy)
    assert "extra.txt" in {d.source for d in store.documents()} and kept.removed == []
    pruned = run(settings, store, FakeEmbedder(), corpus_copy, prune=True)
    assert pruned.removed == ["extra.txt"]
    assert {d.source for d in store.documents()} == {"samverkan_med_kommunerna.txt"}


def test_killed_run_leaves_usable_index_and_next_run_completes_it(settings, store, corpus_copy):
    with pytest.raises(KeyboardInterrupt):
        run(settings, store, FakeEmbedder(fail_after_batches=2), corpus_copy)
    partial = store.all_chunks()
    assert 0 < len(partial) < partial[0].doc_chunks  # usable: what was written can be searched
    assert store.search(FakeEmbedder().embed_query("kultur"), k=3)

    resumed = FakeEmbedder()
    report = run(settings, store, resumed, corpus_copy)
    complete = store.all_chunks()
    assert len(complete) == complete[0].doc_chunks
    assert len(resumed.embedded_texts) == len(complete) - len(partial)  # only the missing ones
    assert len({c.id for c in complete}) == len(complete)
    assert sorted(c.position for c in complete) == list(range(len(complete)))
    assert report.updated == ["samverkan_med_kommunerna.txt"]


def test_killed_rewrite_of_a_changed_file_leaves_no_orphans(settings, store, corpus_copy):
    run(settings, store, FakeEmbedder(), corpus_copy)
    seed = corpus_copy / "samverkan_med_kommunerna.txt"
    seed.write_text(seed.read_text(encoding="utf-8").replace("e", "é"), encoding="utf-8")  # every chunk changes
    with pytest.raises(KeyboardInterrupt):
        run(settings, store, FakeEmbedder(fail_after_batches=1), corpus_copy)
    run(settings, store, FakeEmbedder(), corpus_copy)
    chunks = store.all_chunks()
    assert len(chunks) == chunks[0].doc_chunks
    assert not any("e" in c.text for c in chunks)  # no stale passage of the old version
    assert sorted(c.position for c in chunks) == list(range(len(chunks)))


def test_readme_in_a_corpus_folder_is_provenance_not_a_document(settings, store, corpus_copy):
    (corpus_copy / "README.md").write_text("# Källor\n\nDokumenten kommer från Region Blekinge.\n")
    (corpus_copy / ".hidden.txt").write_text("Dold\n\nInget att indexera här.\n")
    run(settings, store, FakeEmbedder(), corpus_copy)
    assert {d.source for d in store.documents()} == {"samverkan_med_kommunerna.txt"}
