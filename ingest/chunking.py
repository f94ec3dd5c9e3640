"""Chunks that follow the document's sections and stay within a token budget.

Paragraphs of one section are packed together until the budget is reached; a chunk never crosses a
section boundary, so every chunk has one heading path to cite. A paragraph longer than the budget is
split at sentence boundaries by llama-index's SentenceSplitter (a sentence longer than the budget
stays whole, up to SENTENCE_STRETCH budgets); a table row never is, and the rows of
one table start a fresh chunk when the whole table would not fit in the current one. A list (its
introduction ending in a colon and its items, "1. ...", "- ...") is kept whole the same way, and may
stretch a chunk to LIST_STRETCH times the budget rather than lose its last items to the next chunk;
so is a table that fits such a chunk, with the sentence that introduces it. A chunk whose rows go on
a table begun in an earlier chunk carries the paragraph above the table as its `context`: searched
with it (lexical search, the question's period and place), not quoted as its text.

Every chunk's text begins with its section's heading (so headings are searched and quoted): the first
chunk of a section with the heading lines right above it, exactly as they stand in the document text;
later chunks with the section's own heading line. `Chunk.start`/`end` are offsets in the document
text (`sections()`): the first chunk's span includes its headings, so `full[start:end] == text`;
for a later chunk the span is its body, and `text == heading + "\\n\\n" + full[start:end]`. The
one derived text: a section's first chunk lists its subsections' headings right below its own
headings (`subsection_lists`); the headings themselves stand in the document further on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from llama_index.core.node_parser import SentenceSplitter

from ingest.document import MINUTES_PARAGRAPH, ParsedDocument
from kulturplan.chunks import Chunk, document_id
from kulturplan.language import ends_sentence, is_introduction, is_list_item
from kulturplan.region import RegionProfile, load_profile

PARAGRAPH_SEPARATOR = "\n\n"
# A section with at most this many subsections lists their headings in its first chunk (a heading
# with no text of its own: in its first subsection's), as "Fokusområden 2023–2026:\n-
# Världsarvet för alla\n- Barn och unga ...": a plan's named areas are often subsection headings, and
# "Vilka fokusområden ...?" is answered by the list, not by "Programmet har fyra fokusområden."
# More are a table of contents.
MAX_LISTED_SUBSECTIONS = 12
# A list may make its chunk this much longer than the budget: an answer needs all of its items, and
# a list of a plan's goals or areas is a few dozen tokens longer than one paragraph.
LIST_STRETCH = 2.0
# A sentence may make its chunk this much longer than the budget rather than be cut between words;
# longer "sentences" are text without full stops (a flattened table, a run of names).
SENTENCE_STRETCH = 4.0
# A paragraph of minutes ("§ 14  Fördelning av …") holds the headings that follow it at its own
# level ("Sammanfattning", "Beslut"), whichever reader found them: they nest this much below it, so
# its rows are searched and cited with what they decide on, and the next paragraph closes them.
_HELD_BY_PARAGRAPH = 0.5


@dataclass
class _Piece:
    text: str
    start: int
    page: int | None
    row: bool = False  # a table row: never split


@dataclass
class Section:
    heading_path: tuple[str, ...]
    pieces: list[_Piece] = field(default_factory=list)
    # The heading lines right above the section's first paragraph (its own heading and any headings
    # with no text of their own before it), as one piece of the document text; None at the start.
    lead: _Piece | None = None


def sections(document: ParsedDocument) -> tuple[list[Section], str]:
    """The document's sections, and its full text (which chunk offsets refer to)."""
    result: list[Section] = []
    path: list[tuple[float, str]] = []  # (level, heading) stack
    texts: list[str] = []
    offset = 0
    current = Section(())
    lead: list[_Piece] = []  # heading blocks since the last paragraph
    for block in document.blocks:
        start = offset
        texts.append(block.text)
        offset += len(block.text) + len(PARAGRAPH_SEPARATOR)
        if block.kind == "heading":
            level = _nesting_level(block.text, block.level, path)
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, block.text))
            if current.pieces:
                result.append(current)
            current = Section(tuple(heading for _, heading in path))
            lead.append(_Piece(block.text, start, block.page))
        else:
            if lead and not current.pieces:
                current.lead = _joined(lead)
            lead = []
            current.pieces.append(_Piece(block.text, start, block.page, row=block.kind == "row"))
    if current.pieces:
        result.append(current)
    if lead:  # headings at the very end, with no text below them: kept as a section of their own
        result.append(Section(tuple(heading for _, heading in path), lead=_joined(lead)))
    return result, PARAGRAPH_SEPARATOR.join(texts)


def _nesting_level(heading: str, level: float, path: list[tuple[float, str]]) -> float:
    """`heading`'s level in the path: below a paragraph of minutes of its own level, unless it is
    the next paragraph."""
    held = not MINUTES_PARAGRAPH.match(heading) and any(
        above == level and MINUTES_PARAGRAPH.match(text) for above, text in path
    )
    return level + _HELD_BY_PARAGRAPH if held else level


