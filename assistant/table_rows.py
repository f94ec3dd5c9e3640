"""Which rows of a retrieved table answer a question.

Ingestion writes every table row as `label – header: value; header: value` (ingest/tables.py). When
the best evidence for a question is such a row, the answer is the table's rows, and for a question
that names a value ("Vilka verksamheter har Region Blekinge som huvudman?") only the rows holding
it. A word of the question that is also a column header ("huvudman") is shared by every row and
tells none apart, so rows are told apart by the question's words found in their values and label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kulturplan.language import is_swedish_function_word, stem, tokens

_ROW = re.compile(r"^(?P<label>[^–|]+?) – (?P<cells>[^:]+: .+)$")


@dataclass(frozen=True)
class Row:
    label: str
    cells: dict[str, str]  # column header -> value

    @property
    def headers(self) -> frozenset[str]:
        return frozenset(self.cells)


def parse_row(text: str) -> Row | None:
    """The row's label and cells, or None for text that is no table row with headers."""
    match = _ROW.match(text.strip())
    if not match:
        return None
    cells = {}
    for cell in match.group("cells").split("; "):
        header, separator, value = cell.partition(": ")
        if not separator:
            return None
        cells[header.strip()] = value.strip()
    return Row(match.group("label").strip(), cells)


def is_header_of(line: str, following: str) -> bool:
    """`line` is the header row ("Kommun | Folkbibliotek | Besök 2018") of the table row `following`
    ("Karlskrona – Folkbibliotek: 8; Besök 2018: 448 000"): every row already carries the headers
    beside its values, so the header line states nothing of its own."""
    if " | " not in line:
        return False
    row = parse_row(following)
    if row is None:
        return False
    names = [cell.strip() for cell in line.split(" | ")[1:] if cell.strip()]
    return bool(names) and set(names) >= row.headers


def _stems(text: str) -> set[str]:
    # Names such as a region's ("Region Blekinge") are stopwords of retrieval, but here they are the
    # very values that tell rows apart: only grammar words and question words are left out.
    return {stem(w) for w in tokens(text) if not is_swedish_function_word(w) and len(w) > 1}


def rows_naming_the_question(question: str, rows: list[Row]) -> list[int]:
    """Indexes of the rows whose values (or label) hold the most of the question's words that are
    not column headers; all rows when none, or every row, holds as many."""
    if not rows:
        return []
    header_words = set().union(*(_stems(" ".join(r.headers)) for r in rows))
    asked = _stems(question) - header_words
    counts = [len(asked & _stems(" ".join([r.label, *r.cells.values()]))) for r in rows]
    best = max(counts)
    if best == 0 or min(counts) == best:
        return list(range(len(rows)))
    return [i for i, count in enumerate(counts) if count == best]
