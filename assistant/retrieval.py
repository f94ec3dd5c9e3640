"""Hybrid retrieval: dense search in Chroma plus Swedish-stemmed BM25, fused by reciprocal rank.

The BM25 index is derived from the Chroma collection (the single source of truth) and rebuilt when
the collection's set of chunk ids changes. A question that names a municipality brings every passage
mentioning it into the candidates; passages about all municipalities stay region-wide context.
"""

from __future__ import annotations

import bisect
import difflib
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np

from assistant.scope import rerank_by_scope
from assistant.types import Passage
from kulturplan.chunks import Chunk
from kulturplan.config import Settings
from kulturplan.embedding import Embedder
from assistant.evidence import idf_function
from kulturplan.language import content_terms, is_english, is_stopword, stem, stemmer, tokens
from kulturplan.region import metadata_key
from kulturplan.store import ChunkStore

# Re-check the collection for changes at most this often (ingestion runs in another process).
VERSION_CHECK_SECONDS = 5.0
# A question word this close to a word of the documents is a misspelling of it ("språksteget").
TYPO_CUTOFF = 0.8
MIN_CORRECTED_LENGTH = 5
MIN_COMPOUND_PART = 3


@dataclass
class Retrieval:
    question: str
    passages: list[Passage]  # what the generator sees, best first
    candidates: list[Passage]  # everything fused, best first
    municipalities: tuple[str, ...]
    coverage: float  # share of the question's content terms found in the top passages
    unknown_terms: list[str]  # the question's content terms that no indexed passage contains
    seconds: float = 0.0


class Bm25Index:
    """llama-index's BM25 retriever (bm25s + PyStemmer, Swedish) over every stored chunk."""

    def __init__(self, chunks: list[Chunk], top_k: int = 20):
        from llama_index.core.schema import TextNode
        from llama_index.retrievers.bm25 import BM25Retriever

        self.chunks = {chunk.id: chunk for chunk in chunks}
        nodes = [TextNode(id_=c.id, text=c.searchable_text) for c in chunks]
        self.retriever = (
            BM25Retriever.from_defaults(
                nodes=nodes,
                stemmer=stemmer(),
                language="swedish",
                # Only the top candidates are fused; ranking every node costs O(n log n) per query.
                similarity_top_k=min(top_k, len(nodes)),
            )
            if nodes
            else None
        )
        # Document frequencies of every word stem, recomputed whenever the index changes: how much a
        # word of the question tells (assistant.evidence) comes from here, not from a word list.
        frequency: Counter[str] = Counter()
        for chunk in chunks:
            frequency.update({stem(w) for w in tokens(chunk.searchable_text)})
        self.idf = idf_function(dict(frequency), len(chunks))
        self.all_stems = set(frequency)  # every word stem, stopwords included ("blekinge")
        self._all_stems_list = sorted(self.all_stems)

    def correct_spelling(self, question: str) -> str:
        """Replace words the documents lack by the documents' closest word ("språksteget" -> "språksteg")."""

        def fix(match: re.Match) -> str:
            word = match.group(0)
            term = stem(word)
            if len(word) < MIN_CORRECTED_LENGTH or term in self.all_stems or is_stopword(word):
                return word
            close = difflib.get_close_matches(term, self._all_stems_list, n=1, cutoff=TYPO_CUTOFF)
            return close[0] if close else word

        return re.sub(r"\w+", fix, question)

    def unknown_terms(self, question: str) -> list[str]:
        """The question's content terms that no passage contains, not even as a near spelling or as
        the parts of a compound. Meaningless for an English question (a Swedish index lacks English)."""
        if is_english(question):
            return []
        missing = content_terms(question) - self.all_stems
        return sorted(t for t in missing if not self._close_term(t) and not self._compound_of_known(t))

    def _close_term(self, term: str) -> bool:
        """A misspelling of a document word, or a form the stemmer left longer ("arv" / "arvet")."""
        if difflib.get_close_matches(term, self._all_stems_list, n=1, cutoff=TYPO_CUTOFF):
            return True
        start = bisect.bisect_left(self._all_stems_list, term)
        return len(term) >= 3 and start < len(self._all_stems_list) and self._all_stems_list[start].startswith(term)

    def _compound_of_known(self, term: str) -> bool:
        """A Swedish compound of two words the documents use ("konstnärsresidenset" = konstnär + residens)."""
        for cut in range(MIN_COMPOUND_PART, len(term) - MIN_COMPOUND_PART + 1):
            head, tail = term[:cut], term[cut:]
            heads = (head, head[:-1]) if head.endswith("s") else (head,)  # the linking s: "konstnärs-"
            if any(h in self.all_stems for h in heads) and (tail in self.all_stems or self._close_term(tail)):
                return True
        return False

    def search(self, question: str, k: int) -> list[tuple[Chunk, float]]:
        if self.retriever is None:
            return []
        results = self.retriever.retrieve(question)
        ranked = [(self.chunks[r.node.node_id], float(r.score or 0.0)) for r in results if (r.score or 0) > 0]
        return ranked[:k]


