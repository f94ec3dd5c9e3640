"""The evidence pool's calibration: the smallest pool that finds (nearly) as many facts as the best."""

from __future__ import annotations

from evals.calibrate_pool import choose_pool


def test_the_smallest_pool_within_one_question_of_the_best_is_chosen():
    shares = {4: [1.0] * 90 + [0.0] * 10, 6: [1.0] * 97 + [0.0] * 3, 8: [1.0] * 97 + [0.5] + [0.0] * 2}
    result = choose_pool(shares)
    assert result["evidence_pool"] == 6  # 8 is better by half a question only
    assert result["facts_in_passages"] == {4: 0.9, 6: 0.97, 8: 0.975}
    assert result["all_facts_in_passages"] == {4: 90, 6: 97, 8: 97}
    assert result["questions"] == 100


def test_a_clearly_better_larger_pool_wins():
    shares = {4: [0.0] * 3 + [1.0] * 7, 6: [0.0] + [1.0] * 9, 8: [1.0] * 10}
    assert choose_pool(shares)["evidence_pool"] == 6  # one question behind 8
    shares[6] = [0.0] * 2 + [1.0] * 8
    assert choose_pool(shares)["evidence_pool"] == 8  # two behind
