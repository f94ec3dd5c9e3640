"""The deterministic fakes of the unit tests: an embedder, scripted and failing chat models, a fake CLI backend.

Integration tests use the real models instead (see conftest.py).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from assistant.generators import ChatModelGenerator, GeneratorError
from kulturplan.embedding import EMBEDDERS, Embedder

FAKE_BACKEND = "fake-test"


class FakeEmbedder(Embedder):
    """Hashed bag of words: deterministic, instant, and similar texts get similar vectors."""

    name = "fake"
    dimensions = 64

    def __init__(self, fail_after_batches: int | None = None):
        super().__init__(document_prompt="{text}", query_prompt="{query}")
        self.batches = 0
        self.embedded_texts: list[str] = []
        self.fail_after_batches = fail_after_batches

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self.fail_after_batches is not None and self.batches >= self.fail_after_batches:
            raise KeyboardInterrupt("simulated kill of the ingest run")
        self.batches += 1
        self.embedded_texts += texts
        vectors = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                vectors[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimensions] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)


class ScriptedLLM(ChatModelGenerator):
    """A chat model that replies with a fixed script, in small pieces like a real stream."""

    name = "scripted"

    def __init__(self, settings, reply: str = "", error: Exception | None = None, judged_yes: float | None = None):
        super().__init__(settings)
        self.reply = reply
        self.error = error
        self.judged_yes = judged_yes  # what the model says when asked whether its sources answer
        self.calls: list[list[dict[str, str]]] = []
        self.judged: list[list[dict[str, str]]] = []

    def _yes_probability(self, messages) -> float | None:
        self.judged.append(messages)
        return self.judged_yes

    def _stream_chat(self, messages, max_tokens) -> Iterator[str]:
        self.calls.append(messages)
        for index in range(0, len(self.reply), 7):
            yield self.reply[index : index + 7]
        if self.error:
            raise self.error


class SlowSerialLLM(ScriptedLLM):
    """A scripted model that answers one question at a time and takes `seconds` over it, like the
    local model on a busy machine (it takes the local model's place in the registry of a test)."""

    name = "local"
    serial = True

    def __init__(self, settings, reply: str = "", seconds: float = 1.0):
        super().__init__(settings, reply)
        self.seconds = seconds
        self.running = 0
        self.most_at_once = 0

    def _stream_chat(self, messages, max_tokens) -> Iterator[str]:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            time.sleep(self.seconds)
            yield from super()._stream_chat(messages, max_tokens)
        finally:
            self.running -= 1


class FailingLLM(ChatModelGenerator):
    """A chat model that fails before saying anything."""

    name = "failing"

    def _stream_chat(self, messages, max_tokens) -> Iterator[str]:
        raise GeneratorError("simulated LLM failure")
        yield ""  # pragma: no cover


@dataclass
class FakeStatistics:
    """Made-up index statistics for kulturplan.vocabulary: chunk shares of word stems."""

    shares: dict[str, float] = field(default_factory=dict)
    compounds: dict[str, float] = field(default_factory=dict)  # shares with compounds; else `shares`
    chunk_count: int = 1000
    words_per_chunk: float = 30.0

    def share(self, term: str) -> float:
        return self.shares.get(term, 0.0)

    def compound_share(self, term: str) -> float:
        return self.compounds.get(term, self.share(term))


def use_fake_backend(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Run the CLI in `folder` with the fake embedder registered like any other backend and no
    configuration of the checkout; monkeypatch undoes all of it after the test."""
    monkeypatch.setitem(EMBEDDERS, FAKE_BACKEND, lambda settings: FakeEmbedder())
    for key in list(os.environ):
        if key.startswith("KULTURPLAN_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("KULTURPLAN_EMBEDDING_BACKEND", FAKE_BACKEND)
    config = folder / "kulturplan.toml"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("KULTURPLAN_CONFIG", str(config))  # no kulturplan.toml of the checkout
    monkeypatch.chdir(folder)
