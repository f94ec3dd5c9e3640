"""The region as data: a profile names the region, its municipalities and what counts as region-wide.

Profiles are small TOML files. Blekinge's ships in `kulturplan/regions/` and is the default; the
`region` setting names another shipped profile ("blekinge") or a path to a region's own file.
Prompts, UI texts, commitment extraction and the index's per-municipality metadata keys all come
from the profile, so a region uses the assistant for its own plan without editing code.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from kulturplan import language

PROFILES_DIR = Path(__file__).parent / "regions"
DEFAULT_REGION = "blekinge"
# Genitive "Ronnebys" and the inhabitant forms "ronnebybo", "karlskronaborna": Swedish for any place.
PLACE_SUFFIX = r"(?:s|bo|bon|bor|borna|bos)?"
_REQUIRED = ("name", "region", "plan_name", "region_wide_label", "municipalities")


class RegionProfileError(ValueError):
    """A profile that cannot be read or lacks a field; the message names the file."""


def metadata_key(municipality: str) -> str:
    """A Chroma-filterable boolean key per municipality ("m_olofstrom")."""
    ascii_name = municipality.lower().translate(str.maketrans("åäöéü", "aaoeu"))
    return "m_" + re.sub(r"[^a-z0-9]+", "_", ascii_name).strip("_")


@dataclass(frozen=True)
class RegionProfile:
    name: str  # "Region Blekinge"
    region: str  # "Blekinge"
    plan_name: str  # "Region Blekinges kulturplan"
    region_wide_label: str  # "hela Blekinge"
    municipalities: tuple[str, ...]
    plan_name_en: str = ""
    region_wide_label_en: str = ""
    region_wide_patterns: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    # Sweden's other regions (län) as named in texts ("Kronoberg", "Kalmar län"): tells another
    # region's documents apart from the region's own (see `region_mentions`).
    other_regions: tuple[str, ...] = ()
    source: str = ""  # the file it was read from

    # --- finding places in text ------------------------------------------------------------------
    @cached_property
    def _municipality_patterns(self) -> dict[str, re.Pattern[str]]:
        return {
            name: re.compile(rf"(?<!\w){re.escape(name)}{PLACE_SUFFIX}(?!\w)", re.IGNORECASE)
            for name in self.municipalities
        }

    @cached_property
    def municipality_pattern(self) -> re.Pattern[str]:
        """Any municipality with its inflections; group 1 is the name as written."""
        names = "|".join(re.escape(name) for name in self.municipalities)
        return re.compile(rf"(?<!\w)({names}){PLACE_SUFFIX}(?!\w)", re.IGNORECASE)

    @cached_property
    def _region_wide(self) -> re.Pattern[str] | None:
        phrases = [p.replace("{region}", re.escape(self.region)) for p in self.region_wide_patterns]
        return re.compile(rf"\b({'|'.join(phrases)})\b", re.IGNORECASE) if phrases else None

    def find_municipalities(self, text: str) -> tuple[str, ...]:
        """The municipalities `text` mentions, in canonical spelling and profile order."""
        return tuple(name for name, pattern in self._municipality_patterns.items() if pattern.search(text))

    def canonical_municipality(self, written: str) -> str | None:
        """"ronneby" or "Ronnebys" -> "Ronneby"; None for no municipality of the region."""
        found = self.find_municipalities(written)
        return found[0] if found else None

    def is_region_wide(self, text: str) -> bool:
        return bool(self._region_wide and self._region_wide.search(text))

    def names_whole_region(self, text: str) -> bool:
        """The text means the regional level as a whole: "regionen", "Region Blekinge", "Blekinge"."""
        words = {re.escape(self.name), re.escape(self.region), "regionen", "hela regionen"}
        return bool(re.search(rf"\b({'|'.join(sorted(words, key=len, reverse=True))})\b", text, re.IGNORECASE))

    @property
    def metadata_keys(self) -> dict[str, str]:
        return {name: metadata_key(name) for name in self.municipalities}

    @property
    def all_places(self) -> frozenset[str]:
        return frozenset({*self.places, self.region, *self.municipalities})

    @cached_property
    def _region_name_pattern(self) -> re.Pattern[str]:
        """Every region and municipality name, matched in ASCII-folded lower case (file names are
        often written "skane", "kalmar_lan"); a region name may carry the genitive and "län"."""
        names = {_fold(name) for name in (self.region, *self.other_regions, *self.municipalities, *self.places)}
        bases = sorted({re.sub(r"\s+lan$", "", name) for name in names}, key=len, reverse=True)
        alternatives = "|".join(re.escape(base).replace(r"\ ", r"\s+") for base in bases)
        return re.compile(rf"(?<!\w)({alternatives}){PLACE_SUFFIX}(?:\s+lans?)?(?!\w)")

    @cached_property
    def _canonical_regions(self) -> dict[str, tuple[str, str]]:
        """Folded base name -> (region, municipality) for every name that belongs to a region."""
        canonical: dict[str, tuple[str, str]] = {}
        for name in self.other_regions:
            canonical[re.sub(r"\s+lan$", "", _fold(name))] = (name, "")
        for name in self.municipalities:
            canonical[_fold(name)] = (self.region, name)
        canonical[re.sub(r"\s+lan$", "", _fold(self.region))] = (self.region, "")
        return canonical

    def region_mentions(self, text: str) -> list[tuple[int, str, str]]:
        """(offset, region, municipality) for each region or municipality `text` names, in order; a
        municipality of this profile counts as its region. Names standing next to another place name
        ("Regionteatern Blekinge Kronoberg", "Blekinge-Kronoberg") are an organisation's name rather
        than a place the text is about, and are left out."""
        folded = _fold(text)
        matches = list(self._region_name_pattern.finditer(folded))
        found = []
        for index, match in enumerate(matches):
            before = matches[index - 1] if index else None
            after = matches[index + 1] if index + 1 < len(matches) else None
            joined = (before and re.fullmatch(r"[\s\-–]+", folded[before.end() : match.start()])) or (
                after and re.fullmatch(r"[\s\-–]+", folded[match.end() : after.start()])
            )
            key = re.sub(r"\s+", " ", match.group(1))
            if not joined and key in self._canonical_regions:
                found.append((match.start(), *self._canonical_regions[key]))
        return found

    @cached_property
    def municipality_terms(self) -> frozenset[str]:
        """The municipalities' names as content terms of the language layer ("ronneby")."""
        return frozenset(language.content_terms(" ".join(self.municipalities)))

    def stopwords(self) -> set[str]:
        """The region's own name and its genitive: every passage of its plan shares them."""
        return {self.region.lower(), f"{self.region.lower()}s"}

    def plan(self, english: bool = False) -> str:
        return (self.plan_name_en or self.plan_name) if english else self.plan_name

    def whole_region(self, english: bool = False) -> str:
        return (self.region_wide_label_en or self.region_wide_label) if english else self.region_wide_label


