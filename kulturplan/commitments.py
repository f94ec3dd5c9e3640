"""The plan's commitments (åtaganden): who is responsible for what, where, found without an LLM.

A commitment is one sentence of an indexed passage that states an obligation, a responsibility, a
task, funding, a plan or a standing resource ("X ska ...", "X ansvarar för ...", "X samordnar ...",
"X finns som resurs ..."). Extraction is rule based: Swedish trigger phrases decide whether a
sentence is a commitment; organisation names are found in the text itself (capitalised multi-word
names anchored on a place or an organisation word), generic actors ("kommunerna", "föreningar") by
phrase; areas by keyword stems; municipalities with `kulturplan.municipalities`.

The commitments live in a small SQLite file derived from Chroma (the single source of truth):
`sync` compares a per-document fingerprint of the chunk ids and re-extracts only what changed.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bm25s.stopwords import STOPWORDS_SWEDISH

from assistant.text import split_sentences
from kulturplan.chunks import Chunk, content_hash
from kulturplan.municipalities import MUNICIPALITIES, find_municipalities, is_region_wide

if TYPE_CHECKING:
    from kulturplan.config import Settings
    from kulturplan.store import ChunkStore

# Bump when the rules below change: every document's commitments are then extracted again.
EXTRACTOR_VERSION = "1"
REGION_WIDE = "hela Blekinge"


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
    municipalities: tuple[str, ...]  # canonical municipality names and/or REGION_WIDE
    kind: str

    @property
    def region_wide(self) -> bool:
        return REGION_WIDE in self.municipalities

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("actors", "areas", "municipalities"):
            data[key] = list(data[key])
        return data


# --- commitment triggers --------------------------------------------------------------------------
# (kind, pattern), in priority order: a sentence's kind is that of the first pattern that matches.
# Matched on the lower-cased sentence (with glued words split apart, see `_repair`).
_TRIGGERS: list[tuple[str, re.Pattern[str]]] = [
    (kind, re.compile(pattern))
    for kind, pattern in [
        # "ansvarar för", "ansvarade för", "är ansvarig för", "ansvaret för", "ett särskilt ansvar att".
        ("ansvar", r"\bansvar(?:ar|ade|at|a)?\s+(?:för|att)\b|\bansvarig(?:a)?\s+för\b|\bansvaret\s+(?:för|att)\b"),
        # An explicit task: "har i uppdrag att", "uppdraget är", "har till uppgift att", "ges i uppdrag".
        ("uppdrag", r"\bi\s+uppdrag(?:et)?\b|\buppdrag(?:et)?\s+(?:att|är|omfattar|ingår)\b|\b(?:till|som)\s+uppgift\b"),
        # Future obligations and plans: modal "ska/skall", "kommer att", "avser/planerar att".
        ("plan", r"\bska(?:ll)?\b|\bkommer\s+att\b|\b(?:avser|planerar)\s+att\b|\bsatsa(?:r|s)\s+på\b"),
        # "möjliggör", "möjliggörs", "har möjliggjort": an actor makes an offer possible; so do
        # "stöder/stödjer" and "initierar" (support that is not stated as money).
        ("möjliggör", r"\bmöjliggö(?:r|rs)\b|\bmöjliggjor(?:t|de)\b|\bstöd(?:er|jer)\b|\binitierar\b"),
        # Present tense only ("samordnar", "samordnas"): the infinitive "att samordna" in a general
        # statement about what regions are for is no commitment.
        ("samordning", r"\bsamordn(?:ar|as|ade|are)\b|\bsamverkar\s+med\b"),
        # A standing resource: "finns som resurs", "är en (regional) resurs", "är tillgänglig som resurs".
        ("resurs", r"\b(?:finns|är|fungerar|blir)\b[^.;:]{0,40}?\bresurs(?:er)?\b"),
        # Funding in the present ("finansieras", "samfinansierar"; the participle "finansierade"
        # describes rather than commits), "fördelar ... medel/stöd", "bidrar med ... miljoner".
        (
            "finansiering",
            r"\b(?:sam|med)?finansier(?:ar|as)\b|\bfördela(?:r|s)\b[^.;]{0,60}\b(?:medel|medlen|stöd|stödet|bidrag)\b"
            r"|\bbidrar\s+med\b[^.;]{0,30}\b(?:kronor|miljoner|medel)\b",
        ),
        # Ongoing development: "fortsätter utvecklingen av", "fortsätter att utveckla", "vidareutvecklas".
        ("utveckling", r"\bfortsätter\s+(?:att\s+)?utveckl\w*|\bvidareutveckla(?:r|s)\b"),
        # A role in the region: "verkar i/för/inom" (not "verkar vara" = seems), "bidrar till",
        # "arbetar för/med", "X:s arbete handlar om".
        (
            "uppdrag",
            r"\bverkar\s+(?:i|för|inom)\b|\bbidr(?:ar|og)\s+till\b|\b(?:arbetar|jobbar)\s+(?:aktivt\s+)?(?:för|med)\b"
            r"|\barbete(?:t)?\s+handlar\s+om\b",
        ),
    ]
]


def commitment_kind(sentence: str) -> str | None:
    """The kind of commitment a sentence states, or None when it states none."""
    lowered = sentence.lower()
    return next((kind for kind, pattern in _TRIGGERS if pattern.search(lowered)), None)


# --- actors -------------------------------------------------------------------------------------------
# Place names that anchor an organisation name ("Musik i Blekinge", "Regionteatern Blekinge Kronoberg").
PLACES = {"Blekinge", "Kronoberg", "Skåne", "Kalmar", "Småland", "Sverige", "Sveriges", *MUNICIPALITIES}
# Word endings that mark an organisation ("Bildningsförbund", "Regionteatern", "Biblioteksutveckling").
_ORG_WORD = re.compile(
    r"(?:förbund(?:et)?|teater(?:n)?|muse(?:um|et)|bibliotek(?:et)?|akademi(?:n)?|institut(?:et)?|rådet|"
    r"styrelse(?:n)?|region(?:en)?|stiftelse(?:n)?|centrum|förening(?:en)?|sällskap(?:et)?|orkester|"
    r"kören|utveckling|skola(?:n)?|arkiv(?:et)?|konsthall(?:en)?)$",
    re.IGNORECASE,
)
# One capitalised compound is a name when it ends in one of these ("Kulturrådet", "Riksteatern",
# "Länsstyrelsen"); other single words are too often just a sentence's first word.
_SINGLE_ORG = re.compile(
    r"^[A-ZÅÄÖ]\w{2,}(?:rådet|förbundet|teatern|styrelsen|akademin|institutet|museet|stiftelsen|nämnden|"
    r"fullmäktige|arkivet|orkestern)$"
)
# A place followed by a lower-case institution word is a name too: "Blekinge museum".
_PLACE_INSTITUTION = re.compile(
    rf"\b(?:{'|'.join(sorted(PLACES))})\s+(?:museum|länsmuseum|konsthall|arkiv|folkhögskola|orkester)\b"
)
# Generic actors: (pattern, canonical name). Matched on the lower-cased sentence.
_GENERIC_ACTORS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(pattern), name)
    for pattern, name in [
        (r"\bregionen\b", "Region Blekinge"),
        (r"\bkommunerna\b", "kommunerna"),
        (r"\bregionala\s+(?:kultur)?verksamhet(?:erna|er)\b", "de regionala kulturverksamheterna"),
        (r"\bregionala\s+kulturinstitution(?:erna|er)\b", "de regionala kulturverksamheterna"),
        (r"\b(?:folk|skol)?biblioteken\b", "biblioteken"),
        (r"\bförening(?:ar|arna|slivet)\b", "föreningar"),
        (r"\bstudieförbund(?:en)?\b", "studieförbunden"),
        (r"\bkulturskol(?:an|orna)\b", "kulturskolorna"),
        (r"\bcivilsamhället\b|\bdet\s+civila\s+samhället\b", "civilsamhället"),
        (r"\bdansscen(?:en)?\b", "dansscenen"),
        (r"\bkonstresurscent(?:rum|rumet|ra)\b", "konstresurscentrum"),
        (r"\b(?:regionala?\s+)?litterära?\s+nod(?:en)?\b", "regional litterär nod"),
    ]
]
# A generic actor governed by one of these words is a place or a beneficiary, not an actor:
# "utbudet i kommunerna", "för alla folkbibliotekens", "förutsättningar för ... föreningar".
_NOT_ACTOR_AFTER = {"i", "för", "till", "inom", "åt", "hos", "på", "om", "från", "alla", "hela", "bland"}
# ...whereas these make it a partner or the thing acted on: "samverkar med kommunerna", "utvecklingen av".
_ACTOR_AFTER = {"med", "av", "via", "genom", "mellan"}
# Verbs and function words that may follow an organisation name with the space lost
# ("Biblioteksutveckling Blekinge Kronobergfinns som resurs"). Compound nouns never end in one of
# these, so splitting there does not break words like "Blekingemodellen".
_GLUE_TAILS = set(STOPWORDS_SWEDISH) | {
    "finns", "ska", "skall", "har", "är", "samordnar", "ansvarar", "möjliggör", "arbetar", "verkar",
    "bidrar", "erbjuder", "samverkar", "kommer", "fortsätter",
}  # fmt: skip
_WORD = re.compile(r"[\w-]+")
_CAPITALISED = re.compile(r"[A-ZÅÄÖÉ][\wåäöé-]*$")


def _vocabulary(chunks: Sequence[Chunk]) -> set[str]:
    """Capitalised words of a document (headings included) and the known places."""
    words = {w for c in chunks for w in _WORD.findall(c.searchable_text) if _CAPITALISED.match(w)}
    return words | PLACES


def _repair(text: str, capitalised: set[str]) -> str:
    """Put back a lost space after a capitalised word: "Kronobergfinns" -> "Kronoberg finns"."""

    def split(match: re.Match[str]) -> str:
        word = match.group(0)
        for cut in range(len(word) - 2, 3, -1):
            head, tail = word[:cut], word[cut:]
            # Tails of three letters or more: "en" would split "Musiken" into "Musik en".
            if len(tail) >= 3 and head in capitalised and tail in _GLUE_TAILS:
                return f"{head} {tail}"
        return word

    return re.sub(r"\b[A-ZÅÄÖÉ][a-zåäöé]{5,}\b", split, text)


def _is_place(word: str) -> bool:
    return word in PLACES or (word.endswith("s") and word[:-1] in PLACES)


def organisation_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of the organisation names in `text`: runs of capitalised words, possibly
    joined by "i" ("Musik i Blekinge"), that contain a place or an organisation word and are not
    only places; plus "<place> museum" and the like."""
    words = list(_WORD.finditer(text))
    spans: list[tuple[int, int, str]] = []
    index = 0
    while index < len(words):
        if not _CAPITALISED.match(words[index].group()):
            index += 1
            continue
        run = [words[index]]
        index += 1
        while index < len(words) and text[run[-1].end() : words[index].start()].isspace():
            word = words[index].group()
            if _CAPITALISED.match(word):
                run.append(words[index])
                index += 1
            elif (
                word == "i"
                and index + 1 < len(words)
                and _CAPITALISED.match(words[index + 1].group())
                and text[words[index].end() : words[index + 1].start()].isspace()
            ):
                run += [words[index], words[index + 1]]
                index += 2
            else:
                break
        # "I Olofström", "De regionala": a capitalised function word starts a sentence, not a name.
        while run and run[0].group().lower() in STOPWORDS_SWEDISH:
            run.pop(0)
        names = [m.group() for m in run]
        capitalised = [w for w in names if _CAPITALISED.match(w)]
        single = len(capitalised) == 1 and len(run) == 1 and _SINGLE_ORG.match(capitalised[0])
        if single and any(p.search(capitalised[0].lower()) for p, _ in _GENERIC_ACTORS):
            single = None  # "Kulturskolan" is the generic actor "kulturskolorna"
        if single or (
            len(capitalised) >= 2
            and any(_is_place(w) or _ORG_WORD.search(w) for w in capitalised)
            and not all(_is_place(w) for w in capitalised)
        ):
            spans.append((run[0].start(), run[-1].end(), text[run[0].start() : run[-1].end()]))
    for match in _PLACE_INSTITUTION.finditer(text):
        if not any(start <= match.start() < end for start, end, _ in spans):
            spans.append((match.start(), match.end(), match.group()))
    return sorted(spans)


