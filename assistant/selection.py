"""Which of the retrieved sentences make the answer: one selection for the extractive answer and
for what the LLM reads, so that their facts agree.

The sentences come ranked by how well they answer (assistant.evidence). The best one leads; a table
row brings the rows of its table that name the question's values (assistant.table_rows); a list
item, or a list's introduction, brings the whole list; otherwise the few sentences scoring within
a margin of the best join it (margin and count calibrated by evals/calibrate.py).
"""

from __future__ import annotations

from assistant.evidence import ScoredSentence
from assistant.table_rows import Row, parse_row, rows_naming_the_question

MAX_ITEMS = 12  # a list or table the best sentence belongs to is given whole, up to this many items


def select_sentences(
    ranked: list[ScoredSentence], margin: float, max_sentences: int, question: str = ""
) -> list[ScoredSentence]:
    """The answer's sentences in reading order: the best one; when it is a table row, the rows of
    its table that name what the question names (assistant.table_rows); the whole list it belongs to
    (or introduces, when it ends in a colon); otherwise the few others that score nearly as well."""
    if not ranked:
        return []
    best = ranked[0]
    if (row := parse_row(best.text)) is not None:
        return _table_rows(ranked, best, row, question)
    same_passage = sorted((s for s in ranked if s.n == best.n), key=lambda s: s.order)
    if best.is_item or best.text.rstrip().endswith(":"):
        # A list stays whole: its introduction (if any) and every item of it in that passage.
        items = [s for s in same_passage if s.is_item and s.order >= _list_start(same_passage, best)]
        intro = [s for s in same_passage if s.order < best.order and s.text.rstrip().endswith(":")][-1:]
        chosen = (intro + [best] if not best.is_item else intro) + items[:MAX_ITEMS]
        return sorted(dict.fromkeys(chosen), key=lambda s: s.order)
    chosen = [s for s in ranked[:max_sentences] if s.score >= best.score - margin]
    return sorted(chosen, key=lambda s: s.order)


def _table_rows(ranked: list[ScoredSentence], best: ScoredSentence, row: Row, question: str) -> list[ScoredSentence]:
    """The rows of the best row's table among the retrieved passages (a table may span chunks),
    those naming the question's values, in reading order."""
    table = []
    for sentence in sorted(ranked, key=lambda s: (s.n, s.order)):
        parsed = parse_row(sentence.text) if sentence.source == best.source else None
        if parsed is not None and parsed.headers == row.headers:
            table.append((sentence, parsed))
    chosen = rows_naming_the_question(question, [parsed for _, parsed in table])
    return [table[i][0] for i in chosen][:MAX_ITEMS]


def _list_start(sentences: list[ScoredSentence], best: ScoredSentence) -> int:
    """Reading-order position where the list holding (or following) `best` begins."""
    start = best.order
    for sentence in reversed([s for s in sentences if s.order < best.order]):
        if not sentence.is_item:
            break
        start = sentence.order
    return start


def prompt_sentences(
    ranked: list[ScoredSentence], margin: float, max_sentences: int, question: str, total: int
) -> list[ScoredSentence]:
    """What the LLM reads: the extractive answer's selection, then the next best sentences, up to
    `total` (more when a whole list or table is selected), in reading order."""
    chosen = select_sentences(ranked, margin, max_sentences, question)
    more = [s for s in ranked if s not in chosen][: max(0, total - len(chosen))]
    return sorted(chosen + more, key=lambda s: s.order)
