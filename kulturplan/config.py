"""The one settings object of the app.

Precedence, lowest first: the defaults below < `kulturplan.toml` (or the file named by
KULTURPLAN_CONFIG) < environment variables `KULTURPLAN_<FIELD>` < command-line flags, which are
passed as keyword arguments to `load_settings`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

if TYPE_CHECKING:
    from kulturplan.region import RegionProfile
    from kulturplan.vocabulary import GenericWordRule

CONFIG_ENV = "KULTURPLAN_CONFIG"
DEFAULT_CONFIG_FILE = "kulturplan.toml"

EMBEDDING_MODEL_NAME = "embeddinggemma-300m"
LLM_MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"


def config_file() -> Path:
    """The TOML file to read. A missing default file means "no file"; a file named explicitly by
    KULTURPLAN_CONFIG must exist, so that a typo in its path does not silently run on defaults."""
    named = os.environ.get(CONFIG_ENV)
    if not named:
        return Path(DEFAULT_CONFIG_FILE)
    path = Path(named).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{CONFIG_ENV}={named} is not a file")
    return path


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KULTURPLAN_", extra="forbid")

    # Paths
    data_dir: Path = Field(Path(".kulturplan"), description="Index, feedback and derived stores.")
    corpus_dir: Path = Field(Path("corpus"), description="Documents ingested by default.")
    models_dir: Path = Field(
        Path("~/.cache/kulturplan/models"), description="Verified model cache (outside the repo)."
    )

    # Region
    region: str = Field(
        "blekinge", description="Region profile: a shipped name (blekinge) or a path to a profile .toml."
    )

    # Embeddings
    embedding_backend: str = Field("sentence-transformers", description="Registered embedder.")
    embedding_model: str = Field(
        "", description="Sentence-transformers folder or hub id; empty = the fetched EmbeddingGemma."
    )
    embedding_dtype: str = Field(
        "auto",
        description="torch dtype for the embedder on CPU; auto = bfloat16 where the CPU computes it natively "
        "(AVX-512 BF16 or AMX), else float32 (bf16 emulated is 7-11x slower).",
    )
    embedding_batch_size: int = Field(16, ge=1, description="Chunks embedded per batch.")
    embedding_compile: Literal["auto"] | bool = Field(
        "auto",
        description="Compile the embedder's layers with torch.compile; auto = where it runs in bfloat16 "
        "(Xeon, bf16: a question p95 50 -> 41 ms on 2 cores). In float32 on an AVX2-only AMD EPYC it "
        "gained nothing (p50 132-145 ms eager, 141-163 ms compiled) and cost ~7 s at every start.",
    )
    embedding_document_prompt: str = Field("title: {title} | text: {text}")
    embedding_query_prompt: str = Field("task: search result | query: {query}")

    # Chunking
    chunk_max_tokens: int = Field(120, ge=32, description="Token budget of one chunk (measured: 120 ranks focused passages first).")

    # Vector store
    chroma_url: str = Field("", description="Chroma server URL; empty = embedded store in data_dir.")
    collection: str = Field("kulturplan", description="Chroma collection name.")
    lexical_dir: Path | None = Field(
        None,
        description="Folder of the saved lexical (BM25) index; empty = data_dir/lexical. Chat processes on "
        "other machines than the ingest share it through a common folder, or build it once each.",
    )

    # Feedback and commitments
    database_url: str = Field(
        "",
        description="SQLAlchemy URL of a shared database for feedback and commitments, e.g. "
        "postgresql+psycopg://user@127.0.0.1:5432/kulturplan; empty = SQLite files in data_dir.",
    )

    # Local LLM
    llm_model_path: str = Field("", description="GGUF file; empty = the fetched Qwen2.5 GGUF.")
    llm_context_tokens: int = Field(4096, ge=512)
    llm_threads: int = Field(2, ge=1)
    # Flash attention: prompt evaluation 104 -> 118 tokens/s on 2 cores (AVX-512 build), same devset accuracy.
    llm_flash_attention: bool = Field(True, description="llama.cpp's flash attention for the local model.")
    # Prompt-lookup decoding: answers copy their sources, so the next tokens are guessed from the prompt
    # and checked in one batch. 12 devset questions, 2 cores: total mean 6.1 -> 5.0 s, first text p50
    # 4.0 -> 3.7 s (2, 6 and 10 tokens gained less); it keeps every evaluated position's logits (+0.7 GiB).
    llm_prompt_lookup_tokens: int = Field(
        4, ge=0, le=20, description="Tokens guessed ahead from the prompt per step (0 = off)."
    )
    llm_max_tokens: int = Field(300, ge=16, description="Longest LLM answer, in tokens.")
    llm_max_passages: int = Field(
        4, ge=1, description="Passages the LLM reads (each ~100 tokens costs ~2 s on 2 CPU cores)."
    )
    # The LLM reads the selected sentences (the extractive answer's selection, then the next best)
    # rather than whole passages: prefill is most of the wait on CPU. 0 = whole passages.
    llm_source_sentences: int = Field(6, ge=0, le=40, description="Sentences the LLM reads; 0 = whole passages.")
    # Questions for the local model wait in line (assistant.queue); past these, the extractive answer at once.
    llm_queue_size: int = Field(8, ge=0, description="Most questions waiting for the local model.")
    llm_queue_max_wait_seconds: float = Field(
        30.0, ge=0, description="Longer expected wait for the local model: the extractive answer at once."
    )
    llm_typical_answer_seconds: float = Field(8.0, gt=0, description="Expected answer time before any is measured.")

    # Retrieval
    retrieval_candidates: int = Field(20, ge=1, description="Candidates from each of dense and BM25 search.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    max_passages: int = Field(4, ge=1, le=12, description="Passages given to the generator.")
    evidence_pool: int = Field(
        6,
        ge=1,
        le=24,
        description="Candidates whose sentences are scored; the passages with the best sentences among them are "
        "given to the generator (at most this many, fewer than the passages = no reranking).",
    )
    max_municipality_passages: int = Field(6, ge=1, description="Cap on a named municipality's own passages.")
    # Generic words (kulturplan/vocabulary.py), judged from the index's statistics: a domain word fills
    # this share of the chunks alone or as the start of compounds; a framing word is at least the
    # common Zipf (wordfreq) common in Swedish, or at least the framing Zipf and used by the documents
    # less than 10**lift times as often as by Swedish at large.
    # Calibrated with `python -m evals.calibrate_vocabulary` (evals/vocabulary_calibration.json).
    generic_domain_share: float = Field(0.4, ge=0, le=1.01)
    generic_framing_zipf: float = Field(4.5, ge=0, le=8.1)
    generic_framing_lift: float = Field(0.5, ge=-5, le=5)
    generic_common_zipf: float = Field(6.0, ge=0, le=8.1)
    # Answerability (assistant/answerability.py): a logistic model of the evidence (best sentence's
    # score, best passage's dense similarity, word coverage, specificity of a word the documents
    # lack, the asked-for kind found, specificity of the asked-for noun when lacking, the question's
    # years found in the best passages); below the threshold probability a question is refused
    # without an LLM call. Calibrated with `python -m evals.calibrate` (evals/calibration.json holds
    # the figures); 0 never refuses early.
    answerability_weights: tuple[float, float, float, float, float, float, float] = (
        0.3325, 0.3387, 2.0274, -1.2652, 0.4174, -0.4666, 2.0438
    )
    answerability_bias: float = -4.1183
    answerability_threshold: float = Field(0.3039, ge=0, le=1)
    # The second stage for a generator with a model of its own (the local LLM): the evidence model's
    # log-odds and the model's own log-odds that the best selected sentence gives the answer, asked
    # only below the evidence probability `ask_below`. Calibrated with `python -m evals.calibrate_judge`
    # (evals/judge_calibration.json); threshold 0 never asks the model.
    answerability_judge_weights: tuple[float, float] = (1.3686, 1.7301)
    answerability_judge_bias: float = -0.4829
    answerability_judge_threshold: float = Field(0.2851, ge=0, le=1)
    answerability_judge_ask_below: float = Field(0.5, ge=0, le=1)
    evidence_coverage_weight: float = Field(0.25, ge=0, le=5, description="Weight of IDF-weighted word coverage.")
    # Extractive answer length: the margin and count whose replayed answers were best within the
    # wrong-document and citation-precision bounds (evals/calibrate.py, evals/calibration.json).
    answer_sentence_margin: float = Field(
        0.08, ge=0, le=2, description="Sentences scoring within this of the best one join the extractive answer."
    )
    answer_max_sentences: int = Field(5, ge=1, le=12, description="Most sentences in an extractive answer (lists aside).")
    evidence_type_weight: float = Field(0.1, ge=0, le=5, description="Weight of holding the asked-for kind (number, date, name).")

    # Answering
    generator: str = Field("local", description="local, extractive or openai.")
    max_question_chars: int = Field(600, ge=20, description="Longer questions get a clear message.")
    llm_temperature: float = Field(0.1, ge=0, le=2)
    llm_timeout_seconds: float = Field(90.0, gt=0, description="Then the extractive answer is used.")
    openai_base_url: str = Field("", description="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")
    openai_model: str = Field("", description="Model name on that server.")
    openai_api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the API key.")

    # Chat (web UI)
    host: str = Field("127.0.0.1", description="Address the chat listens on (loopback unless you mean otherwise).")
    port: int = Field(7860, ge=1, le=65535, description="Port the chat listens on.")

    # Ingest limits
    max_file_mb: float = Field(
        50, gt=0, description="Larger files are skipped with a message, without being read into memory."
    )
    max_chunks_per_document: int = Field(
        5000, ge=1, description="Documents with more chunks are skipped with a message, before embedding."
    )

    @property
    def models_root(self) -> Path:
        return self.models_dir.expanduser()

    @property
    def generic_word_rule(self) -> "GenericWordRule":
        from kulturplan.vocabulary import GenericWordRule

        return GenericWordRule(
            self.generic_domain_share, self.generic_framing_zipf, self.generic_framing_lift, self.generic_common_zipf
        )

    @property
    def runtime_cache(self) -> Path:
        """Files derived from the models on this machine (compiled kernels, mapped weights)."""
        return self.models_root / ".runtime"

    @property
    def embedding_model_path(self) -> str:
        return self.embedding_model or str(self.models_root / EMBEDDING_MODEL_NAME)

    @property
    def llm_path(self) -> Path:
        return Path(self.llm_model_path or self.models_root / f"{LLM_MODEL_NAME}.gguf").expanduser()

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def profile(self) -> "RegionProfile":
        from kulturplan.region import load_profile

        return load_profile(self.region)

    @property
    def lexical_root(self) -> Path:
        return (self.lexical_dir or self.data_dir / "lexical").expanduser()

    @property
    def commitments_path(self) -> Path:
        return self.data_dir / "commitments.sqlite"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, config_file()))


def load_settings(**overrides: Any) -> Settings:
    """Settings with command-line overrides on top; `None` means "flag not given"."""
    return Settings(**{key: value for key, value in overrides.items() if value is not None})

