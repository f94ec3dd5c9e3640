"""What an evaluation run writes: predictions.jsonl, report.json, report.md and a per-tag chart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
