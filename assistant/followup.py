"""Follow-up questions become standalone questions before retrieval.

Rules handle the common cases without an LLM: "Och i Olofström?" after a question about Ronneby is
the previous question with the municipality swapped, and "Och 2022?" or "Och året innan?" after
a question about 2023 is it with the year swapped. Other elliptic follow-ups are rewritten by the
LLM when one is in use, and otherwise joined with the previous question.
"""

from __future__ import annotations

import re

from assistant.types import Turn
from kulturplan.language import content_terms
from kulturplan.region import RegionProfile

_ELLIPTIC_START = re.compile(
    r"^\s*(och|men|samt|än|vad sägs om|hur är det (med|i)|gäller det (också|även)|and|what about|how about)\b",
    re.IGNORECASE,
)
_REFERS_BACK = re.compile(r"\b(det|den|dem|de|dess|deras|där|dit|detta|denna|it|they|them|there|that)\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
# A year said relative to the one the previous question asked about (not to today: "förra året").
_YEAR_BEFORE = re.compile(r"\b(?:året (?:innan|före)|föregående år|the (?:year before|previous year))\b", re.IGNORECASE)
_YEAR_AFTER = re.compile(r"\b(?:året (?:efter|därpå)|följande år|the (?:year after|following year))\b", re.IGNORECASE)


def last_user_question(history: list[Turn]) -> str | None:
    return next((t.content for t in reversed(history) if t.role == "user" and t.content.strip()), None)


def needs_rewrite(question: str, history: list[Turn], profile: RegionProfile) -> bool:
    if not last_user_question(history):
        return False
    short = len(content_terms(question)) <= 2
    return bool(_ELLIPTIC_START.search(question)) or (short and bool(_REFERS_BACK.search(question))) or (
        short and bool(profile.find_municipalities(question)) and len(question.split()) <= 4
    )


def rewrite_by_rules(question: str, history: list[Turn], profile: RegionProfile) -> str | None:
    """A standalone question when rules can make one confidently, else None."""
    previous = last_user_question(history)
    if not previous or not needs_rewrite(question, history, profile):
        return None
    new_places = profile.find_municipalities(question)
    old_places = profile.find_municipalities(previous)
    pattern = profile.municipality_pattern
    if new_places and old_places:
        replacement = " och ".join(new_places)
        swapped, count = pattern.subn(lambda m: replacement, previous, count=1)
        # Any further mentions of the old municipalities go too.
        swapped = pattern.sub(
            lambda m: m.group(0) if profile.canonical_municipality(m.group(1)) in new_places else "", swapped
        )
        return " ".join(swapped.split()) if count else None
    if new_places:
        return f"{previous.rstrip('?')} i {' och '.join(new_places)}?"
    return _with_the_year_swapped(question, previous)


def _with_the_year_swapped(question: str, previous: str) -> str | None:
    """"Och 2022?", "Och hur många var det 2022?" or "Och året innan?" after a question about one
    year: the previous question about the new year. None when the previous question names no single
    year, or the follow-up asks about something more than the year."""
    years = set(_YEAR.findall(previous))
    if len(years) != 1:
        return None
    (old,) = years
    said = _YEAR.sub(" ", _YEAR_AFTER.sub(" ", _YEAR_BEFORE.sub(" ", question)))
    if content_terms(said) - content_terms(previous):
        return None
    if found := _YEAR.findall(question):
        new = found[0]
    elif _YEAR_BEFORE.search(question) or _YEAR_AFTER.search(question):
        new = str(int(old) + (-1 if _YEAR_BEFORE.search(question) else 1))
    else:
        return None
    return _YEAR.sub(new, previous)


def join_with_previous(question: str, history: list[Turn]) -> str:
    previous = last_user_question(history) or ""
    remainder = _ELLIPTIC_START.sub("", question).strip()
    return f"{previous.rstrip('?')}: {remainder}" if remainder else previous
