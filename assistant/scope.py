"""Scope-aware reranking: prefer the region and plan period a question names or implies.

Every chunk carries its document's scope (ingest/scope.py): `region` and the years it covers. A
region's folder also holds the previous period's plan and other regions' plans with the same
institutions and other numbers, so the fused candidates are reweighted before passages are chosen:

- Region. A question naming other regions ("i Kronoberg", "Kalmar läns kulturplan") wants those;
  one naming none (or the profile's own region or a municipality of it) wants the profile's region.
  A passage of a region not wanted gets its fused score multiplied by OTHER_REGION_FACTOR (0.5):
  with reciprocal rank fusion a passage ranked first by both searches then scores like one ranked
  first by a single search, so it drops below every wanted passage of comparable relevance but is
  not dropped outright (it can still answer when nothing of the wanted region matches).
- Time. A question naming a period ("2020–2023"), a year ("2022") or a relative period ("förra
  planen", "nästa period") wants documents whose period contains it, or lies within it: others get
  OTHER_PERIOD_FACTOR, except, for a single year, later documents (which report on earlier years:
  a 2024–2027 plan gives 2022's statistics) get the milder LATER_PERIOD_FACTOR, and a passage that
  names the year itself keeps its score (minutes of 2024 set the goals for 2026). A question naming no
  time wants the current period, the plan period containing today: documents whose period ended
  before it started get OLDER_PERIOD_FACTOR. Documents without a known period are never touched.

A sentence is weighed once more by its own words (`sentence_time_factor`): one that speaks of other
years than the single year asked gets OTHER_PERIOD_FACTOR, so that the answer gives the asked year's
row ("Beviljat 2023: 18 700 000") before the neighbouring year's of a closer passage.

The current period is read off the candidates: the own region's multi-year periods containing today
(the latest-starting one); "förra"/"tidigare" is the period before it, "nästa"/"kommande" the one after.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date

from assistant.types import Passage
from kulturplan.chunks import Chunk, periods_in
from kulturplan.language import name_words, stem, tokens
from kulturplan.region import RegionProfile

OTHER_REGION_FACTOR = 0.5
OTHER_PERIOD_FACTOR = 0.7
LATER_PERIOD_FACTOR = 0.9
OLDER_PERIOD_FACTOR = 0.75

# Swedish (and English) words for "the period before / after the current one", followed by a noun
# meaning a plan or a period: "förra kulturplanen", "den tidigare planperioden", "nästa period".
_PERIOD_NOUN = r"\w*(?:plan|period)(?:en|ens|er|erna|s)?\b"
_PREVIOUS = re.compile(rf"\b(?:förra|föregående|tidigare|previous|former|earlier)\s+{_PERIOD_NOUN}", re.IGNORECASE)
_NEXT = re.compile(rf"\b(?:nästa|kommande|nästkommande|next|coming|upcoming)\s+{_PERIOD_NOUN}", re.IGNORECASE)

Period = tuple[int, int]


@dataclasses.dataclass(frozen=True)
class QuestionScope:
    regions: frozenset[str]  # the regions the question wants
    periods: tuple[Period, ...]  # the periods it names (relative ones resolved); () = none
    single_years: frozenset[Period]  # those of `periods` that are one year ("2022")


def rerank_by_scope(
    question: str, candidates: list[Passage], profile: RegionProfile, today: date | None = None
) -> list[Passage]:
    """The candidates with their fused scores weighted by scope (see the module docstring), best first."""
    if not candidates:
        return candidates
    today = today or date.today()
    chunks = [p.chunk for p in candidates]
    wanted = question_scope(question, chunks, profile, today)
    current = current_period(chunks, profile, today)
    reranked = []
    for passage in candidates:
        factor = scope_factor(passage.chunk, wanted, current)
        reranked.append(dataclasses.replace(passage, score=passage.score * factor, scope=factor))
    reranked.sort(key=lambda p: (p.score, p.dense), reverse=True)
    return reranked


def scope_factor(chunk: Chunk, wanted: QuestionScope, current: Period | None) -> float:
    """How much of its fused score a passage keeps: 1.0 in scope, less out of it."""
    factor = 1.0
    if chunk.region and chunk.region not in wanted.regions:
        factor *= OTHER_REGION_FACTOR
    period = _period_of(chunk)
    if period is None:
        return factor
    if wanted.periods:
        if _names_a_year(chunk, wanted.single_years):
            return factor
        factor *= max(_named_period_factor(period, named, named in wanted.single_years) for named in wanted.periods)
    elif before_current(chunk, current):
        factor *= OLDER_PERIOD_FACTOR
    return factor


def before_current(chunk: Chunk, current: Period | None) -> bool:
    """Whether the chunk's document belongs to a period that ended before the current one started
    (the previous plan, its follow-up): what a question naming no time does not ask about."""
    period = _period_of(chunk)
    return current is not None and period is not None and period[1] < current[0]


def _names_a_year(chunk: Chunk, years: frozenset[Period]) -> bool:
    """Whether the passage itself (its headings or text) names one of the asked single years: then
    it speaks of that year whatever its document's date (minutes of 2024 setting the goal for 2026,
    a 2020 plan's target value for 2023)."""
    named = periods_in(chunk.searchable_text)
    return any(names_time(("year", start, start), named) for start, _ in years)


