"""An LLM answer completed with the facts of the extractive selection it left out.

The LLM reads the same selection the extractive answer is made of (assistant.selection), yet a small
model often says one of its sentences and drops the rest: the number, the second half of a
definition, the other items of a list. Every selected sentence whose content the answer does not
carry (its numbers, and most of its content words) is added after the answer, verbatim and cited,
so that an LLM answer holds at least the facts of the extractive answer to the same question.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.selection import select_sentences
from kulturplan.language import content_terms, numbers

if TYPE_CHECKING:
    from assistant.generators.base import GenerationRequest
    from assistant.grounding import Grounder

# A selected sentence counts as said when the answer holds its numbers and this share of its
# content words (the share the municipality completion uses, assistant.municipality_overview).
SAID_SHARE = 0.6


def missing_selection(grounder: "Grounder", request: "GenerationRequest", answer_text: str, margin: float,
                      max_sentences: int) -> list[str]:  # fmt: skip
    """The selected sentences the answer does not carry, checked and cited, under one heading."""
    if not request.evidence:
        return []
    said_numbers = numbers(answer_text)
    items = []
    for sentence in select_sentences(request.evidence, margin, max_sentences, request.question):
        terms = content_terms(sentence.text)
        carried = not terms or len(terms & grounder.state.said) / len(terms) >= SAID_SHARE
        if carried and numbers(sentence.text) <= said_numbers:
            continue
        if checked := grounder.check(f"- {sentence.text.lstrip('-•* ')} [{sentence.n}]"):
            items.append(checked)
    if not items:
        return []
    heading = "Kulturplanen nämner också:" if not request.english else "The culture plan also says:"
    return [f"\n\n{heading}\n" + "\n".join(items)]
