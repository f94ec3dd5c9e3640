"""Calibrate the generic-word rule (kulturplan/vocabulary.py) on development questions.

    python -m evals.calibrate_vocabulary evals/devcorpus/questions_dev.jsonl --data-dir DIR \
        [--also evals/gold.jsonl GOLD_DATA_DIR] [--out evals/vocabulary_calibration.json]

Which words count as generic changes what a question is about everywhere: the words retrieval
reports as missing, the coverage of every sentence, which questions are plain place questions. So
each rule of a small grid (domain share x framing Zipf x framing lift x common Zipf) is judged by
what it does to the answers, replayed without a generator on the questions' real retrieval
(evals.calibrate):
- the replayed extractive answers' quality on answerable questions (every gold fact, no
  wrong-document fact, sentences from the gold sources), with the current evidence weights and the
  best selection within bounds;
- the answerability model refitted under the rule, its refusal recall and false refusals judged on
  5-fold cross-validated probabilities.
The rule with the best expected accuracy (answered right and not refused, or refused when nothing
answers) wins; ties go to the rule that calls fewer words generic (higher shares and Zipf values,
a lower lift). Only a development split may be used here, never the held-back one. Run
`python -m evals.calibrate` after this: its weights are fitted under the rule chosen here.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from evals.calibrate import calibration_parser, choose_answerability, choose_selection, collect, development_sets
from evals.gold import load_questions

DOMAIN_SHARES = (0.3, 0.4, 0.5, 0.6, 1.01)  # 1.01: no domain words
FRAMING_ZIPFS = (4.5, 5.0, 8.1)  # 8.1: no framing words by their lift
FRAMING_LIFTS = (0.0, 0.5, 1.0)
COMMON_ZIPFS = (6.0, 8.1)  # 8.1: no framing words by their commonness alone


def judge(rows, w_cov: float, w_type: float, max_false_refusal: float) -> dict:
    """Expected full-answer accuracy of the replayed answers under one rule, with its parts."""
    answerable = sum(r.gold.answerable for r in rows)
    unanswerable = len(rows) - answerable
    selection = choose_selection(rows, w_cov, w_type)["best_within_bounds"] or {"quality": 0.0}
    refusal = choose_answerability(rows, w_cov, w_type, max_false_refusal)
    recall = refusal["refusal_recall"] or 0.0
    answered_right = answerable * selection["quality"] * (1 - refusal["false_refusal_rate"])
    accuracy = (answered_right + unanswerable * recall) / len(rows)
    return {
        "expected_accuracy": round(accuracy, 4),
        "answer_quality": selection["quality"],
        "refusal_recall": recall,
        "false_refusal_rate": refusal["false_refusal_rate"],
        "plain_place_questions": sum(r.place_question for r in rows),
    }


def _fewer_generic_words(rule: dict) -> tuple[float, ...]:
    """Larger for a rule that calls fewer words generic: the tie-break between equally good rules."""
    return rule["domain_share"], rule["framing_zipf"], -rule["framing_lift"], rule["common_zipf"]


def main(argv: list[str] | None = None) -> None:
    parser = calibration_parser(__doc__, "evals/vocabulary_calibration.json")
    args = parser.parse_args(argv)
    sets = development_sets(parser, args)

    from assistant.engine import Assistant
    from kulturplan.config import load_settings
    from kulturplan.vocabulary import CorpusVocabulary, GenericWordRule

    assistants, embedder = [], None
    for path, data_dir in sets:
        assistant = Assistant(load_settings(data_dir=data_dir), embedder=embedder)
        embedder = assistant.embedder  # loaded once, shared
        assistants.append((assistant, load_questions(path)))
    w_cov, w_type = assistants[0][0].settings.evidence_coverage_weight, assistants[0][0].settings.evidence_type_weight

    results = []
    for share, zipf, lift, common in itertools.product(DOMAIN_SHARES, FRAMING_ZIPFS, FRAMING_LIFTS, COMMON_ZIPFS):
        if zipf > 8 and lift != FRAMING_LIFTS[0]:
            continue  # without framing words by their lift the lift does not matter
        rule = GenericWordRule(share, zipf, lift, common)
        rows = []
        for assistant, questions in assistants:
            bm25 = assistant.retriever.bm25()
            bm25.vocabulary = CorpusVocabulary(bm25.lexical, rule)
            rows += collect(assistant, questions)
        result = {"domain_share": share, "framing_zipf": zipf, "framing_lift": lift, "common_zipf": common}
        result |= judge(rows, w_cov, w_type, args.max_false_refusal)
        print(json.dumps(result), flush=True)
        results.append(result)
    best = max(results, key=lambda r: (r["expected_accuracy"], *_fewer_generic_words(r)))
    report = {"questions": [str(path) for path, _ in sets], "chosen": best, "grid": results}
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(best, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
