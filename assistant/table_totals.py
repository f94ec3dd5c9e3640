"""A table's total row, found by its sums, and the questions it answers.

A question asking how many or how much of what a table counts, without naming any of its rows
("Hur många besök hade de regionala kulturverksamheterna 2018?", "Hur stort är det sammanlagda
statliga stödet …?"), asks for the whole: the table's last row when its figures are the sums of
the rows above it, whatever it is called ("Summa", "Totalt", "Blekinge totalt"). It is found by
arithmetic, not by a word list. A long table spans chunks (ingest writes a few rows a chunk), so
the total row is read from the store when a passage holds rows of its table
(`with_table_totals`), and the answer gives it in place of the rows it sums (`answered_by_the_total`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace

from assistant.evidence import ScoredSentence, asks_quantity, term_matches
from assistant.retrieval import Retrieval
from assistant.table_rows import Row, parse_row
from kulturplan.chunks import Chunk
from kulturplan.language import is_swedish_function_word, stem, tokens


# How far from a passage's chunk its table is read, in chunks each way (ingest writes a few rows a
# chunk): a table of assistant.selection's MAX_ITEMS rows fits.
TABLE_REACH = 15
# A cell holding a figure and nothing else: "118 500", "7,9", "1 200 000" (not "cirka 900").
_FIGURE = re.compile(r"^\d{1,3}(?:[ \u00a0]\d{3})*(?:,(\d+))?$|^\d+(?:,(\d+))?$")


def figure(value: str) -> tuple[float, int] | None:
    """The number a cell holds and its decimals ("7,9" -> (7.9, 1)), or None for any other text."""
    match = _FIGURE.match(value.strip())
    if not match:
        return None
    decimals = match.group(1) or match.group(2) or ""
    return float(value.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")), len(decimals)


def is_total_row(rows: list[Row]) -> bool:
    """The last of the table's `rows` sums the others: in some column its figure is the sum of theirs
    (at least two), to the rounding of the figures as written."""
    *others, last = rows
    if len(others) < 2:
        return False
    for header, value in last.cells.items():
        total = figure(value)
        parts = [figure(row.cells.get(header, "")) for row in others]
        if total is None or any(part is None for part in parts):
            continue
        decimals = max(d for _, d in [total, *parts])
        rounding = (len(parts) + 1) * 0.5 * 10**-decimals
        if abs(sum(value for value, _ in parts) - total[0]) <= rounding:
            return True
    return False


def names_a_row(question: str, rows: list[Row], subject: str = "") -> bool:
    """The question names one of the rows: it holds a word of the row's label that tells the row
    apart, one no other row's label holds ("musik" of "Musik i Blekinge", not "Blekinge", which
    most labels hold) and the table's own heading and introduction (`subject`) do not ("regionala"
    of "Övriga regionala verksamheter" under "De regionala kulturverksamheternas publik")."""
    asked = {stem(word) for word in tokens(question)}
    labels = [_label_words(row.label) for row in rows]
    common = set(_label_words(subject))
    for i, words in enumerate(labels):
        others = set().union(*labels[:i], *labels[i + 1 :])
        telling = [word for word in words - others if not term_matches(word, common)]
        if any(term_matches(word, asked) for word in telling):
            return True
    return False


def _label_words(text: str) -> set[str]:
    return {stem(w) for w in tokens(text) if not is_swedish_function_word(w)}


def _rows(chunk: Chunk) -> list[Row]:
    return [row for line in chunk.text.splitlines() if (row := parse_row(line.strip())) is not None]


def _table_of(chunk: Chunk, nearby: Mapping[int, Chunk]) -> list[Chunk]:
    """The chunks in a row holding `chunk`'s table: the same section and table introduction."""

    def same_table(other: Chunk | None) -> bool:
        return other is not None and other.heading_path == chunk.heading_path and other.context == chunk.context and bool(_rows(other))

    start = end = chunk.position
    while same_table(nearby.get(start - 1)):
        start -= 1
    while same_table(nearby.get(end + 1)):
        end += 1
    return [chunk if p == chunk.position else nearby[p] for p in range(start, end + 1)]


def with_table_totals(
    retrieval: Retrieval,
    chunk_ids: Mapping[tuple[str, int], str],
    read: Callable[[list[str]], dict[str, Chunk]],
) -> Retrieval:
    """`retrieval` with the total row of each table its passages hold rows of, when the question asks
    how many or how much and names none of the table's rows; the total's chunk joins the passages
    (with its passage's scores) when none of them holds it. `chunk_ids` finds a chunk by document and
    position, `read` reads chunks by id."""
    question = retrieval.question
    tabular = [p for p in retrieval.passages if _rows(p.chunk)]
    if not tabular or not asks_quantity(question):
        return retrieval
    wanted = {
        chunk_id
        for p in tabular
        for offset in range(-TABLE_REACH, TABLE_REACH + 1)
        if offset and (chunk_id := chunk_ids.get((p.chunk.doc_id, p.chunk.position + offset)))
    }
    by_place = {(c.doc_id, c.position): c for c in read(sorted(wanted)).values()}
    have = {p.chunk.id for p in retrieval.passages}
    totals, added, read_tables = set(retrieval.table_totals), [], set()
    for passage in tabular:
        if passage.chunk.id in read_tables:  # another passage of the same table was read
            continue
        nearby = {pos: c for (doc, pos), c in by_place.items() if doc == passage.chunk.doc_id}
        table = _table_of(passage.chunk, nearby)
        read_tables.update(chunk.id for chunk in table)
        rows = [row for chunk in table for row in _rows(chunk)]
        subject = " ".join((*passage.chunk.heading_path, passage.chunk.context))
        if len(rows) < 3 or not is_total_row(rows) or names_a_row(question, rows[:-1], subject):
            continue
        totals.add(_row_text(rows[-1]))
        if table[-1].id not in have:
            have.add(table[-1].id)
            added.append(replace(passage, chunk=table[-1], via_municipality=False))
    return replace(retrieval, passages=[*retrieval.passages, *added], table_totals=frozenset(totals))


def _row_text(row: Row) -> str:
    return f"{row.label} – " + "; ".join(f"{header}: {value}" for header, value in row.cells.items())


def answered_by_the_total(
    selection: list[ScoredSentence], evidence: list[ScoredSentence], totals: frozenset[str]
) -> list[ScoredSentence]:
    """The selection with a table's total row in place of the rows of its table it chose (the rows
    with the total's columns): the question asks for the whole (`with_table_totals` found it)."""
    total = next((s for s in evidence if _as_row_text(s.text) in totals), None)
    if total is None:
        return selection
    headers = parse_row(total.text).headers
    summed = [s for s in selection if (row := parse_row(s.text)) is not None and row.headers == headers]
    if not summed or summed == [total]:
        return selection
    kept = [s for s in selection if s not in summed]
    return sorted([*kept, total], key=lambda s: s.order)


def _as_row_text(text: str) -> str:
    row = parse_row(text)
    return _row_text(row) if row is not None else ""