def _fold(text: str) -> str:
    """Lower case without Swedish diacritics and with "_" as a space ("kulturplan_skane"), character
    for character, so offsets stay valid."""
    return text.lower().translate(_FOLD)


_FOLD = str.maketrans("åäöéüæø_", "aaoeuao ")


def _read(path: Path) -> RegionProfile:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise RegionProfileError(f"cannot read the region profile {path}: {error}") from error
    missing = [key for key in _REQUIRED if not data.get(key)]
    if missing:
        raise RegionProfileError(f"the region profile {path} lacks {', '.join(missing)}")
    known = set(RegionProfile.__dataclass_fields__) - {"source"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise RegionProfileError(f"the region profile {path} has unknown fields: {', '.join(unknown)}")
    values = {key: tuple(value) if isinstance(value, list) else value for key, value in data.items()}
    return RegionProfile(**values, source=str(path))


def profile_path(name_or_path: str) -> Path:
    """A shipped profile by name ("blekinge"), or a path to a TOML file."""
    shipped = PROFILES_DIR / f"{name_or_path}.toml"
    if shipped.is_file():
        return shipped
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    known = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.toml")))
    raise RegionProfileError(f"no region profile {name_or_path!r} (shipped: {known}; or give a path to a .toml file)")


@lru_cache(maxsize=16)
def _load(path: Path) -> RegionProfile:
    profile = _read(path)
    language.add_stopwords(profile.stopwords())
    return profile


def load_profile(name_or_path: str = DEFAULT_REGION) -> RegionProfile:
    """The profile, read once per file; its region name becomes a stopword of the language layer."""
    return _load(profile_path(name_or_path).resolve())
