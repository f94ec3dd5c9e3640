"""The assistant: question (and conversation) in, cited answer out.

Stages: validate and defuse the question; make a follow-up standalone; then the routes in
`assistant.routes` are tried in order (commitment list, municipality overview, early refusal,
generation with its per-sentence grounding check and extractive fallback) until one answers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace

from assistant.answerability import AnswerabilityModel, JudgedAnswerability
from assistant.events import EventKind, event
from assistant.evidence import EvidenceScorer, ScoredSentence, Weights
from assistant.followup import join_with_previous, needs_rewrite, rewrite_by_rules
from assistant.generators import ChatModelGenerator, Generator, GeneratorError, make_generator
from assistant.list_continuation import with_lists_continued
from assistant.municipality_overview import is_plain_place_question
from assistant.prompts import rewrite_messages
from assistant.queue import ModelQueue, QueueStatus
from assistant.retrieval import HybridRetriever, Retrieval, rerank_by_sentences
from assistant.routes import DEFAULT_ROUTES, Question, Route
from assistant.safety import QuestionError, strip_instructions, validate_question
from assistant.table_totals import with_table_totals
from assistant.types import Answer, Passage, Turn
from kulturplan.config import Settings
from kulturplan.embedding import Embedder, make_embedder
from kulturplan.language import is_english
from kulturplan.region import RegionProfile
from kulturplan.store import ChunkStore, IndexedDocument

logger = logging.getLogger(__name__)

# An English question's best sentences, as many as an answer usually holds, are put in the order of
# their own similarity to it (`Assistant._best_by_meaning`); embedding each costs ~0.2 s on 2 cores.
ENGLISH_RERANKED = 3
OFF_TOPIC_SV = "Jag svarar bara på frågor om kulturplanen, utifrån det som står i den."
OFF_TOPIC_EN = "I only answer questions about the culture plan, from what it says."


class Assistant:
    """Lifecycle: construct cheaply; the store, embedder and models load on first use."""

    def __init__(
        self,
        settings: Settings,
        store: ChunkStore | None = None,
        embedder: Embedder | None = None,
        generators: dict[str, Generator] | None = None,
        routes: Sequence[Route] = DEFAULT_ROUTES,
    ):
        """`store`, `embedder` and `generators` (by name) replace the configured ones, e.g. in tests;
        `routes` are the ways of answering, tried in order."""
        self.settings = settings
        self.profile: RegionProfile = settings.profile
        self.routes = tuple(routes)
        self._store = store
        self._embedder = embedder
        self._retriever: HybridRetriever | None = None
        self._evidence_scorer: EvidenceScorer | None = None
        self._generators: dict[str, Generator] = dict(generators or {})
        self._queues: dict[str, ModelQueue] = {}
        self._lock = threading.Lock()

    # --- lazily loaded resources -----------------------------------------------------------------
    @property
    def store(self) -> ChunkStore:
        if self._store is None:
            self._store = ChunkStore.open(self.settings)
        return self._store

    @property
    def embedder(self) -> Embedder:
        with self._lock:  # a warm-up and a first question at once make one embedder, not two
            if self._embedder is None:
                self._embedder = make_embedder(self.settings)
            return self._embedder

    @property
    def evidence_scorer(self) -> EvidenceScorer:
        if self._evidence_scorer is None:
            settings = self.settings
            weights = Weights(settings.evidence_coverage_weight, settings.evidence_type_weight)
            self._evidence_scorer = EvidenceScorer(weights, self.profile.find_municipalities)
        return self._evidence_scorer

    def evidence(self, retrieval: Retrieval) -> list[ScoredSentence]:
        """The retrieved passages' sentences, best answer first; words no passage holds are left out
        of their coverage (the answerability model weighs those on its own)."""
        ranked = self.evidence_scorer.score(
            retrieval.question, retrieval.passages, self.retriever.bm25().idf, retrieval.unmatchable_words
        )
        if retrieval.vector is not None and is_english(retrieval.question):
            return self._best_by_meaning(retrieval, ranked)
        return ranked

    def _best_by_meaning(self, retrieval: Retrieval, ranked: list[ScoredSentence]) -> list[ScoredSentence]:
        """An English question's best sentences in the order of their own similarity to it: its
        words are not the documents' language, so word coverage cannot tell apart the sentences of a
        passage, and the first one holding a number led ("How many visits …?" got the exhibitions).
        They keep the scores they had between them, so what follows (selection, answerability) weighs
        the same evidence."""
        best = ranked[:ENGLISH_RERANKED]
        titles = [retrieval.passages[s.n - 1].chunk.embedding_title for s in best]
        similarity = self.embedder.embed_documents([s.text for s in best], titles) @ retrieval.vector
        by_meaning = [best[i] for i in sorted(range(len(best)), key=lambda i: -similarity[i])]
        scores = [s.score for s in best]
        return [replace(s, score=score) for s, score in zip(by_meaning, scores)] + ranked[ENGLISH_RERANKED:]

    def retrieve(self, question: str, max_passages: int | None = None, municipality: str | None = None) -> Retrieval:
        """The passages an answer is built from: hybrid retrieval, then `reranked` by their sentences,
        except for a plain place question, which the place's own passages answer whatever they say."""
        retrieval = self.retriever.retrieve(question, max_passages=max_passages, municipality=municipality)
        chosen = retrieval if self.keeps_place_passages(retrieval) else self.reranked(retrieval)
        # Past the chosen chunks: a table's total row, the rest of a list (one store read each, when needed).
        chunk_ids, read = self.retriever.bm25().chunk_ids_by_place, self.store.chunks_by_id
        return with_lists_continued(with_table_totals(chosen, chunk_ids, read), chunk_ids, read)

    def keeps_place_passages(self, retrieval: Retrieval, question: str | None = None) -> bool:
        """A plain place question ("Vilken kultur finns i X?") is answered from its place's passages;
        `question` is its text as asked (default: as retrieval corrected it)."""
        text = retrieval.question if question is None else question
        return bool(retrieval.municipalities) and is_plain_place_question(text, self.profile)

    def reranked(self, retrieval: Retrieval, pool: int | None = None) -> Retrieval:
        """`retrieval` with its passages chosen again by their sentences from the first `pool`
        candidates (default `evidence_pool`; see `rerank_by_sentences`)."""
        idf, unmatchable = self.retriever.bm25().idf, retrieval.unmatchable_words
        return rerank_by_sentences(
            retrieval,
            lambda passages: self.evidence_scorer.score(retrieval.question, passages, idf, unmatchable),
            pool or self.settings.evidence_pool,
        )

    @property
    def answerability(self) -> AnswerabilityModel:
        settings = self.settings
        return AnswerabilityModel(
            tuple(settings.answerability_weights), settings.answerability_bias, settings.answerability_threshold
        )

    @property
    def judged_answerability(self) -> JudgedAnswerability:
        settings = self.settings
        return JudgedAnswerability(
            tuple(settings.answerability_judge_weights), settings.answerability_judge_bias,
            settings.answerability_judge_threshold, settings.answerability_judge_ask_below,
        )  # fmt: skip

    @property
    def retriever(self) -> HybridRetriever:
        embedder = self.embedder
        with self._lock:
            if self._retriever is None:
                self._retriever = HybridRetriever(self.settings, self.store, embedder)
            return self._retriever

    def warm_up(self) -> bool:
        """Load what every question needs (the embedding model, compiled, and the lexical index) by
        retrieving once, then the default generator's model with its prompt's fixed start, so that
        the first person to ask after a start does not wait ~10 s for them. False when something
        failed to load: the first question then says what, in Swedish."""
        try:
            self.retriever.retrieve(self.profile.name)
            self.generator().warm_up(self.profile)
        except Exception as error:  # noqa: BLE001 - reported to the person who asks, not here
            logger.warning("warm-up failed: %s", error)
            return False
        return True

    def queue_for(self, generator: Generator) -> ModelQueue | None:
        """The line in front of a generator that answers one question at a time; None for the others."""
        if not generator.serial:
            return None
        with self._lock:
            if generator.name not in self._queues:
                settings = self.settings
                self._queues[generator.name] = ModelQueue(settings.llm_queue_size, settings.llm_typical_answer_seconds)
            return self._queues[generator.name]

    def generator(self, name: str | None = None) -> Generator:
        name = name or self.settings.generator
        with self._lock:
            if name not in self._generators:
                self._generators[name] = make_generator(name, self.settings)
            return self._generators[name]

    # --- answering -------------------------------------------------------------------------------
    def ask(self, question: str, history: list[Turn] | None = None, **options) -> Answer:
        answer = None
        for item in self.stream(question, history, **options):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def stream(
        self,
        question: str,
        history: list[Turn] | None = None,
        generator: str | None = None,
        max_passages: int | None = None,
        municipality: str | None = None,
    ) -> Iterator[str | QueueStatus | Answer]:
        """Yield checked answer text as it is generated, a `QueueStatus` while the question waits for
        a model that answers one at a time; the last item is the `Answer`."""
        started = time.perf_counter()
        history = list(history or [])
        cleaned = validate_question(question, self.settings.max_question_chars)  # raises QuestionError
        english = is_english(cleaned)
        plan_question, had_instructions = strip_instructions(cleaned)
        answer = Answer(question=cleaned, text="", generator=generator or self.settings.generator)
        if had_instructions:
            answer.events.append(event(EventKind.INSTRUCTIONS_IGNORED))
        if not plan_question or not _asks_something(plan_question):
            answer.text, answer.refused = (OFF_TOPIC_EN if english else OFF_TOPIC_SV), True
            answer.timings["total_ms"] = (time.perf_counter() - started) * 1000
            yield answer.text
            yield answer
            return
        chosen = self._generator_or_fallback(answer, generator)
        self.retriever.bm25()  # its index's vocabulary judges which words are generic from here on
        answer.standalone_question = self._standalone(plan_question, history, chosen)
        context = Question(
            self, answer.standalone_question, english, history, chosen, answer, started, max_passages, municipality
        )
        for route in self.routes:
            answered = route.answer(context)
            if answered is not None:
                yield from answered
                return
        raise AssertionError("the last route always answers")

    # --- stages ----------------------------------------------------------------------------------
    def _generator_or_fallback(self, answer: Answer, name: str | None) -> Generator:
        try:
            return self.generator(name)
        except GeneratorError as error:
            chosen = name or self.settings.generator
            answer.events.append(event(EventKind.GENERATOR_UNAVAILABLE, generator=chosen, error=str(error)))
            answer.generator = "extractive"
            return self.generator("extractive")

    def _standalone(self, question: str, history: list[Turn], generator: Generator) -> str:
        if not needs_rewrite(question, history, self.profile):
            return question
        by_rules = rewrite_by_rules(question, history, self.profile)
        if by_rules:
            return by_rules
        if isinstance(generator, ChatModelGenerator):
            try:
                rewritten = generator.complete(rewrite_messages(history, question)).splitlines()[0].strip()
                if 3 < len(rewritten) < 300:
                    return rewritten
            except (GeneratorError, IndexError):
                pass
        return join_with_previous(question, history)

    def refusal(self, english: bool, near: Sequence[Passage] = ()) -> str:
        """The refusal, pointing to the sections closest to the question (`near`, the retrieved
        passages) where there are any, else to what the documents cover: the person learns where
        to look and what to ask instead."""
        sections = nearest_sections(near, english)
        if sections:
            if english:
                return f"The culture plan does not say. The sections closest to your question: {'; '.join(sections)}."
            return f"Det framgår inte av kulturplanen. Närmast din fråga kommer avsnitten: {'; '.join(sections)}."
        topics = ", ".join(self.covered_topics())
        if english:
            return f"The culture plan does not say. The documents cover, for example: {topics}."
        return f"Det framgår inte av kulturplanen. Dokumenten handlar till exempel om: {topics}."

    def documents(self) -> list[IndexedDocument]:
        """The indexed documents, from the saved lexical index: no read of every chunk."""
        return self.retriever.bm25().lexical.documents

    def covered_topics(self, limit: int = 6) -> list[str]:
        """Section headings of the indexed documents, for refusal hints and the UI."""
        return self.retriever.bm25().lexical.topics[:limit]


