"""Chunks that follow the document's sections and stay within a token budget.

Paragraphs of one section are packed together until the budget is reached; a chunk never crosses a
section boundary, so every chunk has one heading path to cite. A paragraph longer than the budget is
split at sentence boundaries by llama-index's SentenceSplitter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from llama_index.core.node_parser import SentenceSplitter

from ingest.document import ParsedDocument
from kulturplan.chunks import Chunk, document_id
from kulturplan.region import RegionProfile, load_profile

PARAGRAPH_SEPARATOR = "\n\n"


@dataclass
class _Piece:
    text: str
    start: int
    page: int | None


@dataclass
class Section:
    heading_path: tuple[str, ...]
    pieces: list[_Piece] = field(default_factory=list)


def sections(document: ParsedDocument) -> tuple[list[Section], str]:
    """The document's sections, and its full text (which chunk offsets refer to)."""
    result: list[Section] = []
    path: list[tuple[int, str]] = []  # (level, heading) stack
    texts: list[str] = []
    offset = 0
    current = Section(())
    for block in document.blocks:
        start = offset
        texts.append(block.text)
        offset += len(block.text) + len(PARAGRAPH_SEPARATOR)
        if block.kind == "heading":
            while path and path[-1][0] >= block.level:
                path.pop()
            path.append((block.level, block.text))
            if current.pieces:
                result.append(current)
            current = Section(tuple(heading for _, heading in path))
        else:
            current.pieces.append(_Piece(block.text, start, block.page))
    if current.pieces:
        result.append(current)
    return result, PARAGRAPH_SEPARATOR.join(texts)


def _split_long(piece: _Piece, budget: int, tokenize: Callable[[str], list]) -> list[_Piece]:
    splitter = SentenceSplitter(chunk_size=budget, chunk_overlap=0, tokenizer=tokenize, separator=" ")
    parts, cursor = [], piece.start
    for text in splitter.split_text(piece.text):
        found = piece.text.find(text[:40], max(0, cursor - piece.start))
        start = piece.start + found if found >= 0 else cursor
        parts.append(_Piece(text, start, piece.page))
        cursor = start + len(text)
    return parts


def _within_budget(piece: _Piece, budget: int, tokenize: Callable[[str], list]) -> list[_Piece]:
    return _split_long(piece, budget, tokenize) if len(tokenize(piece.text)) > budget else [piece]


def chunk_document(
    document: ParsedDocument,
    source: str,
    doc_hash: str,
    max_tokens: int,
    tokenize: Callable[[str], list],
    profile: RegionProfile | None = None,
) -> list[Chunk]:
    profile = profile or load_profile()
    groups: list[tuple[tuple[str, ...], list[_Piece]]] = []
    for section in sections(document)[0]:
        current: list[_Piece] = []
        used = 0
        for whole in section.pieces:
            for piece in _within_budget(whole, max_tokens, tokenize):
                size = len(tokenize(piece.text))
                if current and used + size > max_tokens:
                    groups.append((section.heading_path, current))
                    current, used = [], 0
                current.append(piece)
                used += size
        if current:
            groups.append((section.heading_path, current))

    doc_id = document_id(source)
    chunks = []
    for position, (heading_path, pieces) in enumerate(groups):
        text = PARAGRAPH_SEPARATOR.join(p.text for p in pieces)
        pages = [p.page for p in pieces if p.page is not None]
        searchable = " ".join((*heading_path, text))
        chunks.append(
            Chunk(
                doc_id=doc_id,
                source=source,
                title=document.title,
                format=document.format,
                position=position,
                text=text,
                heading_path=heading_path,
                start=pieces[0].start,
                end=pieces[-1].start + len(pieces[-1].text),
                page=pages[0] if pages else None,
                page_end=pages[-1] if pages else None,
                municipalities=profile.find_municipalities(searchable),
                region_wide=profile.is_region_wide(searchable),
                doc_hash=doc_hash,
                doc_chunks=len(groups),
                doc_pages=document.pages,
            )
        )
    return chunks
