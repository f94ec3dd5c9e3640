"""The generator interface and its registry.

A generator turns a question and numbered passages into answer text with `[n]` citations, streamed
as text pieces. Built-ins register themselves by name in `GENERATORS`; installed packages add theirs
through the entry-point group "kulturplan.generators". A new backend implements one method
(`stream`, or `_stream_chat` for a chat model) and is constructed with the Settings.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.prompts import build_messages, judge_messages
from assistant.selection import prompt_sentences

if TYPE_CHECKING:
    from assistant.evidence import ScoredSentence
    from kulturplan.region import RegionProfile
from assistant.types import Passage, Turn
from kulturplan.config import Settings
from kulturplan.registry import Registry, UnknownBackend


class GeneratorError(RuntimeError):
    """The generator failed (model missing, server down, timeout); the engine falls back.

    `reason` says what the person is told (ui.messages): "failed", "unreachable", "server_error",
    "invalid_reply", "empty_reply" or "timeout"; the message itself is for the log."""

    reason = "failed"

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        if reason:
            self.reason = reason


class GeneratorTimeout(GeneratorError):
    reason = "timeout"


@dataclass
class GenerationRequest:
    question: str
    passages: list[Passage]  # numbered [1]..[n] in this order
    history: list[Turn] = field(default_factory=list)
    english: bool = False
    municipalities: tuple[str, ...] = ()
    # The passages' sentences ranked by how well they answer (assistant.evidence), best first.
    evidence: list["ScoredSentence"] = field(default_factory=list)
    # The extractive answer's sentences (assistant.selection), chosen once from `evidence`: what the
    # extractive generator says, what the LLM reads first and what its answer is completed with.
    selection: list["ScoredSentence"] = field(default_factory=list)


class Generator(ABC):
    name: str = "generator"
    uses_llm: bool = False
    serial: bool = False  # answers one question at a time: questions queue for it (assistant.queue)

    @abstractmethod
    def stream(self, request: GenerationRequest) -> Iterator[str]:
        """Yield the answer text in pieces."""

    def usage(self) -> dict[str, float]:
        """Figures of the last answer for the answer's timings (prompt tokens, prefill ...); none by default."""
        return {}

    def warm_up(self, profile: "RegionProfile") -> None:
        """Load what the first answer would wait for (a model, the prompt's fixed start); nothing by default."""

    def judge(self, request: GenerationRequest) -> float | None:
        """The model's own judgement: the probability that the best selected sentence gives the answer
        to the question. None when there is no model to ask (extractive) or its backend gives no
        token probabilities."""
        return None


class ChatModelGenerator(Generator):
    """A generator backed by a chat LLM: we build the prompt, the backend streams the reply."""

    uses_llm = True

    def __init__(self, settings: Settings):
        self.settings = settings

    @abstractmethod
    def _stream_chat(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        """Stream the assistant's reply to chat `messages`."""

    def _yes_probability(self, messages: list[dict[str, str]]) -> float | None:
        """The probability that the reply to `messages` starts with yes rather than no; None when the
        backend cannot tell (the default)."""
        return None

    def judge(self, request: GenerationRequest) -> float | None:
        """Asked about the best selected sentence: the one the answer would lead with."""
        best = request.selection[:1] or request.evidence[:1]
        return self._yes_probability(judge_messages(request.question, best[0])) if best else None

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        settings = self.settings
        sentences = None
        if settings.llm_source_sentences and request.evidence:
            sentences = prompt_sentences(request.evidence, request.selection, settings.llm_source_sentences)
        messages = build_messages(request, settings.profile, settings.llm_max_passages, sentences)
        said = False
        for piece in self._stream_chat(messages, self.settings.llm_max_tokens):
            said = said or bool(piece.strip())
            yield piece
        if not said:  # nothing to check is a failure of the model, not an unsupported answer
            raise GeneratorError(f"the {self.name} model replied with no text", "empty_reply")

    def complete(self, messages: list[dict[str, str]], max_tokens: int = 80) -> str:
        return "".join(self._stream_chat(messages, max_tokens)).strip()


GeneratorFactory = Callable[[Settings], Generator]
GENERATORS: Registry[GeneratorFactory] = Registry("generator", entry_point_group="kulturplan.generators")


def register_generator(name: str, factory: GeneratorFactory) -> None:
    GENERATORS.register(name, factory)


def make_generator(name: str, settings: Settings) -> Generator:
    try:
        factory = GENERATORS.get(name)
    except UnknownBackend as error:
        raise GeneratorError(str(error)) from None
    return factory(settings)
