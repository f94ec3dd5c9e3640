"""Typed objects of a conversation: turns, retrieved passages, citations and the answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from assistant.events import Event, EventKind
from kulturplan.chunks import Chunk


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with how it was found."""

    chunk: Chunk
    score: float  # fused rank score (reciprocal rank fusion)
    dense: float = 0.0  # cosine similarity to the question
    lexical: float = 0.0  # BM25 score
    via_municipality: bool = False  # added because the question names a municipality it mentions
    scope: float = 1.0  # the share of its fused score kept for its region and period (assistant.scope)


@dataclass(frozen=True)
class Citation:
    n: int
    chunk_id: str
    source: str
    title: str
    section: str
    page: int | None
    text: str
    # Sentences of the passage that support the answer (for highlighting).
    supporting: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "source": self.source,
            "title": self.title,
            "section": self.section,
            "page": self.page,
            "text": self.text,
        }


@dataclass(frozen=True)
class Retrieved:
    source: str
    page: int | None
    score: float
    section: str = ""
    text: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "page": self.page, "score": round(self.score, 4)}


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    retrieved: list[Retrieved] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per stage
    generator: str = ""
    standalone_question: str = ""
    # What happened while answering (route, fallbacks, what the grounding check did), for the UI,
    # the CLI and evaluations; presenters render the words (ui.messages).
    events: list[Event] = field(default_factory=list)

    def has(self, kind: EventKind) -> bool:
        return any(e.kind is kind for e in self.events)

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "refused": self.refused,
            "citations": [c.to_json() for c in self.citations],
            "retrieved": [r.to_json() for r in self.retrieved],
            "timings": {k: round(v, 1) for k, v in self.timings.items()},
            "generator": self.generator,
            "standalone_question": self.standalone_question,
            "events": [e.to_json() for e in self.events],
        }


def history_from_json(rows: list[dict[str, Any]]) -> list[Turn]:
    """History as in the gold-question schema: [{"role": "user"|"assistant", "content": str}]."""
    turns = []
    for row in rows:
        if row.get("role") not in ("user", "assistant") or not isinstance(row.get("content"), str):
            raise ValueError('each history item needs "role" ("user" or "assistant") and "content"')
        turns.append(Turn(row["role"], row["content"]))
    return turns

