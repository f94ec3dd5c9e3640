"""Questions typed in haste: the development splits' answerable questions rewritten as people type
them, to measure how much an answer depends on careful typing.

    python -m evals.typo_variants OUTDIR [evals/devcorpus/questions_dev.jsonl ...]
    kulturplan eval OUTDIR/without_diacritics.jsonl --data-dir DIR --generator extractive --out RUN

Three files, one variant of every answerable, standalone, Swedish question each (the id gets the
variant's name): `lower_case.jsonl` (lower case, no question mark), `without_diacritics.jsonl` (and
å, ä, ö typed as a, a, o: a keyboard without them) and `letter_dropped.jsonl` (and one letter left
out of the longest word, chosen by a fixed seed). The gold facts stay as they were. The held-back
split is never an input by default.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

SPLIT_NAMES = ("dev", "probe", "probe2", "probe3", "probe4", "probe5", "probe6")
DEVELOPMENT_SPLITS = [Path(f"evals/devcorpus/questions_{name}.jsonl") for name in SPLIT_NAMES]
SEED = 7
_KEYBOARD_WITHOUT_DIACRITICS = str.maketrans("åäöÅÄÖé", "aaoAAOe")
MIN_DROPPED_WORD = 7  # a letter is left out of a word this long or longer


def lower_case(question: str, _rng: random.Random) -> str:
    return question.rstrip(" ?").lower()


def without_diacritics(question: str, rng: random.Random) -> str:
    return lower_case(question, rng).translate(_KEYBOARD_WITHOUT_DIACRITICS)


def letter_dropped(question: str, rng: random.Random) -> str:
    typed = lower_case(question, rng)
    words = [w for w in re.findall(r"\w+", typed) if len(w) >= MIN_DROPPED_WORD]
    if not words:
        return typed
    word = max(words, key=len)
    cut = rng.randrange(1, len(word) - 1)
    return typed.replace(word, word[:cut] + word[cut + 1 :], 1)


VARIANTS = {"lower_case": lower_case, "without_diacritics": without_diacritics, "letter_dropped": letter_dropped}


def typed_questions(rows: list[dict]) -> list[dict]:
    """The questions a variant is made of: answerable, without history, not English."""
    return [r for r in rows if r.get("answerable") and not r.get("history") and "english" not in r.get("tags", [])]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("splits", nargs="*", type=Path, default=DEVELOPMENT_SPLITS)
    args = parser.parse_args(argv)
    lines = [line for split in args.splits for line in split.read_text(encoding="utf-8").splitlines()]
    rows = typed_questions([json.loads(line) for line in lines if line.strip()])
    args.out.mkdir(parents=True, exist_ok=True)
    for name, rewrite in VARIANTS.items():
        rng = random.Random(SEED)
        variants = [{**row, "id": f"{row['id']}-{name}", "question": rewrite(row["question"], rng)} for row in rows]
        path = args.out / f"{name}.jsonl"
        path.write_text("".join(json.dumps(v, ensure_ascii=False) + "\n" for v in variants), encoding="utf-8")
        print(f"{path}: {len(variants)} questions")


if __name__ == "__main__":
    main()
