"""An evaluation run: every gold question asked through the assistant, one prediction row each."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from tqdm import tqdm

from assistant.safety import QuestionError
from assistant.types import history_from_json
from evals.gold import GoldQuestion

def predict(assistant, questions: Iterable[GoldQuestion], generator: str | None, progress: bool = True) -> list[dict[str, Any]]:
    predictions = []
    questions = list(questions)
    for gold in tqdm(questions, desc="Frågor", unit="fråga", disable=not progress):
        started = time.perf_counter()
        try:
            answer = assistant.ask(gold.question, history_from_json(gold.history), generator=generator)
            row = answer.to_json()
        except QuestionError as error:
            row = {"answer": str(error), "refused": True, "citations": [], "retrieved": [], "timings": {}}
        predictions.append(
            {
                "id": gold.id,
                "question": gold.question,
                "answer": row["answer"],
                "refused": row["refused"],
                "citations": row["citations"],
                "retrieved": row["retrieved"],
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                # Time to the first checked text the person sees (the whole answer for a refusal).
                "first_text_ms": round(row.get("timings", {}).get("first_token_ms", row.get("timings", {}).get("total_ms", 0.0)), 1),
                "generator": row.get("generator", generator),
                "timings": row.get("timings", {}),
                "events": row.get("events", []),
            }
        )
    return predictions