def subsection_lists(section: Section, found: list[Section], title: str) -> list[str]:
    """The lists of subsection headings `section`'s first chunk ends with: its own, when it has
    text of its own, and those of the headings above it that have no text of their own and stand in
    its lead ("## Fyra fokusområden" right above "### 1. Kultur i hela kommunen")."""
    path = section.heading_path
    above = [path[:k] for k in range(1, len(path))]
    paths = [p for p in above if _first_below(p, found) is section and not any(s.heading_path == p and s.pieces for s in found)]
    if section.pieces:
        paths.append(path)
    return [listed for p in paths if (listed := _subsection_list(p, found, title))]


def _below(path: tuple[str, ...], found: list[Section]) -> list[Section]:
    """The sections under the heading `path`, in document order."""
    return [s for s in found if len(s.heading_path) > len(path) and s.heading_path[: len(path)] == path]


def _first_below(path: tuple[str, ...], found: list[Section]) -> Section | None:
    return next(iter(_below(path, found)), None)


def _subsection_list(path: tuple[str, ...], found: list[Section], title: str) -> str:
    """The headings right below `path` as a list led in by its heading, or "" (the document's title
    heading, fewer than two subsections or more than MAX_LISTED_SUBSECTIONS: the sections of a whole
    document are its table of contents)."""
    if not path or path[-1] == title:
        return ""
    children = list(dict.fromkeys(s.heading_path[len(path)] for s in _below(path, found)))
    if not 2 <= len(children) <= MAX_LISTED_SUBSECTIONS:
        return ""
    return f"{path[-1]}:\n" + "\n".join(f"- {child}" for child in children)


def _joined(pieces: list[_Piece]) -> _Piece:
    return _Piece(PARAGRAPH_SEPARATOR.join(p.text for p in pieces), pieces[0].start, pieces[0].page)


def _split_long(piece: _Piece, budget: int, tokenize: Callable[[str], list]) -> list[_Piece]:
    """The piece cut at sentence boundaries into parts within the budget. A sentence longer than the
    budget stays whole (up to SENTENCE_STRETCH budgets): the splitter would cut it between words, and
    half a sentence ("… regional enskild arkivverksamhet,") answers nothing."""
    splitter = SentenceSplitter(chunk_size=budget, chunk_overlap=0, tokenizer=tokenize, separator=" ")
    spans: list[tuple[int, int]] = []  # offsets in piece.text
    cursor = 0
    for text in splitter.split_text(piece.text):
        found = piece.text.find(text[:40], cursor)
        start = found if found >= 0 else cursor
        end = start + len(text)
        previous = spans[-1] if spans else None
        if previous and _cut_within_a_sentence(piece.text[slice(*previous)], piece.text[previous[0] : end], budget, tokenize):
            spans[-1] = (previous[0], end)
        else:
            spans.append((start, end))
        cursor = end
    return [_Piece(piece.text[first:last], piece.start + first, piece.page) for first, last in spans]


def _cut_within_a_sentence(before: str, joined: str, budget: int, tokenize: Callable[[str], list]) -> bool:
    """The split left `before` without its sentence's end, and the sentence put together again is
    not so long that it cannot be one (text without full stops, such as a flattened table, is cut)."""
    return not ends_sentence(before) and len(tokenize(joined)) <= budget * SENTENCE_STRETCH


def _within_budget(piece: _Piece, budget: int, tokenize: Callable[[str], list]) -> list[_Piece]:
    if piece.row or len(tokenize(piece.text)) <= budget:
        return [piece]
    return _split_long(piece, budget, tokenize)


