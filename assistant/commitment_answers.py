"""Questions about what the plan commits to, answered as complete lists from the commitment store.

"Vilka åtaganden har Musik i Blekinge?" or "Vad ska regionen göra för barn och unga?" ask for a
list, and a list from top-k retrieval would miss items; the commitment store (derived from Chroma at
ingest time) holds them all. Every item is a verbatim sentence with its passage as the citation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kulturplan.commitments import Commitment, CommitmentStore, find_areas
from kulturplan.region import RegionProfile

# Only an explicit question for commitments gets the whole list: "Vilka åtaganden har X?", "Vad
# ska X göra?". "Vem ansvarar för Y?" asks for one fact and is answered from the best sentences.
_ASKS_FOR_COMMITMENTS = re.compile(r"\båtagande\w*|\bvad ska\b.*\bgöra\b|\bcommitment\w*", re.IGNORECASE)
# "Hur många åtaganden …?" asks for the count as well as the list.
_ASKS_HOW_MANY = re.compile(r"\b(?:hur många|how many)\b", re.IGNORECASE)
# "Regionen" in a question means the regional level as a whole (the region and the regional
# cultural organisations), so it does not narrow the list to one actor (RegionProfile.names_whole_region).


@dataclass(frozen=True)
class CommitmentQuery:
    actor: str | None
    area: str | None
    municipality: str | None
    whole_region: str = ""  # the profile's label for the whole county ("hela Blekinge")
    counted: bool = False  # the question asks how many

    @property
    def label(self) -> str:
        """What the list is for, to follow "för": "Musik i Blekinge", "barn och unga", "kulturen i Ronneby"."""
        label = self.actor or self.area or ("kulturen" if self.municipality else self.whole_region)
        if self.actor and self.area:
            label += f" inom {self.area}"
        if self.municipality:
            label += f" i {self.municipality}"
        return label


def parse(question: str, store: CommitmentStore, profile: RegionProfile) -> CommitmentQuery | None:
    """The filters a commitment question asks for; None when it is no commitment question."""
    if not _ASKS_FOR_COMMITMENTS.search(question):
        return None
    lowered = question.casefold()
    # The longest name that fits wins; among equally long spellings ("Kommunernas …" and "kommunernas
    # …"), the same one on every run.
    actors = sorted(store.actors(), key=lambda a: (-len(a), a))
    actor = next((a for a in actors if a.casefold() in lowered), None)
    whole_region = actor is None and profile.names_whole_region(question)
    # "Musik i Blekinge" names an actor, not the area music: look for areas outside the actor's name.
    rest = re.sub(re.escape(actor), " ", question, flags=re.IGNORECASE) if actor else question
    areas = find_areas(rest)
    places = profile.find_municipalities(question)
    query = CommitmentQuery(
        actor, areas[0] if areas else None, places[0] if places else None, profile.region_wide_label,
        counted=bool(_ASKS_HOW_MANY.search(question)),
    )
    return query if (query.actor or query.area or query.municipality or whole_region) else None


def find(query: CommitmentQuery, store: CommitmentStore) -> list[Commitment]:
    return store.query(actor=query.actor, area=query.area, municipality=query.municipality)


def list_answer(query: CommitmentQuery, commitments: list[Commitment], numbers: dict[str, int], english: bool) -> str:
    """The answer text: a heading, then per document (action-plan tables first) one cited item per
    commitment (`numbers`: chunk id -> [n]), so every item says which plan it belongs to. For "hur
    många …?" each document's line says how many it lists: the documents are counted apart, since an
    action plan's table and a plan's prose are not commitments of one kind."""
    by_document: dict[str, list[Commitment]] = {}
    for c in sorted(commitments, key=lambda c: c.kind != "åtagande"):  # table rows of action plans first
        by_document.setdefault(c.title or c.source, []).append(c)
    single = len(by_document) == 1
    total = _count(len(commitments), query.counted and single, english)
    heading = (
        f"The culture plan's commitments for {query.label}{total} (quoted in Swedish):"
        if english
        else f"Det här åtar sig kulturplanen för {query.label}{total}:"
    )
    lines = [heading]
    for title, items in by_document.items():
        if not single:
            lines.append(f"{'From' if english else 'Ur'} {title}{_count(len(items), query.counted, english)}:")
        lines += [f"- {c.sentence.rstrip('.')} [{numbers[c.chunk_id]}]." for c in items]
    return "\n".join(lines)


def _count(items: int, shown: bool, english: bool) -> str:
    """", 3 åtaganden" after a label when the count is `shown`, else nothing."""
    if not shown:
        return ""
    if english:
        return f", {items} commitment{'s' if items != 1 else ''}"
    return f", {items} åtagande{'n' if items != 1 else ''}"
