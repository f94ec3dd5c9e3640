"""The assistant: question (and conversation) in, cited answer out.

Stages: validate and defuse the question; make a follow-up standalone; retrieve; refuse early when
nothing relevant was found (no LLM call); generate; check every sentence against the passage it
cites while streaming; fall back to the extractive answer when the LLM fails or is unsupported.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from assistant import commitment_answers
from assistant.municipality_overview import municipality_overview, overview_answer
from assistant.followup import join_with_previous, needs_rewrite, rewrite_by_rules
from assistant.generators import (
    ChatModelGenerator,
    GenerationRequest,
    Generator,
    GeneratorError,
    GeneratorTimeout,
    make_generator,
)
from assistant.grounding import Grounder, StreamingChecker
from assistant.prompts import rewrite_messages
from assistant.retrieval import HybridRetriever, Retrieval
from assistant.safety import QuestionError, sanitize_passage, strip_instructions, validate_question
from assistant.text import content_terms, is_english, split_sentences
from assistant.types import Answer, Citation, Passage, Retrieved, Turn
from kulturplan.commitments import CommitmentStore
from kulturplan.config import Settings
from kulturplan.embedding import Embedder, make_embedder
from kulturplan.municipalities import MUNICIPALITIES, find_municipalities
from kulturplan.store import ChunkStore

OFF_TOPIC_SV = "Jag svarar bara på frågor om kulturplanen, utifrån det som står i den."
OFF_TOPIC_EN = "I only answer questions about the culture plan, from what it says."
FALLBACK_NOTE_SV = "Språkmodellen kunde inte svara, så svaret är hämtat direkt ur källorna."
# With a key word the documents lack, the best passages must still hold this share of the key words.
COVERAGE_WITH_UNKNOWN_TERMS = 0.67
# A passage sentence counts as already in the answer when this share of its content words was said.
COVERED_SHARE = 0.6
_MUNICIPALITY_TERMS = content_terms(" ".join(MUNICIPALITIES))
UNSUPPORTED_NOTE_SV = "Språkmodellens svar kunde inte beläggas i källorna, så svaret är hämtat direkt ur dem."


class Assistant:
    """Lifecycle: construct cheaply; the store, embedder and models load on first use."""

    def __init__(
        self,
        settings: Settings,
        store: ChunkStore | None = None,
        embedder: Embedder | None = None,
        generators: dict[str, Generator] | None = None,
    ):
        """`store`, `embedder` and `generators` (by name) replace the configured ones, e.g. in tests."""
        self.settings = settings
        self._store = store
        self._embedder = embedder
        self._retriever: HybridRetriever | None = None
        self._generators: dict[str, Generator] = dict(generators or {})
        self._lock = threading.Lock()

    # --- lazily loaded resources -----------------------------------------------------------------
    @property
    def store(self) -> ChunkStore:
        if self._store is None:
            self._store = ChunkStore.open(self.settings)
        return self._store

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings)
        return self._embedder

    @property
    def retriever(self) -> HybridRetriever:
        if self._retriever is None:
            self._retriever = HybridRetriever(self.settings, self.store, self.embedder)
        return self._retriever

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
    ) -> Iterator[str | Answer]:
        """Yield checked answer text as it is generated; the last item is the `Answer`."""
        started = time.perf_counter()
        history = list(history or [])
        cleaned = validate_question(question, self.settings.max_question_chars)  # raises QuestionError
        english = is_english(cleaned)
        plan_question, had_instructions = strip_instructions(cleaned)
        answer = Answer(question=cleaned, text="", generator=generator or self.settings.generator)
        if had_instructions:
            answer.notes.append("instruktioner i frågan följdes inte")
        if not plan_question or not _asks_something(plan_question):
            answer.text, answer.refused = (OFF_TOPIC_EN if english else OFF_TOPIC_SV), True
            answer.timings["total_ms"] = _ms(started)
            yield answer.text
            yield answer
            return

        chosen = self._generator_or_fallback(answer, generator)
        standalone = self._standalone(plan_question, history, chosen)
        answer.standalone_question = standalone
        listed = self._commitment_list(answer, standalone, english, started)
        if listed is None and not chosen.uses_llm and municipality is None:
            listed = self._municipality_overview(answer, standalone, english, started)
        if listed is not None:
            yield answer.text
            yield listed
            return
        retrieval = self.retriever.retrieve(standalone, max_passages=max_passages, municipality=municipality)
        answer.timings["retrieval_ms"] = retrieval.seconds * 1000
        answer.retrieved = [
            Retrieved(p.chunk.source, p.chunk.page, p.dense, p.chunk.section, p.chunk.text)
            for p in retrieval.passages
        ]
        if self._nothing_relevant(retrieval):
            answer.text, answer.refused = self._refusal(english), True
            answer.notes.append("inget tillräckligt relevant stycke hittades; ingen språkmodell anropades")
            answer.timings["total_ms"] = _ms(started)
            yield answer.text
            yield answer
            return

        # The question as retrieval understood it, misspellings corrected against the documents.
        request = GenerationRequest(retrieval.question, retrieval.passages, history, english, retrieval.municipalities)
        yield from self._generate(answer, request, chosen, started)

    # --- stages ----------------------------------------------------------------------------------
    def _generator_or_fallback(self, answer: Answer, name: str | None) -> Generator:
        try:
            return self.generator(name)
        except GeneratorError as error:
            answer.notes.append(f"{error}; använder extractive")
            answer.generator = "extractive"
            return self.generator("extractive")

    def _standalone(self, question: str, history: list[Turn], generator: Generator) -> str:
        if not needs_rewrite(question, history):
            return question
        by_rules = rewrite_by_rules(question, history)
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

    def _commitment_list(self, answer: Answer, question: str, english: bool, started: float) -> Answer | None:
        """A complete, cited list from the commitment store for "Vilka åtaganden har X?" questions."""
        store = CommitmentStore.open(self.settings)
        query = commitment_answers.parse(question, store)
        found = commitment_answers.find(query, store) if query else []
        chunks = self.store.chunks_by_id(list(dict.fromkeys(c.chunk_id for c in found)))
        found = [c for c in found if c.chunk_id in chunks]  # the store may lag behind a running ingest
        if not found:
            return None
        order = list(dict.fromkeys(c.chunk_id for c in found))
        text = commitment_answers.list_answer(query, found, {cid: n for n, cid in enumerate(order, 1)}, english)
        answer.generator = "åtaganden"
        answer.notes.append(f"svaret är listan över åtaganden ({query.label}) i kulturplanen")
        return self._listed_answer(answer, text, [chunks[cid] for cid in order], started)

    def _municipality_overview(self, answer: Answer, question: str, english: bool, started: float) -> Answer | None:
        """ "Vilken kultur finns i X?" without an LLM: the same grouping as the chat's Kommuner tab."""
        places = find_municipalities(question)
        if len(places) != 1 or content_terms(question) - _MUNICIPALITY_TERMS:
            return None  # not a plain overview question: retrieval answers it
        overview = municipality_overview(self.store, places[0])
        mentions = [m for group in overview.local + overview.region_wide for m in group.mentions]
        if not mentions:
            return None
        order = list(dict.fromkeys(m.chunk_id for m in mentions))
        chunks = self.store.chunks_by_id(order)
        text = overview_answer(overview, {cid: n for n, cid in enumerate(order, 1)}, english)
        answer.notes.append(f"svaret är kommunöversikten för {places[0]}")
        return self._listed_answer(answer, text, [chunks[cid] for cid in order if cid in chunks], started)

    def _listed_answer(self, answer: Answer, text: str, chunks: list, started: float) -> Answer:
        """Number and check a list built from the index (every item is a verbatim sentence)."""
        passages = [Passage(chunk, 1.0) for chunk in chunks]
        grounder = Grounder(passages, None, trusted_frames=True)
        checker = StreamingChecker(grounder)
        answer.text = "".join(checker.feed(text) + checker.finish()).strip()
        answer.citations = _citations(grounder)
        answer.retrieved = [Retrieved(p.chunk.source, p.chunk.page, 1.0, p.chunk.section, p.chunk.text) for p in passages]
        answer.timings["total_ms"] = _ms(started)
        return answer

    def _nothing_relevant(self, retrieval: Retrieval) -> bool:
        """Refuse before generating, without calling an LLM, when the documents cannot answer.

        The question asks for something the documents lack when one of its key words occurs in no
        passage (allowing for misspellings) and the best passages miss most key words; or when no
        passage is close in meaning and the key words are missing too.
        """
        if not retrieval.passages:
            return True
        unknown = [t for t in retrieval.unknown_terms if t not in _MUNICIPALITY_TERMS]
        if retrieval.municipalities:
            # The municipality's own passages (or, if it has none, the region-wide ones) answer it,
            # unless the question also asks for something the documents never mention.
            return bool(unknown)
        if unknown and retrieval.coverage < COVERAGE_WITH_UNKNOWN_TERMS:
            return True
        weak_match = retrieval.best_dense < self.settings.refusal_min_dense
        return weak_match and retrieval.coverage < self.settings.refusal_min_coverage

    def _refusal(self, english: bool) -> str:
        topics = self.covered_topics()
        if english:
            return f"The culture plan does not say. The documents cover, for example: {', '.join(topics)}."
        return f"Det framgår inte av kulturplanen. Dokumenten handlar till exempel om: {', '.join(topics)}."

    def covered_topics(self, limit: int = 6) -> list[str]:
        """Section headings of the indexed documents, for refusal hints and the UI."""
        seen: dict[str, None] = {}
        for chunk in self.retriever.bm25().chunks.values():
            for heading in chunk.heading_path[-1:] or (chunk.title,):
                seen.setdefault(heading, None)
        return list(seen)[:limit]

    def _generate(self, answer: Answer, request: GenerationRequest, generator: Generator, started: float) -> Iterator[str | Answer]:
        grounder = Grounder(request.passages, self.embedder, trusted_frames=not generator.uses_llm)
        checker = StreamingChecker(grounder)
        shown: list[str] = []
        generation_started = time.perf_counter()
        try:
            for piece in generator.stream(request):
                for text in checker.feed(piece):
                    yield self._show(answer, shown, text, started)
            for text in checker.finish():
                yield self._show(answer, shown, text, started)
        except GeneratorError as error:
            note = "språkmodellen svarade inte i tid" if isinstance(error, GeneratorTimeout) else str(error)
            answer.notes.append(note)
            yield from self._fallback(answer, request, started, FALLBACK_NOTE_SV)
            return
        answer.timings["generation_ms"] = _ms(generation_started)
        state = grounder.state
        answer.notes += state.notes
        if (state.refused or not generator.uses_llm) and not state.kept:
            answer.text, answer.refused = self._refusal(request.english), True
            answer.timings["total_ms"] = _ms(started)
            yield answer
            return
        if generator.uses_llm and (state.kept == 0 or state.dropped > state.kept):
            yield from self._fallback(answer, request, started, UNSUPPORTED_NOTE_SV)
            return
        if generator.uses_llm and request.municipalities:
            for text in _complete_municipality_answer(grounder, request):
                answer.notes.append("kompletterade svaret med stycken om kommunen som modellen missade")
                shown.append(text)
                yield text
        answer.text = "".join(shown).strip()
        answer.citations = _citations(grounder)
        answer.timings["total_ms"] = _ms(started)
        yield answer

    @staticmethod
    def _show(answer: Answer, shown: list[str], text: str, started: float) -> str:
        """Record a checked piece as shown; the first one sets the time to first text."""
        if not shown:
            answer.timings["first_token_ms"] = _ms(started)
        shown.append(text)
        return text

    def _fallback(self, answer: Answer, request: GenerationRequest, started: float, note: str) -> Iterator[str | Answer]:
        """The extractive answer, replacing whatever the LLM showed; the UI shows the final text."""
        answer.notes.append(note)
        answer.generator = f"{answer.generator}→extractive"
        grounder = Grounder(request.passages, None, trusted_frames=True)
        checker = StreamingChecker(grounder)
        texts = [t for piece in self.generator("extractive").stream(request) for t in checker.feed(piece)]
        texts += checker.finish()
        answer.text = "".join(texts).strip()
        answer.citations = _citations(grounder)
        answer.timings["total_ms"] = _ms(started)
        yield answer