def _mask(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    """`text` with the spans blanked out (same length), so that words inside names do not count."""
    for start, end, _ in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def _generic_actors(masked: str) -> list[tuple[int, str]]:
    """(position, canonical name) of the generic actors in a sentence whose names are blanked out."""
    lowered = masked.lower()
    found: list[tuple[int, str]] = []
    for pattern, name in _GENERIC_ACTORS:
        for match in pattern.finditer(lowered):
            before = _WORD.findall(lowered[: match.start()])
            governing = next((w for w in reversed(before) if w in _NOT_ACTOR_AFTER | _ACTOR_AFTER), None)
            if governing not in _NOT_ACTOR_AFTER:
                found.append((match.start(), name))
    return found


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


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


def _municipalities(sentence: str) -> tuple[str, ...]:
    """The municipalities the sentence names, plus REGION_WIDE when it speaks of all of them. A
    commitment of the regional plan that names no municipality concerns the whole county."""
    named = find_municipalities(sentence)
    if not named or is_region_wide(sentence):
        return (*named, REGION_WIDE)
    return named


# --- extraction ---------------------------------------------------------------------------------------
def extract(chunks: Sequence[Chunk]) -> list[Commitment]:
    """The commitments stated in `chunks` (best given one whole document, in order)."""
    capitalised = _vocabulary(chunks)
    found: dict[str, Commitment] = {}
    for chunk in chunks:
        # Organisations named in the section headings stand in for "museets", "teatern" and the like.
        heading_orgs = _unique(
            name
            for heading in reversed(chunk.heading_path)
            for *_, name in organisation_spans(_repair(heading, capitalised))
        )
        for sentence in split_sentences(chunk.text):
            repaired = _repair(sentence, capitalised)
            kind = commitment_kind(repaired)
            if kind is None:
                continue
            spans = organisation_spans(repaired)
            masked = _mask(repaired, spans)
            mentioned = sorted([(start, name) for start, _, name in spans] + _generic_actors(masked))
            actors = _unique(name for _, name in mentioned) or heading_orgs[:1]
            commitment = Commitment(
                id=content_hash(chunk.id, sentence)[:20],
                doc_id=chunk.doc_id,
                chunk_id=chunk.id,
                source=chunk.source,
                title=chunk.title,
                section=chunk.section,
                page=chunk.page,
                sentence=sentence,
                actors=actors,
                areas=find_areas(masked),
                municipalities=_municipalities(sentence),
                kind=kind,
            )
            found.setdefault(commitment.id, commitment)
    return list(found.values())


# --- the SQLite store ---------------------------------------------------------------------------------
_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (doc_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS commitments (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, ord INTEGER NOT NULL, chunk_id TEXT NOT NULL,
    source TEXT NOT NULL, title TEXT NOT NULL, section TEXT NOT NULL, page INTEGER,
    sentence TEXT NOT NULL, actors TEXT NOT NULL, areas TEXT NOT NULL, municipalities TEXT NOT NULL,
    kind TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS commitments_doc ON commitments (doc_id);
"""
_COLUMNS = ("id", "doc_id", "chunk_id", "source", "title", "section", "page", "sentence", "actors",
            "areas", "municipalities", "kind")  # fmt: skip
_LISTS = ("actors", "areas", "municipalities")


class CommitmentStore:
    """Commitments per document, with the fingerprint of the chunks they were extracted from."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.executescript(_SCHEMA)

    @classmethod
    def open(cls, settings: "Settings") -> "CommitmentStore":
        return cls(settings.commitments_path)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as connection:
            with connection:  # one transaction: a document's rows and fingerprint change together
                yield connection

    # --- writing ---------------------------------------------------------------------------------
    def replace_document(self, doc_id: str, commitments: Sequence[Commitment], fingerprint: str = "") -> None:
        with self._connect() as connection:
            connection.execute("DELETE FROM commitments WHERE doc_id = ?", (doc_id,))
            connection.executemany(
                f"INSERT OR REPLACE INTO commitments (ord, {', '.join(_COLUMNS)}) "
                f"VALUES (?, {', '.join('?' for _ in _COLUMNS)})",
                [(order, *_row(c)) for order, c in enumerate(commitments)],
            )
            connection.execute(
                "INSERT OR REPLACE INTO documents (doc_id, fingerprint) VALUES (?, ?)", (doc_id, fingerprint)
            )

    def remove_documents(self, doc_ids: Iterable[str]) -> None:
        ids = [(doc_id,) for doc_id in doc_ids]
        with self._connect() as connection:
            connection.executemany("DELETE FROM commitments WHERE doc_id = ?", ids)
            connection.executemany("DELETE FROM documents WHERE doc_id = ?", ids)

    # --- reading ---------------------------------------------------------------------------------
    def fingerprints(self) -> dict[str, str]:
        with self._connect() as connection:
            return dict(connection.execute("SELECT doc_id, fingerprint FROM documents"))

    def all(self) -> list[Commitment]:
        with self._connect() as connection:
            rows = connection.execute(f"SELECT {', '.join(_COLUMNS)} FROM commitments ORDER BY source, ord")
            return [_commitment(row) for row in rows]

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
        wanted_places = _wanted_places(municipality, include_region_wide) if municipality else None
        result = []
        for c in self.all():
            if actor and not any(actor.casefold().strip() in a.casefold() for a in c.actors):
                continue
            if area and not any(_area_matches(area, a) for a in c.areas):
                continue
            if wanted_places is not None and not wanted_places & set(c.municipalities):
                continue
            if text and text.casefold().strip() not in c.sentence.casefold():
                continue
            result.append(c)
        return result

    def actors(self) -> list[str]:
        return sorted({a for c in self.all() for a in c.actors}, key=str.casefold)

    def areas(self) -> list[str]:
        return sorted({a for c in self.all() for a in c.areas})

    def count(self) -> int:
        with self._connect() as connection:
            return connection.execute("SELECT COUNT(*) FROM commitments").fetchone()[0]


def _row(c: Commitment) -> tuple:
    return tuple(json.dumps(list(getattr(c, k)), ensure_ascii=False) if k in _LISTS else getattr(c, k) for k in _COLUMNS)


def _commitment(row: Sequence[Any]) -> Commitment:
    values = dict(zip(_COLUMNS, row))
    for key in _LISTS:
        values[key] = tuple(json.loads(values[key]))
    return Commitment(**values)


def _area_matches(query: str, area: str) -> bool:
    query = query.casefold().strip()
    return bool(query) and (area == query or area.startswith(query) or query.startswith(area))


def _wanted_places(municipality: str, include_region_wide: bool) -> set[str]:
    if municipality.casefold().strip() in {REGION_WIDE.casefold(), "blekinge", "regionen", "hela regionen"}:
        return {REGION_WIDE}
    wanted = set(find_municipalities(municipality)) or {municipality.strip()}
    return wanted | {REGION_WIDE} if include_region_wide else wanted


# --- keeping the store in step with Chroma --------------------------------------------------------------
@dataclass(frozen=True)
class SyncReport:
    extracted: list[str]  # doc ids extracted (again)
    removed: list[str]  # doc ids no longer in the chunk store
    total: int  # commitments in the store afterwards


def fingerprint(chunk_ids: Iterable[str]) -> str:
    """Changes when a document's chunks (ids carry a content hash) or the extractor change."""
    return content_hash(EXTRACTOR_VERSION, *sorted(chunk_ids))


def sync(store: "ChunkStore", commitments: CommitmentStore) -> SyncReport:
    """Make `commitments` match the chunk store: re-extract changed documents, drop vanished ones.
    Reads only metadata when nothing changed."""
    ids_by_doc: dict[str, list[str]] = defaultdict(list)
    for chunk_id, metadata in store.all_metadata().items():
        ids_by_doc[metadata["doc_id"]].append(chunk_id)
    saved = commitments.fingerprints()
    removed = sorted(set(saved) - set(ids_by_doc))
    if removed:
        commitments.remove_documents(removed)
    extracted = []
    for doc_id, ids in sorted(ids_by_doc.items()):
        current = fingerprint(ids)
        if saved.get(doc_id) == current:
            continue
        chunks = sorted(store.chunks_where({"doc_id": doc_id}), key=lambda c: c.position)
        commitments.replace_document(doc_id, extract(chunks), current)
        extracted.append(doc_id)
    return SyncReport(extracted, removed, commitments.count())
