"""A list that runs past its passage's chunk, read on into the next chunk.

A long list spans chunks, and an answer gives the whole list (assistant.selection). Like the total
row of a table (assistant.table_totals), the chunk is found by its document and position
(`Bm25Index.chunk_ids_by_place`) and read from the store after retrieval chose the passages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from assistant.retrieval import Retrieval
from assistant.types import Passage
from kulturplan.chunks import Chunk
from kulturplan.language import is_list_item


def with_lists_continued(
    retrieval: Retrieval,
    chunk_ids: Mapping[tuple[str, int], str],
    read: Callable[[list[str]], dict[str, Chunk]],
) -> Retrieval:
    """`retrieval` with the next chunk of each passage whose list runs on past its end, when that
    chunk goes on with the list and is not among the passages. The next chunk keeps its passage's
    scores. `chunk_ids` finds a chunk by document and position, `read` reads chunks by id."""
    have = {p.chunk.id for p in retrieval.passages}
    wanted: dict[str, Passage] = {}
    for passage in retrieval.passages:
        chunk = passage.chunk
        next_id = chunk_ids.get((chunk.doc_id, chunk.position + 1))
        if next_id and next_id not in have and _ends_with_a_list_item(chunk.text):
            wanted.setdefault(next_id, passage)
    if not wanted:
        return retrieval
    added = [
        replace(wanted[chunk_id], chunk=chunk, via_municipality=False)
        for chunk_id, chunk in read(list(wanted)).items()
        if chunk.heading_path == wanted[chunk_id].chunk.heading_path and _goes_on_with_a_list(chunk)
    ]
    return replace(retrieval, passages=[*retrieval.passages, *added]) if added else retrieval


def _ends_with_a_list_item(text: str) -> bool:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return bool(lines) and is_list_item(lines[-1])


def _goes_on_with_a_list(chunk: Chunk) -> bool:
    """The chunk's text, below the headings it repeats, begins with a list item."""
    headings = set(chunk.heading_path)
    body = [line.strip() for line in chunk.text.splitlines() if line.strip() and line.strip() not in headings]
    return bool(body) and is_list_item(body[0])