def _groups(section: Section, max_tokens: int, tokenize: Callable[[str], list]) -> list[tuple[list[_Piece], str]]:
    """The section's pieces packed into chunks, each with its context (`_table_introduction`); the
    budget leaves room for the heading lead-in."""
    heading = section.heading_path[-1] if section.heading_path else ""
    reserve = len(tokenize(section.lead.text)) if section.lead else len(tokenize(heading)) if heading else 0
    budget = max(max_tokens - reserve, max_tokens // 2)
    pieces = [part for whole in section.pieces for part in _within_budget(whole, budget, tokenize)]
    sizes = [len(tokenize(piece.text)) for piece in pieces]
    runs = _runs(pieces)
    # Pieces after a list's first one may stretch the chunk rather than start a new one; so may a
    # table's, when the whole table fits the stretched chunk (a longer one fills chunk after chunk).
    in_list = {
        i
        for start, (end, is_list) in runs.items()
        if is_list or sum(sizes[start:end]) <= budget * LIST_STRETCH
        for i in range(start + 1, end)
    }
    firsts: list[int] = []  # the index of each group's first piece
    groups: list[list[_Piece]] = []
    current: list[_Piece] = []
    used = 0
    for index, (piece, size) in enumerate(zip(pieces, sizes)):
        run_end, is_list = runs.get(index, (None, False))
        if run_end is not None and current:
            # The rows of one table, or one list, stay together: one that would not fit after the
            # text before it starts a chunk of its own (and a table fills it before the next one).
            whole = sum(sizes[index:run_end])
            if used + whole > budget:
                groups.append(current)
                current, used = [], 0
        limit = budget * LIST_STRETCH if index in in_list else budget
        if current and used + size > limit:
            groups.append(current)
            current, used = [], 0
        if not current:
            firsts.append(index)
        current.append(piece)
        used += size
    if current:
        groups.append(current)
    return [(group, _table_introduction(pieces, runs, first)) for group, first in zip(groups, firsts)]


def _table_introduction(pieces: list[_Piece], runs: dict[int, tuple[int, bool]], first: int) -> str:
    """The paragraph right before the table whose rows begin a chunk at `first` (its introduction,
    as a plan writes it), when it stands in an earlier chunk ("" otherwise): a table split over
    chunks, or one too long to join the text before it, would leave its rows without what they
    count and when. Only its last piece, when the paragraph was longer than a chunk."""
    if not pieces[first].row:
        return ""
    start = max((s for s, (end, _) in runs.items() if s <= first < end), default=first)
    intro = start if not pieces[start].row else start - 1
    if intro < 0 or pieces[intro].row or is_list_item(pieces[intro].text):
        return ""
    return pieces[intro].text


def _runs(pieces: list[_Piece]) -> dict[int, tuple[int, bool]]:
    """Where a table or a list begins: its first piece's index -> (index after its end, is a list).
    An introduction (a paragraph ending in a colon right before the first item or row) begins it:
    "Meröppna bibliotek fanns på fem orter:" belongs with the rows that name them."""
    runs: dict[int, tuple[int, bool]] = {}
    index = 0
    while index < len(pieces):
        first = index + 1 if _introduces(pieces, index) else index
        kind = _run_kind(pieces[first]) if first < len(pieces) else ""
        if not kind:
            index += 1
            continue
        end = first
        while end < len(pieces) and _run_kind(pieces[end]) == kind:
            end += 1
        runs[index] = (end, kind == "item")
        index = end
    return runs


def _run_kind(piece: _Piece) -> str:
    return "row" if piece.row else "item" if is_list_item(piece.text) else ""


def _introduces(pieces: list[_Piece], index: int) -> bool:
    piece = pieces[index]
    return not piece.row and is_introduction(piece.text) and index + 1 < len(pieces) and bool(_run_kind(pieces[index + 1]))


def chunk_document(
    document: ParsedDocument,
    source: str,
    doc_hash: str,
    max_tokens: int,
    tokenize: Callable[[str], list],
    profile: RegionProfile | None = None,
) -> list[Chunk]:
    profile = profile or load_profile()
    spans: list[tuple[tuple[str, ...], str, int, int, list[_Piece], str]] = []  # path, text, start, end, pieces, context
    found = sections(document)[0]
    for section in found:
        heading = section.heading_path[-1] if section.heading_path else ""
        if not section.pieces and section.lead:  # trailing headings: their own chunk
            lead = section.lead
            spans.append((section.heading_path, lead.text, lead.start, lead.start + len(lead.text), [lead], ""))
            continue
        for number, (pieces, context) in enumerate(_groups(section, max_tokens, tokenize)):
            body = PARAGRAPH_SEPARATOR.join(p.text for p in pieces)
            start, end = pieces[0].start, pieces[-1].start + len(pieces[-1].text)
            # The subsection lists stand right below the headings, before the body: a body that goes
            # on in the next chunk (a long list, a table) is not cut off from its rest by them.
            lists = subsection_lists(section, found, document.title) if number == 0 else []
            if number == 0 and section.lead:
                text, start = PARAGRAPH_SEPARATOR.join([section.lead.text, *lists, body]), section.lead.start
            elif heading and not body.startswith(heading):
                text = PARAGRAPH_SEPARATOR.join([heading, *lists, body])
            else:
                text = PARAGRAPH_SEPARATOR.join([*lists, body])
            spans.append((section.heading_path, text, start, end, pieces, context))

    doc_id = document_id(source)
    chunks = []
    for position, (heading_path, text, start, end, pieces, context) in enumerate(spans):
        pages = [p.page for p in pieces if p.page is not None]
        chunk = Chunk(
            doc_id=doc_id,
            source=source,
            title=document.title,
            format=document.format,
            position=position,
            text=text,
            heading_path=heading_path,
            start=start,
            end=end,
            page=pages[0] if pages else None,
            page_end=pages[-1] if pages else None,
            doc_hash=doc_hash,
            doc_chunks=len(spans),
            doc_pages=document.pages,
            context=context,
        )
        searchable = chunk.searchable_text
        chunks.append(
            replace(chunk, municipalities=profile.find_municipalities(searchable), region_wide=profile.is_region_wide(searchable))
        )
    return chunks