def _named_period_factor(period: Period, named: Period, single_year: bool) -> float:
    if _contains(period, named) or _contains(named, period):
        return 1.0
    if single_year and period[0] > named[1]:
        return LATER_PERIOD_FACTOR
    return OTHER_PERIOD_FACTOR


def _contains(outer: Period, inner: Period) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1]


def _period_of(chunk: Chunk) -> Period | None:
    if chunk.period_start is None:
        return None
    return chunk.period_start, chunk.period_end if chunk.period_end is not None else chunk.period_start


def question_scope(question: str, chunks: list[Chunk], profile: RegionProfile, today: date) -> QuestionScope:
    """The regions and periods a question names, or implies by naming none."""
    named_regions = {region for _, region, _ in profile.region_mentions(question)}
    implied = _regions_of_names(question, chunks, profile) if not named_regions else set()
    regions = frozenset(named_regions or {profile.region, *implied})
    periods: list[Period] = []
    singles: set[Period] = set()
    for kind, start, end in periods_in(question):
        periods.append((start, end))
        if kind != "span":
            singles.add((start, end))
    previous, following = _PREVIOUS.search(question), _NEXT.search(question)
    if previous or following:
        own = [c for c in chunks if c.region in regions or not c.region]
        plans = _plan_periods(own or chunks)
        current = _current(plans, today)
        if current is not None:
            if previous:
                periods.append(_before(current, plans))
            if following:
                periods.append(_after(current, plans))
    return QuestionScope(regions, tuple(dict.fromkeys(periods)), frozenset(singles))


def _regions_of_names(question: str, chunks: list[Chunk], profile: RegionProfile) -> set[str]:
    """Other regions whose passages alone, among `chunks`, hold a name the question uses: "Hur mycket
    statligt stöd får Kulturparken Småland?" is about Kronoberg's institution though it names no
    region, and Kronoberg's plan is the only one that knows it. Place names are left to
    `region_mentions`, which tells a region asked about from a part of an organisation's name
    ("Regionteatern Blekinge Kronoberg")."""
    asked = [word for word in name_words(question) if not profile.region_mentions(word)]
    if not asked:
        return set()
    words = [{stem(w) for w in tokens(chunk.searchable_text)} for chunk in chunks]
    implied = set()
    for word in asked:
        holders = {chunk.region for chunk, chunk_words in zip(chunks, words) if stem(word) in chunk_words}
        if len(holders) == 1 and (region := next(iter(holders))) and region != profile.region:
            implied.add(region)
    return implied


def current_period(chunks: list[Chunk], profile: RegionProfile, today: date) -> Period | None:
    """The own region's plan period containing today (the latest-starting one), as seen among `chunks`;
    else the latest period that has started; None when the chunks name no multi-year period."""
    own = [c for c in chunks if c.region == profile.region]
    return _current(_plan_periods(own or chunks), today)


def _plan_periods(chunks: list[Chunk]) -> list[Period]:
    """The distinct multi-year periods of the chunks' documents: plans and programmes, not minutes."""
    periods = {p for c in chunks if (p := _period_of(c)) is not None and p[1] > p[0]}
    return sorted(periods)


def _current(plans: list[Period], today: date) -> Period | None:
    containing = [p for p in plans if p[0] <= today.year <= p[1]]
    started = containing or [p for p in plans if p[0] <= today.year]
    return max(started, key=lambda p: (p[0], -p[1])) if started else None


def _before(current: Period, plans: list[Period]) -> Period:
    earlier = [p for p in plans if p[1] < current[0]]
    if earlier:
        return max(earlier, key=lambda p: (p[1], -p[0]))
    length = current[1] - current[0]
    return current[0] - 1 - length, current[0] - 1


def _after(current: Period, plans: list[Period]) -> Period:
    later = [p for p in plans if p[0] > current[1]]
    if later:
        return min(later)
    length = current[1] - current[0]
    return current[1] + 1, current[1] + 1 + length


def names_other_years(question: str, sentence: str) -> bool:
    """Whether the question names single years ("2023", not only a period "2020–2023") and the
    sentence names times, none of which is one the question names: none holds an asked year
    ("2022" does not, "läsåret 2022/23" holds 2023) or lies within an asked period."""
    asked = periods_in(question)
    named = periods_in(sentence)
    if not named or all(kind == "span" for kind, _, _ in asked):
        return False
    return not any(names_time(time, named) for time in asked)


def names_time(asked: tuple[str, int, int], named: list[tuple[str, int, int]]) -> bool:
    """Whether one of the `named` times (`periods_in`) is the `asked` one: lies within an asked
    period, or holds an asked year or date."""
    kind, start, end = asked
    return any(
        _contains((start, end), (first, last)) if kind == "span" else _contains((first, last), (start, end))
        for _, first, last in named
    )


def sentence_time_factor(question: str, sentence: str) -> float:
    """A sentence's own scope in time: OTHER_PERIOD_FACTOR when it speaks of other years than the
    single years the question names, else 1.0 (its passage's scope is weighed apart)."""
    return OTHER_PERIOD_FACTOR if names_other_years(question, sentence) else 1.0
