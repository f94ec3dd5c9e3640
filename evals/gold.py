"""Gold questions: the schema, loading with precise errors, and matching facts in an answer.

The question schema is fixed (other tooling reads it):
{"id", "question", "answerable", "must_include": [[alt, ...], ...], "sources": [file, ...],
 "tags": [...], "history": [{"role", "content"}, ...] (optional),
 "must_not_include": [str, ...] (optional: facts that only a wrong document or period holds)}
Each inner list of `must_include` is one fact, matched case-insensitively in the answer (numbers
also without thousands spaces); any alternative suffices.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

REQUIRED_KEYS = {"id": str, "question": str, "answerable": bool, "must_include": list, "sources": list, "tags": list}


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
    must_not_include: list[str] = field(default_factory=list)


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
        wrong = row.get("must_not_include", [])
        if not (isinstance(wrong, list) and all(isinstance(s, str) and s for s in wrong)):
            raise GoldError(f"{path}:{number}: must_not_include must be a list of non-empty strings")
        seen.add(row["id"])
        questions.append(
            GoldQuestion(**{k: row[k] for k in REQUIRED_KEYS}, history=row.get("history", []), must_not_include=wrong)
        )
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
