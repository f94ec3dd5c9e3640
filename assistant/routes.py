"""The ways a question can be answered, as small route objects tried in order.

Each route looks at the question (and, through the context, at what retrieval found) and either
answers it, yielding checked text and finally the `Answer`, or returns None to let the next route
try. A new way of answering is one new class in `DEFAULT_ROUTES`, not a new branch in the engine.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from assistant import commitment_answers
from assistant.answerability import features_of
from assistant.asked_kind import gives_the_asked_kind, judged_kinds, select_giving_the_asked_kind
from assistant.completion import missing_municipality_sentences, missing_selection
from assistant.events import EventKind, event
from assistant.evidence import ScoredSentence
from assistant.generators import GenerationRequest, Generator, GeneratorError, GeneratorTimeout
from assistant.grounding import Grounder, StreamingChecker
from assistant.municipality_overview import (
    is_plain_place_question,
    municipality_overview,
    overview_answer,
)
from assistant.queue import QueueFull, QueueStatus
from assistant.retrieval import Retrieval
from assistant.selection import select_sentences
from assistant.table_totals import answered_by_the_total
from assistant.types import Answer, Citation, Passage, Retrieved, Turn
from kulturplan.commitments import CommitmentStore
from kulturplan.database import DatabaseError

if TYPE_CHECKING:
    from assistant.engine import Assistant

logger = logging.getLogger(__name__)

@dataclass
class Question:
    """One question on its way through the routes; retrieval runs at most once, when a route needs it."""

    assistant: "Assistant"
    text: str  # standalone, instructions removed
    english: bool
    history: list[Turn]
    generator: Generator
    answer: Answer
    started: float
    max_passages: int | None = None
    municipality: str | None = None
    _retrieval: Retrieval | None = field(default=None, repr=False)
    _evidence: list[ScoredSentence] | None = field(default=None, repr=False)

    @property
    def retrieval(self) -> Retrieval:
        if self._retrieval is None:
            self._retrieval = self.assistant.retrieve(
                self.text, max_passages=self.max_passages, municipality=self.municipality
            )
            self.answer.timings["retrieval_ms"] = self._retrieval.seconds * 1000
            self.answer.retrieved = [
                Retrieved(p.chunk.source, p.chunk.page, p.dense, p.chunk.section, p.chunk.text)
                for p in self._retrieval.passages
            ]
        return self._retrieval

    @property
    def evidence(self) -> list[ScoredSentence]:
        """The retrieved passages' sentences, best answer first (computed once)."""
        if self._evidence is None:
            self._evidence = self.assistant.evidence(self.retrieval)
        return self._evidence

    @cached_property
    def plain_place_question(self) -> bool:
        """ "Vilken kultur finns i X?": asks for everything the documents say about a place."""
        return self.assistant.keeps_place_passages(self.retrieval, self.text)

    @cached_property
    def evidence_probability(self) -> float | None:
        """The answerability model's probability that the documents answer; None for a plain place
        question ("Vilken kultur finns i X?"), which the place's own passages answer."""
        retrieval, assistant = self.retrieval, self.assistant
        if self.plain_place_question:
            return None
        features = features_of(retrieval, self.evidence, assistant.profile.municipality_terms)
        return assistant.answerability.probability(features)

    @cached_property
    def selection(self) -> list[ScoredSentence]:
        """The sentences the answer is made of (assistant.selection), for every generator; past the
        scope preference when only that way they give what is asked (assistant.asked_kind); a
        table's total row for its rows when the question asks the whole (assistant.table_totals)."""
        chosen = select_giving_the_asked_kind(self.evidence, self._select, self._judged_kinds, self.retrieval.question)
        return answered_by_the_total(chosen, self.evidence, self.retrieval.table_totals)

    def _select(self, ranked: list[ScoredSentence]) -> list[ScoredSentence]:
        settings = self.assistant.settings
        return select_sentences(
            ranked, settings.answer_sentence_margin, settings.answer_max_sentences, self.retrieval.question
        )

    @cached_property
    def _judged_kinds(self) -> frozenset[str]:
        return judged_kinds(self.retrieval.question, self.plain_place_question)

    @cached_property
    def lacks_the_asked_kind(self) -> bool:
        """A question asking how many, how much, when or who whose answer would give no number, date
        or new name ("Vem är ordförande i nämnden?" answered by "Ansvarig nämnd: …"): the
        documents speak of its subject but not of what it asks ("Hur många besökare hade Bruksmuseet
        2023?" answered by "Bruksmuseet … berättar om bruksortens historia från 1700-talet")."""
        kinds = self._judged_kinds
        return bool(kinds) and not gives_the_asked_kind(self.selection, kinds, self.retrieval.question)

    def generation_request(self) -> GenerationRequest:
        """What the generator (and its judge) reads: the passages, their ranked sentences and the
        selection, for the question as retrieval understood it (misspellings corrected)."""
        retrieval = self.retrieval
        return GenerationRequest(
            retrieval.question, retrieval.passages, self.history, self.english, retrieval.municipalities,
            evidence=self.evidence, selection=self.selection,
        )  # fmt: skip

    def finish(self) -> Answer:
        self.answer.timings["total_ms"] = (time.perf_counter() - self.started) * 1000
        return self.answer

    def refuse(self) -> Iterator[str | Answer]:
        near = self._retrieval.passages if self._retrieval is not None else ()
        self.answer.text, self.answer.refused = self.assistant.refusal(self.english, near), True
        yield self.answer.text
        yield self.finish()


