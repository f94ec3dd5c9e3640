"""An answer without an LLM: the most relevant sentences of the passages, each cited.

Deterministic and fast; used in tests, in CI's evaluation, whenever no LLM is available and as the
fallback when an LLM answer fails the grounding check. Sentences are quoted verbatim, so every
claim is supported by the passage it cites.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from assistant.evidence import EvidenceScorer, ScoredSentence
from assistant.generators.base import GENERATORS, GenerationRequest, Generator
from assistant.municipality_overview import answer_lines, is_plain_place_question, reaches_whole_region, speaks_of
from assistant.safety import sanitize_passage
from assistant.selection import in_list, select_sentences
from kulturplan.language import content_terms, ends_sentence, is_introduction, split_sentences
from kulturplan.config import Settings
from kulturplan.region import load_profile

# Without settings (a bare generator in a test): the calibrated defaults of kulturplan/config.py.
DEFAULT_MARGIN = Settings.model_fields["answer_sentence_margin"].default
DEFAULT_MAX_SENTENCES = Settings.model_fields["answer_max_sentences"].default
MAX_REGION_SENTENCES = 2
MIN_WORDS = 5  # shorter "sentences" are fragments such as a stray link text
_NUMBERED = re.compile(r"^\d{1,3}[.)]\s")


@dataclass(frozen=True)
class _Candidate:
    n: int  # passage number
    order: int  # position in the passage list, for reading order
    text: str
    score: float


@GENERATORS.register("extractive")
class ExtractiveGenerator(Generator):
    name = "extractive"

    def __init__(self, settings=None):
        self.settings = settings
        self.profile = settings.profile if settings is not None else load_profile()

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        if request.municipalities and is_plain_place_question(request.question, self.profile):
            yield from self._municipality_answer(request, self._candidates(request))
        else:
            yield from self._topic_answer(request)

    @staticmethod
    def _candidates(request: GenerationRequest) -> list[_Candidate]:
        terms = content_terms(request.question)
        result = []
        order = 0
        for n, passage in enumerate(request.passages, start=1):
            # A sentence under the heading "Blekingemodellen" is about Blekingemodellen.
            heading_terms = content_terms(" ".join(passage.chunk.heading_path))
            for sentence in split_sentences(sanitize_passage(passage.chunk.text)):
                if len(sentence.split()) < MIN_WORDS:
                    continue
                words = content_terms(sentence) | heading_terms
                overlap = len(terms & words) / len(terms) if terms else 0.0
                result.append(_Candidate(n, order, sentence, overlap + 0.3 * passage.dense))
                order += 1
        return result

    def _topic_answer(self, request: GenerationRequest) -> Iterator[str]:
        chosen = request.selection or self._selection(request)
        if not chosen:
            return
        if request.english:
            yield "According to the culture plan (quoted in Swedish):\n"
        # A list, or an introduction ("… är:") with what it introduces, is answered line by line.
        separator = "\n" if len(chosen) > 1 and any(map(in_list, chosen)) else " "
        for index, sentence in enumerate(chosen):
            # "1. …" stays numbered, as in the source; a list's introduction ("…:") is no item
            plain = _NUMBERED.match(sentence.text) or is_introduction(sentence.text)
            text = f"- {sentence.text.lstrip('-•* ')}" if separator == "\n" and not plain else sentence.text
            yield f"{separator if index else ''}{text} [{sentence.n}]{_full_stop(text, separator)}"

    def _selection(self, request: GenerationRequest) -> list[ScoredSentence]:
        """The selection for a request that brings none (a bare generator, as in tests)."""
        ranked = request.evidence or EvidenceScorer().score(request.question, request.passages, lambda term: 1.0)
        settings = self.settings
        margin = settings.answer_sentence_margin if settings else DEFAULT_MARGIN
        max_sentences = settings.answer_max_sentences if settings else DEFAULT_MAX_SENTENCES
        return select_sentences(ranked, margin, max_sentences, request.question)

    def _municipality_answer(self, request: GenerationRequest, candidates: list[_Candidate]) -> Iterator[str]:
        names = " och ".join(request.municipalities)
        profile, asked = self.profile, request.municipalities
        local = [c for c in candidates if any(speaks_of(c.text, name, profile) for name in asked)]
        local.sort(key=lambda c: c.order)
        regional = sorted(
            (c for c in candidates
             if c not in local and reaches_whole_region(request.passages[c.n - 1].chunk, c.text, profile)),
            key=lambda c: c.score,
            reverse=True,
        )[:MAX_REGION_SENTENCES]
        lines = answer_lines(
            names,
            [(c.text, c.n) for c in local],
            [(c.text, c.n) for c in sorted(regional, key=lambda c: c.order)],
            self.profile,
            request.english,
        )
        for line in lines:
            yield line + "\n"


def _full_stop(text: str, separator: str) -> str:
    """A full stop after the citation of a sentence in running text that has none of its own (a line
    such as "Ansökan: senast 31 januari"): without it, the next sentence runs on into this one and
    the grounding check reads both as one claim, their citations merged."""
    return "." if separator == " " and not ends_sentence(text) else ""
