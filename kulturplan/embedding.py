"""Embedders: one small abstract class; built-ins registered by name, others by entry point
("kulturplan.embedders", see kulturplan.registry)."""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from kulturplan import model_runtime
from kulturplan.attention import use_unmasked_attention
from kulturplan.config import Settings
from kulturplan.language import budget_tokens
from kulturplan.registry import Registry, UnknownBackend


logger = logging.getLogger(__name__)


class EmbedderUnavailable(RuntimeError):
    """The embedding model cannot be loaded; the message says what to do."""


class Embedder(ABC):
    """Turns texts into unit-length vectors. Backends implement `_encode` only."""

    name: str = "embedder"

    def __init__(self, document_prompt: str, query_prompt: str):
        self.document_prompt = document_prompt
        self.query_prompt = query_prompt

    @abstractmethod
    def _encode(self, texts: list[str]) -> np.ndarray:
        """Vectors for the already prompted texts, one row per text, L2-normalised."""

    def embed_documents(self, texts: Sequence[str], titles: Sequence[str]) -> np.ndarray:
        prompted = [self.document_prompt.format(title=t or "none", text=x) for x, t in zip(texts, titles)]
        return self._encode(prompted)

    def embed_query(self, query: str) -> np.ndarray:
        return self._encode([self.query_prompt.format(query=query)])[0]

    def tokenize(self, text: str) -> list:
        """Tokens for chunk budgets; backends with a real tokenizer override it."""
        return budget_tokens(text)


def cpu_dtype(requested: str) -> str:
    """The torch dtype to run the embedder in: `requested`, or for "auto" bfloat16 where this CPU
    computes bf16 natively (AVX-512 BF16 or AMX tiles) and float32 elsewhere.

    Emulated bf16 is no saving: on a 2-core AMD EPYC with AVX2 only, bf16 embedded 32 passages in
    99.8 s and a question in 1.55 s, float32 in 14.6 s and 134 ms. On the Xeons with AVX-512 BF16,
    bf16 is the faster and halves the weights' memory."""
    if requested != "auto":
        return requested
    import torch

    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return "bfloat16" if native else "float32"


def compiles(requested: bool | str, dtype: str) -> bool:
    """Whether to compile the embedder's layers: `requested`, or for "auto" where it runs in
    bfloat16. There, between the matrix products, hundreds of small element-wise operations cost as
    much as reading the weights and compiling fuses them (Xeon: p95 50 -> 41 ms a question); in
    float32 on an AVX2-only AMD EPYC it gained nothing and cost ~7 s at every start."""
    return dtype == "bfloat16" if requested == "auto" else bool(requested)


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model on CPU, loaded lazily on first use."""

    name = "sentence-transformers"

    def __init__(
        self,
        model: str,
        dtype: str = "auto",
        batch_size: int = 16,
        runtime_cache: Path | None = None,
        compile_layers: bool | str = False,
        **prompts: str,
    ):
        """`runtime_cache`: a folder for files derived from the model on this machine; with it the
        token embeddings are memory-mapped (see kulturplan.model_runtime). `compile_layers`: compile
        the transformer's layers with torch.compile (kernels cached in `runtime_cache`); "auto": see
        `compiles`."""
        super().__init__(**prompts)
        self.model_name = model
        self.dtype = dtype
        self.batch_size = batch_size
        self.runtime_cache = runtime_cache
        self.compile_layers = compile_layers
        self.compiled = False
        self.load_seconds: float | None = None
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                self._model = self._load()
        return self._model

    def _load(self):
        path = Path(self.model_name).expanduser()
        if path.exists():
            source = str(path)
        elif self.model_name.startswith(("/", ".", "~")):
            raise EmbedderUnavailable(
                f"embedding model not found at {self.model_name}: run `kulturplan models fetch`"
            )
        else:
            source = self.model_name  # a hub id, served from the local cache only (offline)
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()  # one bar per load is noise in a CLI

        started = time.perf_counter()
        dtype = cpu_dtype(self.dtype)
        try:
            model = SentenceTransformer(
                source, device="cpu", local_files_only=True, model_kwargs={"dtype": getattr(torch, dtype)}
            )
        except OSError as error:
            raise EmbedderUnavailable(f"cannot load embedding model {self.model_name}: {error}") from error
        for module in model:  # the transformer inside the sentence-transformers pipeline
            if hasattr(module, "auto_model"):
                use_unmasked_attention(module.auto_model)
                self._adapt_to_cpu(model, module.auto_model, source, dtype)
        self.load_seconds = time.perf_counter() - started
        return model

    def _adapt_to_cpu(self, model, transformer, source: str, dtype: str) -> None:
        if self.runtime_cache is None:
            return
        model_runtime.map_token_embeddings(transformer, self.runtime_cache / "weights", _source_key(source))
        if not compiles(self.compile_layers, dtype):
            return
        blocks: list = []
        try:  # compiles now, at load, rather than inside the first question
            model_runtime.inductor_cache(self.runtime_cache / "inductor")
            blocks = model_runtime.compile_repeated_blocks(transformer)
            self._run(model, "uppvärmning")
            self.compiled = True
        except Exception as error:  # no C compiler, an unwritable cache, an op inductor lacks: run eagerly
            model_runtime.restore_eager(blocks)
            logger.warning("embedding model runs uncompiled: %s", next(iter(str(error).splitlines()), type(error).__name__))

    def _encode(self, texts: list[str]) -> np.ndarray:
        if len(texts) == 1:
            return self._encode_one(texts[0])
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def _encode_one(self, text: str) -> np.ndarray:
        """One text (a question) straight through the model: `encode`'s batching machinery costs
        2 ms of a query's 38 on two cores, where retrieval at 100 000 chunks has 60 ms in all."""
        vector = self._run(self.model, text)
        return vector / np.linalg.norm(vector, axis=1, keepdims=True)

    @staticmethod
    def _run(model, text: str) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return model(model.preprocess([text]))["sentence_embedding"].float().numpy()

    def tokenize(self, text: str) -> list:
        return self.model.tokenizer(text, add_special_tokens=False)["input_ids"]


def _source_key(source: str) -> str:
    """Names the weights behind a model folder or hub id: its files' names, sizes and times."""
    path = Path(source)
    if not path.is_dir():
        return source
    files = sorted(path.rglob("*.safetensors")) + sorted(path.rglob("*.bin"))
    return "|".join(f"{f.relative_to(path)}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files) or source


EmbedderFactory = Callable[[Settings], Embedder]
EMBEDDERS: Registry[EmbedderFactory] = Registry("embedding backend", entry_point_group="kulturplan.embedders")


def make_embedder(settings: Settings) -> Embedder:
    try:
        factory = EMBEDDERS.get(settings.embedding_backend)
    except UnknownBackend as error:
        raise EmbedderUnavailable(str(error)) from None
    return factory(settings)


@EMBEDDERS.register(SentenceTransformerEmbedder.name)
def _sentence_transformers(settings: Settings) -> Embedder:
    return SentenceTransformerEmbedder(
        settings.embedding_model_path,
        dtype=settings.embedding_dtype,
        batch_size=settings.embedding_batch_size,
        runtime_cache=settings.runtime_cache,
        compile_layers=settings.embedding_compile,
        document_prompt=settings.embedding_document_prompt,
        query_prompt=settings.embedding_query_prompt,
    )
