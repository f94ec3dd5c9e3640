"""Questions about what the plan commits to, answered as complete lists from the commitment store.

"Vilka åtaganden har Musik i Blekinge?" or "Vad ska regionen göra för barn och unga?" ask for a
list, and a list from top-k retrieval would miss items; the commitment store (derived from Chroma at
ingest time) holds them all. Every item is a verbatim sentence with its passage as the citation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from assistant.scope import current_period, names_time, question_scope, scope_factor
from kulturplan.chunks import Chunk, periods_in
from kulturplan.commitments import Commitment, CommitmentStore, find_areas
from kulturplan.region import RegionProfile

# Only an explicit question for commitments gets the whole list: "Vilka åtaganden har X?", "Vad
# ska X göra?". "Vem ansvarar för Y?" asks for one fact and is answered from the best sentences.
_ASKS_FOR_COMMITMENTS = re.compile(r"\båtagande\w*|\bvad ska\b.*\bgöra\b|\bcommitment\w*", re.IGNORECASE)
# "Hur många åtaganden …?" asks for the count as well as the list.
_ASKS_HOW_MANY = re.compile(r"\b(?:hur många|how many)\b", re.IGNORECASE)
# "… i handlingsplanen" asks for the action plan's commitments: the documents so titled (or named).
_NAMES_ACTION_PLAN = re.compile(r"\b(?:handlingsplan\w*|action plan\w*)", re.IGNORECASE)
# With no actor, area or place, only the plural asks for the document's list ("Vilka åtaganden finns i
# handlingsplanen?"); "ett åtagande i handlingsplanen" asks about one ("Vem får ändra tidplanen för …?").
_ASKS_FOR_THE_LIST = re.compile(r"\båtaganden(?:a)?\b|\bcommitments\b", re.IGNORECASE)
ACTION_PLAN = "handlingsplan"
# "Regionen" in a question means the regional level as a whole (the region and the regional
# cultural organisations), so it does not narrow the list to one actor (RegionProfile.names_whole_region).


@dataclass(frozen=True)
class CommitmentQuery:
    actor: str | None
    area: str | None
    municipality: str | None
    whole_region: str = ""  # the profile's label for the whole county ("hela Blekinge")
    counted: bool = False  # the question asks how many
    document: str | None = None  # a kind of document the question names ("handlingsplan")
    year: int | None = None  # the one year the question names ("Vilka åtaganden ska genomföras 2025?")

    @property
    def label(self) -> str:
        """What the list is for, to follow "för": "Musik i Blekinge", "barn och unga", "kulturen i Ronneby"."""
        label = self.actor or self.area or ("kulturen" if self.municipality else self.whole_region)
        if self.actor and self.area:
            label += f" inom {self.area}"
        if self.municipality:
            label += f" i {self.municipality}"
        if self.year:
            label += f" år {self.year}"
        return label


def parse(question: str, store: CommitmentStore, profile: RegionProfile) -> CommitmentQuery | None:
    """The filters a commitment question asks for; None when it is no commitment question."""
    if not _ASKS_FOR_COMMITMENTS.search(question):
        return None
    lowered = question.casefold()
    document = ACTION_PLAN if _NAMES_ACTION_PLAN.search(question) else None
    years = {start for kind, start, _ in periods_in(question) if kind == "year"}
    year = years.pop() if len(years) == 1 else None
    lists_plan = (document is not None or year is not None) and bool(_ASKS_FOR_THE_LIST.search(question))
    # The longest name that fits wins; among equally long spellings ("Kommunernas …" and "kommunernas
    # …"), the same one on every run. A name in the genitive before the document names its owner, not
    # an actor: "Region Blekinges handlingsplan".
    actors = sorted(store.actors(), key=lambda a: (-len(a), a))
    actor = next((a for a in actors if a.casefold() in lowered), None)
    if actor and document and re.search(rf"{re.escape(actor)}s\s+{_NAMES_ACTION_PLAN.pattern}", question, re.IGNORECASE):
        actor = None
    whole_region = actor is None and profile.names_whole_region(question)
    # "Musik i Blekinge" names an actor, not the area music: look for areas outside the actor's name.
    rest = re.sub(re.escape(actor), " ", question, flags=re.IGNORECASE) if actor else question
    areas = find_areas(rest)
    places = profile.find_municipalities(question)
    query = CommitmentQuery(
        actor, areas[0] if areas else None, places[0] if places else None, profile.region_wide_label,
        counted=bool(_ASKS_HOW_MANY.search(question)), document=document, year=year,
    )
    return query if (query.actor or query.area or query.municipality or whole_region or lists_plan) else None


def find(query: CommitmentQuery, store: CommitmentStore) -> list[Commitment]:
    """The commitments the query asks for: of the year it names, those naming a time holding it ("År:
    2024–2025" for 2025); in a named action plan, its table's rows, when it has any (the prose around
    the table says how the plan is followed up: it commits no one)."""
    found = store.query(actor=query.actor, area=query.area, municipality=query.municipality)
    if query.year is not None:
        found = [c for c in found if _is_of_year(c, query.year)]
    if query.document is None:
        return found
    found = [c for c in found if query.document in f"{c.title} {c.source}".casefold()]
    with_rows = {c.doc_id for c in found if c.kind == "åtagande"}
    return [c for c in found if c.doc_id not in with_rows or c.kind == "åtagande"]


def _is_of_year(commitment: Commitment, year: int) -> bool:
    """A table row whose times hold the year ("År: 2024–2025" for 2025), or a sentence naming the year
    itself ("under 2025"): a plan period's span in prose ("Under planperioden 2024–2027 ska …") sets
    no one's work for the year."""
    times = periods_in(commitment.sentence)
    if commitment.kind != "åtagande":
        times = [time for time in times if time[0] != "span"]
    return names_time(("year", year, year), times)


