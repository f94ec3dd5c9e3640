"""Blekinge's five municipalities, found in text with their Swedish inflections."""

from __future__ import annotations

import re

MUNICIPALITIES = ("Karlskrona", "Karlshamn", "Ronneby", "Olofström", "Sölvesborg")

# Genitive "Ronnebys", and the inhabitant forms "ronnebybo", "karlskronaborna" and so on.
_SUFFIX = r"(?:s|bo|bon|bor|borna|bos)?"
_PATTERNS = {
    name: re.compile(rf"(?<!\w){re.escape(name)}{_SUFFIX}(?!\w)", re.IGNORECASE) for name in MUNICIPALITIES
}

# Phrases that make a passage region-wide context rather than one municipality's own.
_REGION_WIDE = re.compile(
    r"\b(alla (?:Blekinges )?kommuner(?:na)?|hela (?:Blekinge|regionen|länet)|alla (?:\w+ ){1,2}i Blekinge)\b",
    re.IGNORECASE,
)


def find_municipalities(text: str) -> tuple[str, ...]:
    """The municipalities `text` mentions, in canonical spelling and fixed order."""
    return tuple(name for name, pattern in _PATTERNS.items() if pattern.search(text))


def is_region_wide(text: str) -> bool:
    return bool(_REGION_WIDE.search(text))


def metadata_key(name: str) -> str:
    """A Chroma-filterable boolean key per municipality ("m_olofstrom")."""
    ascii_name = name.lower().translate(str.maketrans("åäö", "aao"))
    return f"m_{ascii_name}"
