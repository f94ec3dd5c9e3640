"""Swedish text helpers: sentences, stemmed content terms, numbers, names, language."""

from __future__ import annotations

import re
from functools import lru_cache

from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_SWEDISH

# Words that say nothing about what a passage is about in this domain: question words and words
# every culture-plan passage shares. They are left out when judging support and coverage.
GENERIC_WORDS = {
    "finns", "finnas", "fanns", "vilken", "vilket", "vilka", "vad", "hur", "var", "när", "vem", "vems",
    "kultur", "kulturen", "kulturplan", "kulturplanen", "planen", "plan", "blekinge", "blekinges",
    "region", "regionen", "regionala", "regional", "kommun", "kommunen", "kommuner", "kommunerna",
    "göra", "gör", "ska", "skall", "också", "även", "enligt", "säger", "står", "handlar", "berätta",
    "beskriv", "mer", "kan", "får", "ges", "olika", "bland", "annat", "många", "flera", "andra",
    # Words that frame a question rather than name its subject.
    "organisation", "organisationer", "aktör", "aktörer", "bakom", "står", "utgår", "uppgift", "uppgifter",
    "roll", "rollen", "vill", "bra", "använda", "samhället", "samhälle", "konstform", "konstformer", "varför",
    "händer", "hände", "hända", "gäller", "sker", "görs", "pågår", "erbjuds", "erbjuder", "arbetar",
    "what", "which", "who", "how", "does", "say", "tell", "about", "plan", "culture", "cultural",
}  # fmt: skip
# English function words that never occur in Swedish text, for telling the question's language.
ENGLISH_WORDS = {
    "what", "which", "who", "whom", "how", "why", "where", "when", "is", "are", "was", "the", "does", "do",
    "there", "about", "of", "and", "for", "to", "a", "an", "in", "it", "this", "that", "can", "you", "tell",
}  # fmt: skip

STOPWORDS = set(STOPWORDS_SWEDISH) | set(STOPWORDS_EN) | GENERIC_WORDS
_TOKEN = re.compile(r"\w+", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[ \u00a0]\d{3})*(?:[.,]\d+)?")
# A sentence ends at . ! ? followed by space and a capital letter, a digit or an opening quote.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÅÄÖÉ0-9\"”«(\[])")
_CITATION = re.compile(r"\s*\[(\d+)\]")


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("swedish")


def stem(word: str) -> str:
    return _stemmer().stemWord(word.lower())


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def content_terms(text: str) -> set[str]:
    """Stems of the words that carry meaning (no stopwords, no generic domain words)."""
    return {
        stem(word)
        for word in tokens(text)
        if len(word) > 1 and word not in STOPWORDS and not word.isdigit()
    }


def numbers(text: str) -> set[str]:
    """Numbers with thousands separators removed ("16 000" -> "16000")."""
    return {re.sub(r"[ \u00a0]", "", n).replace(",", ".") for n in _NUMBER.findall(text)}


def names(text: str) -> set[str]:
    """Capitalised words that do not start a sentence: names of places and organisations."""
    found = set()
    for sentence in split_sentences(text):
        for word in _TOKEN.findall(sentence)[1:]:
            if word[:1].isupper() and len(word) > 2:
                found.add(stem(word))
    return found


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage or answer; list items and lines stay separate units."""
    sentences: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            sentences += [s.strip() for s in _SENTENCE_END.split(line) if s.strip()]
    return sentences


def citations_in(text: str) -> list[int]:
    return [int(n) for n in _CITATION.findall(text)]


def strip_citations(text: str) -> str:
    return _CITATION.sub("", text).strip()


def is_english(text: str) -> bool:
    """True when a question is clearly English rather than Swedish."""
    words = tokens(text)
    english = sum(word in ENGLISH_WORDS for word in words)
    swedish = sum(word in STOPWORDS_SWEDISH and word not in ENGLISH_WORDS for word in words)
    return english >= 2 and english > 2 * swedish