NEAREST_SECTIONS = 3


def nearest_sections(passages: Sequence[Passage], english: bool = False, limit: int = NEAREST_SECTIONS) -> list[str]:
    """The first `limit` distinct sections of `passages`, grouped by document in the order met:
    ”heading” och ”heading” i title; a passage without a heading names its document alone."""
    by_document: dict[str, dict[str, None]] = {}
    seen = 0
    for passage in passages:
        chunk = passage.chunk
        heading = chunk.heading_path[-1] if chunk.heading_path else ""
        headings = by_document.setdefault(chunk.title, {})
        if (heading or chunk.title) not in headings:
            headings[heading or chunk.title] = None
            seen += 1
        if seen == limit:
            break
    joiner, inside = (" and ", " in ") if english else (" och ", " i ")
    groups = []
    for title, headings in by_document.items():
        quoted = [f"”{h}”" for h in headings if h != title]
        named = ", ".join(quoted[:-1]) + joiner + quoted[-1] if len(quoted) > 1 else "".join(quoted)
        groups.append(f"{named}{inside}{title}" if named else title)
    return [group for group in groups if group]


def _asks_something(question: str) -> bool:
    return any(ch.isalpha() for ch in question) and len(question.strip()) >= 3


__all__ = ["Assistant", "QuestionError"]
