"""Performance figures, ours side by side with a plain llama-index baseline in the same run.

The baseline is the tutorial pipeline: `VectorStoreIndex` over the same documents with the same
embedding model (EmbeddingGemma, same prompts) and llama-index's default settings (in-memory vector
store, SentenceSplitter with its default chunk size, top-2 retrieval, its default QA prompt) and
the same local LLM. Every figure is reported for both, with the ratio ours / baseline. The answer
figures are timed on the development corpus (evals/devcorpus, built into the run's temporary folder)
and 20 of its answerable development questions, unless other questions are given.

Corpus scales ×100 and ×1000 add synthetic filler documents generated here (never in corpus/).
×100 is ingested for real; ×1000 adds perturbed copies of the ×100 filler vectors directly to the
store, because embedding 13 000 chunks takes ~25 min on 2 cores and retrieval latency depends on
the index size, not on how the vectors were made.

The chat under load (evals/load.py): `kulturplan serve` in a subprocess, 20 concurrent sessions of
a question and a follow-up each; then the same while `kulturplan ingest` indexes a changed document
into the served index. `kulturplan bench --load-only` measures only that.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evals.metrics import percentile
from evals.processes import free_port, memory_mib, wait_until_answering
from kulturplan.config import Settings

QUERIES = [
    "Vilken kultur finns i Ronneby?",
    "Vad är Blekingemodellen?",
    "Vem samordnar Kultur i vården?",
    "Vad är Språkstegen?",
    "Vilket ansvar har de regionala kulturverksamheterna?",
    "Var finns dansscenen?",
    "Vad gör Biblioteksutveckling Blekinge Kronoberg?",
    "Vad handlar museets arbete om?",
]
ANSWER_QUESTIONS = ["Vem samordnar Kultur i vården?", "Vad är Blekingemodellen?", "Vilken kultur finns i Ronneby?"]

_FILLER_WORDS = (
    "kommunen föreningen biblioteket scenen konstnären publiken utställningen festivalen arkivet "
    "kulturskolan ungdomarna hembygdsgården orkestern körens teatergruppen dansarna filmklubben "
    "ordnar erbjuder utvecklar planerar visar samlar bjuder stödjer bygger leder driver "
    "sommaren hösten vintern våren kvällen helgen veckan regelbundet ibland årligen "
    "tillsammans lokalt gärna öppet gratis digitalt ute inne nära"
).split()


@dataclass
class Timer:
    seconds: float = 0.0

    def __enter__(self) -> "Timer":
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._started


# --- synthetic filler ------------------------------------------------------------------------------
def write_filler(folder: Path, documents: int, seed: int = 7) -> None:
    """Plausible-looking Swedish filler: headed sections of short sentences from a fixed vocabulary."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(documents):
        lines = [f"Fyllnadsdokument {number}", ""]
        for section in range(3):
            lines += [f"Avsnitt {section} om {rng.choice(_FILLER_WORDS)}", ""]
            sentences = [
                " ".join(rng.choice(_FILLER_WORDS) for _ in range(rng.randint(8, 14))).capitalize() + "."
                for _ in range(rng.randint(5, 8))
            ]
            lines += [" ".join(sentences), ""]
        (folder / f"fyllnad_{number:05d}.txt").write_text("\n".join(lines), encoding="utf-8")


