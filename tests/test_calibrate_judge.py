"""The judge's calibration on synthetic questions: which band and threshold it picks (no models)."""

from __future__ import annotations

import random
from types import SimpleNamespace

from evals.calibrate_judge import JudgedRow, choose_judge


def rows(judge_knows: bool, seed: int = 0) -> list[JudgedRow]:
    """60 answerable and 20 unanswerable questions whose evidence overlaps (0.35-0.9 either way);
    the judge says yes to the answerable ones and no to the rest when it knows, at random when not."""
    rng = random.Random(seed)
    made = []
    for answerable in [True] * 60 + [False] * 20:
        evidence = rng.uniform(0.35, 0.9)
        judged = (rng.uniform(0.7, 0.99) if answerable else rng.uniform(0.01, 0.3)) if judge_knows else rng.random()
        made.append(JudgedRow(SimpleNamespace(answerable=answerable), evidence, judged))
    return made


def test_a_judge_that_knows_refuses_the_unanswerable_within_the_false_refusal_cap():
    result = choose_judge(rows(judge_knows=True), early_threshold=0.3, max_false_refusal=0.04)
    chosen = result["chosen"]
    assert result["early_only"]["refusal_recall"] == 0.0  # the evidence alone refuses none here
    assert chosen["refusal_recall"] >= 0.9 and chosen["false_refusal_rate"] <= 0.04
    assert result["answerability_judge_threshold"] > 0 and result["answerability_judge_weights"][1] > 0
    # Every band is reported; the chosen one is the narrowest with the best gain.
    gains = [b["gain"] for b in result["bands"]]
    assert chosen["gain"] == max(gains)
    assert chosen["ask_below"] == min(b["ask_below"] for b in result["bands"] if b["gain"] == max(gains))


def test_a_judge_that_guesses_adds_little_and_never_breaks_the_cap():
    result = choose_judge(rows(judge_knows=False), early_threshold=0.3, max_false_refusal=0.04)
    assert result["chosen"]["false_refusal_rate"] <= 0.04
    assert result["chosen"]["refusal_recall"] < 0.5
