"""The local LLM: a GGUF model through llama-cpp-python, with the GGUF's own chat template.

llama-cpp-python keeps the KV cache of the last prompt and evaluates only what differs from it, so
the fixed start of every prompt (rules and example, assistant.prompts) is computed once. After each
answer `last_timing` holds llama.cpp's own counts: prompt tokens evaluated and reused, prefill and
decode time (the benchmark reports them).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from assistant.generators.base import GENERATORS, ChatModelGenerator, GeneratorError, GeneratorTimeout
from assistant.prompts import JUDGE_NO, JUDGE_YES, warm_up_messages
from kulturplan.config import Settings


@dataclass(frozen=True)
class LlamaTiming:
    prompt_tokens: int  # evaluated for this answer (the part not reused from the cache)
    reused_tokens: int  # the prompt's start, identical to the previous prompt's, taken from the cache
    prefill_ms: float
    decode_tokens: int
    decode_ms: float

    def as_usage(self) -> dict[str, float]:
        """The figures as an answer's timings hold them."""
        return {
            "prompt_tokens": self.prompt_tokens, "reused_prompt_tokens": self.reused_tokens,
            "prefill_ms": round(self.prefill_ms, 1), "decode_tokens": self.decode_tokens,
            "decode_ms": round(self.decode_ms, 1),
        }  # fmt: skip


# The judge reads one sentence and the question: ~100 tokens.
JUDGE_CONTEXT_TOKENS = 512


