"""Commitment extraction: who is responsible for what, where, found in the indexed chunks without an LLM.

A commitment is one sentence of an indexed passage that states an obligation, a responsibility, a
task, funding, a plan or a standing resource ("X ska ...", "X ansvarar för ...", "X samordnar ...",
"X finns som resurs ..."). Extraction is rule based: Swedish trigger phrases decide whether a
sentence is a commitment; organisation names are found in the text itself (capitalised multi-word
names anchored on a place or an organisation word), generic actors ("kommunerna", "föreningar") by
phrase; areas by keyword stems; municipalities and places from the region profile.

`sync` keeps the derived commitment store in step with Chroma: it compares a per-document
fingerprint of the chunk ids and re-extracts only what changed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from kulturplan.chunks import Chunk, content_hash
from kulturplan.commitments import Commitment, CommitmentStore, find_areas
from kulturplan.language import SWEDISH_STOPWORDS, split_sentences, word_matches
from kulturplan.region import RegionProfile, load_profile

if TYPE_CHECKING:
    from kulturplan.store import ChunkStore

# Bump when the rules below change: every document's commitments are then extracted again.
EXTRACTOR_VERSION = "4"


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
# After a place, a lower-case institution word makes a name too: "Blekinge museum".
_INSTITUTION_WORDS = r"(?:museum|länsmuseum|konsthall|arkiv|folkhögskola|orkester)"
# Generic actors: (pattern, canonical name). Matched on the lower-cased sentence.
# "regionen" is the region itself; its name comes from the profile (see _rules).
_GENERIC_ACTORS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(pattern), name)
    for pattern, name in [
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
_GLUE_TAILS = set(SWEDISH_STOPWORDS) | {
    "finns", "ska", "skall", "har", "är", "samordnar", "ansvarar", "möjliggör", "arbetar", "verkar",
    "bidrar", "erbjuder", "samverkar", "kommer", "fortsätter",
}  # fmt: skip
_CAPITALISED = re.compile(r"[A-ZÅÄÖÉ][\wåäöé-]*$")


@dataclass(frozen=True)
class _Rules:
    """The region-dependent part of the rules: its places and its own name."""

    places: frozenset[str]  # anchor organisation names ("Musik i Blekinge", "Regionteatern Blekinge Kronoberg")
    place_institution: re.Pattern[str]
    generic_actors: tuple[tuple[re.Pattern[str], str], ...]


_REGIONEN = re.compile(r"\bregionen\b")


@lru_cache(maxsize=8)
def _rules(profile: RegionProfile) -> _Rules:
    places = profile.all_places
    alternatives = "|".join(re.escape(p) for p in sorted(places))
    return _Rules(
        places=places,
        place_institution=re.compile(rf"\b(?:{alternatives})\s+{_INSTITUTION_WORDS}\b"),
        generic_actors=((_REGIONEN, profile.name), *_GENERIC_ACTORS),
    )


def _rules_in(chunk: Chunk, rules: _Rules, profile: RegionProfile) -> _Rules:
    """`rules` with "regionen" the region `chunk`'s document is about ("Region Kalmar län" in Kalmar
    läns plan, which other regions' plans beside the region's own make plain), else the profile's."""
    if not chunk.region or chunk.region == profile.region:
        return rules
    return replace(rules, generic_actors=((_REGIONEN, f"Region {chunk.region}"), *_GENERIC_ACTORS))


def _vocabulary(chunks: Sequence[Chunk], rules: _Rules) -> set[str]:
    """Capitalised words of a document (headings included) and the known places."""
    words = {m.group() for c in chunks for m in word_matches(c.searchable_text) if _CAPITALISED.match(m.group())}
    return words | rules.places


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


def _is_place(word: str, rules: _Rules) -> bool:
    return word in rules.places or _is_place_genitive(word, rules)


def _is_place_genitive(word: str, rules: _Rules) -> bool:
    """A place's name in the genitive: "Blekinges", "Kronobergs"."""
    return word.endswith("s") and word[:-1] in rules.places


def organisation_spans(text: str, profile: RegionProfile | None = None) -> list[tuple[int, int, str]]:
    """(start, end, name) of the organisation names in `text`: runs of capitalised words, possibly
    joined by "i" ("Musik i Blekinge"), that contain a place or an organisation word and are not
    only places; plus "<place> museum" and the like."""
    rules = _rules(profile or load_profile())
    words = word_matches(text)
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
        county = index < len(words) and words[index].group() == "län"
        if county and text[run[-1].end() : words[index].start()].isspace():
            run.append(words[index])  # a county's name: "Region Kalmar län", "Kalmar län"
            index += 1
        # "I Olofström", "De regionala": a capitalised function word starts a sentence, not a name.
        while run and run[0].group().lower() in SWEDISH_STOPWORDS:
            run.pop(0)
        names = [m.group() for m in run]
        capitalised = [w for w in names if _CAPITALISED.match(w)]
        single = len(capitalised) == 1 and len(run) == 1 and _SINGLE_ORG.match(capitalised[0])
        if single and any(p.search(capitalised[0].lower()) for p, _ in rules.generic_actors):
            single = None  # "Kulturskolan" is the generic actor "kulturskolorna"
        if single or (
            len(capitalised) >= 2
            and any(_is_place(w, rules) or _ORG_WORD.search(w) for w in capitalised)
            and not all(_is_place(w, rules) for w in capitalised)
        ):
            start, end = run[0].start(), run[-1].end()
            spans.append((start, end, _without_genitive(text[start:end], rules)))
    for match in rules.place_institution.finditer(text):
        if not any(start <= match.start() < end for start, end, _ in spans):
            spans.append((match.start(), match.end(), match.group()))
    return sorted(spans)


