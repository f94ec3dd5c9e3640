"""Hybrid retrieval: dense search in Chroma plus Swedish-stemmed BM25, fused by reciprocal rank.

The BM25 index is derived from the Chroma collection (the single source of truth) and rebuilt when
the collection's set of chunk ids changes. A question that names a municipality brings every passage
mentioning it into the candidates; passages about all municipalities stay region-wide context.
"""

from __future__ import annotations

import bisect
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from assistant.scope import rerank_by_scope
from assistant.types import Passage
from kulturplan.chunks import Chunk
from kulturplan.config import Settings
from kulturplan.embedding import Embedder
from assistant.evidence import MIN_PREFIX, ScoredSentence, idf_function
from kulturplan.language import (
    as_a_written_question, content_terms, general_frequency, is_english, is_stopword,
    is_swedish_function_word, stem, tokens, use_vocabulary,
)  # fmt: skip
from kulturplan.lexical import (
    LexicalIndex, closest_word, load_or_build, vocabulary_by_diacritics_key, vocabulary_by_length,
)  # fmt: skip
from kulturplan.spelling import (
    diacritics_key, has_diacritics, swedish_spelling, with_diacritics, with_typed_ending,
)  # fmt: skip
from kulturplan.store import ChunkStore
from kulturplan.vocabulary import CorpusVocabulary, GenericWordRule

# Re-check the collection for changes at most this often (ingestion runs in another process).
VERSION_CHECK_SECONDS = 5.0
READERS = 4  # chunk reads in flight at once, one per concurrent question (they wait on the store)
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
    unknown_words: list[str]  # the question's content words that no indexed passage contains
    seconds: float = 0.0
    # An English question's words a Swedish index lacks: its language, not its subject, keeps them
    # out of the passages, so they count neither for nor against coverage.
    foreign_words: list[str] = field(default_factory=list)
    vector: np.ndarray | None = field(default=None, repr=False)  # the question's embedding
    # The total rows of tables the question asks the whole of (assistant.table_totals), as written.
    table_totals: frozenset[str] = frozenset()

    @property
    def unmatchable_words(self) -> list[str]:
        """Words no passage can hold: left out of word coverage."""
        return [*self.unknown_words, *self.foreign_words]