@GENERATORS.register("local")
class LocalLlamaGenerator(ChatModelGenerator):
    name = "local"
    serial = True  # one llama.cpp context

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self._llm = None
        self.load_seconds: float | None = None
        self.last_timing: LlamaTiming | None = None
        self._judge_llm = None
        # One model instance, one generation at a time (llama.cpp contexts are not thread-safe).
        self._lock = threading.Lock()

    def usage(self) -> dict[str, float]:
        return self.last_timing.as_usage() if self.last_timing else {}

    @property
    def llm(self):
        if self._llm is None:
            path = self.settings.llm_path
            if not path.is_file():
                raise GeneratorError(f"the local model is missing at {path}: run `kulturplan models fetch`")
            started = time.perf_counter()
            draft = self._draft_model()
            try:
                self._llm = _llama_class(draft is not None)(
                    model_path=str(path),
                    n_ctx=self.settings.llm_context_tokens,
                    n_threads=self.settings.llm_threads,
                    flash_attn=self.settings.llm_flash_attention,
                    draft_model=draft,
                    # llama-cpp-python 0.3.36 sizes its logits buffer by this argument, not by the
                    # draft model it keeps every position's logits for: without it `eval` fails.
                    logits_all=draft is not None,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as error:
                raise GeneratorError(f"cannot load the local model {path}: {error}") from error
            self.load_seconds = time.perf_counter() - started
        return self._llm

    def _draft_model(self):
        """Prompt-lookup decoding (`llm_prompt_lookup_tokens`), or None."""
        if not self.settings.llm_prompt_lookup_tokens:
            return None
        from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

        return LlamaPromptLookupDecoding(num_pred_tokens=self.settings.llm_prompt_lookup_tokens)

    def warm_up(self, profile) -> None:
        """Load the model and evaluate the start every Swedish prompt shares (rules, example): its KV
        cache is what the first question then reuses; and the judge's context, when it is used."""
        for _ in self._stream_chat(warm_up_messages(profile), max_tokens=1):
            pass
        if self.settings.answerability_judge_threshold > 0:
            self.judge_llm

    @property
    def judge_llm(self):
        """A second, small llama.cpp context on the same model file for the judge's prompt, so that
        the answer's context keeps its cached fixed start (rules, example). The weights are
        memory-mapped: the two contexts share them."""
        if self._judge_llm is None:
            from llama_cpp import Llama

            self.llm  # the same checks and errors as the answer's model
            try:
                self._judge_llm = Llama(
                    model_path=str(self.settings.llm_path), n_ctx=JUDGE_CONTEXT_TOKENS,
                    n_threads=self.settings.llm_threads, flash_attn=self.settings.llm_flash_attention, verbose=False,
                )  # fmt: skip
            except (ValueError, RuntimeError) as error:
                raise GeneratorError(f"cannot load the local model's judge context: {error}") from error
        return self._judge_llm

    def _yes_probability(self, messages: list[dict[str, str]]) -> float | None:
        """Evaluate the judge's prompt (its fixed start comes from its context's cache) and read the
        next token's probabilities of yes against no."""
        import numpy as np
        from llama_cpp import LogitsProcessorList

        next_token: list = []

        def keep(input_ids, scores):  # llama-cpp-python's hook before sampling: the next token's logits
            next_token.append(np.asarray(scores, dtype=np.float64).copy())
            return scores

        with self._lock:
            llm = self.judge_llm
            llm.create_chat_completion(
                messages=messages, max_tokens=1, temperature=0, logits_processor=LogitsProcessorList([keep])
            )
            yes, no = self._token_ids(llm, JUDGE_YES), self._token_ids(llm, JUDGE_NO)
        if not next_token:
            return None
        logits = next_token[0]
        weights = np.exp(logits - logits.max())
        said_yes, said_no = float(weights[yes].sum()), float(weights[no].sum())
        return said_yes / (said_yes + said_no) if said_yes + said_no > 0 else None

    @staticmethod
    def _token_ids(llm, words: tuple[str, ...]) -> list[int]:
        """Each word's first token (the reply's first token is all that is read)."""
        return sorted({llm.tokenize(word.encode(), add_bos=False)[0] for word in words})

    def _stream_chat(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        deadline = time.monotonic() + self.settings.llm_timeout_seconds
        with self._lock:
            llm = self.llm
            reset_counters(llm)
            stream = llm.create_chat_completion(
                messages=messages,
                stream=True,
                temperature=self.settings.llm_temperature,
                max_tokens=max_tokens,
            )
            try:
                for piece in stream:
                    text = piece["choices"][0]["delta"].get("content")
                    if text:
                        yield text
                    if time.monotonic() > deadline:
                        raise GeneratorTimeout(
                            f"the local model took longer than {self.settings.llm_timeout_seconds:.0f} s"
                        )
            finally:
                self.last_timing = read_counters(llm)


def _llama_class(prompt_lookup: bool):
    """llama-cpp-python's Llama; with prompt-lookup decoding, one whose prompt skips the logits it
    never reads (see `PromptLookupLlama`)."""
    from llama_cpp import Llama

    if not prompt_lookup:
        return Llama

    class PromptLookupLlama(Llama):
        """Prompt-lookup decoding checks the guessed tokens against the logits of every position of a
        step, so llama-cpp-python keeps every evaluated position's logits (`logits_all`), the
        prompt's too. Only the prompt's last position is ever sampled: a prompt evaluated with the
        last position's logits alone prefills 111 instead of 81 tokens/s on two cores (511 tokens,
        measured). A step (the sampled token and at most `num_pred_tokens` guesses) keeps them all."""

        def eval(self, tokens):
            step = 1 + self.draft_model.num_pred_tokens
            if len(tokens) <= step:
                return super().eval(tokens)
            self._logits_all = False  # read by eval for this batch only; nothing reads the prompt's
            try:
                return super().eval(tokens)
            finally:
                self._logits_all = True

    return PromptLookupLlama


def reset_counters(llm) -> None:
    import llama_cpp

    try:
        llama_cpp.llama_perf_context_reset(llm._ctx.ctx)  # no public wrapper in llama-cpp-python 0.3
    except (AttributeError, TypeError, OSError):
        pass


def read_counters(llm) -> LlamaTiming | None:
    import llama_cpp

    try:
        data = llama_cpp.llama_perf_context(llm._ctx.ctx)
    except (AttributeError, TypeError, OSError):  # another llama-cpp-python layout: no figures
        return None
    # The context holds the whole prompt and the decoded tokens; what of the prompt was not evaluated
    # was reused from the cache (llama.cpp's own n_reused counts something else).
    reused = max(0, llm.n_tokens - data.n_eval - data.n_p_eval)
    return LlamaTiming(data.n_p_eval, reused, data.t_p_eval_ms, data.n_eval, data.t_eval_ms)

