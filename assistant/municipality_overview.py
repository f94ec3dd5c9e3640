"""What the indexed documents say about culture in one of the region's municipalities.

Read from the index without an LLM: the passages flagged with the municipality (`m_<name>`
metadata) give the sentences that mention it, grouped by section heading; the region-wide passages
(`region_wide` metadata) give, apart, the offers that reach every municipality. A question naming
no time asks about the present (assistant.scope): documents of a plan period that ended before the
current one began (the previous plan, its follow-up) are kept apart, as `earlier`, not mixed with
today's. The municipality's own documents come first. The result is plain dataclasses; the UI only
presents them (and escapes every text).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from assistant.scope import before_current, current_period
from kulturplan.chunks import Chunk
from kulturplan.language import content_terms, split_sentences
from kulturplan.region import RegionProfile, metadata_key

if TYPE_CHECKING:
    from kulturplan.store import ChunkStore

# A sentence naming every one of at least this many municipalities lists the county's parts ("Blekinge
# har fem kommuner: Karlskrona, …"): it says nothing of any one of them. Naming both of two is specific.
MIN_LISTED_MUNICIPALITIES = 3


@dataclass(frozen=True)
class Mention:
    """One sentence of a passage, with what is needed to cite it."""

    sentence: str
    chunk_id: str
    source: str
    title: str
    section: str
    page: int | None


@dataclass(frozen=True)
class SectionGroup:
    """The sentences found under one section heading of one document, in document order."""

    heading: str
    title: str
    source: str
    mentions: tuple[Mention, ...]


@dataclass(frozen=True)
class MunicipalityOverview:
    municipality: str
    local: tuple[SectionGroup, ...]  # sentences naming the municipality
    region_wide: tuple[SectionGroup, ...]  # offers for the whole county (not repeated from `local`)
    # Sentences naming the municipality in documents of earlier plan periods, when later ones name it too.
    earlier: tuple[SectionGroup, ...] = ()

    @property
    def mentioned(self) -> bool:
        return bool(self.local)


def _ordered(chunks: list[Chunk], municipality: str, profile: RegionProfile) -> list[Chunk]:
    """Unique chunks in reading order, the municipality's own documents (their title names it) first."""
    unique = {c.id: c for c in chunks}
    # Each title is read once, not once a chunk: a municipality has thousands of chunks in a large index.
    own = {title for title in {c.title for c in unique.values()} if municipality in profile.find_municipalities(title)}
    return sorted(unique.values(), key=lambda c: (c.title not in own, c.source, c.position))


def _group(mentions: list[Mention]) -> tuple[SectionGroup, ...]:
    groups: dict[tuple[str, str], list[Mention]] = {}
    for mention in mentions:
        groups.setdefault((mention.source, mention.section), []).append(mention)
    return tuple(
        SectionGroup(
            heading=(items[0].section.split(" > ")[-1] if items[0].section else items[0].title or source),
            title=items[0].title,
            source=source,
            mentions=tuple(items),
        )
        for (source, _), items in groups.items()
    )


def _sentences(chunk: Chunk) -> list[str]:
    """The chunk's sentences but its section heading, which its group shows already."""
    heading = chunk.heading_path[-1] if chunk.heading_path else None
    return [sentence for sentence in split_sentences(chunk.text) if sentence.strip() != heading]


def _mention(chunk: Chunk, sentence: str) -> Mention:
    return Mention(sentence.strip(), chunk.id, chunk.source, chunk.title, chunk.section, chunk.page)


def is_plain_place_question(question: str, profile: RegionProfile) -> bool:
    """ "Vilken kultur finns i Ronneby?" asks for everything about a place (no subject word besides
    the place); "Vad kostar kulturskolan i Ronneby?" asks one thing."""
    return not content_terms(question) - profile.municipality_terms


def speaks_of(sentence: str, municipality: str, profile: RegionProfile) -> bool:
    """The sentence says something of this municipality: it names it, and not only as one of a list
    of all the region's municipalities."""
    named = set(profile.find_municipalities(sentence))
    every = set(profile.municipalities)
    return municipality in named and not (len(every) >= MIN_LISTED_MUNICIPALITIES and named >= every)


