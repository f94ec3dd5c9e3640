"""`kulturplan bench --scale`: the assistant at 10 000 and 100 000 chunks on a Chroma server.

How the chunks are made: the documents of a corpus folder (by default corpus/ and the development
corpus's sources) are ingested for real with the embedding model, once. Every further chunk is a copy
of one of those real chunks with varied text and a nearby vector: its sentences are shuffled, the
municipality names are swapped for other Swedish municipalities' names and the numbers changed, and its
vector is the original's plus Gaussian noise (σ = 0.05 per dimension, renormalised), so the vectors keep
the real ones' neighbourhood structure without embedding 100 000 passages (hours on two cores).

For each size it reports: the time to add the chunks and build the saved lexical index (ingest
throughput without the embedding), retrieval p50/p95 in a warm process over 100 development
questions (query embedding, dense search on the server, BM25, fusion), and for a fresh `kulturplan
serve` process on the same server: the time until it serves the page, until its first answer, and
its resident memory after that answer.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from evals.metrics import percentile
from evals.processes import ChromaServer, free_port, memory_mib, stop, wait_until_answering
from kulturplan.config import Settings

NOISE = 0.05
QUESTIONS = [
    "Vilken kultur finns i Ronneby?", "Vad är Blekingemodellen?", "Hur stöds biblioteken i länet?",
    "Vilka museer finns i Karlskrona?", "Vad gör regionen för barn och unga?", "Hur många bibliotek finns det?",
    "Vad innebär kultur i vården?", "Vilka mål har kulturplanen?", "Vem ansvarar för arkivverksamheten?",
    "Hur fördelas kulturstödet?",
]  # fmt: skip
# Other municipalities' names for the copies' varied text (a national corpus names many places).
PLACES = (
    "Växjö Kalmar Lund Malmö Umeå Luleå Falun Gävle Karlstad Örebro Västerås Uppsala Visby Jönköping Borås "
    "Halmstad Kristianstad Sundsvall Östersund Nyköping Norrköping Linköping Eskilstuna Trelleborg Ystad "
    "Skövde Varberg Kiruna Piteå Skellefteå Härnösand Mora Ludvika Motala Vimmerby Ljungby Älmhult Oskarshamn"
).split()
TIMED_QUESTIONS = 100
BLEKINGE = ("Karlskrona", "Karlshamn", "Ronneby", "Olofström", "Sölvesborg")


def varied_text(text: str, rng: random.Random) -> str:
    """The text with its sentences shuffled, other places named and its numbers changed."""
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    rng.shuffle(sentences)
    places = dict(zip(BLEKINGE, rng.sample(PLACES, len(BLEKINGE))))
    varied = re.sub("|".join(BLEKINGE), lambda m: places[m.group(0)], " ".join(sentences))
    return re.sub(r"\d+", lambda m: str(max(1, int(m.group(0)) + rng.randint(-9, 9))), varied)


def copies(base: list, vectors: np.ndarray, count: int, seed: int = 5) -> Iterator[tuple[list, np.ndarray]]:
    """`count` varied copies of the base chunks with nearby vectors, in batches of 500."""
    from kulturplan.chunks import Chunk

    rng, noise = random.Random(seed), np.random.default_rng(seed)
    made = 0
    while made < count:
        take = min(500, count - made)
        picks = [rng.randrange(len(base)) for _ in range(take)]
        chunks = []
        for offset, index in enumerate(picks):
            original = base[index]
            number = made + offset
            # The copy names other places than Blekinge's municipalities, so it is tagged with none.
            chunks.append(Chunk(**{**original.__dict__, "doc_id": f"kopia{number // 20:05d}",
                                   "source": f"kopia_{number // 20:05d}_{original.source}", "municipalities": (),
                                   "region_wide": False, "text": varied_text(original.text, rng),
                                   "position": number % 20}))  # fmt: skip
        batch = vectors[picks] + noise.normal(0, NOISE, size=(take, vectors.shape[1])).astype(np.float32)
        batch /= np.linalg.norm(batch, axis=1, keepdims=True)
        yield chunks, batch
        made += take


def timed_questions() -> list[str]:
    """The questions retrieval is timed with: the development corpus's questions (short and long, as
    people ask them; a question's length costs the embedding up to 15 ms more), else QUESTIONS."""
    from evals.gold import load_questions

    path = Path(__file__).parent / "devcorpus" / "questions_dev.jsonl"
    return [q.question for q in load_questions(path)][:TIMED_QUESTIONS] if path.is_file() else QUESTIONS * 3