class HybridRetriever:
    def __init__(self, settings: Settings, store: ChunkStore, embedder: Embedder):
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self._bm25: Bm25Index | None = None
        self._version: str | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    # --- the derived BM25 index ----------------------------------------------------------------
    def bm25(self) -> Bm25Index:
        with self._lock:
            now = time.monotonic()
            if self._bm25 is None or now - self._checked_at > VERSION_CHECK_SECONDS:
                self._checked_at = now
                version = self.store.version()  # reads ids only: cheap even for large indexes
                if version != self._version:
                    if self._version is not None:
                        self.store.refresh()  # another process changed the index: reload its vectors
                    self._bm25 = Bm25Index(self.store.all_chunks(), self.settings.retrieval_candidates)
                    self._version = version
            return self._bm25

    # --- retrieval -----------------------------------------------------------------------------
    def retrieve(
        self, question: str, max_passages: int | None = None, municipality: str | None = None
    ) -> Retrieval:
        started = time.perf_counter()
        settings = self.settings
        limit = max_passages or settings.max_passages
        municipalities = (municipality,) if municipality else settings.profile.find_municipalities(question)
        bm25 = self.bm25()
        question = bm25.correct_spelling(question)
        vector = self.embedder.embed_query(question)
        dense = self.store.search(vector, k=settings.retrieval_candidates)
        lexical = bm25.search(question, k=settings.retrieval_candidates)

        fused: dict[str, float] = {}
        for ranking in ([h.chunk for h in dense], [c for c, _ in lexical]):
            for rank, chunk in enumerate(ranking):
                fused[chunk.id] = fused.get(chunk.id, 0.0) + 1.0 / (settings.rrf_k + rank + 1)
        chunks = {h.chunk.id: h.chunk for h in dense} | {c.id: c for c, _ in lexical}
        local_ids: set[str] = set()
        for name in municipalities:
            for chunk in self.store.chunks_where({metadata_key(name): True}):
                chunks.setdefault(chunk.id, chunk)
                fused.setdefault(chunk.id, 0.0)
                local_ids.add(chunk.id)

        dense_scores = self._dense_scores(vector, chunks, {h.chunk.id: h.score for h in dense})
        lexical_scores = {c.id: s for c, s in lexical}
        candidates = [
            Passage(
                chunk=chunks[chunk_id],
                score=fused[chunk_id],
                dense=dense_scores[chunk_id],
                lexical=lexical_scores.get(chunk_id, 0.0),
                via_municipality=chunk_id in local_ids,
            )
            for chunk_id in chunks
        ]
        candidates.sort(key=lambda p: (p.score, p.dense), reverse=True)
        candidates = rerank_by_scope(question, candidates, settings.profile)
        passages = self._select(candidates, limit, municipalities)
        return Retrieval(
            question=question,
            passages=passages,
            candidates=candidates,
            municipalities=municipalities,
            coverage=self._coverage(question, passages[:3]),
            unknown_terms=bm25.unknown_terms(question),
            seconds=time.perf_counter() - started,
        )

    def _dense_scores(self, vector: np.ndarray, chunks: dict[str, Chunk], known: dict[str, float]) -> dict[str, float]:
        """Cosine similarity for every candidate; chunks found only lexically are embedded here."""
        missing = [chunk for chunk_id, chunk in chunks.items() if chunk_id not in known]
        scores = dict(known)
        if missing:
            vectors = self.store.vectors([c.id for c in missing])
            for chunk in missing:
                scores[chunk.id] = float(np.dot(vectors[chunk.id], vector)) if chunk.id in vectors else 0.0
        return scores

    def _select(self, candidates: list[Passage], limit: int, municipalities: tuple[str, ...]) -> list[Passage]:
        """Few, deduplicated passages: a named municipality's own passages first, then the best rest."""
        seen_texts: set[str] = set()
        chosen: list[Passage] = []

        def take(passage: Passage) -> None:
            key = " ".join(passage.chunk.text.split()).lower()
            if key not in seen_texts:
                seen_texts.add(key)
                chosen.append(passage)

        target = limit
        if municipalities:
            own = sorted((p for p in candidates if p.via_municipality), key=lambda p: p.dense, reverse=True)
            for passage in own[: self.settings.max_municipality_passages]:
                take(passage)
            target = max(limit, len(chosen) + 2)  # room for region-wide context after the local passages
        for passage in candidates:
            if len(chosen) >= target:
                break
            take(passage)
        return chosen

    @staticmethod
    def _coverage(question: str, passages: list[Passage]) -> float:
        terms = content_terms(question)
        if not terms:
            return 1.0
        found = set().union(*(content_terms(p.chunk.searchable_text) for p in passages))
        return len(terms & found) / len(terms)
