"""A first-come queue in front of a model that answers one question at a time (the local LLM).

Each question takes a place in line; the chat shows the person their number while they wait
("Du är nummer 2 i kön"), and when the expected wait (people ahead × recent answer time) passes
`llm_queue_max_wait_seconds`, or the line is full, the question gets the extractive answer at once
instead. Backends that serve many requests at once (an OpenAI-compatible server that batches) get
no queue.
"""

from __future__ import annotations

import statistics
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


class QueueFull(Exception):
    """The line is as long as allowed."""


@dataclass(frozen=True)
class QueueStatus:
    """Streamed while a question waits: `position` people are answered before it (1 = next)."""

    position: int
    expected_wait_seconds: float


class ModelQueue:
    def __init__(self, size: int, typical_answer_seconds: float):
        self.size = size  # most questions waiting (the one being answered not counted)
        self._condition = threading.Condition()
        self._line: list[object] = []
        self._recent: deque[float] = deque([typical_answer_seconds], maxlen=5)

    @contextmanager
    def place(self) -> Iterator["Place"]:
        """A place at the end of the line, left on exit (answered, fallen back or cancelled)."""
        token = object()
        with self._condition:
            if len(self._line) > self.size:
                raise QueueFull(f"{len(self._line) - 1} questions are waiting already")
            self._line.append(token)
        try:
            yield Place(self, token)
        finally:
            with self._condition:
                self._line.remove(token)
                self._condition.notify_all()

    def record(self, seconds: float) -> None:
        """How long an answer took, for the expected wait of those behind it."""
        with self._condition:
            self._recent.append(seconds)

    def expected_wait(self, position: int) -> float:
        with self._condition:
            return position * statistics.fmean(self._recent)

    def _position(self, token: object) -> int:
        return self._line.index(token)

    def _wait(self, token: object, timeout: float) -> int:
        with self._condition:
            before = self._position(token)
            self._condition.wait_for(lambda: self._position(token) != before, timeout)
            return self._position(token)


class Place:
    def __init__(self, queue: ModelQueue, token: object):
        self._queue, self._token = queue, token

    @property
    def position(self) -> int:
        with self._queue._condition:
            return self._queue._position(self._token)

    def status(self) -> QueueStatus:
        position = self.position
        return QueueStatus(position, self._queue.expected_wait(position))

    def wait(self, timeout: float = 1.0) -> int:
        """The position after it changed, or after `timeout` seconds."""
        return self._queue._wait(self._token, timeout)