def keep_to_scope(
    question: str, commitments: list[Commitment], chunks: dict[str, Chunk], profile: RegionProfile,
    today: date | None = None,
) -> list[Commitment]:
    """The commitments of the region and plan period the question names or implies (assistant.scope):
    Region Blekinge's commitments are not another region's plan's sentences naming it, nor the previous
    period's. A question naming a period or another region gets nothing when nothing is of it; one
    naming neither keeps every commitment when none is of the current period (that is all there is)."""
    today = today or date.today()
    read = [chunks[c.chunk_id] for c in commitments]
    wanted = question_scope(question, read, profile, today)
    current = current_period(read, profile, today)
    in_scope = [c for c in commitments if scope_factor(chunks[c.chunk_id], wanted, current) == 1.0]
    named = wanted.periods or {region for _, region, _ in profile.region_mentions(question)} - {profile.region}
    return in_scope if in_scope or named else commitments


def list_answer(query: CommitmentQuery, commitments: list[Commitment], numbers: dict[str, int], english: bool) -> str:
    """The answer text: a heading, then per document (action-plan tables first) its title and one cited
    item per commitment (`numbers`: chunk id -> [n]), so every item says which plan it belongs to. For "hur
    många …?" each document's line says how many it lists: the documents are counted apart, since an
    action plan's table and a plan's prose are not commitments of one kind."""
    by_document: dict[str, list[Commitment]] = {}
    for c in sorted(commitments, key=lambda c: c.kind != "åtagande"):  # table rows of action plans first
        by_document.setdefault(c.title or c.source, []).append(c)
    single = len(by_document) == 1
    total = _count(len(commitments), query.counted and single, english)
    document_only = bool(query.document) and not (query.actor or query.area or query.municipality)
    if document_only:
        # The action plan's own list: "Åtagandena i Handlingsplan för … 2024–2025, 31 åtaganden:"
        name = next(iter(by_document)) if single else ("the action plans" if english else "handlingsplanerna")
        heading = f"The commitments of {name}{total} (quoted in Swedish):" if english else f"Åtagandena i {name}{total}:"
    elif english:
        heading = f"The culture plan's commitments for {query.label}{total} (quoted in Swedish):"
    else:
        heading = f"Det här åtar sig kulturplanen för {query.label}{total}:"
    lines = [heading]
    for title, items in by_document.items():
        if not (single and document_only):  # every item says which plan it belongs to
            count = _count(len(items), query.counted and not single, english)
            lines.append(f"{'From' if english else 'Ur'} {title}{count}:")
        lines += [f"- {c.sentence.rstrip('.')} [{numbers[c.chunk_id]}]." for c in items]
    return "\n".join(lines)


def _count(items: int, shown: bool, english: bool) -> str:
    """", 3 åtaganden" after a label when the count is `shown`, else nothing."""
    if not shown:
        return ""
    if english:
        return f", {items} commitment{'s' if items != 1 else ''}"
    return f", {items} åtagande{'n' if items != 1 else ''}"
