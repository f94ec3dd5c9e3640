"""Calibrate the second stage of answerability: the LLM's own judgement (assistant.answerability).

    python -m evals.calibrate_judge evals/devcorpus/questions_dev.jsonl --data-dir DIR \
        [--also evals/gold.jsonl GOLD_DATA_DIR] [--generator local] [--out evals/judge_calibration.json]

Every question is prepared and retrieved as the engine does; the evidence model (the calibrated
`answerability_*` settings) gives its probability, and the generator's model is asked whether the
best selected sentence gives the answer (`Generator.judge`). Then:
1. for each band `ask_below` (the model is asked only about questions the evidence model let through
   below this probability), a logistic regression on the two log-odds, answerable against
   unanswerable, and the threshold that refuses the most unanswerable questions beyond the answerable
   ones, with all false refusals (the evidence model's early ones included) capped at
   `--max-false-refusal`; chosen and reported on 5-fold cross-validated probabilities;
2. the band with the largest cross-validated gain (refusal recall minus false refusals); ties go to
   the narrower band, which asks the model less often.
The weights written are fitted on all questions; their threshold refuses as many answerable questions
in the band as the held-out decision did. Plain place questions are left out (their route answers
them first). The held-back split is never used here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from evals.calibrate import calibration_parser, development_sets, prepared_question
from evals.gold import GoldQuestion, load_questions

ASK_BELOW = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
FOLDS = 5


@dataclass(frozen=True)
class JudgedRow:
    gold: GoldQuestion
    evidence_probability: float
    judged_yes: float


def judge_questions(assistant, generator, questions: list[GoldQuestion]) -> list[JudgedRow]:
    """The evidence model's probability and the model's judgement for every question the
    answerability model decides, both taken from the engine's own `Question` (the expensive part:
    one LLM prefill each)."""
    import time

    from assistant.routes import Question
    from assistant.types import Answer
    from kulturplan.language import is_english

    rows = []
    assistant.retriever.bm25()  # its vocabulary judges generic words before questions are prepared
    for gold in questions:
        text = prepared_question(assistant, gold)
        question = Question(assistant, text, is_english(text), [], generator, Answer(text, ""), time.perf_counter())
        if not question.retrieval.passages or question.evidence_probability is None:
            continue  # nothing retrieved, or a plain place question: the model decides neither
        judged = generator.judge(question.generation_request())
        if judged is not None:
            rows.append(JudgedRow(gold, question.evidence_probability, judged))
            print(f"{gold.id}\t{gold.answerable}\t{question.evidence_probability:.3f}\t{judged:.3f}", flush=True)
    return rows


def choose_judge(rows: list[JudgedRow], early_threshold: float, max_false_refusal: float) -> dict:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from assistant.answerability import log_odds

    evidence = np.array([r.evidence_probability for r in rows])
    x = np.array([[log_odds(r.evidence_probability), log_odds(r.judged_yes)] for r in rows])
    y = np.array([r.gold.answerable for r in rows], dtype=int)
    early = (evidence < early_threshold) if early_threshold > 0 else np.zeros(len(rows), dtype=bool)
    model = LogisticRegression(class_weight="balanced", C=1.0, max_iter=1000)
    held_out = cross_val_predict(
        model, x, y, cv=StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=0), method="predict_proba"
    )[:, 1]
    bands = [_band(ask_below, early, evidence, held_out, y, max_false_refusal) for ask_below in ASK_BELOW]
    best = max(bands, key=lambda b: (round(b["gain"], 6), -b["ask_below"]))
    model.fit(x, y)
    asked = ~early & (evidence < best["ask_below"])
    fitted = np.sort(model.predict_proba(x)[:, 1][asked & (y == 1)])
    wrong = best["judged_false_refusals"]
    deployed = float(fitted[wrong]) if best["threshold"] > 0 and wrong < len(fitted) else 0.0
    return {
        "answerability_judge_weights": [round(float(w), 4) for w in model.coef_[0]],
        "answerability_judge_bias": round(float(model.intercept_[0]), 4),
        "answerability_judge_threshold": round(deployed, 4),
        "answerability_judge_ask_below": best["ask_below"],
        "chosen": best,
        "early_only": _rates(early, y),
        "bands": bands,
        "answerable": int(np.sum(y == 1)),
        "unanswerable": int(np.sum(y == 0)),
    }


def _band(ask_below, early, evidence, held_out, y, max_false_refusal) -> dict:
    """The best held-out threshold when the model is asked below `ask_below`."""
    import numpy as np

    asked = ~early & (evidence < ask_below)
    threshold, best = 0.0, _rates(early, y)
    for candidate in sorted(set(held_out[asked])):
        rates = _rates(early | (asked & (held_out < candidate)), y)
        if rates["false_refusal_rate"] > max_false_refusal:
            break
        if rates["gain"] > best["gain"]:
            threshold, best = float(candidate), rates
    judged_wrong = int(np.sum(asked & (y == 1) & (held_out < threshold)))
    return {
        "ask_below": ask_below, "asked_share": round(float(np.mean(asked)), 3), "threshold": round(threshold, 4),
        "judged_false_refusals": judged_wrong, **best,
    }  # fmt: skip


def _rates(refused, y) -> dict:
    import numpy as np

    recall, false_refusals = float(np.mean(refused[y == 0])), float(np.mean(refused[y == 1]))
    precision = float(np.mean(y[refused] == 0)) if refused.any() else None
    return {
        "refusal_recall": round(recall, 3), "false_refusal_rate": round(false_refusals, 3),
        "refusal_precision": round(precision, 3) if precision is not None else None,
        "gain": round(recall - false_refusals, 4),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = calibration_parser(__doc__, "evals/judge_calibration.json")
    parser.add_argument("--generator", default="local", help="the generator whose model judges")
    args = parser.parse_args(argv)
    sets = development_sets(parser, args)

    from assistant.engine import Assistant
    from kulturplan.config import load_settings

    rows, settings = [], None
    for path, data_dir in sets:
        assistant = Assistant(load_settings(data_dir=data_dir))
        settings = assistant.settings
        rows += judge_questions(assistant, assistant.generator(args.generator), load_questions(path))
    result = {
        "questions": [str(path) for path, _ in sets],
        "generator": args.generator,
        **choose_judge(rows, settings.answerability_threshold, args.max_false_refusal),
    }
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "bands"}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
