"""Any OpenAI-compatible chat server (vLLM, llama.cpp's server, Ollama, a hosted service)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from assistant.generators.base import GENERATORS, ChatModelGenerator, GeneratorError, GeneratorTimeout
from kulturplan.config import Settings


@GENERATORS.register("openai")
class OpenAICompatibleGenerator(ChatModelGenerator):
    name = "openai"

    def __init__(self, settings: Settings):
        super().__init__(settings)
        if not settings.openai_base_url or not settings.openai_model:
            raise GeneratorError("the openai generator needs openai_base_url and openai_model in the configuration")
        self._client = None

    @property
    def client(self):
        if self._client is None:
            from openai import OpenAI

            # Local servers accept any key; hosted ones read it from the configured variable.
            api_key = os.environ.get(self.settings.openai_api_key_env) or "not-needed"
            self._client = OpenAI(
                base_url=self.settings.openai_base_url,
                api_key=api_key,
                timeout=self.settings.llm_timeout_seconds,
                max_retries=0,
            )
        return self._client

    def _stream_chat(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        import openai

        # The client's timeout applies to each read, so a server that keeps trickling tokens would
        # never time out: like the local generator, enforce llm_timeout_seconds for the whole reply.
        timeout = self.settings.llm_timeout_seconds
        deadline = time.monotonic() + timeout
        try:
            stream = self.client.chat.completions.create(
                model=self.settings.openai_model,
                messages=messages,
                temperature=self.settings.llm_temperature,
                max_tokens=max_tokens,
                stream=True,
            )
            # Closing the stream (also when the consumer stops early) ends the request, so the
            # server stops generating for nobody.
            events = 0
            with stream:
                for event in stream:
                    events += 1
                    if event.choices and event.choices[0].delta and event.choices[0].delta.content:
                        yield event.choices[0].delta.content
                    if time.monotonic() > deadline:
                        raise GeneratorTimeout(
                            f"the server at {self.settings.openai_base_url} took longer than {timeout:.0f} s"
                        )
            if not events:  # e.g. a plain JSON body instead of an event stream: nothing could be read
                raise GeneratorError(
                    f"the server at {self.settings.openai_base_url} sent no chat completion events", "invalid_reply"
                )
        except openai.APITimeoutError as error:
            raise GeneratorTimeout(f"the server at {self.settings.openai_base_url} timed out") from error
        except openai.APIConnectionError as error:
            raise GeneratorError(f"cannot reach the server at {self.settings.openai_base_url}: {error}", "unreachable") from error
        except openai.APIStatusError as error:
            raise GeneratorError(
                f"the server at {self.settings.openai_base_url} answered HTTP {error.status_code}", "server_error"
            ) from error
        except openai.OpenAIError as error:
            raise GeneratorError(f"the server at {self.settings.openai_base_url} failed: {error}") from error
        except ValueError as error:  # a reply that is not valid JSON events
            raise GeneratorError(
                f"the server at {self.settings.openai_base_url} sent an invalid reply: {error}", "invalid_reply"
            ) from error

