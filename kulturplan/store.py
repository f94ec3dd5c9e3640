"""The vector store: Chroma, embedded in the data directory or a server at a URL.

Chroma is the single source of truth for what is indexed; every other index (BM25, commitments) is
derived from what this store returns. We always pass our own vectors, so Chroma's default embedding
function (which would download a model) is never used.
"""

from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import numpy as np

from kulturplan.chunks import Chunk, content_hash, period_label
from kulturplan.config import Settings

# Chroma rejects very large single requests; write and read in pages of this size.
PAGE = 500
# The collection's metadata key that changes with every write: a cheap version for every reader,
# embedded or on a server, in this process or another (reading all ids would cost O(chunks)).
VERSION_KEY = "index_version"


# Chroma's message for an id its (embedded, not yet refreshed) vector index does not hold.
_UNKNOWN_ID = "Error finding id"


def _is_unknown_id(error: Exception) -> bool:
    return _UNKNOWN_ID in str(error)


class StoreError(RuntimeError):
    """The store cannot be opened or used; the message says why."""


def _store_call(method: Callable) -> Callable:
    """Any failure of Chroma under `method` (a server that stopped, a lost connection, a disk error)
    becomes one StoreError naming the store, so the chat and the CLI can say it in one line and the
    next call tries again: a Chroma server that comes back is used without a restart."""

    @functools.wraps(method)
    def call(self: "ChunkStore", *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except StoreError:
            raise
        except Exception as error:
            where = (self.settings.chroma_url or self.settings.chroma_path) if self.settings else "Chroma"
            raise StoreError(f"the Chroma store at {where} failed: {type(error).__name__}: {error}") from error

    return call


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # cosine similarity, higher is closer


@dataclass(frozen=True)
class IndexedDocument:
    doc_id: str
    source: str
    title: str
    format: str
    chunks: int
    pages: int | None
    region: str = ""  # the region the document is about ("" = unknown), see ingest/scope.py
    period_start: int | None = None  # the years it covers (None = unknown)
    period_end: int | None = None

    @property
    def period(self) -> str:
        return period_label(self.period_start, self.period_end)


def open_client(settings: Settings):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise StoreError(f"chroma_url must look like http://host:port, got {settings.chroma_url!r}")
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        settings.chroma_path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
    except StoreError:
        raise
    except Exception as error:  # chromadb raises many types: connection, permission, corrupt file
        where = settings.chroma_url or settings.chroma_path
        raise StoreError(f"cannot open the Chroma store at {where}: {error}") from error


class ChunkStore:
    """Chunks with their vectors, in one Chroma collection."""

    def __init__(self, client, collection: str, embedding_model: str):
        self.client = client
        self.embedding_model = embedding_model
        try:
            self.collection = client.get_or_create_collection(
                collection,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedding_model": embedding_model},
            )
        except Exception as error:  # e.g. a name Chroma rejects (3-512 of [a-zA-Z0-9._-]) or a lost server
            raise StoreError(f"cannot open the Chroma collection {collection!r}: {error}") from error
        stored_model = (self.collection.metadata or {}).get("embedding_model")
        if stored_model and stored_model != embedding_model:
            raise StoreError(
                f"the index in collection {collection!r} was built with {stored_model}, not "
                f"{embedding_model}: use another --data-dir or collection, or delete the index"
            )

    @classmethod
    def open(cls, settings: Settings) -> "ChunkStore":
        store = cls(open_client(settings), settings.collection, _model_label(settings))
        store.settings = settings
        return store

    settings: Settings | None = None  # set by `open`; needed to reopen an embedded store

    def refresh(self) -> None:
        """See what another process wrote (an ingest beside a running chat).

        An embedded Chroma keeps its vector index in memory and never reloads it: the new chunks'
        ids are visible, but dense search does not find them. Chroma shares one system per path in
        a process, so that system is dropped and a fresh client loads the index from disk; clients
        of the same path then use the fresh one. A Chroma server needs nothing of this.
        """
        if self.settings is None or self.settings.chroma_url:
            return
        from chromadb.api.shared_system_client import SharedSystemClient

        identifier = getattr(self.client, "_identifier", None)
        SharedSystemClient._identifier_to_system.pop(identifier, None)
        SharedSystemClient._identifier_to_refcount.pop(identifier, None)
        fresh = ChunkStore.open(self.settings)
        self.client, self.collection = fresh.client, fresh.collection

    # --- writing -------------------------------------------------------------------------------
    @_store_call
    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        if not chunks:
            return
        self.collection.upsert(
            ids=[c.id for c in chunks],
            embeddings=np.asarray(vectors, dtype=np.float32),
            documents=[c.text for c in chunks],
            metadatas=[c.to_metadata() for c in chunks],
        )
        self._new_version()

    @_store_call
    def update_metadata(self, chunks: Sequence[Chunk], stored: Mapping[str, dict]) -> None:
        """Refresh document-level fields of chunks whose text (and so vector) did not change;
        `stored` is their metadata as read before. Chroma merges an update into the stored metadata,
        so a key the chunk no longer has (a period found wrong, a municipality no longer named) is
        removed by sending it as None."""
        for start in range(0, len(chunks), PAGE):
            page = chunks[start : start + PAGE]
            metadatas = []
            for chunk in page:
                metadata = chunk.to_metadata()
                metadatas.append(metadata | {key: None for key in set(stored.get(chunk.id, {})) - set(metadata)})
            self.collection.update(ids=[c.id for c in page], metadatas=metadatas)
        if chunks:
            self._new_version()

    @_store_call
    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for start in range(0, len(ids), PAGE):
            self.collection.delete(ids=ids[start : start + PAGE])
        if ids:
            self._new_version()

    def _new_version(self) -> None:
        self.collection.modify(metadata={"embedding_model": self.embedding_model, VERSION_KEY: uuid.uuid4().hex})

    # --- reading -------------------------------------------------------------------------------
    @_store_call
    def document_chunks(self, doc_id: str) -> dict[str, dict[str, Any]]:
        """id -> metadata of every stored chunk of one document."""
        found = self.collection.get(where={"doc_id": doc_id}, include=["metadatas"])
        return {i: m for i, _, m in _rows(found["ids"], None, found["metadatas"])}

    @_store_call
    def all_chunks(self) -> list[Chunk]:
        chunks: list[Chunk] = []
        total = self.collection.count()
        for offset in range(0, total, PAGE):
            page = self.collection.get(include=["documents", "metadatas"], limit=PAGE, offset=offset)
            chunks += [Chunk.from_metadata(t, m) for _, t, m in _rows(page["ids"], page["documents"], page["metadatas"])]
        return sorted(chunks, key=lambda c: (c.source, c.position))

    @_store_call
    def ids(self) -> list[str]:
        ids: list[str] = []
        for offset in range(0, self.collection.count(), PAGE):
            ids += self.collection.get(include=[], limit=PAGE, offset=offset)["ids"]
        return sorted(ids)

    @_store_call
    def all_metadata(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        total = self.collection.count()
        for offset in range(0, total, PAGE):
            page = self.collection.get(include=["metadatas"], limit=PAGE, offset=offset)
            out.update((i, m) for i, _, m in _rows(page["ids"], None, page["metadatas"]))
        return out

    @_store_call
    def documents(self) -> list[IndexedDocument]:
        return documents_of(self.all_metadata().values())

    @_store_call
    def chunks_where(self, where: dict[str, Any]) -> list[Chunk]:
        found = self.collection.get(where=where, include=["documents", "metadatas"])
        return [Chunk.from_metadata(t, m) for _, t, m in _rows(found["ids"], found["documents"], found["metadatas"])]

    @_store_call
    def chunks_by_id(self, ids: list[str]) -> dict[str, Chunk]:
        if not ids:
            return {}
        found = self.collection.get(ids=ids, include=["documents", "metadatas"])
        return {i: Chunk.from_metadata(t, m) for i, t, m in _rows(found["ids"], found["documents"], found["metadatas"])}

    @_store_call
    def chunks_with_vectors(self, ids: list[str]) -> dict[str, tuple[Chunk, np.ndarray]]:
        """Chunks and their vectors in one read (one round trip to a server instead of two)."""
        if not ids:
            return {}
        try:
            found = self.collection.get(ids=ids, include=["documents", "metadatas", "embeddings"])
        except Exception as error:
            if not _is_unknown_id(error):
                raise
            vectors = self.vectors(ids)  # leaves out what this process's vector index lacks (see there)
            chunks = self.chunks_by_id(list(vectors))
            return {i: (chunks[i], vectors[i]) for i in vectors if i in chunks}
        vectors = {i: v for i, v, _ in _rows(found["ids"], found["embeddings"], None)}
        rows = _rows(found["ids"], found["documents"], found["metadatas"])
        return {i: (Chunk.from_metadata(t, m), np.asarray(vectors[i], dtype=np.float32)) for i, t, m in rows if i in vectors}

    @_store_call
    def vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """The vectors of `ids`; chunks deleted meanwhile, or added by another process since this one
        loaded its vector index (see `refresh`), are left out."""
        if not ids:
            return {}
        try:
            found = self.collection.get(ids=ids, include=["embeddings"])
        except Exception as error:
            # An embedded Chroma reads vectors from the index this process loaded, but ids from the
            # shared SQLite file: an id another process just added fails the whole read. Read one by one.
            if not _is_unknown_id(error):
                raise
            if len(ids) == 1:
                return {}
            return {i: v for chunk_id in ids for i, v in self.vectors([chunk_id]).items()}
        return {i: np.asarray(v, dtype=np.float32) for i, v, _ in _rows(found["ids"], found["embeddings"], None)}

    @_store_call
    def count(self) -> int:
        return self.collection.count()

    @_store_call
    def search(
        self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None, ids: list[str] | None = None
    ) -> list[Hit]:
        """The `k` chunks nearest to `vector`, among those matching `where` or, faster than any
        metadata filter on a large collection, among the chunks `ids`. Chroma returns fewer than `k`
        when the collection holds fewer: no count is asked first (one round trip less on a server)."""
        if ids is not None and not ids:
            return []
        query = {"query_embeddings": [np.asarray(vector, dtype=np.float32)], "n_results": k, "where": where,
                 "ids": ids, "include": ["documents", "metadatas", "distances"]}  # fmt: skip
        try:
            result = self.collection.query(**query)
        except Exception as error:
            # A restricted search can name a chunk deleted since, or one another process just added
            # that the vector index this (embedded) process loaded lacks (see `vectors`): load the
            # index afresh and keep the ids that still exist, once.
            if not _is_unknown_id(error):
                raise
            self.refresh()
            if ids is not None:
                query["ids"] = self.collection.get(ids=ids, include=[])["ids"] or None
                if query["ids"] is None:
                    return []
            try:
                result = self.collection.query(**query)
            except Exception as again:
                if not _is_unknown_id(again):
                    raise
                return []
        distances = dict(zip(result["ids"][0], result["distances"][0]))
        return [
            Hit(Chunk.from_metadata(text, metadata), 1.0 - float(distances[i]))
            for i, text, metadata in _rows(result["ids"][0], result["documents"][0], result["metadatas"][0])
        ]

    @_store_call
    def version(self) -> str:
        """Changes whenever a chunk is written or deleted; derived indexes rebuild on a new value.

        One metadata read; a collection written before versions were stamped falls back to a hash of
        its ids (and is stamped by its next write)."""
        metadata = self.client.get_collection(self.collection.name, embedding_function=None).metadata or {}
        return metadata.get(VERSION_KEY) or (content_hash(*self.ids()) if self.count() else "")


def documents_of(metadatas: Iterable[dict[str, Any]]) -> list[IndexedDocument]:
    """The documents the chunks with these metadata belong to, by source."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for metadata in metadatas:
        grouped[metadata["doc_id"]].append(metadata)
    docs = [
        IndexedDocument(
            doc_id=doc_id,
            source=rows[0]["source"],
            title=rows[0].get("title", ""),
            format=rows[0].get("format", ""),
            chunks=len(rows),
            pages=rows[0].get("doc_pages"),
            region=rows[0].get("region", ""),
            period_start=rows[0].get("period_start"),
            period_end=rows[0].get("period_end"),
        )
        for doc_id, rows in grouped.items()
    ]
    return sorted(docs, key=lambda d: d.source)


def _rows(ids: Sequence[str], values: Sequence[Any] | None, metadatas: Sequence[Any] | None):
    """(id, value, metadata) of each row Chroma returned, without the rows of chunks that a concurrent
    ingest deleted meanwhile: Chroma can still list such an id, with None for its document, metadata or
    embedding, and `Chunk.from_metadata(None, None)` used to crash the reader. Every read goes
    through here; pass None for a column that was not requested."""
    for index, chunk_id in enumerate(ids):
        value = values[index] if values is not None else ()
        metadata = metadatas[index] if metadatas is not None else {}
        if value is None or metadata is None:
            continue
        yield chunk_id, value, metadata


def _model_label(settings: Settings) -> str:
    """The embedding model's identity as recorded in the collection (a path's last part)."""
    return f"{settings.embedding_backend}:{settings.embedding_model or 'embeddinggemma-300m'}"
