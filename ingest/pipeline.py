"""Incremental ingestion: files in, chunks with vectors in Chroma out.

Chroma itself is the manifest. Every chunk records the hash of its document's bytes (`doc_hash`) and
how many chunks the document has (`doc_chunks`), so a re-run can tell, without parsing, that a
document is complete and unchanged. Chunk ids contain a content hash: after an edit, the chunks whose
text did not change keep their id and vector, only new text is embedded, and stale ids are deleted
last. A run killed at any point therefore leaves a usable index; the next run embeds what is missing
and removes what is stale, so no duplicate or orphan remains.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from ingest.chunking import chunk_document
from ingest.document import UnreadableDocument
from ingest.readers import read_document
from ingest.scope import document_scope, with_scope
from kulturplan.chunks import Chunk, content_hash, document_id
from ingest.commitments import sync
from ingest.throughput import expected_rate, remember_rate
from kulturplan.commitments import CommitmentStore, location
from kulturplan.config import Settings
from kulturplan.database import DatabaseError
from kulturplan.embedding import Embedder
from kulturplan.lexical import ensure_saved
from kulturplan.store import ChunkStore

# Bump when parsing or chunking changes, so that unchanged files are chunked again.
PIPELINE_VERSION = "14"
# Provenance notes and hidden files in a corpus folder are no plan documents.
IGNORED_NAMES = {"readme.md", "readme.txt", "license", "license.txt"}
# Below this many chunks to embed a run takes under a minute: no estimate is given.
ESTIMATE_MIN_CHUNKS = 500
MB = 1024 * 1024

log = logging.getLogger(__name__)


def display_safe(text: str) -> str:
    """`text` (a file name, a reason) as one printable line: control characters and the undecodable
    bytes of a non-UTF-8 file name (surrogate escapes) are shown backslash-escaped as in Python,
    e.g. "plan\\n2.txt", "plan-\\xff.txt"; å, ä, ö and other printable characters stay as they are."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char.isprintable():
            out.append(char)
        elif 0xDC80 <= ord(char) <= 0xDCFF:  # os.fsdecode's escape of an undecodable byte
            out.append(f"\\x{ord(char) - 0xDC00:02x}")
        else:
            out.append(repr(char)[1:-1])  # "\n", "\t", "\x1b", "\u200b"
    return "".join(out)


@dataclass(frozen=True)
class SourceFile:
    path: Path
    source: str  # relative to the folder it was found in; the document's stable name


@dataclass(frozen=True)
class Skipped:
    """A file that was not ingested. `source` and `reason` are display-safe (see `display_safe`): one
    printable line each, so `skipped {source}: {reason}` can be printed as it is."""

    source: str
    reason: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", display_safe(self.source))
        object.__setattr__(self, "reason", display_safe(self.reason))


@dataclass(frozen=True)
class IngestEstimate:
    """Given before embedding starts on a large input (over ESTIMATE_MIN_CHUNKS chunks)."""

    chunks: int
    seconds: float

    @property
    def message(self) -> str:
        minutes = max(1, round(self.seconds / 60))
        return f"about {self.chunks} chunks to embed, estimated {minutes} min"


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
    estimate: IngestEstimate | None = None  # set when the run had many chunks to embed

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
            found = [SourceFile(root, root.name)]
        elif root.is_dir():
            found = []
            for path in _walk(root, missing):
                relative = path.relative_to(root)
                if not _ignored(relative):
                    found.append(SourceFile(path, relative.as_posix()))
        else:
            missing.append(Skipped(str(root), _link_problem(root) or "no such file or folder"))
            continue
        for file in found:
            if problem := _file_problem(file):
                missing.append(Skipped(file.source, problem))
            else:
                files.append(file)
    # Two files with the same name (e.g. a/plan.txt and b/plan.txt given on one command line) would
    # be one document: the second would write its chunks next to the first one's. The first one wins.
    seen: dict[str, Path] = {}
    unique: list[SourceFile] = []
    for file in files:
        if (first := seen.get(file.source)) is not None:
            if first.resolve() != file.path.resolve():  # a folder and a file in it, given both: no news
                missing.append(
                    Skipped(file.source, f"same name as {first} in this run, so {file.path} is not ingested")
                )
        else:
            seen[file.source] = file.path
            unique.append(file)
    return unique, missing