class Route(ABC):
    name: str = "route"

    @abstractmethod
    def answer(self, question: Question) -> Iterator[str | Answer] | None:
        """Answer the question (text pieces, then the Answer), or None when this route does not apply."""


class CommitmentListRoute(Route):
    """ "Vilka åtaganden har X?": a complete, cited list from the commitment store, not top-k passages."""

    name = "commitments"

    def answer(self, question: Question) -> Iterator[str | Answer] | None:
        assistant = question.assistant
        try:
            store = CommitmentStore.open(assistant.settings)
            query = commitment_answers.parse(question.text, store, assistant.profile)
            found = commitment_answers.find(query, store) if query else []
        except DatabaseError as error:  # a shared database that is down: the passages can still answer
            logger.warning("the commitment list is skipped: %s", error)
            return None
        chunks = assistant.store.chunks_by_id(list(dict.fromkeys(c.chunk_id for c in found)))
        found = [c for c in found if c.chunk_id in chunks]  # the store may lag behind a running ingest
        found = commitment_answers.keep_to_scope(question.text, found, chunks, assistant.profile)
        if not found:
            return None
        order = list(dict.fromkeys(c.chunk_id for c in found))
        numbers = {cid: n for n, cid in enumerate(order, 1)}
        text = commitment_answers.list_answer(query, found, numbers, question.english)
        question.answer.generator = "åtaganden"
        question.answer.events.append(event(EventKind.COMMITMENT_LIST, label=query.label))
        return _listed(question, text, [chunks[cid] for cid in order])


class MunicipalityOverviewRoute(Route):
    """ "Vilken kultur finns i X?" without an LLM: the same grouping as the chat's Kommuner tab."""

    name = "municipality-overview"

    def answer(self, question: Question) -> Iterator[str | Answer] | None:
        assistant, profile = question.assistant, question.assistant.profile
        if question.generator.uses_llm or question.municipality is not None:
            return None
        places = profile.find_municipalities(question.text)
        if len(places) != 1 or not is_plain_place_question(question.text, profile):
            return None  # not a plain overview question: retrieval answers it
        overview = municipality_overview(assistant.store, places[0], profile)
        mentions = [m for group in overview.local + overview.region_wide for m in group.mentions]
        if not mentions:
            return None
        order = list(dict.fromkeys(m.chunk_id for m in mentions))
        chunks = assistant.store.chunks_by_id(order)
        text = overview_answer(overview, {cid: n for n, cid in enumerate(order, 1)}, profile, question.english)
        question.answer.events.append(event(EventKind.MUNICIPALITY_OVERVIEW, municipality=places[0]))
        return _listed(question, text, [chunks[cid] for cid in order if cid in chunks])


