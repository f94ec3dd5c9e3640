"""The plan's commitments (åtaganden) as data: the `Commitment` record, its areas and their store.

Commitments are extracted at ingest time (`ingest.commitments`) from the indexed chunks and kept in
a small SQLite file derived from Chroma (the single source of truth), or in the shared database of
the `database_url` setting; the assistant and the chat only read them from here.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import Column, Index, Integer, MetaData, Table, Text, delete, func, insert, select

from kulturplan.csvsafe import neutralise_formula
from kulturplan.database import Database, redacted

if TYPE_CHECKING:
    from kulturplan.config import Settings
    from kulturplan.region import RegionProfile


@dataclass(frozen=True)
class Commitment:
    id: str
    doc_id: str
    chunk_id: str
    source: str
    title: str
    section: str
    page: int | None
    sentence: str  # verbatim from the passage
    actors: tuple[str, ...]
    areas: tuple[str, ...]
    municipalities: tuple[str, ...]  # canonical municipality names and/or the profile's region-wide label
    kind: str
    region_wide: bool = False  # concerns the whole county

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("actors", "areas", "municipalities"):
            data[key] = list(data[key])
        return data


# --- areas --------------------------------------------------------------------------------------------
# (area, pattern) on the lower-cased sentence with organisation names blanked out, so that
# "Musik i Blekinge samordnar Kultur i vården" is about care, not music.
_AREAS: list[tuple[str, re.Pattern[str]]] = [
    (area, re.compile(pattern))
    for area, pattern in [
        ("musik", r"\bmusik\w*|\bkonsert\w*|\borkester\w*|\bkörsång\w*"),
        ("dans", r"\bdans(?!k)\w*"),
        ("teater", r"\bteater\w*|\w+teatern\b"),
        ("litteratur", r"\blitter\w*|\bförfattar\w*|\bläsfrämj\w*|\bberättar\w*|\bpoesi\w*"),
        ("film", r"\bfilm\w*|\bbiograf\w*"),
        ("bibliotek", r"\w*bibliotek\w*"),
        (
            "kulturarv",
            r"\bkulturarv\w*|\w*muse(?:um|et|ets|er|erna|ernas)\b|\barkeolog\w*|\bvärldsarv\w*|\bhistori\w*"
            r"|\butgrävning\w*|\bfornminne\w*|\barkiv\w*|\bhembygd\w*",
        ),
        ("bildkonst", r"\bbildkonst\w*|\bkonst(?:hall|resurs|verk|museum|centrum|förening)\w*|\bkonsten?\b"),
        (
            "barn och unga",
            r"\bbarn(?:en|ens)?\b|\bunga\b|\bungdom\w*|\bskol(?:a|an|or|orna)\b|\belev(?:er|erna)?\b"
            r"|\bkulturskol\w*|\bförskol\w*",
        ),
        ("vård och omsorg", r"\bvård(?:en|s)?\b|\bomsorg\w*|\bäldreomsorg\w*|\bhälsa\b|\bsjukhus\w*"),
        ("kulturskapare", r"\bkulturskapar\w*|\bkonstnär(?:er|erna|s)?\b|\bfrilans\w*"),
        ("slöjd", r"\bslöjd\w*|\bhemslöjd\w*|\bhantverk\w*"),
    ]
]


def find_areas(text: str) -> tuple[str, ...]:
    lowered = text.lower()
    return tuple(area for area, pattern in _AREAS if pattern.search(lowered))


# --- the store ---------------------------------------------------------------------------------------
# Derived data: a schema change renames the tables (v2 added region_wide) and the next sync refills them.
_METADATA = MetaData()
_DOCUMENTS = Table(
    "documents_v2", _METADATA, Column("doc_id", Text, primary_key=True), Column("fingerprint", Text, nullable=False)
)
_TABLE = Table(
    "commitments_v2",
    _METADATA,
    Column("id", Text, primary_key=True),
    Column("doc_id", Text, nullable=False),
    Column("ord", Integer, nullable=False),
    *(Column(name, Text, nullable=False) for name in ("chunk_id", "source", "title", "section")),
    Column("page", Integer),
    *(Column(name, Text, nullable=False) for name in ("sentence", "actors", "areas", "municipalities", "kind")),
    Column("region_wide", Integer, nullable=False, server_default="0"),
    Index("commitments_v2_doc", "doc_id"),
)
_COLUMNS = ("id", "doc_id", "chunk_id", "source", "title", "section", "page", "sentence", "actors",
            "areas", "municipalities", "kind", "region_wide")  # fmt: skip
_LISTS = ("actors", "areas", "municipalities")
_PAGE = 500  # ids per DELETE … IN (…), well below SQLite's limit on parameters


class CommitmentStore:
    """Commitments per document, with the fingerprint of the chunks they were extracted from; in a
    SQLite file at `path`, or in the database at `url` (the `database_url` setting; `path` is then None)."""

    def __init__(self, path: Path | None = None, profile: "RegionProfile | None" = None, *, url: str = ""):
        self.db = Database("commitments", _METADATA, url=url, path=path)
        self.path = self.db.path
        self.profile = profile
        self.db.check()

    @classmethod
    def open(cls, settings: "Settings") -> "CommitmentStore":
        return cls(settings.commitments_path, settings.profile, url=settings.database_url)

    @property
    def where(self) -> str:
        return self.db.where

    # --- writing ---------------------------------------------------------------------------------
    def replace_document(self, doc_id: str, commitments: Sequence[Commitment], fingerprint: str = "") -> None:
        # One transaction: a document's rows and fingerprint change together. As INSERT OR REPLACE
        # did, a repeated id keeps its last row and a row of that id elsewhere is replaced.
        rows = {c.id: {"ord": order, **_row(c)} for order, c in enumerate(commitments)}
        ids = list(rows)
        with self.db.transaction(write=True) as connection:
            connection.execute(delete(_TABLE).where(_TABLE.c.doc_id == doc_id))
            for start in range(0, len(ids), _PAGE):
                connection.execute(delete(_TABLE).where(_TABLE.c.id.in_(ids[start : start + _PAGE])))
            if rows:
                connection.execute(insert(_TABLE), list(rows.values()))
            connection.execute(delete(_DOCUMENTS).where(_DOCUMENTS.c.doc_id == doc_id))
            connection.execute(insert(_DOCUMENTS).values(doc_id=doc_id, fingerprint=fingerprint))

    def remove_documents(self, doc_ids: Iterable[str]) -> None:
        ids = list(doc_ids)
        with self.db.transaction(write=True) as connection:
            for start in range(0, len(ids), _PAGE):
                page = ids[start : start + _PAGE]
                connection.execute(delete(_TABLE).where(_TABLE.c.doc_id.in_(page)))
                connection.execute(delete(_DOCUMENTS).where(_DOCUMENTS.c.doc_id.in_(page)))

    # --- reading ---------------------------------------------------------------------------------
    def fingerprints(self) -> dict[str, str]:
        with self.db.transaction() as connection:
            return {doc_id: value for doc_id, value in connection.execute(select(*_DOCUMENTS.c))}

    def all(self) -> list[Commitment]:
        """Every commitment, by source and then in the order of its document."""
        with self.db.transaction() as connection:
            rows = connection.execute(select(*(_TABLE.c[name] for name in _COLUMNS), _TABLE.c.ord)).all()
        # Sorted here, not by the database: code-point order, the same in SQLite and PostgreSQL
        # (whose text order follows the server's locale).
        return [_commitment(row[:-1]) for row in sorted(rows, key=lambda row: (row.source, row.ord))]

    def query(
        self,
        actor: str | None = None,
        area: str | None = None,
        municipality: str | None = None,
        text: str | None = None,
        include_region_wide: bool = False,
    ) -> list[Commitment]:
        """Commitments matching every filter given. `actor` and `text` match case-insensitively
        anywhere; `area` matches an area name or its start ("barn" finds "barn och unga");
        `municipality` ("Ronneby", "ronnebys", or "hela Blekinge") finds the commitments naming it,
        and with `include_region_wide` also those that concern the whole county."""
        wanted = self._wanted_places(municipality, include_region_wide) if municipality else None
        result = []
        for c in self.all():
            if actor and not any(actor.casefold().strip() in a.casefold() for a in c.actors):
                continue
            if area and not any(_area_matches(area, a) for a in c.areas):
                continue
            if wanted is not None and not (wanted.places & set(c.municipalities) or (wanted.region_wide and c.region_wide)):
                continue
            if text and text.casefold().strip() not in c.sentence.casefold():
                continue
            result.append(c)
        return result

    def _wanted_places(self, municipality: str, include_region_wide: bool) -> _Wanted:
        """A municipality ("Ronneby", "ronnebys") or the whole region ("hela Blekinge", "regionen")."""
        written = municipality.strip()
        if self.profile is not None:
            if written.casefold() == self.profile.region_wide_label.casefold() or (
                self.profile.names_whole_region(written) and not self.profile.find_municipalities(written)
            ):
                return _Wanted(set(), True)
            named = set(self.profile.find_municipalities(written))
        else:
            named = set()
        return _Wanted(named or {written}, include_region_wide)

    def actors(self) -> list[str]:
        return sorted({a for c in self.all() for a in c.actors}, key=str.casefold)

    def areas(self) -> list[str]:
        return sorted({a for c in self.all() for a in c.areas})

    def count(self) -> int:
        with self.db.transaction() as connection:
            return int(connection.execute(select(func.count()).select_from(_TABLE)).scalar_one())


def location(settings: "Settings") -> str:
    """Where the commitments of `settings` are kept, for messages (a URL's password hidden)."""
    return redacted(settings.database_url) if settings.database_url else str(settings.commitments_path)


def _row(c: Commitment) -> dict[str, Any]:
    return {
        k: json.dumps(list(getattr(c, k)), ensure_ascii=False) if k in _LISTS else
        int(c.region_wide) if k == "region_wide" else getattr(c, k) for k in _COLUMNS
    }  # fmt: skip


def _commitment(row: Sequence[Any]) -> Commitment:
    values = dict(zip(_COLUMNS, row))
    for key in _LISTS:
        values[key] = tuple(json.loads(values[key]))
    values["region_wide"] = bool(values["region_wide"])
    return Commitment(**values)


def _area_matches(query: str, area: str) -> bool:
    query = query.casefold().strip()
    return bool(query) and (area == query or area.startswith(query) or query.startswith(area))


@dataclass(frozen=True)
class _Wanted:
    places: set[str]
    region_wide: bool




# --- presenting -----------------------------------------------------------------------------------------
# The one CSV of commitments (the CLI's --format csv and the chat's download): for Excel with Swedish
# settings, ";" between fields (the comma is the decimal sign there); every cell formula-safe.
CSV_COLUMNS = ("aktör", "område", "kommun", "åtagande", "källa", "avsnitt", "sida")
CSV_DELIMITER = ";"


def places(commitment: Commitment, region_wide_label: str) -> str:
    """"Ronneby, Karlshamn", "hela Blekinge", or both: where the commitment applies."""
    named = [m for m in commitment.municipalities if m != region_wide_label]
    return ", ".join(named + ([region_wide_label] if commitment.region_wide or not named else []))


def source_label(commitment: Commitment) -> str:
    """"Titel · Avsnitt, s. 3": the passage a commitment was taken from."""
    title = commitment.title or commitment.source
    where = title + (f" · {commitment.section}" if commitment.section and commitment.section != title else "")
    return where + (f", s. {commitment.page}" if commitment.page else "")


def write_csv(handle: IO[str], commitments: Iterable[Commitment], region_wide_label: str) -> None:
    writer = csv.writer(handle, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for c in commitments:
        row = (", ".join(c.actors), ", ".join(c.areas), places(c, region_wide_label), c.sentence,
               c.title or c.source, c.section, c.page or "")  # fmt: skip
        writer.writerow([neutralise_formula(value) for value in row])