def _walk(root: Path, skipped: list[Skipped]) -> list[Path]:
    """Every entry below `root` that is not a folder, sorted; symbolic links to folders are not
    followed (as with rglob), so a link loop cannot make the walk endless."""

    def unreadable(error: OSError) -> None:
        if not isinstance(error, FileNotFoundError):  # a folder deleted during the walk: nothing to read
            relative = Path(error.filename).relative_to(root) if error.filename else Path()
            where = relative.as_posix() if relative.parts else str(root)
            skipped.append(Skipped(where, f"cannot read the folder ({error.strerror or error})"))

    found: list[Path] = []
    for folder, subfolders, names in os.walk(root, onerror=unreadable):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in subfolders:
            if (link := Path(folder, name)).is_symlink():  # listed, not followed, by os.walk
                skipped.append(Skipped(link.relative_to(root).as_posix(), _folder_link_problem(link)))
        found += [Path(folder, name) for name in names]
    return sorted(found)


def _folder_link_problem(link: Path) -> str:
    target = link.resolve()
    if target == link.parent.resolve() or target in link.parent.resolve().parents:
        return "symbolic link loop (it points to a folder that contains it)"
    return "symbolic link to a folder, not followed (give that folder to ingest itself)"


def _link_problem(path: Path) -> str | None:
    if not path.is_symlink():
        return None
    try:
        path.stat()
    except FileNotFoundError:
        return "broken symbolic link (its target does not exist)"
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "symbolic link loop"
        return f"cannot follow the symbolic link ({error.strerror or error})"
    return None


def _file_problem(file: SourceFile) -> str | None:
    """Why a discovered file cannot be ingested at all, or None."""
    try:
        file.source.encode("utf-8")
    except UnicodeEncodeError:
        # Skipped rather than ingested under an escaped name: the source name is the document's
        # identity (its id, what --prune compares and what citations show), and an escaped name
        # ("plan-\\xff.txt") could equal another, real file's name and names no file a user can open.
        return "the file name is not valid UTF-8; rename the file (e.g. convmv -f latin1 -t utf8)"
    if problem := _link_problem(file.path):
        return problem
    try:
        mode = file.path.stat().st_mode
    except FileNotFoundError:
        return "the file disappeared before it could be read (deleted or moved during the ingest)"
    except OSError as error:
        return f"cannot read the file ({error.strerror or error})"
    if not stat.S_ISREG(mode):
        return "not a regular file (a pipe, socket or device)"
    return None


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

    def run(
        self,
        paths: Sequence[Path],
        prune: bool = False,
        progress: bool = True,
        on_estimate: Callable[[IngestEstimate], None] | None = None,
    ) -> IngestReport:
        """`on_estimate` is called once, before embedding starts, when more than ESTIMATE_MIN_CHUNKS
        chunks are to be embedded (e.g. to print `estimate.message` above the progress bar)."""
        started = time.perf_counter()
        report = IngestReport()
        files, missing = discover(paths)
        report.skipped += missing
        plans = [plan for file in files if (plan := self._plan(file, report)) is not None]
        to_embed = sum(len(plan.to_embed) for plan in plans)
        if to_embed > ESTIMATE_MIN_CHUNKS:
            rate = expected_rate(self.settings.data_dir, self._model_key())
            report.estimate = IngestEstimate(to_embed, to_embed / rate)
            log.info(report.estimate.message)
            if on_estimate is not None:
                on_estimate(report.estimate)
        self._write(plans, report, progress)
        if prune:
            self._prune({file.source for file in files}, report)
        # The commitment store is derived from the chunks: bring it in step with what was written.
        try:
            report.commitments = sync(self.store, CommitmentStore.open(self.settings)).total
        except (DatabaseError, OSError) as error:
            # The chunks are stored; the derived store is rebuilt by the next run or `commitments`.
            report.skipped.append(Skipped(location(self.settings), f"cannot update commitments: {error}"))
        # The lexical index is derived too: built once here, so that chat processes only load it.
        try:
            ensure_saved(self.settings, self.store, self.store.version())
        except OSError as error:
            log.warning("cannot build the lexical index: %s (the chat builds it on its first question)", error)
        report.seconds = time.perf_counter() - started
        return report

    def _plan(self, file: SourceFile, report: IngestReport) -> _Plan | None:
        try:
            data = _read_limited(file.path, int(self.settings.max_file_mb * MB))
        except _TooLarge as error:
            report.skipped.append(
                Skipped(
                    file.source,
                    f"the file is {error.size / MB:.1f} MB, over the limit of {self.settings.max_file_mb:g} MB "
                    "(setting max_file_mb)",
                )
            )
            return None
        except FileNotFoundError:
            # Deleted or moved after it was found: what an earlier run indexed stays until --prune.
            report.skipped.append(
                Skipped(file.source, "the file disappeared before it could be read (deleted or moved during the ingest)")
            )
            return None
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
                document, file.source, doc_hash, self.settings.chunk_max_tokens, self.embedder.tokenize,
                self.settings.profile,
            )
            chunks = with_scope(chunks, document_scope(document, file.source, self.settings.profile))
        except UnreadableDocument as error:
            # What was indexed from an earlier, readable version stays until --prune.
            report.skipped.append(Skipped(file.source, str(error)))
            return None
        if len(chunks) > self.settings.max_chunks_per_document:
            # Checked before anything is embedded; an earlier, smaller version stays indexed.
            report.skipped.append(
                Skipped(
                    file.source,
                    f"the document has {len(chunks)} chunks, over the limit of "
                    f"{self.settings.max_chunks_per_document} (setting max_chunks_per_document)",
                )
            )
            return None
        (report.updated if existing else report.added).append(file.source)
        return _Plan(file, chunks, existing)

    def _write(self, plans: list[_Plan], report: IngestReport, progress: bool) -> None:
        total = sum(len(plan.to_embed) for plan in plans)
        batch_size = self.settings.embedding_batch_size
        timings: list[tuple[int, float]] = []  # (chunks, seconds) of each batch embedded
        with tqdm(total=total, unit="chunk", desc="Embedding", disable=not progress or total == 0) as bar:
            for plan in plans:
                new = plan.to_embed
                for start in range(0, len(new), batch_size):
                    batch = new[start : start + batch_size]
                    started = time.perf_counter()
                    vectors = self.embedder.embed_documents(
                        [c.text for c in batch], [c.embedding_title for c in batch]
                    )
                    timings.append((len(batch), time.perf_counter() - started))
                    self.store.add(batch, vectors)
                    bar.update(len(batch))
                    report.embedded_chunks += len(batch)
                self.store.update_metadata(plan.to_refresh, plan.existing)
                report.kept_chunks += len(plan.chunks) - len(new)
                stale = plan.stale_ids
                self.store.delete(stale)  # last: until here, the old version stays searchable
                report.deleted_chunks += len(stale)
        # The speed is measured after the first batch, which also loads the model (lazily, ~10 s).
        warm = timings[1:]
        remember_rate(self.settings.data_dir, self._model_key(), sum(c for c, _ in warm), sum(t for _, t in warm))

    def _model_key(self) -> str:
        """The embedder's model, which the measured rate belongs to."""
        return str(getattr(self.embedder, "model_name", "") or self.embedder.name)

    def _prune(self, present: set[str], report: IngestReport) -> None:
        for document in self.store.documents():
            if document.source not in present:
                ids = self.store.document_chunks(document.doc_id)
                self.store.delete(ids)
                report.removed.append(document.source)
                report.deleted_chunks += len(ids)


