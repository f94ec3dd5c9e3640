"""How many candidates to score sentence by sentence before the passages are chosen (`evidence_pool`).

    python -m evals.calibrate_pool evals/devcorpus/questions_dev.jsonl --data-dir DIR \
        [--also evals/gold.jsonl GOLD_DATA_DIR] [--out evals/pool_calibration.json]

For every answerable development question with gold facts, and every pool size, the share of its
facts found in the passages the generator would be given (`Assistant.reranked` with that pool,
after one retrieval; a pool no larger than `max_passages` is fusion alone). The smallest pool within
one question of the best share is chosen: a difference of one question is noise at this size, and
every candidate more is another chunk's sentences to score per question.
Plain place questions keep their place's passages and are counted as they are.
"""

from __future__ import annotations

import json

from evals.calibrate import calibration_parser, development_sets, prepared_question
from evals.gold import fact_found, load_questions

POOL_SIZES = (4, 5, 6, 8, 10, 12)


def facts_in_passages(assistant, gold) -> dict[int, float]:
    """The share of the question's facts in its passages, per pool size (one retrieval)."""
    retrieval = assistant.retriever.retrieve(prepared_question(assistant, gold))
    shares = {}
    for pool in POOL_SIZES:
        chosen = retrieval if assistant.keeps_place_passages(retrieval) else assistant.reranked(retrieval, pool)
        text = " ".join(p.chunk.text for p in chosen.passages)
        shares[pool] = sum(fact_found(fact, text) for fact in gold.must_include) / len(gold.must_include)
    return shares


def choose_pool(shares: dict[int, list[float]]) -> dict:
    """The smallest pool within one question of the best mean share, with every pool's figures."""
    questions = len(next(iter(shares.values())))
    by_pool = {pool: round(sum(values) / len(values), 4) for pool, values in shares.items()}
    complete = {pool: sum(v == 1.0 for v in values) for pool, values in shares.items()}
    best = max(by_pool.values())
    chosen = min(pool for pool, share in by_pool.items() if share >= best - 1 / questions)
    return {"questions": questions, "facts_in_passages": by_pool, "all_facts_in_passages": complete, "evidence_pool": chosen}


def main(argv: list[str] | None = None) -> None:
    parser = calibration_parser(__doc__, "evals/pool_calibration.json")
    args = parser.parse_args(argv)
    from assistant.engine import Assistant
    from kulturplan.config import load_settings

    shares: dict[int, list[float]] = {pool: [] for pool in POOL_SIZES}
    for path, data_dir in development_sets(parser, args):
        assistant = Assistant(load_settings(data_dir=data_dir))
        for gold in load_questions(path):
            if gold.answerable and gold.must_include:
                for pool, share in facts_in_passages(assistant, gold).items():
                    shares[pool].append(share)
    result = choose_pool(shares)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
