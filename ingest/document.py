"""What a reader produces: a document as a sequence of headings, paragraphs and table rows."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

# A paragraph of minutes ("§ 14  Fördelning av …"): a heading, whichever reader finds it, that holds
# the headings of its own level after it ("Sammanfattning", "Beslut"; see ingest.chunking).
MINUTES_PARAGRAPH = re.compile(r"^§\s*\d+")


class UnreadableDocument(Exception):
    """A file that cannot be ingested; the message is the reason, shown next to the file name."""


@dataclass(frozen=True)
class Block:
    text: str
    # "row": one table row, its cells named by their column headers (see `ingest.tables`); chunking
    # never splits a row and keeps the rows of one table together where the budget allows.
    kind: Literal["heading", "paragraph", "row"] = "paragraph"
    level: int = 1  # heading level, 1 = top section
    page: int | None = None


@dataclass
class ParsedDocument:
    title: str
    format: str
    blocks: list[Block] = field(default_factory=list)
    pages: int | None = None
    # What the reader left out on purpose, one line each: page chrome (running headers and footers,
    # page numbers) and web boilerplate. Everything else that was read is in `blocks` or `title`.
    dropped: list[str] = field(default_factory=list)

    @property
    def has_text(self) -> bool:
        return any(block.kind != "heading" and block.text.strip() for block in self.blocks)
