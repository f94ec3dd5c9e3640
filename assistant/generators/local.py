"""The local LLM: a GGUF model through llama-cpp-python, with the GGUF's own chat template."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from assistant.generators.base import GENERATORS, ChatModelGenerator, GeneratorError, GeneratorTimeout
from kulturplan.config import Settings


@GENERATORS.register("local")
class LocalLlamaGenerator(ChatModelGenerator):
    name = "local"

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self._llm = None
        self.load_seconds: float | None = None
        # One model instance, one generation at a time (llama.cpp contexts are not thread-safe).
        self._lock = threading.Lock()

    @property
    def llm(self):
        if self._llm is None:
            path = self.settings.llm_path
            if not path.is_file():
                raise GeneratorError(f"the local model is missing at {path}: run `kulturplan models fetch`")
            from llama_cpp import Llama

            started = time.perf_counter()
            try:
                self._llm = Llama(
                    model_path=str(path),
                    n_ctx=self.settings.llm_context_tokens,
                    n_threads=self.settings.llm_threads,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as error:
                raise GeneratorError(f"cannot load the local model {path}: {error}") from error
            self.load_seconds = time.perf_counter() - started
        return self._llm

    def _stream_chat(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        deadline = time.monotonic() + self.settings.llm_timeout_seconds
        with self._lock:
            stream = self.llm.create_chat_completion(
                messages=messages,
                stream=True,
                temperature=self.settings.llm_temperature,
                max_tokens=max_tokens,
            )
            for piece in stream:
                text = piece["choices"][0]["delta"].get("content")
                if text:
                    yield text
                if time.monotonic() > deadline:
                    raise GeneratorTimeout(f"the local model took longer than {self.settings.llm_timeout_seconds:.0f} s")

