"""LLM answers completed with the facts they left out, verbatim and cited, after the answer.

A small model often says one sentence of what it read and drops the rest: the number, the second half
of a definition, the other items of a list, the other things a municipality offers. Two completions:
- every sentence of the extractive selection (assistant.selection) whose content the answer does not
  carry (its numbers, and most of its content words), so that an LLM answer holds at least the facts
  of the extractive answer to the same question;
- for a question naming a municipality, every sentence of its passages that names it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.municipality_overview import speaks_of
from assistant.safety import sanitize_passage
from kulturplan.language import content_terms, numbers, split_sentences
from kulturplan.region import RegionProfile

if TYPE_CHECKING:
    from assistant.generators.base import GenerationRequest
    from assistant.grounding import Grounder

# A source sentence counts as said when this share of its content words is in the answer.
SAID_SHARE = 0.6


def missing_selection(grounder: "Grounder", request: "GenerationRequest", answer_text: str) -> list[str]:
    """The selected sentences the answer does not carry (numbers included), checked and cited."""
    said_numbers = numbers(answer_text)
    missing = [
        (sentence.text.lstrip("-•* "), sentence.n)
        for sentence in request.selection
        if not (_said(grounder, sentence.text) and numbers(sentence.text) <= said_numbers)
    ]
    return _also(grounder, missing, request.english)


def missing_municipality_sentences(grounder: "Grounder", request: "GenerationRequest", profile: RegionProfile) -> list[str]:
    """A municipality question must gather everything said about it: the sentences the LLM left out.

    Sentence by sentence, because a passage the LLM cited may hold further facts about the place.
    """
    asked = set(request.municipalities)
    missing = [
        (sentence, n)
        for n, passage in enumerate(request.passages, start=1)
        if asked & set(passage.chunk.municipalities)
        for sentence in split_sentences(sanitize_passage(passage.chunk.text))
        if any(speaks_of(sentence, name, profile) for name in asked) and not _said(grounder, sentence)
    ]
    return _also(grounder, missing, request.english)


def _said(grounder: "Grounder", sentence: str) -> bool:
    terms = content_terms(sentence)
    return not terms or len(terms & grounder.state.said) / len(terms) >= SAID_SHARE


def _also(grounder: "Grounder", sentences: list[tuple[str, int]], english: bool) -> list[str]:
    """The sentences that pass the grounding check, as cited items under one heading (or none)."""
    items = [checked for sentence, n in sentences if (checked := grounder.check(f"- {sentence} [{n}]"))]
    if not items:
        return []
    heading = "Kulturplanen nämner också:" if not english else "The culture plan also says:"
    return [f"\n\n{heading}\n" + "\n".join(items)]