class EarlyRefusalRoute(Route):
    """Refuse before generating, without calling an LLM, when the documents cannot answer: nothing
    was retrieved, the evidence retrieval found is too weak (assistant.answerability, calibrated on
    development questions by evals/calibrate.py), or the answer would give no number, date or name
    to a question asking how many, when or who, or no count of what "hur många …?" counts
    (`Question.lacks_the_asked_kind`)."""

    name = "early-refusal"

    def answer(self, question: Question) -> Iterator[str | Answer] | None:
        if not self._nothing_relevant(question):
            return None
        question.answer.events.append(event(EventKind.NOTHING_RELEVANT))
        return question.refuse()

    @staticmethod
    def _nothing_relevant(question: Question) -> bool:
        if not question.retrieval.passages:
            return True
        probability = question.evidence_probability
        if probability is not None and question.assistant.answerability.refuses_at(probability):
            return True
        return question.lacks_the_asked_kind


class GenerationRoute(Route):
    """The generator answers from the retrieved passages; every sentence is checked as it streams.
    When an LLM fails or its answer is not supported, the extractive answer replaces it."""

    name = "generation"

    def answer(self, question: Question) -> Iterator[str | Answer] | None:
        return self._generate(question, question.generation_request())

    def _generate(self, question: Question, request: GenerationRequest) -> Iterator[str | QueueStatus | Answer]:
        """Generate at once, or after waiting in line for a model that answers one at a time; the
        extractive answer at once when the wait would be too long or the line is full."""
        assistant = question.assistant
        queue = assistant.queue_for(question.generator)
        if queue is None:
            yield from self._generate_now(question, request)
            return
        limit = assistant.settings.llm_queue_max_wait_seconds
        try:
            with queue.place() as place:
                status = place.status()
                while status.position > 0:
                    if status.expected_wait_seconds > limit:
                        yield from _fallback(question, request, "busy")
                        return
                    yield status
                    place.wait()
                    status = place.status()
                yield status  # first in line: the model is writing this answer now
                started = time.perf_counter()
                yield from self._generate_now(question, request)
                queue.record(time.perf_counter() - started)
        except QueueFull:
            yield from _fallback(question, request, "busy")

    def _generate_now(self, question: Question, request: GenerationRequest) -> Iterator[str | Answer]:
        assistant, answer, generator = question.assistant, question.answer, question.generator
        if _judged_unanswerable(question, request):
            yield from question.refuse()
            return
        grounder = Grounder(request.passages, assistant.embedder, not generator.uses_llm, assistant.profile)
        checker = StreamingChecker(grounder)
        shown: list[str] = []
        started = time.perf_counter()
        try:
            for piece in generator.stream(request):
                for text in checker.feed(piece):
                    yield _show(question, shown, text)
            for text in checker.finish():
                yield _show(question, shown, text)
        except GeneratorError as error:
            kind = EventKind.GENERATOR_TIMEOUT if isinstance(error, GeneratorTimeout) else EventKind.GENERATOR_FAILED
            answer.events.append(event(kind, error=str(error), reason=error.reason))
            yield from _fallback(question, request, "failed")
            return
        answer.timings["generation_ms"] = (time.perf_counter() - started) * 1000
        answer.timings.update(generator.usage())
        state = grounder.state
        answer.events += state.events
        if (state.refused or not generator.uses_llm) and not state.kept:
            answer.text, answer.refused = assistant.refusal(request.english, request.passages), True
            yield question.finish()
            return
        if generator.uses_llm and (state.kept == 0 or state.dropped > state.kept):
            yield from _fallback(question, request, "unsupported")
            return
        # A plain place question asks for everything said of the place; a question that only names
        # one ("När blev Karlskrona världsarv?") is answered, not padded with the place's other facts.
        if generator.uses_llm and question.plain_place_question:
            for text in missing_municipality_sentences(grounder, request, assistant.profile):
                answer.events.append(event(EventKind.MUNICIPALITY_COMPLETED))
                shown.append(text)
                yield text
        if generator.uses_llm:
            for text in missing_selection(grounder, request, "".join(shown)):
                answer.events.append(event(EventKind.SELECTION_COMPLETED))
                shown.append(text)
                yield text
        answer.text = "".join(shown).strip()
        answer.citations = citations(grounder)
        yield question.finish()