class Bm25Index:
    """The saved lexical index (kulturplan.lexical) with what the assistant reads from its statistics:
    word weights, spelling correction and the question's words the documents lack."""

    def __init__(self, lexical: LexicalIndex, rule: GenericWordRule):
        self.lexical = lexical
        # Which question words are generic (the domain's, the framing ones) follows this index.
        self.vocabulary = CorpusVocabulary(lexical, rule)
        frequency = lexical.document_frequency
        # How much a word of the question tells (assistant.evidence) comes from the documents'
        # own frequencies, recomputed whenever the index changes, not from a word list.
        self.idf = idf_function(frequency, lexical.chunk_count)
        self.all_stems = frequency.keys()  # every word stem, stopwords included ("blekinge")
        # Built here, once per index version, not on the first misspelt question (0.1 s at 100 000 chunks).
        self.buckets = vocabulary_by_length(frequency)
        self.sorted_stems = lexical.sorted_stems

    @cached_property
    def by_diacritics_key(self) -> dict[str, tuple[str, ...]]:
        """Built on the first question holding a word the documents lack, not at start-up: it
        normalises and stems every stem written with å, ä or ö (about 2 s for 200 000 stems, most
        of them with å, ä or ö, on this machine)."""
        return vocabulary_by_diacritics_key(self.all_stems)

    def correct_spelling(self, question: str) -> str:
        """Replace words the documents lack by the documents' closest word ("språksteget" -> "språksteg"),
        first by the same word with å, ä and ö ("fran" -> "från", "paga" -> "pågå": a keyboard without
        them), also a short or a function word, but not in an English question. In a question typed
        without any å, ä or ö, a Swedish word so typed is a reading too ("fullmaktige" ->
        "fullmäktige", a word the documents hold only in compounds); of the readings, the one most
        common in Swedish is taken ("ronnby" is "ronneby", not "rönnby"), a content word before a
        function word ("vandor" is "vändor", not "vad")."""
        swedish = not is_english(question)
        keyboard_without_diacritics = swedish and not has_diacritics(question)

        def fix(match: re.Match) -> str:
            word = match.group(0)
            term = stem(word)
            if term in self.all_stems:
                return word
            spelled = self.by_diacritics_key.get(diacritics_key(word), ()) if swedish else ()
            if restored := with_diacritics(word, spelled):
                return restored
            readings = [swedish_spelling(word) if keyboard_without_diacritics else None]
            if len(word) >= MIN_CORRECTED_LENGTH and not is_stopword(word):
                readings.append(self._misspelt(word))
            return max(filter(None, readings), key=_likelier_reading, default=word)

        return re.sub(r"\w+", fix, question)

    def _misspelt(self, word: str) -> str | None:
        """The documents' word `word` misspells, or None. A word more common in Swedish than the
        documents' closest one is no misspelling of it: "nämns" (is mentioned) is no "nämnd" (a
        committee), "omgången" no "mång"; "komun" is "kommun"."""
        closest = closest_word(stem(word), self.buckets, TYPO_CUTOFF)
        if closest and general_frequency(closest) >= general_frequency(word):
            return with_typed_ending(word, closest)  # "komunen" -> "kommunen"
        return None

    def unknown_words(self, question: str) -> list[str]:
        """The question's content words (lower-cased) whose stems no passage contains, not even as a
        near spelling or as the parts of a compound. Meaningless for an English question (a Swedish
        index lacks English): see `foreign_words`."""
        if is_english(question):
            return []
        return [
            word for word in self._unindexed_content_words(question)
            if not self._close_term(term := stem(word)) and not self._compound_of_known(term)
            and not self._ends_a_compound(term)
        ]  # fmt: skip

    def foreign_words(self, question: str) -> list[str]:
        """An English question's content words whose stems the (Swedish) index lacks."""
        return self._unindexed_content_words(question) if is_english(question) else []

    def _unindexed_content_words(self, question: str) -> list[str]:
        """The question's content words (lower-cased, once each) whose stems no passage holds."""
        return [w for w in dict.fromkeys(tokens(question)) if content_terms(w) and stem(w) not in self.all_stems]

    def _close_term(self, term: str) -> bool:
        """A misspelling of a document word, or a form the stemmer left longer ("arv" / "arvet").
        Unlike the spelling correction, any close word counts, however common the word is in Swedish:
        "åldrar" (close to "åld") counted as absent refused answerable questions (evals/README.md)."""
        if closest_word(term, self.buckets, TYPO_CUTOFF):
            return True
        stems = self.sorted_stems
        start = bisect.bisect_left(stems, term)
        return len(term) >= 3 and start < len(stems) and stems[start].startswith(term)

    @cached_property
    def chunk_ids_by_place(self) -> dict[tuple[str, int], str]:
        """Every chunk's id by its document and position (`Chunk.id` begins with both)."""
        by_place = {}
        for chunk_id in self.lexical.ids:
            by_place[Chunk.place_of(chunk_id)] = chunk_id
        return by_place

    @cached_property
    def _reversed_stems(self) -> list[str]:
        """Every stem spelt backwards, in order: the stems that end with a word are one slice of it."""
        return sorted(term[::-1] for term in self.all_stems)

    def _ends_a_compound(self, term: str) -> bool:
        """A document word ends with the term: Swedish compounds name their kind last, so the
        documents hold "fullmäktige" in "kommunfullmäktige" (as word coverage counts it, from as
        many letters)."""
        backwards = term[::-1]
        stems = self._reversed_stems
        start = bisect.bisect_left(stems, backwards)
        return len(term) >= MIN_PREFIX and start < len(stems) and stems[start].startswith(backwards)

    def _compound_of_known(self, term: str) -> bool:
        """A Swedish compound of two words the documents use ("konstnärsresidenset" = konstnär + residens)."""
        for cut in range(MIN_COMPOUND_PART, len(term) - MIN_COMPOUND_PART + 1):
            head, tail = term[:cut], term[cut:]
            heads = (head, head[:-1]) if head.endswith("s") else (head,)  # the linking s: "konstnärs-"
            if any(h in self.all_stems for h in heads) and (tail in self.all_stems or self._close_term(tail)):
                return True
        return False

    def search(self, question: str, k: int) -> list[tuple[str, float]]:
        """(chunk id, score) of the best lexical matches."""
        return self.lexical.search(question, k)


def _likelier_reading(word: str) -> tuple[bool, float]:
    """How likely a reading of a typed word is: a typed content word misspells a function word less
    often than it lacks its diacritics; else the reading more common in Swedish."""
    return not is_swedish_function_word(word), general_frequency(word)


