"""Incremental ingestion: files in, chunks with vectors in Chroma out.

Chroma itself is the manifest. Every chunk records the hash of its document's bytes (`doc_hash`) and
how many chunks the document has (`doc_chunks`), so a re-run can tell, without parsing, that a
document is complete and unchanged. Chunk ids contain a content hash: after an edit, the chunks whose
text did not change keep their id and vector, only new text is embedded, and stale ids are deleted
last. A run killed at any point therefore leaves a usable index; the next run embeds what is missing
and removes what is stale, so no duplicate or orphan remains.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from ingest.chunking import chunk_document
from ingest.document import UnreadableDocument
from ingest.readers import read_document
from kulturplan.chunks import Chunk, content_hash, document_id
from kulturplan.commitments import CommitmentStore, sync
from kulturplan.config import Settings
from kulturplan.embedding import Embedder
from kulturplan.store import ChunkStore

# Bump when parsing or chunking changes, so that unchanged files are chunked again.
PIPELINE_VERSION = "1"
# Provenance notes and hidden files in a corpus folder are no plan documents.
IGNORED_NAMES = {"readme.md", "readme.txt", "license", "license.txt"}


@dataclass(frozen=True)
class SourceFile:
    path: Path
    source: str  # relative to the folder it was found in; the document's stable name


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str


@dataclass
class IngestReport:
    unchanged: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    embedded_chunks: int = 0
    kept_chunks: int = 0
    deleted_chunks: int = 0
    commitments: int = 0  # in the derived commitment store after the run
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.skipped


@dataclass
class _Plan:
    file: SourceFile
    chunks: list[Chunk]
    existing: dict[str, dict]

    @property
    def to_embed(self) -> list[Chunk]:
        return [c for c in self.chunks if c.id not in self.existing]

    @property
    def to_refresh(self) -> list[Chunk]:
        return [c for c in self.chunks if c.id in self.existing and self.existing[c.id] != c.to_metadata()]

    @property
    def stale_ids(self) -> set[str]:
        return set(self.existing) - {c.id for c in self.chunks}


def discover(paths: Iterable[Path]) -> tuple[list[SourceFile], list[Skipped]]:
    files: list[SourceFile] = []
    missing: list[Skipped] = []
    for root in paths:
        if root.is_file():
            files.append(SourceFile(root, root.name))
        elif root.is_dir():
            for path in sorted(root.rglob("*")):
                relative = path.relative_to(root)
                if path.is_file() and not _ignored(relative):
                    files.append(SourceFile(path, relative.as_posix()))
        else:
            missing.append(Skipped(str(root), "no such file or folder"))
    return files, missing


def _ignored(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts) or relative.name.lower() in IGNORED_NAMES


def file_hash(data: bytes, settings: Settings) -> str:
    return content_hash(PIPELINE_VERSION, settings.chunk_max_tokens, hashlib.sha256(data).hexdigest())


def _is_complete(existing: dict[str, dict], doc_hash: str) -> bool:
    if not existing:
        return False
    expected = next(iter(existing.values())).get("doc_chunks")
    return len(existing) == expected and all(m.get("doc_hash") == doc_hash for m in existing.values())


class Ingestor:
    """Writes documents into the store; the only writer of the index."""

    def __init__(self, settings: Settings, store: ChunkStore, embedder: Embedder):
        self.settings = settings
        self.store = store
        self.embedder = embedder

    def run(self, paths: Sequence[Path], prune: bool = False, progress: bool = True) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        files, missing = discover(paths)
        report.skipped += missing
        plans = [plan for file in files if (plan := self._plan(file, report)) is not None]
        self._write(plans, report, progress)
        if prune:
            self._prune({file.source for file in files}, report)
        # The commitment store is derived from the chunks: bring it in step with what was written.
        try:
            report.commitments = sync(self.store, CommitmentStore.open(self.settings)).total
        except (sqlite3.Error, OSError) as error:
            # The chunks are stored; the derived store is rebuilt by the next run or `commitments`.
            report.skipped.append(Skipped(str(self.settings.commitments_path), f"cannot update commitments: {error}"))
        report.seconds = time.perf_counter() - started
        return report

    def _plan(self, file: SourceFile, report: IngestReport) -> _Plan | None:
        try:
            data = file.path.read_bytes()
        except OSError as error:
            report.skipped.append(Skipped(file.source, f"cannot read the file ({error.strerror or error})"))
            return None
        doc_hash = file_hash(data, self.settings)
        existing = self.store.document_chunks(document_id(file.source))
        if _is_complete(existing, doc_hash):
            report.unchanged.append(file.source)
            return None
        try:
            document = read_document(file.path, data)
            chunks = chunk_document(
                document, file.source, doc_hash, self.settings.chunk_max_tokens, self.embedder.tokenize
            )
        except UnreadableDocument as error:
            # What was indexed from an earlier, readable version stays until --prune.
            report.skipped.append(Skipped(file.source, str(error)))
            return None
        (report.updated if existing else report.added).append(file.source)
        return _Plan(file, chunks, existing)

    def _write(self, plans: list[_Plan], report: IngestReport, progress: bool) -> None:
        total = sum(len(plan.to_embed) for plan in plans)
        batch_size = self.settings.embedding_batch_size
        with tqdm(total=total, unit="chunk", desc="Embedding", disable=not progress or total == 0) as bar:
            for plan in plans:
                new = plan.to_embed
                for start in range(0, len(new), batch_size):
                    batch = new[start : start + batch_size]
                    vectors = self.embedder.embed_documents(
                        [c.text for c in batch], [c.embedding_title for c in batch]
                    )
                    self.store.add(batch, vectors)
                    bar.update(len(batch))
                    report.embedded_chunks += len(batch)
                self.store.update_metadata(plan.to_refresh)
                report.kept_chunks += len(plan.chunks) - len(new)
                stale = plan.stale_ids
                self.store.delete(stale)  # last: until here, the old version stays searchable
                report.deleted_chunks += len(stale)

    def _prune(self, present: set[str], report: IngestReport) -> None:
        for document in self.store.documents():
            if document.source not in present:
                ids = self.store.document_chunks(document.doc_id)
                self.store.delete(ids)
                report.removed.append(document.source)
                report.deleted_chunks += len(ids)


def ingest(
    settings: Settings,
    paths: Sequence[Path] | None = None,
    prune: bool = False,
    progress: bool = True,
    store: ChunkStore | None = None,
    embedder: Embedder | None = None,
) -> IngestReport:
    """Convenience entry point: open the configured store and embedder and ingest `paths`."""
    from kulturplan.embedding import make_embedder

    ingestor = Ingestor(settings, store or ChunkStore.open(settings), embedder or make_embedder(settings))
    return ingestor.run(list(paths or [settings.corpus_dir]), prune=prune, progress=progress)