DEFAULT_ROUTES: tuple[Route, ...] = (
    CommitmentListRoute(),
    MunicipalityOverviewRoute(),
    EarlyRefusalRoute(),
    GenerationRoute(),
)


# --- shared steps -------------------------------------------------------------------------------------
def _judged_unanswerable(question: Question, request: GenerationRequest) -> bool:
    """The second stage of answerability (assistant.answerability.JudgedAnswerability): a generator
    with a model of its own is asked whether the best selected sentence gives the answer, when the
    evidence alone left the question in doubt. A model that cannot say leaves the decision to the evidence."""
    model, probability = question.assistant.judged_answerability, question.evidence_probability
    if probability is None or not model.asks(probability):
        return False
    started = time.perf_counter()
    try:
        judged_yes = question.generator.judge(request)
    except GeneratorError as error:  # the answer's own call will fail the same way and fall back
        logger.warning("the answerability judge failed: %s", error)
        return False
    if judged_yes is None:
        return False
    question.answer.timings["judge_ms"] = (time.perf_counter() - started) * 1000
    if not model.refuses(probability, judged_yes):
        return False
    question.answer.events.append(event(EventKind.JUDGED_UNANSWERABLE, judged_yes=round(judged_yes, 3)))
    return True


def _show(question: Question, shown: list[str], text: str) -> str:
    """Record a checked piece as shown; the first one sets the time to first text."""
    if not shown:
        question.answer.timings["first_token_ms"] = (time.perf_counter() - question.started) * 1000
    shown.append(text)
    return text


def _listed(question: Question, text: str, chunks: list) -> Iterator[str | Answer]:
    """Number and check a list built from the index (every item is a verbatim sentence)."""
    answer = question.answer
    passages = [Passage(chunk, 1.0) for chunk in chunks]
    grounder = Grounder(passages, None, trusted_frames=True, profile=question.assistant.profile)
    checker = StreamingChecker(grounder)
    answer.text = "".join(checker.feed(text) + checker.finish()).strip()
    answer.citations = citations(grounder)
    answer.retrieved = [Retrieved(p.chunk.source, p.chunk.page, 1.0, p.chunk.section, p.chunk.text) for p in passages]
    yield answer.text
    yield question.finish()


def _fallback(question: Question, request: GenerationRequest, reason: str) -> Iterator[str | Answer]:
    """The extractive answer, replacing whatever the LLM showed; the presenter shows the final text."""
    answer, assistant = question.answer, question.assistant
    answer.events.append(event(EventKind.FELL_BACK, reason=reason))
    answer.generator = f"{answer.generator}→extractive"
    grounder = Grounder(request.passages, None, trusted_frames=True, profile=assistant.profile)
    checker = StreamingChecker(grounder)
    texts = [t for piece in assistant.generator("extractive").stream(request) for t in checker.feed(piece)]
    texts += checker.finish()
    answer.text = "".join(texts).strip()
    answer.citations = citations(grounder)
    yield question.finish()


def citations(grounder: Grounder) -> list[Citation]:
    """The answer's citations, numbered in order of first use, with their supporting sentences."""
    found = []
    for new_number, original in enumerate(grounder.state.order, start=1):
        chunk = grounder.sources[original - 1].passage.chunk
        supporting = tuple(dict.fromkeys(grounder.state.supporting.get(original, [])))
        found.append(
            Citation(new_number, chunk.id, chunk.source, chunk.title, chunk.section, chunk.page, chunk.text, supporting)
        )
    return found
