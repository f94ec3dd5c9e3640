"""Evaluation runs: gold questions in, predictions and a report with retrieval and answer metrics out.

The question schema is fixed (other tooling reads it):
{"id", "question", "answerable", "must_include": [[alt, ...], ...], "sources": [file, ...],
 "tags": [...], "history": [{"role", "content"}, ...] (optional)}
Each inner list of `must_include` is one fact, matched case-insensitively in the answer (numbers
also without thousands spaces); any alternative suffices.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

REQUIRED_KEYS = {"id": str, "question": str, "answerable": bool, "must_include": list, "sources": list, "tags": list}
# Metrics where lower is better (the baseline comparison and threshold checks need to know).
LOWER_IS_BETTER = {"false_refusal_rate", "latency_p50_ms", "latency_p95_ms"}


class GoldError(ValueError):
    """A question file that does not follow the schema; the message names the line."""


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    answerable: bool
    must_include: list[list[str]]
    sources: list[str]
    tags: list[str]
    history: list[dict[str, str]] = field(default_factory=list)


def load_questions(path: Path) -> list[GoldQuestion]:
    questions, seen = [], set()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise GoldError(f"cannot read {path}: {error.strerror or error}") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise GoldError(f"{path}:{number}: not valid JSON ({error.msg})") from error
        for key, kind in REQUIRED_KEYS.items():
            if not isinstance(row.get(key), kind):
                raise GoldError(f"{path}:{number}: {key!r} must be a {kind.__name__}")
        if row["id"] in seen:
            raise GoldError(f"{path}:{number}: duplicate id {row['id']!r}")
        if not all(isinstance(fact, list) and fact and all(isinstance(a, str) for a in fact) for fact in row["must_include"]):
            raise GoldError(f"{path}:{number}: must_include must be a list of non-empty lists of strings")
        seen.add(row["id"])
        questions.append(GoldQuestion(**{k: row[k] for k in REQUIRED_KEYS}, history=row.get("history", [])))
    if not questions:
        raise GoldError(f"{path}: no questions")
    return questions


# --- matching ---------------------------------------------------------------------------------------
def _normalise(text: str) -> str:
    text = re.sub(r"(?<=\d)[ \u00a0](?=\d{3}\b)", "", text)  # "16 000" -> "16000"
    return " ".join(text.lower().split())


def fact_found(fact: list[str], text: str) -> bool:
    haystack = _normalise(text)
    return any(_normalise(alternative) in haystack for alternative in fact)


# --- running ----------------------------------------------------------------------------------------
def predict(assistant, questions: Iterable[GoldQuestion], generator: str | None, progress: bool = True) -> list[dict[str, Any]]:
    from assistant.safety import QuestionError
    from assistant.types import history_from_json

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
                "generator": row.get("generator", generator),
                "notes": row.get("notes", []),
            }
        )
    return predictions


# --- metrics ----------------------------------------------------------------------------------------
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
    if gold.must_include:
        matched = [fact for fact in gold.must_include if not refused and fact_found(fact, answer)]
        scores["fact_recall"] = len(matched) / len(gold.must_include)
        scores["full_accuracy"] = float(len(matched) == len(gold.must_include))
        cited_text = " ".join(c["text"] for c in citations)
        if matched:
            scores["supported_facts"] = sum(fact_found(fact, cited_text) for fact in matched) / len(matched)
    return scores


def _percentile(values: list[float], q: float) -> float:
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
        "false_refusal": "false_refusal_rate",
    }  # fmt: skip
    for key, name in names.items():
        values = [row[key] for row in rows if row.get(key) is not None]
        if values:
            metrics[name] = sum(values) / len(values)
    latencies = [row["latency_ms"] for row in rows]
    metrics["latency_p50_ms"] = _percentile(latencies, 0.5)
    metrics["latency_p95_ms"] = _percentile(latencies, 0.95)
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


# --- writing ----------------------------------------------------------------------------------------
def write_outputs(out: Path, predictions: list[dict[str, Any]], report: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "predictions.jsonl").open("w", encoding="utf-8") as handle:
        for row in predictions:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "report.md").write_text(render_markdown(report), encoding="utf-8")
    plot_tags(report, out / "per_tag.png")


def render_markdown(report: dict[str, Any]) -> str:
    meta = report["meta"]
    lines = [
        "# Utvärdering",
        "",
        f"Frågor: `{meta.get('questions_file')}` · generator: `{meta.get('generator')}` · "
        f"korpus: `{meta.get('corpus')}` · {meta.get('date')}",
        "",
        "| mått | värde |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in report["overall"].items()]
    columns = ["questions", "full_answer_accuracy", "fact_recall", "refusal_accuracy", "false_refusal_rate", "latency_p50_ms"]
    lines += ["", "## Per tagg", "", "| tagg | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for tag, metrics in report["per_tag"].items():
        lines.append(f"| {tag} | " + " | ".join(str(metrics.get(c, "–")) for c in columns) + " |")
    if report["failures"]:
        lines += ["", "## Missar", ""]
        lines += [f"- `{f['id']}` {f['question']} → {f['answer'][:160]!r}" for f in report["failures"]]
    lines += ["", "![Resultat per tagg](per_tag.png)", ""]
    return "\n".join(lines)


def plot_tags(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display on servers
    import matplotlib.pyplot as plt

    tags = list(report["per_tag"])
    score = [report["per_tag"][t].get("full_answer_accuracy", report["per_tag"][t].get("refusal_accuracy", 0)) for t in tags]
    recall = [report["per_tag"][t].get("fact_recall", report["per_tag"][t].get("refusal_accuracy", 0)) for t in tags]
    figure, axis = plt.subplots(figsize=(max(6, len(tags) * 0.9), 4))
    positions = range(len(tags))
    axis.bar([p - 0.2 for p in positions], score, width=0.4, label="helt rätt svar / rätt vägran")
    axis.bar([p + 0.2 for p in positions], recall, width=0.4, label="faktatäckning")
    axis.set_xticks(list(positions), tags, rotation=30, ha="right")
    axis.set_ylim(0, 1.05)
    axis.set_title(f"Resultat per tagg ({report['meta'].get('generator')})")
    axis.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
