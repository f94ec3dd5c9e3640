"""A table's total row: found by its sums (not its label), read from the store when the table spans
chunks, and given in place of the rows it sums when the question asks for the whole (no models; a
dict stands for the store)."""

from __future__ import annotations

from assistant.evidence import ScoredSentence
from assistant.retrieval import Retrieval
from assistant.table_rows import parse_row
from assistant.table_totals import answered_by_the_total, figure, is_total_row, names_a_row, with_table_totals
from assistant.types import Passage
from kulturplan.chunks import Chunk

VISITS = [
    "Blekinge museum – Besök 2018: 118 500",
    "Musik i Blekinge – Besök 2018: 55 300",
    "Film i Blekinge – Besök 2018: 24 100",
    "Totalt – Besök 2018: 197 900",
]
HEADING = ("3 Utgångsläge", "3.2 Publik 2018")


def rows(texts: list[str]):
    return [parse_row(text) for text in texts]


def test_a_figure_is_a_cell_holding_a_number_and_nothing_else():
    assert figure("118 500") == (118500.0, 0) and figure("7,9") == (7.9, 1) and figure("1 200 000") == (1200000.0, 0)
    assert figure("cirka 900") is None and figure("ja") is None and figure("2024–2025") is None


def test_the_last_row_is_a_total_when_its_figures_sum_the_rows_above_whatever_it_is_called():
    assert is_total_row(rows(VISITS))
    assert is_total_row(rows([*VISITS[:3], "Blekinge sammantaget – Besök 2018: 197 900"]))
    # Decimals as written, to their rounding: 7,9 + 3,3 + 1,2 = 12,4.
    assert is_total_row(rows(["A – Mnkr: 7,9", "B – Mnkr: 3,3", "C – Mnkr: 1,2", "Summa – Mnkr: 12,4"]))
    # A last row that is one more row, and a table of two rows and a sum of one, are no totals.
    assert not is_total_row(rows([*VISITS[:3], "Övrigt – Besök 2018: 35 200"]))
    assert not is_total_row(rows(["A – Antal: 3", "B – Antal: 3"]))


def test_a_row_is_named_by_a_word_of_its_label_that_tells_it_apart():
    table = rows([*VISITS[:2], "Regionteatern Blekinge Kronoberg (föreställningar i Blekinge) – Besök 2018: 24 100"])
    assert names_a_row("Hur många besök hade Musik i Blekinge 2018?", table)
    assert names_a_row("Hur många besökare hade Regionteatern i Blekinge 2018?", table)
    assert names_a_row("Hur många besökare hade Musiken i Blekinge 2018?", table)  # an inflection
    # "Blekinge" is in every label and tells none apart; "regionala" is the table's own subject.
    assert not names_a_row("Hur många besök hade verksamheterna i Blekinge 2018?", table)
    others = rows(["Övriga regionala verksamheter – Besök 2018: 35 200"])
    assert not names_a_row("Hur många besök hade de regionala verksamheterna?", [*table, *others], "De regionala verksamheternas publik")


def chunk(position: int, text: str, context: str = "Publik 2018") -> Chunk:
    return Chunk("doc", "plan.pdf", "Plan", "pdf", position, text, HEADING, 0, len(text), context=context)


def table_store() -> dict[str, Chunk]:
    chunks = [
        chunk(3, "Inledning om publiken.", context=""),
        chunk(4, "\n".join(VISITS[:2])),
        chunk(5, VISITS[2]),
        chunk(6, VISITS[3]),
        chunk(7, "Nästa avsnitt.", context=""),
    ]
    return {c.id: c for c in chunks}


def retrieval_of(question: str, passages: list[Passage]) -> Retrieval:
    return Retrieval(question, passages, passages, (), 1.0, [])


def test_a_question_for_the_whole_brings_the_total_row_from_the_tables_last_chunk():
    store = table_store()
    ids = {Chunk.place_of(chunk_id): chunk_id for chunk_id in store}
    assert set(ids) == {(c.doc_id, c.position) for c in store.values()}
    first = next(c for c in store.values() if c.position == 4)
    read = lambda wanted: {i: store[i] for i in wanted if i in store}  # noqa: E731
    whole = with_table_totals(
        retrieval_of("Hur många besök hade verksamheterna 2018?", [Passage(first, 0.5, 0.7)]), ids, read
    )
    assert [p.chunk.position for p in whole.passages] == [4, 6]
    assert whole.table_totals == {VISITS[3]}
    # Two passages of one table bring its total once.
    second = next(c for c in store.values() if c.position == 5)
    both = [Passage(first, 0.5, 0.7), Passage(second, 0.4, 0.6)]
    whole = with_table_totals(retrieval_of("Hur många besök hade verksamheterna 2018?", both), ids, read)
    assert [p.chunk.position for p in whole.passages] == [4, 5, 6]
    # A question naming a row, or asking no quantity, keeps to the passages retrieval chose.
    for question in ("Hur många besök hade Musik i Blekinge 2018?", "Vilka verksamheter hade besök 2018?"):
        kept = with_table_totals(retrieval_of(question, [Passage(first, 0.5, 0.7)]), ids, read)
        assert [p.chunk.position for p in kept.passages] == [4] and not kept.table_totals


def scored(text: str, order: int) -> ScoredSentence:
    return ScoredSentence(1, order, text, "3.2 Publik 2018", 0.7, 0.5, True, 0.8, True, "plan.pdf")


def test_the_total_row_answers_in_place_of_the_rows_it_sums():
    evidence = [scored(text, order) for order, text in enumerate(VISITS)]
    prose = scored("Publiken ökade under perioden.", 9)
    selection = [evidence[0], evidence[1], prose]
    answered = answered_by_the_total(selection, evidence, frozenset({VISITS[3]}))
    assert [s.text for s in answered] == [VISITS[3], prose.text]
    # No total found: the selection as it was.
    assert answered_by_the_total(selection, evidence, frozenset()) == selection
