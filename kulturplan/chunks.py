"""The unit stored in the index: a passage of a document with everything needed to cite it."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from kulturplan.region import metadata_key

HEADING_SEPARATOR = " > "
# A plan period is at most this many years; a longer "span" is two unrelated years.
MAX_PERIOD_YEARS = 12
_YEAR = r"(?:19|20)\d\d"
_PERIOD = re.compile(
    rf"(?<!\d)(?:(?P<date>{_YEAR})-[01]\d-[0-3]\d"  # 2024-03-14
    rf"|(?P<start>{_YEAR})\s*[–—\-_/]\s*(?P<end>{_YEAR}|\d\d)"  # 2024–2027, 2024-2027, 2024_2027, 2024–27
    rf"|(?P<year>{_YEAR}))(?!\d|-?tal)"  # 2023, not a decade or century ("1900-talet")
)


def content_hash(*parts: object) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(str(part).encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()


def document_id(source: str) -> str:
    """Stable id of a document: derived from its path relative to the ingested folder."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def period_label(start: int | None, end: int | None) -> str:
    """"2024–2027", "2024" or "" (unknown)."""
    if start is None:
        return ""
    if end is None or end == start:
        return str(start)
    return f"{start}–{end}"


def periods_in(text: str) -> list[tuple[str, int, int]]:
    """The times `text` names, in order, as (kind, first year, last year): kind "span" for a period
    ("2024–2027", "2024-2027", "2024_2027", "2024–27"), "date" ("2024-03-14") or "year" ("2023")."""
    found: list[tuple[str, int, int]] = []
    for match in _PERIOD.finditer(text):
        if match["date"]:
            found.append(("date", int(match["date"]), int(match["date"])))
        elif match["start"]:
            start, end = int(match["start"]), match["end"]
            last = int(end) if len(end) == 4 else start // 100 * 100 + int(end)
            if 0 < last - start <= MAX_PERIOD_YEARS:
                found.append(("span", start, last))
            else:  # "2019-2018", "2024-03": not a period
                found.append(("year", start, start))
        else:
            found.append(("year", int(match["year"]), int(match["year"])))
    return found


@dataclass(frozen=True)
class Chunk:
    doc_id: str
    source: str  # file name (relative path below the ingested folder)
    title: str  # document title
    format: str  # txt, md, html, pdf, docx
    position: int  # index of the chunk in its document
    text: str
    heading_path: tuple[str, ...]
    start: int  # character offsets in the document's extracted text
    end: int
    page: int | None = None  # first page (PDF)
    page_end: int | None = None
    municipalities: tuple[str, ...] = ()
    region_wide: bool = False
    doc_hash: str = ""  # hash of the file's bytes and the pipeline version
    doc_chunks: int = 0  # how many chunks the document has; lets a re-run spot a partial document
    doc_pages: int | None = None
    # The document's scope (ingest/scope.py): the region it is about ("" = unknown) and the years it
    # covers (a plan period, or one year for minutes and reports; None = unknown). Not in `hash`.
    region: str = ""
    period_start: int | None = None
    period_end: int | None = None
    # The paragraph that introduces the table this chunk's rows belong to, when that paragraph stands
    # in an earlier chunk: what the rows count and when ("Region Blekinge genomförde hösten 2022 en
    # kulturvaneundersökning ..."). Searched with the chunk, not quoted as its text. Not in `hash`.
    context: str = ""

    @property
    def hash(self) -> str:
        return content_hash(self.title, self.heading_path, self.page, self.text)

    @property
    def id(self) -> str:
        return f"{self.doc_id}-{self.position:04d}-{self.hash[:12]}"

    @staticmethod
    def place_of(chunk_id: str) -> tuple[str, int]:
        """The document id and position a chunk's `id` begins with."""
        doc_id, position, _ = chunk_id.rsplit("-", 2)
        return doc_id, int(position)

    @property
    def section(self) -> str:
        return HEADING_SEPARATOR.join(self.heading_path)

    @property
    def searchable_text(self) -> str:
        """What lexical search sees: the section headings, the table's introduction and the passage."""
        return " ".join((*self.heading_path, *([self.context] if self.context else []), self.text))

    @property
    def embedding_title(self) -> str:
        """The title given to the embedding model: the document and the section it sits in."""
        path = [part for part in self.heading_path if part != self.title]
        return HEADING_SEPARATOR.join([self.title, *path]) if self.title else self.section or "none"

    def to_metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "doc_id": self.doc_id,
            "source": self.source,
            "title": self.title,
            "format": self.format,
            "position": self.position,
            "section": self.section,
            "start": self.start,
            "end": self.end,
            "municipalities": ",".join(self.municipalities),
            "region_wide": self.region_wide,
            "doc_hash": self.doc_hash,
            "doc_chunks": self.doc_chunks,
            "chunk_hash": self.hash,
            "region": self.region,
        }
        if self.context:
            metadata["context"] = self.context
        # One filterable flag per municipality the passage names; the keys come from the names,
        # so any region profile's municipalities work without a schema.
        for name in self.municipalities:
            metadata[metadata_key(name)] = True
        # Chroma metadata cannot hold None: absent keys mean "no page" / "no period".
        for key in ("page", "page_end", "doc_pages", "period_start", "period_end"):
            if getattr(self, key) is not None:
                metadata[key] = getattr(self, key)
        return metadata

    @classmethod
    def from_metadata(cls, text: str, metadata: dict[str, Any]) -> "Chunk":
        section = metadata.get("section", "")
        municipalities = metadata.get("municipalities", "")
        return cls(
            doc_id=metadata["doc_id"],
            source=metadata["source"],
            title=metadata.get("title", ""),
            format=metadata.get("format", ""),
            position=int(metadata.get("position", 0)),
            text=text,
            heading_path=tuple(section.split(HEADING_SEPARATOR)) if section else (),
            start=int(metadata.get("start", 0)),
            end=int(metadata.get("end", 0)),
            page=metadata.get("page"),
            page_end=metadata.get("page_end"),
            municipalities=tuple(municipalities.split(",")) if municipalities else (),
            region_wide=bool(metadata.get("region_wide", False)),
            doc_hash=metadata.get("doc_hash", ""),
            doc_chunks=int(metadata.get("doc_chunks", 0)),
            doc_pages=metadata.get("doc_pages"),
            region=metadata.get("region", ""),
            period_start=_optional_int(metadata.get("period_start")),
            period_end=_optional_int(metadata.get("period_end")),
            context=metadata.get("context", ""),
        )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
