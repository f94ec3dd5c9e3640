"""What a reader produces: a document as a sequence of headings and paragraphs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


class UnreadableDocument(Exception):
    """A file that cannot be ingested; the message is the reason, shown next to the file name."""


@dataclass(frozen=True)
class Block:
    text: str
    kind: Literal["heading", "paragraph"] = "paragraph"
    level: int = 1  # heading level, 1 = top section
    page: int | None = None


@dataclass
class ParsedDocument:
    title: str
    format: str
    blocks: list[Block] = field(default_factory=list)
    pages: int | None = None

    @property
    def has_text(self) -> bool:
        return any(block.kind == "paragraph" and block.text.strip() for block in self.blocks)