class HybridRetriever:
    def __init__(self, settings: Settings, store: ChunkStore, embedder: Embedder):
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self._bm25: Bm25Index | None = None
        self._version: str | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self._reader = ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="chunk-read")

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
                    lexical = load_or_build(self.settings, self.store, version)
                    self._bm25 = Bm25Index(lexical, self.settings.generic_word_rule)
                    self._version = version
            # The language layer judges generic words by this index's statistics (one index a process).
            use_vocabulary(self._bm25.vocabulary)
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
        ranked = bm25.search(question, k=settings.retrieval_candidates)
        vector = self.embedder.embed_query(as_a_written_question(question, bm25.lexical.capitalized))
        # A named municipality's passages closest to the question, as many as are ever shown (at
        # 100 000 chunks a municipality has thousands). Compared here, with the vectors saved beside
        # the lexical index.
        local = {
            chunk_id: similarity
            for name in municipalities
            for chunk_id, similarity in bm25.lexical.nearest_in_municipality(name, vector, settings.max_municipality_passages)
        }
        # The chunks the lexical and municipality searches found are read, with their vectors, while
        # the store runs the dense search: two requests a server answers side by side. (Run beside
        # the embedding instead, on two cores, they only slowed it; measured at 100 000 chunks.)
        reading = self._reader.submit(self.store.chunks_with_vectors, list(dict.fromkeys([*(i for i, _ in ranked), *local])))
        dense = self.store.search(vector, k=settings.retrieval_candidates)
        read = reading.result()  # a chunk deleted since the index was saved is left out
        chunks = {h.chunk.id: h.chunk for h in dense}
        chunks |= {i: chunk for i, (chunk, _) in read.items() if i not in chunks}
        lexical = [(chunks[i], score) for i, score in ranked if i in chunks]

        fused: dict[str, float] = {}
        for ranking in ([h.chunk for h in dense], [c for c, _ in lexical]):
            for rank, chunk in enumerate(ranking):
                fused[chunk.id] = fused.get(chunk.id, 0.0) + 1.0 / (settings.rrf_k + rank + 1)
        # Every candidate's cosine similarity: from the searches, or from the vectors read.
        dense_scores = {h.chunk.id: h.score for h in dense}
        dense_scores |= {i: float(np.dot(v, vector)) for i, (_, v) in read.items() if i not in dense_scores}
        local_ids = {i for i in local if i in chunks}
        for chunk_id in local_ids:
            fused.setdefault(chunk_id, 0.0)
            dense_scores[chunk_id] = local[chunk_id]
        chunks = {i: chunks[i] for i in fused}

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
        foreign = bm25.foreign_words(question)
        return Retrieval(
            question=question,
            passages=passages,
            candidates=candidates,
            municipalities=municipalities,
            coverage=passage_coverage(question, passages[:3], foreign),
            unknown_words=bm25.unknown_words(question),
            seconds=time.perf_counter() - started,
            foreign_words=foreign,
            vector=vector,
        )

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


def passage_coverage(question: str, passages: list[Passage], foreign: Iterable[str] = ()) -> float:
    """The share of the question's content terms found in the passages (their searchable text);
    `foreign` words (an English question's) are left out."""
    terms = content_terms(question) - {stem(word) for word in foreign}
    if not terms:
        return 1.0
    found = set().union(*(content_terms(p.chunk.searchable_text) for p in passages))
    return len(terms & found) / len(terms)


def rerank_by_sentences(
    retrieval: Retrieval, score_sentences: Callable[[list[Passage]], list[ScoredSentence]], pool_size: int
) -> Retrieval:
    """The passages chosen again from the first `pool_size` candidates (and the one closest to the
    question in meaning, when it is not among them), by their best sentence's evidence weighed by
    their scope (region and period); the chosen keep their fused order.

    Fusion ranks whole chunks, while an answer is one sentence, and the chunk that holds it is often
    fifth or sixth (dev split: the facts of 103 of 110 answerable questions were in the four passages
    before, 107 after)."""
    limit = len(retrieval.passages)
    if pool_size <= limit:
        return retrieval
    chosen_ids = {p.chunk.id for p in retrieval.passages}
    extra = [p for p in retrieval.candidates if p.chunk.id not in chosen_ids]
    pool = [*retrieval.passages, *extra[: pool_size - limit]]
    # The candidate closest in meaning joins too, however few words it shares with the question:
    # fusion ranks a paraphrase low ("vision" asked, "en region där kulturen bär hela livet"
    # answered under "Vision och mål", the highest dense similarity of all, seventh by fusion).
    closest = max(extra[pool_size - limit :], key=lambda p: p.dense, default=None)
    if closest is not None and closest.dense > max((p.dense for p in pool), default=0.0):
        pool.append(closest)
    if len(pool) == limit:
        return retrieval
    best: dict[int, float] = {}
    for sentence in score_sentences(pool):
        best[sentence.n] = max(best.get(sentence.n, float("-inf")), sentence.scoped_score)
    # Passages without a scorable sentence come last; ties keep the fused order.
    ranked = sorted(range(1, len(pool) + 1), key=lambda n: (n not in best, -best.get(n, 0.0), n))
    passages = [pool[n - 1] for n in sorted(ranked[:limit])]
    coverage = passage_coverage(retrieval.question, passages[:3], retrieval.foreign_words)
    return replace(retrieval, passages=passages, coverage=coverage)
