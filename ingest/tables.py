"""One text form for a table row in every format: the row's label, then `column header: value` pairs.

A row of a table with a header row reads `Blekinge museum – Statligt stöd 2024 (kr): 11 480 000;
Regionalt stöd 2024 (kr): 19 250 000`, so a retrieved row answers "how much, for whom, which year"
on its own. The header row itself is kept as one block (`Verksamhet | Statligt stöd 2024 (kr) | ...`)
so that no word of the table is lost; rows of a table without a header row stay `cell | cell`.
"""

from __future__ import annotations

import re

from ingest.document import Block

_NUMERIC = re.compile(r"^[\s\d.,:%/+\-–−()kr€$§]*\d[\s\d.,:%/+\-–−()kr€$§]*$|^[-–—x✓✔]$", re.IGNORECASE)
# A line that only draws a rule ("-----  ------", "=====", "|---|:---:|").
RULE_LINE = re.compile(r"^[\s\-=_*~+|:.]*[\-=_~]{3,}[\s\-=_*~+|:.]*$")


def clean_cell(text: str | None) -> str:
    return " ".join((text or "").split())


def is_numeric(cell: str) -> bool:
    return bool(_NUMERIC.match(cell))


def looks_like_header(rows: list[list[str]]) -> bool:
    """Whether the first row names the columns: short labels over a column of figures, or labels
    that are all unlike the cells below them. A key/value layout ("Stipendium | Noah Berg, dans")
    has no header row."""
    if len(rows) < 3:  # a header is guessed from two or more rows below it
        return False
    first, rest = rows[0], rows[1:]
    cells = [c for c in first if c]
    if len(cells) < 2 or any(is_numeric(c) or "," in c or len(c.split()) > 6 or c.endswith(".") for c in cells):
        return False
    width = len(first)
    # A column whose header is a word and whose other cells are all figures.
    for index in range(1, width):
        below = [row[index] for row in rest if index < len(row) and row[index]]
        if first[index] and below and all(is_numeric(c) for c in below):
            return True
    # Or: the first row's cells are shorter than any cell below them in most columns.
    shorter = 0
    for index in range(width):
        below = [row[index] for row in rest if index < len(row) and row[index]]
        if first[index] and below and len(first[index]) < min(len(c) for c in below):
            shorter += 1
    return len(rest) >= 2 and shorter * 2 > width


def row_text(cells: list[str], header: list[str] | None) -> str:
    """`label – header: value; header: value`, or `cell | cell` without a header."""
    cells = [clean_cell(c) for c in cells]
    if not header:
        filled = [c for c in cells if c]
        if len(filled) == 2 and filled[0].endswith(":"):  # "Högsta belopp: | 300 000 kronor"
            return " ".join(filled)
        return " | ".join(filled)
    label = cells[0] if cells else ""
    pairs = []
    for index, cell in enumerate(cells[1:], start=1):
        if not cell:
            continue
        name = header[index] if index < len(header) else ""
        pairs.append(f"{name}: {cell}" if name and name != cell else cell)
    if not pairs:
        return label
    return f"{label} – {'; '.join(pairs)}" if label else "; ".join(pairs)


def header_of(rows: list[list[str]], header: bool | None) -> list[str] | None:
    """The table's header row, if it has one (`header` None: guessed from the cells)."""
    rows = [[clean_cell(c) for c in row] for row in rows if any(clean_cell(c) for c in row)]
    return rows[0] if rows and (header if header is not None else looks_like_header(rows)) else None


def table_blocks(
    rows: list[list[str]], *, header: bool | None = None, page: int | None = None,
    header_row: list[str] | None = None,
) -> list[Block]:  # fmt: skip
    """Row blocks of a table. `header`: whether the first row is the header (None: guess);
    `header_row`: a header carried over from the table's part on the previous page."""
    rows = [[clean_cell(c) for c in row] for row in rows]
    rows = [row for row in rows if any(row)]
    if not rows:
        return []
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    blocks: list[Block] = []
    names = header_row
    if names is None and header_of(rows, header) is not None:
        names, rows = rows[0], rows[1:]
        blocks.append(Block(" | ".join(c for c in names if c), kind="row", page=page))
    for row in rows:
        if text := row_text(row, names):
            blocks.append(Block(text, kind="row", page=page))
    return blocks