def reaches_whole_region(chunk: Chunk, sentence: str, profile: RegionProfile) -> bool:
    """The sentence tells of an offer for the whole of this region: it says so ("i hela länet"), and
    neither its document nor the sentence itself is about another region (a neighbouring region's
    plan also speaks of "hela länet")."""
    if not profile.is_region_wide(sentence) or chunk.region not in ("", profile.region):
        return False
    regions = {region for _, region, _ in profile.region_mentions(sentence)}
    return not regions or profile.region in regions


def municipality_overview(
    store: "ChunkStore", municipality: str, profile: RegionProfile, today: date | None = None
) -> MunicipalityOverview:
    """The municipality's own sentences and, apart, the region-wide ones, grouped by section; those
    of earlier plan periods apart again, unless no later document names the municipality."""
    if municipality not in profile.municipalities:
        raise ValueError(f"okänd kommun: {municipality!r}")
    own_chunks = _ordered(store.chunks_where({metadata_key(municipality): True}), municipality, profile)
    wide_chunks = _ordered(store.chunks_where({"region_wide": True}), municipality, profile)
    current = current_period([*own_chunks, *wide_chunks], profile, today or date.today())
    seen: set[tuple[str, str]] = set()
    named = _mentions(own_chunks, seen, lambda chunk, sentence: speaks_of(sentence, municipality, profile))
    reaching = _mentions(wide_chunks, seen, lambda chunk, sentence: reaches_whole_region(chunk, sentence, profile))
    local, earlier = _split_by_period(named, current)
    wide, wide_earlier = _split_by_period(reaching, current)
    if not local:  # an earlier plan is all that names the municipality: that is what is known of it
        local, earlier = earlier, []
    return MunicipalityOverview(municipality, _group(local), _group(wide or wide_earlier), _group(earlier))


def _mentions(
    chunks: list[Chunk], seen: set[tuple[str, str]], keeps: Callable[[Chunk, str], bool]
) -> list[tuple[Chunk, Mention]]:
    """The chunks' sentences `keeps`, each once (`seen` is shared between the local and region-wide reading)."""
    found = []
    for chunk in chunks:
        for sentence in _sentences(chunk):
            if keeps(chunk, sentence) and (chunk.id, sentence) not in seen:
                seen.add((chunk.id, sentence))
                found.append((chunk, _mention(chunk, sentence)))
    return found


def _split_by_period(
    found: list[tuple[Chunk, Mention]], current: tuple[int, int] | None
) -> tuple[list[Mention], list[Mention]]:
    """(mentions of the current period or undated documents, mentions of earlier periods' documents)."""
    present: list[Mention] = []
    earlier: list[Mention] = []
    for chunk, mention in found:
        (earlier if before_current(chunk, current) else present).append(mention)
    return present, earlier


def answer_lines(
    name: str, local: list[tuple[str, int]], regional: list[tuple[str, int]], profile: RegionProfile, english: bool
) -> list[str]:
    """A municipality answer: its own (sentence, [n]) items, then apart the region-wide ones.

    Shared by the overview answer and the extractive generator so both read the same.
    """
    whole = profile.whole_region(english)
    if english:
        intro = (f"What the culture plan says about {name} (quoted in Swedish):" if local else
                 f"The culture plan does not mention {name} specifically, but regional activities reach {whole}:")
        regional_intro = "Region-wide offers that also reach the municipality:"
    else:
        intro = (f"Det här säger kulturplanen om {name}:" if local else
                 f"Kulturplanen nämner inte {name} särskilt, men regionala verksamheter når {whole}:")
        regional_intro = f"Dessutom når regionala verksamheter {whole}, även {name}:"
    return [intro, *_items(local), *([regional_intro] if local and regional else []), *_items(regional)]


def _items(pairs: list[tuple[str, int]]) -> list[str]:
    return [f"- {sentence.rstrip('.')} [{n}]." for sentence, n in pairs]


def overview_answer(
    overview: MunicipalityOverview, numbers: dict[str, int], profile: RegionProfile, english: bool = False
) -> str:
    """The overview as a chat answer: the municipality's own sentences, then the region-wide ones."""
    local = [(m.sentence, numbers[m.chunk_id]) for group in overview.local for m in group.mentions]
    wide = [(m.sentence, numbers[m.chunk_id]) for group in overview.region_wide for m in group.mentions]
    return "\n".join(answer_lines(overview.municipality, local, wide, profile, english))
