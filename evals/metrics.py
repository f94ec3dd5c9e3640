"""Metrics of an evaluation run: per question, per tag and overall, baseline comparison and thresholds."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from evals.gold import GoldQuestion, fact_found

# Metrics where lower is better (the baseline comparison and threshold checks need to know).
LOWER_IS_BETTER = {"false_refusal_rate", "wrong_document_rate", "latency_p50_ms", "latency_p95_ms"}

def _question_scores(gold: GoldQuestion, prediction: dict[str, Any]) -> dict[str, float | None]:
    """Per-question scores; None where a metric does not apply to the question."""
    answer, refused = prediction["answer"], prediction["refused"]
    citations = prediction["citations"]
    cited_numbers = [int(n) for n in re.findall(r"\[(\d+)\]", answer)]
    scores: dict[str, float | None] = {
        "citation_validity": float(all(1 <= n <= len(citations) for n in cited_numbers)) if cited_numbers else None,
        "latency_ms": prediction["latency_ms"],
    }
    if not gold.answerable:
        scores["refusal_accuracy"] = float(refused)
        return scores
    scores["false_refusal"] = float(refused)
    sources = [r["source"] for r in prediction["retrieved"]]
    rank = next((i for i, source in enumerate(sources, start=1) if source in gold.sources), None)
    if gold.sources:
        scores["hit_at_1"] = float(rank == 1)
        scores["hit_at_5"] = float(rank is not None and rank <= 5)
        scores["mrr"] = 1.0 / rank if rank else 0.0
        if citations:
            scores["citation_precision"] = sum(c["source"] in gold.sources for c in citations) / len(citations)
    wrong = bool(gold.must_not_include) and not refused and any(fact_found([s], answer) for s in gold.must_not_include)
    if gold.must_not_include:
        scores["wrong_document"] = float(wrong)
    if gold.must_include:
        matched = [fact for fact in gold.must_include if not refused and fact_found(fact, answer)]
        scores["fact_recall"] = len(matched) / len(gold.must_include)
        # A fact from the wrong document or period makes the answer wrong, however complete.
        scores["full_accuracy"] = float(len(matched) == len(gold.must_include) and not wrong)
        cited_text = " ".join(c["text"] for c in citations)
        if matched:
            scores["supported_facts"] = sum(fact_found(fact, cited_text) for fact in matched) / len(matched)
    return scores


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank q-quantile (0 for no values); shared by evaluations and benchmarks."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _aggregate(rows: list[dict[str, float | None]]) -> dict[str, float]:
    metrics: dict[str, float] = {"questions": float(len(rows))}
    names = {
        "hit_at_1": "retrieval_hit_at_1", "hit_at_5": "retrieval_hit_at_5", "mrr": "retrieval_mrr",
        "fact_recall": "fact_recall", "full_accuracy": "full_answer_accuracy",
        "citation_validity": "citation_validity", "citation_precision": "citation_precision",
        "supported_facts": "supported_facts", "refusal_accuracy": "refusal_accuracy",
        "false_refusal": "false_refusal_rate", "wrong_document": "wrong_document_rate",
    }  # fmt: skip
    for key, name in names.items():
        values = [row[key] for row in rows if row.get(key) is not None]
        if values:
            metrics[name] = sum(values) / len(values)
    latencies = [row["latency_ms"] for row in rows]
    metrics["latency_p50_ms"] = percentile(latencies, 0.5)
    metrics["latency_p95_ms"] = percentile(latencies, 0.95)
    return {k: round(v, 4) for k, v in metrics.items()}


def build_report(questions: list[GoldQuestion], predictions: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    by_id = {p["id"]: p for p in predictions}
    scored = [(gold, _question_scores(gold, by_id[gold.id])) for gold in questions]
    per_tag: dict[str, list] = defaultdict(list)
    for gold, scores in scored:
        for tag in gold.tags or ["(utan tagg)"]:
            per_tag[tag].append(scores)
    failures = [
        {"id": gold.id, "question": gold.question, "answer": by_id[gold.id]["answer"][:300]}
        for gold, scores in scored
        if scores.get("full_accuracy") == 0.0 or scores.get("refusal_accuracy") == 0.0
    ]
    return {
        "meta": meta,
        "overall": _aggregate([s for _, s in scored]),
        "per_tag": {tag: _aggregate(rows) for tag, rows in sorted(per_tag.items())},
        "failures": failures,
    }


def compare(report: dict[str, Any], baseline: dict[str, Any]) -> list[tuple[str, float, float, float]]:
    """(metric, baseline, now, change) for every overall metric both reports have."""
    rows = []
    for name, value in report["overall"].items():
        if name in baseline.get("overall", {}):
            before = baseline["overall"][name]
            rows.append((name, before, value, round(value - before, 4)))
    return rows


def thresholds_for(data: dict[str, Any], name: str) -> dict[str, float]:
    """The thresholds of one question set: a flat {metric: value} file, or {set name: {...}}."""
    if all(isinstance(value, (int, float)) for value in data.values()):
        return data
    if name not in data:
        raise KeyError(f"no thresholds for {name!r} (the file has: {', '.join(sorted(data))})")
    return data[name]


def check_thresholds(report: dict[str, Any], thresholds: dict[str, float]) -> list[str]:
    """Messages for every metric on the wrong side of its threshold."""
    problems = []
    for name, limit in thresholds.items():
        value = report["overall"].get(name)
        if value is None:
            problems.append(f"{name}: missing from the report")
        elif name in LOWER_IS_BETTER and value > limit:
            problems.append(f"{name} = {value} is above the maximum {limit}")
        elif name not in LOWER_IS_BETTER and value < limit:
            problems.append(f"{name} = {value} is below the minimum {limit}")
    return problems