class _TooLarge(Exception):
    def __init__(self, size: int):
        super().__init__(size)
        self.size = size


def _read_limited(path: Path, limit: int) -> bytes:
    """The file's bytes; `_TooLarge` without reading it when it is over `limit` bytes (also when it
    grows while being read). Opened non-blocking, so a file replaced by a pipe cannot hang the run."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if status.st_size > limit:
            raise _TooLarge(status.st_size)
        # In pieces: read(n) allocates n bytes up front, so read(limit + 1) cost 50 MB for any file.
        parts: list[bytes] = []
        total, want = 0, status.st_size + 1  # one read for a file that does not change meanwhile
        while total <= limit and (part := handle.read(min(want, limit + 1 - total))):
            parts.append(part)
            total += len(part)
            want = MB
    if total > limit:
        raise _TooLarge(total)
    return b"".join(parts)


def ingest(
    settings: Settings,
    paths: Sequence[Path] | None = None,
    prune: bool = False,
    progress: bool = True,
    store: ChunkStore | None = None,
    embedder: Embedder | None = None,
    on_estimate: Callable[[IngestEstimate], None] | None = None,
) -> IngestReport:
    """Convenience entry point: open the configured store and embedder and ingest `paths`."""
    from kulturplan.embedding import make_embedder

    ingestor = Ingestor(settings, store or ChunkStore.open(settings), embedder or make_embedder(settings))
    return ingestor.run(
        list(paths or [settings.corpus_dir]), prune=prune, progress=progress, on_estimate=on_estimate
    )
