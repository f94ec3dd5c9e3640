"""How a word typed in haste is read: with the å, ä and ö a keyboard without them left out.

A question typed without diacritics ("nar antogs planen av fullmaktige") meets the documents' words
on a key without them, and Swedish at large (wordfreq) tells which spelling is the word: "paga" is
"pågå", "lange" is "länge" (not "långe"), while "kallas" stays as typed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable

from kulturplan.language import general_frequency, stem, without_diacritics


def diacritics_key(word: str) -> str:
    """The stem of the word written without diacritics ("pågå", "paga" -> "pag"): a question typed
    on a keyboard without å, ä and ö meets the documents' words on this key."""
    return stem(without_diacritics(word))


def with_diacritics(word: str, stems: Iterable[str]) -> str | None:
    """The word as written with the diacritics of one of `stems` (the documents' stems on its key),
    when that spelling is more common in Swedish than the word as typed, or the typed word is no
    Swedish word at all: "paga" -> "pågå", "lange" -> "länge" (not "långe"), "forvaltningsomrade" ->
    "förvaltningsområde"; "kallas" stays, though "käll" shares its key."""
    typed = word.lower()
    spelled = {
        candidate + typed[len(candidate) :]
        for candidate in stems
        if len(candidate) <= len(typed) and without_diacritics(candidate) == typed[: len(candidate)]
    }
    best = max(spelled, key=general_frequency, default=None)
    typed_frequency = general_frequency(typed)
    if best is not None and (general_frequency(best) > typed_frequency or not typed_frequency):
        return best
    return None


def swedish_spelling(word: str) -> str | None:
    """The word as Swedish at large most often writes it with å, ä or ö, when that is more common
    than the word as typed: "fullmaktige" -> "fullmäktige", "omgangen" -> "omgången"; "sommar" stays."""
    typed = word.lower()
    best = max(spellings_with_diacritics(typed), key=general_frequency, default=None)
    return best if best is not None and general_frequency(best) > general_frequency(typed) else None


# A keyboard without å, ä and ö types them as a and o.
_DIACRITIC_SPELLINGS = {"a": "aåä", "o": "oö"}
MAX_SPELLINGS = 729  # six a's (3**6), or more o's: longer words are left as typed


def spellings_with_diacritics(word: str) -> list[str]:
    """Every way to write the word's a's as a, å or ä and its o's as o or ö, the word itself included;
    none when there are more than MAX_SPELLINGS."""
    choices = [_DIACRITIC_SPELLINGS.get(letter, letter) for letter in word.lower()]
    if math.prod(len(choice) for choice in choices) > MAX_SPELLINGS:
        return []
    return ["".join(letters) for letters in itertools.product(*choices)]


def has_diacritics(text: str) -> bool:
    """Whether the text holds å, ä or ö (or another letter with a diacritic)."""
    return without_diacritics(text) != text.lower()


def with_typed_ending(word: str, corrected_stem: str) -> str:
    """The documents' stem a misspelt word was corrected to, with the ending the word was typed with
    when the stemmer reads it so: "regiontatern" (stem "regiontat") corrected to "regionteat" reads
    "regionteatern", as the question means it, not the bare stem, which the embedding model reads as
    no word. The stem alone when the typo was in the ending ("kulturpirs" is "kulturpris", not
    "kulturpriss"), or when Swedish knows the stem as a word but not the word with that ending
    ("mycke" is "mycket", not "myckete")."""
    typed, typed_stem = word.lower(), stem(word)
    with_ending = corrected_stem + typed[len(typed_stem) :] if typed.startswith(typed_stem) else corrected_stem
    if stem(with_ending) != corrected_stem:
        return corrected_stem
    return with_ending if general_frequency(with_ending) or not general_frequency(corrected_stem) else corrected_stem
