"""How fast this machine embeds chunks, remembered beside the index so that the time estimate given
before a long run fits the machine that runs it.

Until a run has measured it, the estimate uses DEFAULT_CHUNKS_PER_SECOND: the default embedder
(EmbeddingGemma in bfloat16) on the 2-core Xeon CI machine, 14-19 chunks/s by `make bench`. The same
model runs in float32 on a CPU without bf16 instructions (an AVX2-only AMD EPYC embedded 583 chunks
in 293 s, 2 chunks/s, against an estimate of 1 min), so every run that embeds at least
MIN_MEASURED_CHUNKS chunks after its first batch (which also loads the model) saves its measured
rate, per embedding model, for the next estimate.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

DEFAULT_CHUNKS_PER_SECOND = 15.0
# Fewer chunks say more about the model's start-up than about its speed.
MIN_MEASURED_CHUNKS = 50
RATE_FILE = "embedding_rate.json"

log = logging.getLogger(__name__)


def expected_rate(data_dir: Path, model: str) -> float:
    """Chunks per second this machine embedded with `model` in its last long run, else the default."""
    try:
        rate = float(_saved_rates(data_dir / RATE_FILE).get(model, 0))
    except (ValueError, TypeError):
        return DEFAULT_CHUNKS_PER_SECOND
    return rate if rate > 0 else DEFAULT_CHUNKS_PER_SECOND


def remember_rate(data_dir: Path, model: str, chunks: int, seconds: float) -> None:
    """Save the rate of a run that embedded enough chunks to measure it (written atomically; a
    folder that cannot be written keeps the previous rate, and the run is not failed for it)."""
    if chunks < MIN_MEASURED_CHUNKS or seconds <= 0:
        return
    path = data_dir / RATE_FILE
    rates = {**_saved_rates(path), model: round(chunks / seconds, 3)}
    # Two ingest runs may finish at once: each writes its own partial file, and the last one wins.
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(rates, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(partial, path)
    except OSError as error:
        log.warning("cannot save the embedding rate: %s", error)
    finally:
        partial.unlink(missing_ok=True)


def _saved_rates(path: Path) -> dict:
    """The saved rates by model; empty when there are none or the file is unreadable."""
    try:
        rates = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return rates if isinstance(rates, dict) else {}