def _complete_municipality_answer(grounder: Grounder, request: GenerationRequest) -> list[str]:
    """A municipality question must gather everything said about it: add the sentences the LLM left out.

    Sentence by sentence, because a passage the LLM cited may hold further facts about the place.
    """
    asked = set(request.municipalities)
    items = []
    for n, passage in enumerate(request.passages, start=1):
        if not asked & set(passage.chunk.municipalities):
            continue
        for sentence in split_sentences(sanitize_passage(passage.chunk.text)):
            terms = content_terms(sentence)
            already_said = terms and len(terms & grounder.state.said) / len(terms) >= COVERED_SHARE
            if asked & set(find_municipalities(sentence)) and not already_said:
                if checked := grounder.check(f"- {sentence} [{n}]"):
                    items.append(checked)
    if not items:
        return []
    heading = "Kulturplanen nämner också:" if not request.english else "The culture plan also says:"
    return [f"\n\n{heading}\n" + "\n".join(items)]


def _citations(grounder: Grounder) -> list[Citation]:
    citations = []
    for new_number, original in enumerate(grounder.state.order, start=1):
        chunk = grounder.sources[original - 1].passage.chunk
        supporting = tuple(dict.fromkeys(grounder.state.supporting.get(original, [])))
        citations.append(
            Citation(new_number, chunk.id, chunk.source, chunk.title, chunk.section, chunk.page, chunk.text, supporting)
        )
    return citations


def _asks_something(question: str) -> bool:
    return any(ch.isalpha() for ch in question) and len(question.strip()) >= 3


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


__all__ = ["Assistant", "QuestionError"]
