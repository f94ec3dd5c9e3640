"""A document's scope, found at ingest: the region it is about and the period (years) it covers.

A region's folder holds more than its current plan: the previous period's plan, follow-up reports,
action plans, municipal programmes, minutes, and other regions' plans that share institutions and
vocabulary but carry other numbers. Retrieval (assistant/scope.py) uses the scope stored on every
chunk to prefer the region and period a question is about.

Region: the first region (or municipality of the profile's region) named in the title, else in the
file name, else the one the opening text names most often; another region than the profile's only
when named at least twice and more often than all others together (a national text saying "alla
regioner utom Region Stockholm" is not Stockholm's). Other regions' names come from the profile (`other_regions`); a municipality of the
profile counts as the profile's own region.

Period: the first year span ("2024–2027", "2024_2027") in the title, failing that a date
("2024-03-14") or a single year ("... 2023": minutes and reports cover one year); else the same in
the file name; else the span or date of the opening text when it names one period only (an opening
telling of several plan periods is a document about all of them). Single years of the opening text
are not used: they are mostly statistics ("år 2022 hade ..."), not the document's own time.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePosixPath

from kulturplan.chunks import Chunk, period_label, periods_in
from kulturplan.region import RegionProfile

# How much of the document's text counts as its opening (cover, title page, introduction).
OPENING_CHARS = 3000


@dataclass(frozen=True)
class Scope:
    region: str = ""  # "" = unknown
    municipality: str = ""  # set when the document is one of the region's municipalities'
    period_start: int | None = None
    period_end: int | None = None

    @property
    def period(self) -> str:
        return period_label(self.period_start, self.period_end)


def opening_text(document, chars: int = OPENING_CHARS) -> str:
    """The first `chars` characters of a parsed document's text (headings and paragraphs)."""
    parts: list[str] = []
    size = 0
    for block in getattr(document, "blocks", ()):
        parts.append(block.text)
        size += len(block.text) + 1
        if size >= chars:
            break
    return "\n".join(parts)[:chars]


def _file_stem(source: str) -> str:
    """The file name without folder and extension: "docs/kulturplan_kalmar_lan_2023_2026.docx" ->
    "kulturplan_kalmar_lan_2023_2026" (region names and periods are found across "_")."""
    return PurePosixPath(source).name.rsplit(".", 1)[0]


def detect_region(title: str, source: str, opening: str, profile: RegionProfile) -> tuple[str, str]:
    """(region, municipality) of a document; ("", "") when none is named."""
    for text in (title, _file_stem(source)):
        mentions = profile.region_mentions(text)
        if mentions:
            _, region, municipality = mentions[0]
            return region, municipality
    mentions = profile.region_mentions(opening)
    if not mentions:
        return "", ""
    counts = Counter(region for _, region, _ in mentions)
    first_seen = {}
    for offset, region, _ in mentions:
        first_seen.setdefault(region, offset)
    region = max(counts, key=lambda r: (counts[r], -first_seen[r]))
    others = sum(counts.values()) - counts[region]
    if region != profile.region and (counts[region] < 2 or counts[region] <= others):
        # Passing mentions of another region: a document wrongly taken for another region's would
        # lose every question about its own, so another region needs a clear majority.
        return "", ""
    # A municipal document: its region is named only through one municipality.
    named = {m for _, r, m in mentions if r == region}
    return region, (named.pop() if len(named) == 1 else "")


def detect_period(title: str, source: str, opening: str) -> tuple[int | None, int | None]:
    """(first year, last year) of a document; (None, None) when none is named. The title decides
    before the file name, and the file name before the opening; within one, a span before a date
    before a single year (single years only in the title and the file name)."""
    for text, kinds in ((title, _ANY), (_file_stem(source), _ANY)):
        periods = periods_in(text)
        for kind in kinds:
            found = [p for p in periods if p[0] == kind]
            if found:
                return found[0][1], found[0][2]
    for kind in ("span", "date"):
        found = list(dict.fromkeys((start, end) for k, start, end in periods_in(opening) if k == kind))
        if len(found) == 1:
            return found[0]
        if found:
            return None, None  # several periods: the document's sections say which is which
    return None, None


_ANY = ("span", "date", "year")


def detect_scope(title: str, source: str, opening: str, profile: RegionProfile) -> Scope:
    region, municipality = detect_region(title, source, opening, profile)
    start, end = detect_period(title, source, opening)
    return Scope(region=region, municipality=municipality, period_start=start, period_end=end)


def document_scope(document, source: str, profile: RegionProfile) -> Scope:
    """The scope of a parsed document (ingest.document.ParsedDocument) stored under `source`."""
    return detect_scope(getattr(document, "title", "") or "", source, opening_text(document), profile)


def with_scope(chunks: list[Chunk], scope: Scope) -> list[Chunk]:
    """The chunks carrying the document's scope; their ids do not change (the scope is not hashed).
    A section's own period ("Kulturplanen 2026–2029") is not given to its chunks: the scope's current
    period is read off the chunks' periods, and a summary of the next plan in a history document
    would make that plan current and demote the plan in force. The heading is in the chunk's text,
    so a question naming the period finds the section by its words.

    A municipality's own document (its programme, its committee's minutes) is about that
    municipality in every passage, also where a table row or a paragraph does not repeat its name:
    its chunks are the municipality's, so a question naming it finds them among its passages."""
    return [
        dataclasses.replace(
            chunk,
            region=scope.region,
            period_start=scope.period_start,
            period_end=scope.period_end,
            municipalities=_with_name(chunk.municipalities, scope.municipality),
        )
        for chunk in chunks
    ]


def _with_name(names: tuple[str, ...], name: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*names, name))) if name else names
