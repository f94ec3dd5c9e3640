"""What happened while answering, as typed events: a kind plus details, never prose.

The engine and the grounding check record events on the `Answer`; presenters (the chat, the CLI)
turn them into the words a person reads (`ui.messages`). Tests and evaluations match on the kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class EventKind(str, Enum):
    # The question
    INSTRUCTIONS_IGNORED = "instructions_ignored"  # instructions in the question were removed
    # Which route answered
    COMMITMENT_LIST = "commitment_list"  # details: label
    MUNICIPALITY_OVERVIEW = "municipality_overview"  # details: municipality
    NOTHING_RELEVANT = "nothing_relevant"  # early refusal, no LLM called
    JUDGED_UNANSWERABLE = "judged_unanswerable"  # details: judged_yes; the LLM and the evidence judged it unanswerable
    # The generator
    GENERATOR_UNAVAILABLE = "generator_unavailable"  # details: generator, error; extractive used instead
    GENERATOR_FAILED = "generator_failed"  # details: error
    GENERATOR_TIMEOUT = "generator_timeout"  # details: error
    FELL_BACK = "fell_back"  # details: reason ("failed" | "unsupported" | "busy"); extractive answer shown
    MUNICIPALITY_COMPLETED = "municipality_completed"  # sentences about the place the LLM left out were added
    SELECTION_COMPLETED = "selection_completed"  # selected sentences the LLM left out were added (assistant.completion)
    # The grounding check, per sentence
    CITATION_REMOVED = "citation_removed"  # details: numbers (sources that do not exist)
    CITATION_MOVED = "citation_moved"  # details: cited, to, sentence
    SENTENCE_DROPPED = "sentence_dropped"  # details: sentence (not supported by the sources)
    FRAGMENT_DROPPED = "fragment_dropped"  # details: sentence
    REPEAT_DROPPED = "repeat_dropped"  # details: sentence


@dataclass(frozen=True)
class Event:
    kind: EventKind
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, **self.details}


def event(kind: EventKind, **details: Any) -> Event:
    return Event(kind, details)