class ScaleBench:
    def __init__(self, settings: Settings, work: Path, log: Callable[[str], None] = print):
        self.settings, self.work, self.log = settings, work, log

    def run(self, sizes: list[int], corpora: list[Path]) -> dict[str, Any]:
        from kulturplan.embedding import make_embedder

        embedder = make_embedder(self.settings)
        results: dict[str, Any] = {"sizes": {}, "noise": NOISE}
        with ChromaServer(self.work) as chroma:
            settings = self.settings.model_copy(update={"chroma_url": chroma.url, "data_dir": self.work / "data",
                                                        "collection": "skala"})  # fmt: skip
            base, vectors, seconds = self._ingest_base(settings, embedder, corpora)
            results["base_chunks"], results["base_embed_seconds"] = len(base), round(seconds, 1)
            for size in sorted(sizes):
                results["sizes"][size] = self._measure(settings, embedder, base, vectors, size)
                self.log(f"{size} chunks: {results['sizes'][size]}")
        return results

    def _ingest_base(self, settings: Settings, embedder, corpora: list[Path]) -> tuple[list, np.ndarray, float]:
        from ingest.pipeline import ingest
        from kulturplan.store import ChunkStore

        started = time.perf_counter()
        report = ingest(settings, corpora, progress=False, embedder=embedder)
        store = ChunkStore.open(settings)
        base = store.all_chunks()
        found = store.vectors([c.id for c in base])
        self.log(f"embedded {report.embedded_chunks} real chunks in {time.perf_counter() - started:.0f} s")
        return base, np.stack([found[c.id] for c in base]), time.perf_counter() - started

    def _measure(self, settings: Settings, embedder, base: list, vectors: np.ndarray, size: int) -> dict[str, float]:
        from assistant.retrieval import HybridRetriever
        from kulturplan.lexical import load_or_build
        from kulturplan.store import ChunkStore

        store = ChunkStore.open(settings)
        missing = size - store.count()
        started = time.perf_counter()
        for chunks, batch in copies(base, vectors, missing, seed=size):
            store.add(chunks, batch)
        added = time.perf_counter() - started
        started = time.perf_counter()
        load_or_build(settings, store, store.version())  # what the end of an ingest does
        indexed = time.perf_counter() - started
        retriever = HybridRetriever(settings, ChunkStore.open(settings), embedder)
        retriever.retrieve(QUESTIONS[0])  # loads the saved lexical index once
        timings = []
        for question in timed_questions():
            started = time.perf_counter()
            retriever.retrieve(question)
            timings.append((time.perf_counter() - started) * 1000)
        figures = {
            "chunks": store.count(),
            "add_chunks_per_s": round(missing / added, 1) if missing > 0 else None,
            "lexical_index_s": round(indexed, 1),
            "retrieval_p50_ms": round(percentile(timings, 0.5), 1),
            "retrieval_p95_ms": round(percentile(timings, 0.95), 1),
        }
        return figures | self._chat_process(settings)

    def _chat_process(self, settings: Settings) -> dict[str, float]:
        """A fresh `kulturplan serve` on the same server: time to serve, to first answer, resident memory."""
        from gradio_client import Client

        port = free_port()
        env = {**os.environ, "KULTURPLAN_CHROMA_URL": settings.chroma_url, "KULTURPLAN_DATA_DIR": str(settings.data_dir),
               "KULTURPLAN_COLLECTION": settings.collection, "KULTURPLAN_GENERATOR": "extractive"}  # fmt: skip
        command = [str(Path(sys.executable).with_name("kulturplan")), "serve", "--host", "127.0.0.1", "--port", str(port)]
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/"
            if not wait_until_answering(url, process, 300):
                raise RuntimeError("`kulturplan serve` did not start")
            serving = time.perf_counter() - started
            Client(url, verbose=False).predict(QUESTIONS[1], "extractive", 3, "Alla", api_name="/respond")
            answered = time.perf_counter() - started
            rss = memory_mib(process.pid)
            return {"serve_ready_s": round(serving, 1), "first_answer_s": round(answered, 1),
                    "chat_rss_mib": round(rss, 1) if rss is not None else None}  # fmt: skip
        finally:
            stop(process)


def render_table(result: dict[str, Any]) -> str:
    rows = ["| chunks | add chunks/s | lexical index s | retrieval p50 ms | retrieval p95 ms | serve ready s "
            "| first answer s | chat RSS MiB |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for figures in result["sizes"].values():
        rows.append("| " + " | ".join(str(figures.get(key, "")) for key in (
            "chunks", "add_chunks_per_s", "lexical_index_s", "retrieval_p50_ms", "retrieval_p95_ms",
            "serve_ready_s", "first_answer_s", "chat_rss_mib")) + " |")  # fmt: skip
    return "\n".join(rows)


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [figures["chunks"] for figures in result["sizes"].values()]
    figure, (latency, memory) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("retrieval_p50_ms", "p50"), ("retrieval_p95_ms", "p95")):
        latency.plot(sizes, [f[key] for f in result["sizes"].values()], marker="o", label=label)
    latency.set(xscale="log", xlabel="chunks", ylabel="ms", title="Retrieval (query embedding included)", ylim=(0, None))
    latency.legend()
    memory.plot(sizes, [f["chat_rss_mib"] for f in result["sizes"].values()], marker="o")
    memory.set(xscale="log", xlabel="chunks", ylabel="MiB", title="One chat process, resident memory", ylim=(0, None))
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def run(settings: Settings, sizes: list[int], corpora: list[Path], out: Path, log=print) -> dict[str, Any]:
    import json

    out.mkdir(parents=True, exist_ok=True)
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"kulturplan-scale-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        result = ScaleBench(settings, work, log).run(sizes, corpora)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (out / "scale.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    (out / "scale.md").write_text(render_table(result) + "\n", encoding="utf-8")
    plot(result, out / "scale.png")
    return result