def _without_genitive(name: str, rules: _Rules) -> str:
    """A name in the genitive names the organisation itself: "Region Blekinges kulturförvaltning
    samordnar …" is Region Blekinge's doing, "lokaler för Musik i Blekinges föreställningar" are for
    Musik i Blekinge ("Blekinges" is a place's genitive)."""
    *_, last = name.split()
    return name[:-1] if " " in name and _is_place_genitive(last, rules) else name


def _mask(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    """`text` with the spans blanked out (same length), so that words inside names do not count."""
    for start, end, _ in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def _generic_actors(masked: str, rules: _Rules) -> list[tuple[int, str]]:
    """(position, canonical name) of the generic actors in a sentence whose names are blanked out."""
    lowered = masked.lower()
    found: list[tuple[int, str]] = []
    for pattern, name in rules.generic_actors:
        for match in pattern.finditer(lowered):
            before = [m.group() for m in word_matches(lowered[: match.start()])]
            governing = next((w for w in reversed(before) if w in _NOT_ACTOR_AFTER | _ACTOR_AFTER), None)
            if governing not in _NOT_ACTOR_AFTER:
                found.append((match.start(), name))
    return found


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _municipalities(sentence: str, profile: RegionProfile) -> tuple[tuple[str, ...], bool]:
    """The municipalities the sentence names (plus the region-wide label when it speaks of all of
    them), and whether it concerns the whole county. A commitment of the regional plan that names
    no municipality concerns the whole county."""
    named = profile.find_municipalities(sentence)
    if not named or profile.is_region_wide(sentence):
        return (*named, profile.region_wide_label), True
    return named, False


# --- action-plan tables ------------------------------------------------------------------------------
# A table row read as "3 – Åtagande: ...; Ansvarig: Musik i Blekinge, kommunerna; År: 2024" (see
# ingest/tables.py) is a commitment by construction: the responsible column names its actors.
_RESPONSIBLE_CELL = re.compile(r"(?:^|;\s*)(?:huvud)?ansvar(?:ig|iga|et)?(?:\s+\w+)?\s*:\s*([^;]+)", re.IGNORECASE)
# Not "och" after a hyphen: "kultur- och fritidsnämnden" is one committee.
_ACTOR_SEPARATOR = re.compile(r"\s*(?:,|/|(?<!-)\s+och\b|\bsamt\b|&)\s*")


def table_row_actors(row: str) -> tuple[str, ...]:
    """The actors of a table row's responsible column ("Ansvarig: A, B och C"), or () for no such row."""
    match = _RESPONSIBLE_CELL.search(row)
    if not match:
        return ()
    return _unique(part.strip(" .") for part in _ACTOR_SEPARATOR.split(match.group(1)) if part.strip(" ."))


# --- extraction ---------------------------------------------------------------------------------------
def extract(chunks: Sequence[Chunk], profile: RegionProfile | None = None) -> list[Commitment]:
    """The commitments stated in `chunks` (best given one whole document, in order)."""
    profile = profile or load_profile()
    rules = _rules(profile)
    capitalised = _vocabulary(chunks, rules)
    found: dict[str, Commitment] = {}
    for chunk in chunks:
        # Organisations named in the section headings stand in for "museets", "teatern" and the like.
        heading_orgs = _unique(
            name
            for heading in reversed(chunk.heading_path)
            for *_, name in organisation_spans(_repair(heading, capitalised), profile)
        )
        own_region = _rules_in(chunk, rules, profile)  # who "regionen" is here
        for sentence in split_sentences(chunk.text):
            repaired = _repair(sentence, capitalised)
            responsible = table_row_actors(sentence)
            kind = "åtagande" if responsible else commitment_kind(repaired)
            if kind is None:
                continue
            spans = organisation_spans(repaired, profile)
            masked = _mask(repaired, spans)
            mentioned = sorted([(start, name) for start, _, name in spans] + _generic_actors(masked, own_region))
            actors = responsible or _unique(name for _, name in mentioned) or heading_orgs[:1]
            places, region_wide = _municipalities(sentence, profile)
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
                municipalities=places,
                kind=kind,
                region_wide=region_wide,
            )
            found.setdefault(commitment.id, commitment)
    return list(found.values())


# --- keeping the store in step with Chroma --------------------------------------------------------------
@dataclass(frozen=True)
class SyncReport:
    extracted: list[str]  # doc ids extracted (again)
    removed: list[str]  # doc ids no longer in the chunk store
    total: int  # commitments in the store afterwards


def fingerprint(chunk_ids: Iterable[str]) -> str:
    """Changes when a document's chunks (ids carry a content hash) or the extractor change."""
    return content_hash(EXTRACTOR_VERSION, *sorted(chunk_ids))


def sync(store: "ChunkStore", commitments: CommitmentStore, profile: RegionProfile | None = None) -> SyncReport:
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
        commitments.replace_document(doc_id, extract(chunks, profile or commitments.profile), current)
        extracted.append(doc_id)
    return SyncReport(extracted, removed, commitments.count())
