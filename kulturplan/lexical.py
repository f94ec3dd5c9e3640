"""The lexical index: BM25 (bm25s, Swedish stemming) over every chunk, saved beside the vector store.

Chroma stays the single source of truth; this index is derived from it and saved under the store's
version (kulturplan.store.ChunkStore.version), in `<lexical_dir>/<collection>/<version>/`
(`lexical_dir` defaults to `<data dir>/lexical`). An
ingest builds it at the end of its run, so a chat process only loads it, memory-mapped: it neither
rebuilds it on start nor keeps the corpus text in memory (a search returns chunk ids, and the few
chunks it needs are read from the store). A process that finds no index for the current version
(another machine ingested) builds it once from the store and saves it for the next.

Beside the BM25 matrices it keeps the corpus statistics the assistant needs: each word stem's
document frequency (kulturplan.language's tokens and stemmer), from which the weight of a question
word comes (assistant.evidence), and the vocabulary that spelling correction matches against; and
the vectors of the chunks that name a municipality, so that a question naming one is compared with
that municipality's chunks here, memory-mapped, instead of by a filtered search on the server (a
search restricted to a list of ids costs 15-20 ms on a Chroma server at 100 000 chunks).
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import logging
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from kulturplan.chunks import Chunk
from kulturplan.config import Settings
from kulturplan.language import capitalized_words, stem, stemmer, tokens, without_diacritics
from kulturplan.store import IndexedDocument, documents_of

logger = logging.getLogger(__name__)

STOPWORDS = "sv"  # bm25s's Swedish stop-word list, for the documents and the questions alike
KEEP_VERSIONS = 2  # older saved indexes are removed; one stays for a process still reading it
# Beside bm25s's own files, one file with the rest; the folder is renamed into place whole, so a
# folder holding this file holds a complete index.
_STATISTICS = "statistics.json"
_MUNICIPALITY_VECTORS = "municipality_vectors.npy"  # rows in the order of municipality_chunks' lists
VECTOR_PAGE = 1000  # vectors read from the store per request while building
# How words become index terms (kulturplan.language's tokens and stem); a save made another way is
# rebuilt, since its terms would not match a question's. Change it whenever `stem` changes.
TOKENIZER = "snowball-sv"
# The shortest stem counted as the first part of compounds (as assistant.evidence.MIN_PREFIX).
COMPOUND_HEAD = 5
TOPICS = 50  # section headings kept for the refusal's "the documents cover, for example: …"


def _bm25_tokens(texts: list[str], return_ids: bool):
    import bm25s

    return bm25s.tokenize(texts, stopwords=STOPWORDS, stemmer=stemmer(), show_progress=False, return_ids=return_ids)


class LexicalIndex:
    """BM25 over chunk ids, with the document frequency of every word stem."""

    def __init__(
        self, bm25, ids: list[str], document_frequency: dict[str, int], topics: list[str] | None = None,
        documents: list[IndexedDocument] | None = None, municipality_chunks: dict[str, list[str]] | None = None,
        municipality_vectors: np.ndarray | None = None, capitalized: Iterable[str] = (),
    ):
        self.bm25 = bm25
        self.ids = ids
        self.document_frequency = document_frequency
        self.topics = topics or []  # the first section headings, in document order
        # The indexed documents, so that a chat process lists them without reading every chunk.
        self.documents = documents or []
        # Each municipality's chunks and their vectors (one row per entry of the lists, in order): a
        # metadata filter on a Chroma server scans the collection (130 ms at 100 000 chunks).
        self.municipality_chunks = municipality_chunks or {}
        self.municipality_vectors = municipality_vectors
        # The words the documents write with a capital inside a sentence (names), lower-cased: a
        # question typed in lower case is written so before it is embedded.
        self.capitalized = frozenset(capitalized)
        self._rows: dict[str, tuple[int, int]] = {}
        self._sorted_stems: list[str] | None = None
        start = 0
        for name, ids in self.municipality_chunks.items():
            self._rows[name] = (start, start + len(ids))
            start += len(ids)

    @property
    def chunk_count(self) -> int:
        return len(self.ids)

    @property
    def words_per_chunk(self) -> float:
        """The mean number of distinct word stems a chunk holds."""
        return sum(self.document_frequency.values()) / len(self.ids) if self.ids else 0.0

    def share(self, term: str) -> float:
        """The share of chunks holding the word stem `term`."""
        return self.document_frequency.get(term, 0) / len(self.ids) if self.ids else 0.0

    @property
    def sorted_stems(self) -> list[str]:
        """Every word stem of the index in order, stopwords included: words that begin with a stem
        are one slice of it (compounds, spelling correction)."""
        if self._sorted_stems is None:
            self._sorted_stems = sorted(self.document_frequency)
        return self._sorted_stems

    def compound_share(self, term: str) -> float:
        """The share of chunks holding `term` or a word that begins with it, as Swedish compounds do
        ("kultur" in kulturliv, kulturskolan); a stem shorter than COMPOUND_HEAD counts alone."""
        if self.bm25 is None or len(term) < COMPOUND_HEAD:
            return self.share(term)
        stems = self.sorted_stems
        words = stems[bisect.bisect_left(stems, term) : bisect.bisect_left(stems, term + "\uffff")]
        token_ids = [self.bm25.vocab_dict[w] for w in words if w in self.bm25.vocab_dict]  # BM25 drops stopwords
        if not token_ids:
            return self.share(term)
        pointers, chunks = self.bm25.scores["indptr"], self.bm25.scores["indices"]
        holding = np.unique(np.concatenate([chunks[pointers[t] : pointers[t + 1]] for t in token_ids]))
        return max(len(holding) / len(self.ids), self.share(term))

    @classmethod
    def build(
        cls, chunks: Iterable[Chunk], vectors_of: Callable[[list[str]], dict[str, np.ndarray]] | None = None
    ) -> "LexicalIndex":
        """The index of `chunks`; `vectors_of` (the store's `vectors`) reads the vectors of the chunks
        that name a municipality (without it a municipality's chunks cannot be searched by vector)."""
        import bm25s

        chunks = list(chunks)
        frequency: Counter[str] = Counter()
        topics: dict[str, None] = {}
        for chunk in chunks:
            frequency.update({stem(w) for w in tokens(chunk.searchable_text)})
            if len(topics) < TOPICS:
                topics.update((heading, None) for heading in chunk.heading_path[-1:] or (chunk.title,))
        if not chunks:
            return cls(None, [], {})
        bm25 = bm25s.BM25()
        bm25.index(_bm25_tokens([c.searchable_text for c in chunks], return_ids=True), show_progress=False)
        documents = documents_of(c.to_metadata() for c in chunks)
        places: dict[str, list[str]] = {}
        for chunk in chunks:
            for name in chunk.municipalities:
                places.setdefault(name, []).append(chunk.id)
        vectors = _read_vectors(places, vectors_of) if vectors_of else None
        if vectors is not None:  # a chunk deleted while the index was built is left out
            places = {name: [i for i in ids if i in vectors] for name, ids in places.items()}
            vectors = np.stack([vectors[i] for ids in places.values() for i in ids]) if any(places.values()) else None
        capitalized = capitalized_words(c.text for c in chunks)
        return cls(
            bm25, [c.id for c in chunks], dict(frequency), list(topics)[:TOPICS], documents, places, vectors, capitalized
        )

    def nearest_in_municipality(self, name: str, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the `k` chunks naming `name` closest to `vector`."""
        start, end = self._rows.get(name, (0, 0))
        if self.municipality_vectors is None or end <= start:
            return []
        similarities = np.asarray(self.municipality_vectors[start:end], dtype=np.float32) @ vector
        best = np.argsort(-similarities, kind="stable")[:k]
        ids = self.municipality_chunks[name]
        return [(ids[int(i)], float(similarities[i])) for i in best]

    def search(self, question: str, k: int) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) of the best `k` chunks with a score above zero."""
        if self.bm25 is None or not self.ids:
            return []
        query = _bm25_tokens([question], return_ids=False)
        if not any(word in self.bm25.vocab_dict for word in query[0]):
            return []
        found, scores = self.bm25.retrieve(query, k=min(k, len(self.ids)), show_progress=False)
        return [(self.ids[int(i)], float(s)) for i, s in zip(found[0], scores[0]) if s > 0]

    # --- saving and loading ----------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Write the index into `folder` atomically: readers see all of it or none."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".building-", dir=folder.parent))
        try:
            if self.bm25 is not None:
                self.bm25.save(str(staging))
            statistics = {
                "tokenizer": TOKENIZER, "ids": self.ids, "document_frequency": self.document_frequency, "topics": self.topics,
                "documents": [dataclasses.asdict(d) for d in self.documents],
                "municipality_chunks": self.municipality_chunks, "capitalized": sorted(self.capitalized),
            }  # fmt: skip
            if self.municipality_vectors is not None:
                np.save(staging / _MUNICIPALITY_VECTORS, np.asarray(self.municipality_vectors, dtype=np.float32))
            (staging / _STATISTICS).write_text(json.dumps(statistics, ensure_ascii=False), encoding="utf-8")
            os.replace(staging, folder)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not is_saved(folder):  # another process saved the same version first: fine
                raise

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        import bm25s

        statistics = json.loads((folder / _STATISTICS).read_text(encoding="utf-8"))
        if statistics.get("tokenizer") != TOKENIZER:  # an older release's save, or another stemmer's
            raise ValueError(f"saved with tokenizer {statistics.get('tokenizer')!r}, not {TOKENIZER!r}")
        ids = statistics["ids"]
        documents = [IndexedDocument(**d) for d in statistics["documents"]]
        bm25 = bm25s.BM25.load(str(folder), mmap=True) if ids else None
        places = statistics["municipality_chunks"]
        vectors = None
        if any(places.values()):  # a save without them is an older release's: rebuilt (KeyError)
            if not (folder / _MUNICIPALITY_VECTORS).is_file():
                raise KeyError(_MUNICIPALITY_VECTORS)
            vectors = np.load(folder / _MUNICIPALITY_VECTORS, mmap_mode="r")
            if len(vectors) != sum(len(v) for v in places.values()):
                raise ValueError("municipality vectors and chunk lists differ in length")
        capitalized = statistics["capitalized"]  # an older release's save lacks it: rebuilt (KeyError)
        return cls(bm25, ids, statistics["document_frequency"], statistics["topics"], documents, places, vectors, capitalized)


def index_folder(settings: Settings, version: str) -> Path:
    return settings.lexical_root / settings.collection / (version[:32] or "empty")


def is_saved(folder: Path) -> bool:
    return (folder / _STATISTICS).is_file()


def ensure_saved(settings: Settings, store, version: str) -> None:
    """Build and save the index of `version` unless it is saved already (the end of an ingest)."""
    if not is_saved(index_folder(settings, version)):
        load_or_build(settings, store, version)


def load_or_build(settings: Settings, store, version: str) -> LexicalIndex:
    """The index of `version`: loaded when saved, else built from `store` and saved for the next process."""
    folder = index_folder(settings, version)
    if is_saved(folder):
        try:
            return LexicalIndex.load(folder)
        except (OSError, ValueError, KeyError, TypeError) as error:  # a damaged save is rebuilt, never trusted
            logger.warning("the saved lexical index at %s is unreadable (%s); rebuilding it", folder, error)
            shutil.rmtree(folder, ignore_errors=True)
    elif folder.exists():
        # Saves are renamed into place whole, so a folder without the statistics file is no save in
        # progress but an older release's layout: it would block the rename of the new save forever.
        shutil.rmtree(folder, ignore_errors=True)
    index = LexicalIndex.build(store.all_chunks(), store.vectors)
    try:
        index.save(folder)
        _remove_old_versions(folder)
    except OSError as error:  # a read-only data dir: the index still works, in memory
        logger.warning("cannot save the lexical index at %s: %s", folder, error)
    return index


def _remove_old_versions(current: Path) -> None:
    """Remove all but the newest saved versions; never another process's save in progress (but the
    leftovers of a save killed over an hour ago)."""
    now = time.time()
    staging = [p for p in current.parent.glob(".building-*") if now - p.stat().st_mtime > 3600]
    for leftover in staging:
        shutil.rmtree(leftover, ignore_errors=True)
    saved = sorted(
        (p for p in current.parent.iterdir() if p.is_dir() and p != current and not p.name.startswith(".building-")),
        key=lambda p: p.stat().st_mtime,
    )
    for old in saved[: max(0, len(saved) - (KEEP_VERSIONS - 1))]:
        shutil.rmtree(old, ignore_errors=True)


def _read_vectors(
    places: dict[str, list[str]], vectors_of: Callable[[list[str]], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """The vectors of every chunk naming a municipality, read in pages (one request each)."""
    wanted = list(dict.fromkeys(i for ids in places.values() for i in ids))
    found: dict[str, np.ndarray] = {}
    for start in range(0, len(wanted), VECTOR_PAGE):
        found |= vectors_of(wanted[start : start + VECTOR_PAGE])
    return found


def vocabulary_by_length(document_frequency: dict[str, int]) -> dict[int, list[str]]:
    """The vocabulary bucketed by word length, so spelling correction compares only plausible lengths."""
    buckets: dict[int, list[str]] = {}
    for word in document_frequency:
        buckets.setdefault(len(word), []).append(word)
    return buckets


def vocabulary_by_diacritics_key(stems: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The stems holding diacritics by their keys without them: "läng" (länge) and "lång" share one.
    A stem is keyed as written bare ("ordför" -> "ordfor", the stem of a typed "ordforande") and as
    the stem of that ("pågå" -> "paga" -> "pag", the stem of a typed "paga"): the stemmer reads a word
    differently without its diacritics, and `diacritics_key` of a typed word meets either."""
    keyed: dict[str, list[str]] = {}
    for word in stems:
        if not word.isascii() and (bare := without_diacritics(word)) != word:
            for key in dict.fromkeys((bare, stem(bare))):
                keyed.setdefault(key, []).append(word)
    return {key: tuple(words) for key, words in keyed.items()}


def closest_word(word: str, buckets: dict[int, list[str]], cutoff: float) -> str | None:
    """The vocabulary word most similar to `word` (normalised Indel similarity ≥ cutoff), or None.

    Similarity 2·LCS/(a+b) ≥ cutoff needs the shorter length to be at least cutoff/(2-cutoff) of the
    longer one, so only those buckets are searched."""
    from rapidfuzz import fuzz, process

    ratio, slack = cutoff / (2 - cutoff), 1e-9  # slack: 9 × (0.8 / 1.2) must not round up to 7
    lengths = range(int(np.ceil(len(word) * ratio - slack)), int(len(word) / ratio + slack) + 1)
    best: tuple[str, float] | None = None
    for length in lengths:
        found = process.extractOne(word, buckets.get(length, ()), scorer=fuzz.ratio, score_cutoff=cutoff * 100 - slack)
        if found and (best is None or found[1] > best[1]):
            best = (found[0], found[1])
    return best[0] if best else None