# --- the baseline ----------------------------------------------------------------------------------
def baseline_embedding(embedder):
    """Our EmbeddingGemma (same prompts) as a llama-index embedding model."""
    from llama_index.core.embeddings import BaseEmbedding

    class GemmaEmbedding(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return embedder.embed_query(query).tolist()

        def _get_text_embedding(self, text: str) -> list[float]:
            return embedder.embed_documents([text], ["none"])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_documents(texts, ["none"] * len(texts)).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return GemmaEmbedding(model_name="embeddinggemma-300m", embed_batch_size=16)


def baseline_llm(llama):
    """The same llama.cpp model as a llama-index LLM (llama-index's default chat prompts)."""
    from llama_index.core.llms import CompletionResponse, CompletionResponseGen, CustomLLM, LLMMetadata
    from llama_index.core.llms.callbacks import llm_completion_callback

    class LlamaCppLLM(CustomLLM):
        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(context_window=4096, num_output=300, model_name="qwen2.5-coder-1.5b")

        @llm_completion_callback()
        def complete(self, prompt: str, formatted: bool = False, **kwargs) -> CompletionResponse:
            text = "".join(self._pieces(prompt))
            return CompletionResponse(text=text)

        @llm_completion_callback()
        def stream_complete(self, prompt: str, formatted: bool = False, **kwargs) -> CompletionResponseGen:
            text = ""
            for piece in self._pieces(prompt):
                text += piece
                yield CompletionResponse(text=text, delta=piece)

        def _pieces(self, prompt: str) -> Iterator[str]:
            messages = [{"role": "user", "content": prompt}]
            for chunk in llama.create_chat_completion(messages=messages, stream=True, max_tokens=300, temperature=0.1):
                if piece := chunk["choices"][0]["delta"].get("content"):
                    yield piece

    return LlamaCppLLM()


def baseline_documents(folders: list[Path]):
    """The folders' documents as llama-index Documents, one per file. Plain text is read by
    llama-index itself; PDF, DOCX, HTML and Markdown by our readers (llama-index's own need
    llama-index-readers-file, which is not installed), joined into plain text: the baseline gets the
    same words, then chunks, retrieves and prompts in its own plain way. Unreadable files are skipped."""
    from llama_index.core import Document, SimpleDirectoryReader

    from ingest.document import UnreadableDocument
    from ingest.readers import read_document, supported_extensions

    files = [p for folder in folders for p in sorted(folder.rglob("*")) if p.suffix.lower() in supported_extensions()]
    plain = [p for p in files if p.suffix.lower() == ".txt"]
    documents = SimpleDirectoryReader(input_files=plain).load_data() if plain else []
    for path in (p for p in files if p.suffix.lower() != ".txt"):
        try:
            parsed = read_document(path, path.read_bytes())
        except UnreadableDocument:  # skipped, as our ingest skips it
            continue
        text = "\n\n".join([parsed.title, *(block.text for block in parsed.blocks)])
        documents.append(Document(text=text, metadata={"file_name": path.name}))
    return documents


# --- measurements ----------------------------------------------------------------------------------
class Bench:
    def __init__(self, settings: Settings, work: Path, log: Callable[[str], None] = print):
        self.settings = settings
        self.work = work
        self.log = log
        self.results: dict[str, dict[str, Any]] = {}
        self.load: dict[str, dict[str, Any]] = {}  # the chat-under-load results, in full

    def record(self, name: str, ours: float | None, baseline: float | None, unit: str, note: str = "") -> None:
        ratio = round(ours / baseline, 3) if ours is not None and baseline not in (None, 0) else None
        self.results[name] = {"ours": _round(ours), "baseline": _round(baseline), "ratio": ratio, "unit": unit, "note": note}
        self.log(f"{name:48} ours={_round(ours)} baseline={_round(baseline)} {unit}")

    # each step below is independent; the order is the order of the table
    def model_loads(self):
        from assistant.generators.local import LocalLlamaGenerator
        from kulturplan.embedding import make_embedder

        embedder = make_embedder(self.settings)
        with Timer() as embed_load:
            embedder.tokenize("värm upp")
        generator = LocalLlamaGenerator(self.settings)
        with Timer() as llm_load:
            generator.llm
        self.record("embedding model load", embed_load.seconds, embed_load.seconds, "s", "same model in both")
        self.record("LLM load", llm_load.seconds, llm_load.seconds, "s", "same model in both")
        return embedder, generator

    def ingest_figures(self, embedder, corpus: Path) -> Settings:
        from ingest.pipeline import ingest
        from llama_index.core import VectorStoreIndex

        settings = self.settings.model_copy(update={"data_dir": self.work / "x1", "chroma_url": ""})
        report = ingest(settings, [corpus], progress=False, embedder=embedder)
        chunks = report.embedded_chunks
        again = ingest(settings, [corpus], progress=False, embedder=embedder)
        documents = baseline_documents([corpus])
        with Timer() as base:
            index = VectorStoreIndex.from_documents(documents, embed_model=baseline_embedding(embedder))
        base_chunks = len(index.docstore.docs)
        self.record("ingest throughput (corpus/)", chunks / report.seconds, base_chunks / base.seconds, "chunks/s",
                    f"ours {chunks} chunks of ≤{settings.chunk_max_tokens} tokens; baseline {base_chunks} chunks of ≤1024")  # fmt: skip
        self.record("ingest time (corpus/)", report.seconds, base.seconds, "s")
        self.record("re-ingest of unchanged corpus/", again.seconds, base.seconds, "s",
                    f"ours embeds {again.embedded_chunks} chunks; the baseline has no incremental mode and rebuilds")  # fmt: skip
        return settings

    def scales(self, embedder, corpus: Path, scales: list[int]) -> dict[int, dict[str, float]]:
        from assistant.retrieval import HybridRetriever
        from ingest.pipeline import ingest
        from kulturplan.store import ChunkStore
        from llama_index.core import VectorStoreIndex
        from llama_index.core.schema import TextNode

        curve: dict[int, dict[str, float]] = {}
        filler: tuple[list, np.ndarray] | None = None
        for scale in sorted(scales):
            settings = self.settings.model_copy(update={"data_dir": self.work / f"scale{scale}", "chroma_url": ""})
            ingest(settings, [corpus], progress=False, embedder=embedder)
            store = ChunkStore.open(settings)
            corpus_chunks = store.count()
            target = corpus_chunks * scale
            if scale > 1 and filler is None:
                filler = self._embed_filler(embedder, settings, store, corpus_chunks * (min(scale, 100) - 1))
            elif scale > 1:
                for start in range(0, len(filler[0]), 500):
                    store.add(filler[0][start : start + 500], filler[1][start : start + 500])
            if scale > 1 and store.count() < target:
                self._add_perturbed(store, filler, target - store.count())
            retriever = HybridRetriever(settings, store, embedder)
            retriever.retrieve("uppvärmning")  # builds BM25 once; it is rebuilt only when the index changes
            ours = [self._time(lambda q=q: retriever.retrieve(q)) for q in QUERIES * 3]

            nodes = [
                TextNode(id_=c.id, text=c.text, embedding=v.tolist())
                for c, v in self._all_with_vectors(store)
            ]
            index = VectorStoreIndex(nodes=nodes, embed_model=baseline_embedding(embedder))
            base_retriever = index.as_retriever()
            base = [self._time(lambda q=q: base_retriever.retrieve(q)) for q in QUERIES * 3]
            curve[scale] = {
                "chunks": store.count(),
                "ours_p50_ms": percentile(ours, 0.5) * 1000, "ours_p95_ms": percentile(ours, 0.95) * 1000,
                "baseline_p50_ms": percentile(base, 0.5) * 1000, "baseline_p95_ms": percentile(base, 0.95) * 1000,
            }  # fmt: skip
            for q in ("p50", "p95"):
                self.record(f"retrieval latency {q} ×{scale} ({store.count()} chunks)", curve[scale][f"ours_{q}_ms"],
                            curve[scale][f"baseline_{q}_ms"], "ms",
                            "ours: query embedding + dense + BM25 + fusion; baseline: query embedding + top-2 dense")  # fmt: skip
            shutil.rmtree(settings.data_dir, ignore_errors=True)
        return curve

    def _embed_filler(self, embedder, settings: Settings, store, chunks_wanted: int) -> tuple[list, np.ndarray]:
        """Generate filler documents, ingest them for real, and return their chunks and vectors."""
        from ingest.pipeline import ingest

        folder = self.work / "filler"
        per_document = 9  # a filler document chunks into about this many passages
        write_filler(folder, max(1, chunks_wanted // per_document))
        report = ingest(settings, [folder], progress=False, embedder=embedder)
        self.record(f"ingest throughput (synthetic filler, {report.embedded_chunks} chunks)",
                    report.embedded_chunks / report.seconds, None, "chunks/s", "steady state, model warm")  # fmt: skip
        chunks = [c for c in store.all_chunks() if c.source.startswith("fyllnad_")]
        vectors = store.vectors([c.id for c in chunks])
        return chunks, np.stack([vectors[c.id] for c in chunks])

    def _add_perturbed(self, store, filler: tuple[list, np.ndarray], count: int) -> None:
        from kulturplan.chunks import Chunk

        chunks, vectors = filler
        rng = np.random.default_rng(11)
        added = 0
        copy = 0
        while added < count:
            copy += 1
            take = min(len(chunks), count - added)
            noisy = vectors[:take] + rng.normal(0, 0.02, size=vectors[:take].shape).astype(np.float32)
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
            copies = [
                Chunk(**{**c.__dict__, "doc_id": f"{c.doc_id}c{copy}", "source": f"kopia{copy}_{c.source}"})
                for c in chunks[:take]
            ]
            for start in range(0, take, 500):
                store.add(copies[start : start + 500], noisy[start : start + 500])
            added += take

    @staticmethod
    def _all_with_vectors(store):
        chunks = store.all_chunks()
        vectors = {}
        ids = [c.id for c in chunks]
        for start in range(0, len(ids), 500):
            vectors.update(store.vectors(ids[start : start + 500]))
        return [(c, vectors[c.id]) for c in chunks]

    @staticmethod
    def _time(call: Callable[[], Any]) -> float:
        with Timer() as timer:
            call()
        return timer.seconds

    def index_for_answers(self, embedder, corpus: Path) -> Settings:
        """`corpus` indexed apart, for the answer figures."""
        from ingest.pipeline import ingest

        settings = self.settings.model_copy(update={"data_dir": self.work / "answers", "chroma_url": ""})
        report = ingest(settings, [corpus], progress=False, embedder=embedder)
        if not report.ok:
            self.log(f"ingest of {corpus} skipped files: {[s.source for s in report.skipped]}")
        return settings

    def answers(
        self, embedder, generator, settings: Settings, corpus: Path, include_local: bool, questions: list[str], asked: str
    ) -> None:
        """Time to first checked text and to the whole answer, p50/p95 over `questions`, ours and the
        baseline's; for the local model also prompt tokens and llama.cpp's prefill and decode rates."""
        from assistant.engine import Assistant
        from llama_index.core import VectorStoreIndex

        assistant = Assistant(settings, embedder=embedder, generators={"local": generator})
        assistant.ask("uppvärmning", generator="extractive")
        for name in ["extractive"] + (["local"] if include_local else []):
            timed = [_timed_answer(assistant, question, name) for question in questions]
            baseline: list[_Timed] = []
            if name == "local":
                documents = baseline_documents([corpus])
                index = VectorStoreIndex.from_documents(documents, embed_model=baseline_embedding(embedder))
                engine = index.as_query_engine(llm=baseline_llm(generator.llm), streaming=True)
                baseline = [_timed_baseline(engine, generator, question) for question in questions]
            note = asked + ("; baseline has no LLM-free mode" if name == "extractive" else "")
            for figure, label in (("first_ms", "time to first checked text"), ("total_ms", "total answer time")):
                for p in (50, 95):
                    ours = percentile([getattr(t, figure) for t in timed], p / 100)
                    base = percentile([getattr(t, figure) for t in baseline], p / 100) if baseline else None
                    self.record(f"{label} p{p}, {name}", ours, base, "ms", note)
            if name == "local":
                self._record_llm_counts(timed, baseline)

    def _record_llm_counts(self, timed: list["_Timed"], baseline: list["_Timed"]) -> None:
        def median(rows, key):
            values = [r.counts[key] for r in rows if r.counts.get(key) is not None]
            return statistics.median(values) if values else None

        self.record("LLM prompt tokens per answer (median)", median(timed, "prompt"), median(baseline, "prompt"),
                    "tokens", "ours: sentences chosen for the question; the instructions' cache reused")  # fmt: skip
        self.record("LLM prompt tokens evaluated per answer (median)", median(timed, "evaluated"),
                    median(baseline, "evaluated"), "tokens", "the rest came from llama.cpp's cache")  # fmt: skip
        self.record("LLM prefill rate (median)", median(timed, "prefill_rate"), median(baseline, "prefill_rate"), "tokens/s")
        self.record("LLM decode rate (median)", median(timed, "decode_rate"), median(baseline, "decode_rate"), "tokens/s")

    def local_chats(self, indexed: Settings, people: int) -> None:
        """`people` chats asking the local model at once through `kulturplan serve` (evals/local_chats.py)."""
        from evals import load
        from evals.local_chats import run_local_chats

        with load.serving(indexed.data_dir) as url:
            result = run_local_chats(url, people)
        name = f"{people} concurrent local chats"
        note = f"{result.shown_a_place} of {people} were shown their place in line"
        for p in (50, 95, 100):
            label = "max" if p == 100 else f"p{p}"
            self.record(f"{name}: {label} time to text or place in line", result.figure("first_ms", p), None, "ms", note)
        for p in (50, 95):
            self.record(f"{name}: p{p} time to final answer", result.figure("total_ms", p), None, "ms")
        self.record(f"{name}: errors", result.errors, None, "requests",
                    "; ".join(p.error for p in result.people if p.error)[:200])  # fmt: skip

    def serve_figures(self, settings: Settings) -> None:
        """Cold start of `kulturplan serve` to a page that answers, and its peak RSS."""
        executable = Path(sys.executable).with_name("kulturplan")
        if not executable.exists():
            self.log("serve: console script not found, skipped")
            return
        port = free_port()
        env = {**os.environ, "KULTURPLAN_DATA_DIR": str(settings.data_dir)}
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(executable), "serve", "--port", str(port), "--host", "127.0.0.1"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            ready = wait_until_answering(f"http://127.0.0.1:{port}/", None, timeout=180)
            cold_start = time.perf_counter() - started if ready else None
            peak = memory_mib(process.pid, "VmHWM")
        finally:
            process.terminate()
            process.wait(timeout=30)
        self.record("serve cold start to ready", cold_start, None, "s",
                    "the models start loading when the page is served (warm-up), not before")  # fmt: skip
        self.record("serve peak RSS when the page is served", peak, None, "MiB", "the warm-up has only begun")
        # The same process after answering: `ask` loads exactly what serve loads for a local answer.
        # Its VmHWM is polled while it runs: ru_maxrss of a child would include this process's
        # memory, which Linux carries over the fork into the child's record.
        child = subprocess.Popen(
            [str(executable), "ask", ANSWER_QUESTIONS[0], "--generator", "local"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        answered = None
        while child.poll() is None:
            answered = memory_mib(child.pid, "VmHWM") or answered
            time.sleep(0.2)
        self.record("peak RSS with both models loaded and one local answer", answered, None, "MiB",
                    "a `kulturplan ask --generator local` process, which loads what serve loads")  # fmt: skip

    def load_figures(self, indexed: Settings, corpus: Path, sessions: int) -> None:
        """Concurrent chat sessions against `kulturplan serve` on `indexed`: alone, then during an ingest."""
        from evals import load

        document = load.changeable_document(corpus)
        with load.serving(indexed.data_dir) as url:
            results = [load.run_load(url, sessions)]
            if document is not None:
                results.append(load.run_load_during_ingest(url, indexed.data_dir, document, sessions))
            else:
                self.log("load during an ingest: no .txt or .md document in the corpus to change, skipped")
        for result in results:
            self._record_load(result)

    def _record_load(self, result) -> None:
        during = " during an ingest of a changed document" if result.ingest else ""
        name = f"chat load, {result.sessions} sessions{during}"
        note = (f"{result.requests} requests ({result.rounds} rounds of question + follow-up), "
                f"{result.generator}, answers side by side")  # fmt: skip
        if result.ingest:
            note += f"; the ingest took {result.ingest['seconds']} s, exit code {result.ingest['exit_code']}"
        for figure in ("p50", "p95", "max"):
            self.record(f"{name}: {figure} time to final answer", getattr(result, f"{figure}_ms"), None, "ms", note)
        self.record(f"{name}: errors", result.errors, None, "requests", "; ".join(result.problems[:3]))
        self.record(f"{name}: context leaks", result.leaks, None, "requests",
                    "an answer about another session's question, or a chat log holding one")  # fmt: skip
        self.load[result.mode] = result.to_json()


@dataclass
class _Timed:
    first_ms: float
    total_ms: float
    counts: dict[str, float]


def _llm_counts(usage: dict[str, float]) -> dict[str, float]:
    """Prompt tokens (all and evaluated), prefill and decode rates from a local answer's usage
    (`LocalLlamaGenerator.usage()`, as it stands in the answer's timings); {} for no LLM call."""
    if "prompt_tokens" not in usage:
        return {}
    return {
        "prompt": usage["prompt_tokens"] + usage["reused_prompt_tokens"], "evaluated": usage["prompt_tokens"],
        "prefill_rate": usage["prompt_tokens"] / usage["prefill_ms"] * 1000 if usage["prefill_ms"] else None,
        "decode_rate": usage["decode_tokens"] / usage["decode_ms"] * 1000 if usage["decode_ms"] else None,
    }  # fmt: skip


def _timed_answer(assistant, question: str, generator: str) -> _Timed:
    from assistant.types import Answer

    started = time.perf_counter()
    first = None
    answer = None
    for item in assistant.stream(question, generator=generator):
        if isinstance(item, str) and first is None:
            first = time.perf_counter() - started
        elif isinstance(item, Answer):
            answer = item
    total = time.perf_counter() - started
    # Counts only where the local model answered (not refused before it, not fallen back).
    counts = _llm_counts(answer.timings if answer else {})
    return _Timed((first if first is not None else total) * 1000, total * 1000, counts)


def _timed_baseline(engine, generator, question: str) -> _Timed:
    from assistant.generators.local import read_counters, reset_counters

    reset_counters(generator.llm)
    started = time.perf_counter()
    response = engine.query(question)
    first = None
    for _ in response.response_gen:
        first = first or time.perf_counter() - started
    total = time.perf_counter() - started
    timing = read_counters(generator.llm)
    return _Timed((first or total) * 1000, total * 1000, _llm_counts(timing.as_usage() if timing else {}))


GOLD = Path(__file__).with_name("gold.jsonl")
DEVCORPUS = Path(__file__).with_name("devcorpus")


def answer_questions(count: int, questions: Path = GOLD) -> list[str]:
    """`count` answerable questions that stand alone (no history) of a gold-format file, spread
    evenly over it (its questions come grouped by kind)."""
    from evals.gold import load_questions

    standalone = [q.question for q in load_questions(questions) if not q.history and q.answerable]
    return standalone[:: max(1, len(standalone) // count)][:count]


def development_answer_set(work: Path) -> tuple[Path, Path]:
    """The development corpus, built into `work`, and its development questions: the answer figures'
    default. Many documents, so each question's passages differ as in a region's real material: on
    corpus/'s one page the same two passages answer most questions, and llama.cpp's cache then
    holds nearly all of the baseline's prompt."""
    target = work / "devcorpus"
    subprocess.run([sys.executable, str(DEVCORPUS / "build.py"), str(target)], check=True, capture_output=True, timeout=600)
    return target, DEVCORPUS / "questions_dev.jsonl"


def _table_safe(text: str) -> str:
    """One line without the table's cell separator."""
    return " ".join(text.split()).replace("|", "/")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3 if value < 10 else 1)


# --- the run ---------------------------------------------------------------------------------------
def run(
    settings: Settings,
    corpus: Path,
    out: Path,
    scales: list[int],
    include_local: bool = True,
    log=print,
    load_sessions: int = 20,
    load_only: bool = False,
    answer_count: int = 20,
    local_chats: int = 5,
    questions: Path | None = None,
    answer_corpus: Path | None = None,
) -> dict[str, Any]:
    """All figures. The answer figures are timed on `questions` over `answer_corpus` (default
    `corpus`); without `questions`, on the development corpus and its questions."""
    if load_only:
        return run_load_only(settings, corpus, out, load_sessions, log)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kulturplan-bench-") as work:
        bench = Bench(settings, Path(work), log)
        embedder, generator = bench.model_loads()
        indexed = bench.ingest_figures(embedder, corpus)
        curve = bench.scales(embedder, corpus, scales)
        if questions is None:
            answer_corpus, questions = development_answer_set(Path(work))
        answer_corpus = answer_corpus or corpus
        answered = indexed if answer_corpus == corpus else bench.index_for_answers(embedder, answer_corpus)
        timed = answer_questions(answer_count, questions)
        bench.answers(embedder, generator, answered, answer_corpus, include_local, timed, f"{len(timed)} questions of {questions.name}")
        if include_local:
            bench.local_chats(indexed, local_chats)
        bench.serve_figures(indexed)
        bench.load_figures(indexed, corpus, load_sessions)
        self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        bench.record("benchmark process peak RSS (both pipelines loaded)", self_peak, None, "MiB")
    result = {
        "date": _now(),
        "machine": machine(),
        "figures": bench.results,
        "latency_curve": {str(k): v for k, v in curve.items()},
        "load": bench.load,
    }
    _write(out, result)
    plot_curve(curve, out / "latency.png")
    return result


def run_load_only(settings: Settings, corpus: Path, out: Path, sessions: int, log=print) -> dict[str, Any]:
    """Only the chat-under-load figures; they replace those of an earlier out/bench.json, the rest stays."""
    from ingest.pipeline import ingest

    with tempfile.TemporaryDirectory(prefix="kulturplan-bench-") as work:
        bench = Bench(settings, Path(work), log)
        indexed = settings.model_copy(update={"data_dir": Path(work) / "x1", "chroma_url": ""})
        report = ingest(indexed, [corpus], progress=False)
        if not report.ok:
            log(f"ingest of {corpus} skipped files: {[s.source for s in report.skipped]}")
        bench.load_figures(indexed, corpus, sessions)
    result = _earlier(out) or {"date": _now(), "machine": machine(), "figures": {}}
    kept = {name: row for name, row in result["figures"].items() if not name.startswith("chat load,")}
    result.update(figures={**kept, **bench.results}, load=bench.load, load_date=_now())
    _write(out, result)
    return result


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def _earlier(out: Path) -> dict[str, Any] | None:
    try:
        earlier = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return earlier if isinstance(earlier, dict) and isinstance(earlier.get("figures"), dict) else None


def _write(out: Path, result: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "bench.md").write_text(render_table(result), encoding="utf-8")


def machine() -> str:
    """The machine the figures were measured on: cores, CPU model and memory."""
    model, memory = "", ""
    try:
        model = next(
            (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
             if line.startswith("model name")), "",
        )  # fmt: skip
        kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{os.cpu_count()} CPU cores{f' ({model})' if model else ''}{memory}, no GPU"


README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"
README_CURVE_NOTE = (
    "Retrieval latency against corpus size (`reports/bench/latency.png` after a run): ours stays flat (BM25 ranks "
    "only the top candidates; Chroma's HNSW search is sublinear), the baseline's in-memory store scans every vector."
)


def update_readme(result: dict[str, Any], readme: Path) -> bool:
    """Put the table between the README's bench markers (what `make bench` measured last)."""
    try:
        text = readme.read_text(encoding="utf-8")
    except OSError:
        return False
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return False
    table = f"{README_START}\n{render_table(result)}\n{README_CURVE_NOTE}\n{README_END}"
    readme.write_text(text[:start] + table + text[end + len(README_END):], encoding="utf-8")
    return True


def render_table(result: dict[str, Any]) -> str:
    lines = [f"Measured {result['date']} on {result['machine']} (`make bench`)."]
    if result.get("load_date") and result["load_date"] != result["date"]:
        lines.append(f"The chat load figures measured {result['load_date']} (`kulturplan bench --load-only`).")
    lines += [
        "",
        "| figure | ours | plain llama-index | ratio | unit | note |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in result["figures"].items():
        cells = ["–" if row[k] is None else str(row[k]) for k in ("ours", "baseline", "ratio")]
        lines.append(f"| {name} | {' | '.join(cells)} | {row['unit']} | {_table_safe(row['note'])} |")
    return "\n".join(lines) + "\n"


def plot_curve(curve: dict[int, dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [curve[s]["chunks"] for s in sorted(curve)]
    figure, axis = plt.subplots(figsize=(6, 4))
    for key, label in (("ours_p50_ms", "ours p50"), ("ours_p95_ms", "ours p95"),
                       ("baseline_p50_ms", "llama-index p50"), ("baseline_p95_ms", "llama-index p95")):  # fmt: skip
        axis.plot(sizes, [curve[s][key] for s in sorted(curve)], marker="o", label=label)
    axis.set_xscale("log")
    axis.set_xlabel("chunks in the index")
    axis.set_ylabel("retrieval latency incl. query embedding (ms)")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
