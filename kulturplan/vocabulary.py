"""Which words of a question say nothing about its subject, judged from the indexed documents.

Two kinds of word carry no subject, and both are found from statistics, not from a word list:
- the corpus's domain words: a word that, alone or as the first part of a Swedish compound, is
  surely in a large share of the chunks ("kultur" in kulturliv, kulturskola, kulturarv ...; the
  share's lower confidence bound, so a handful of chunks shows none) is what every passage is
  about, so it tells no passage from another;
- framing words: the most common words of Swedish ("finns", "vill", "många"), and words common in
  Swedish at large that the documents use no more often than Swedish does ("bakom", "gäller"); they
  frame a question, they do not name its subject. A subject word common in Swedish ("barn",
  "musik") is used far more often in a culture plan than in Swedish at large, so it stays a subject.

The four thresholds are calibrated by `python -m evals.calibrate_vocabulary` on the development
split (evals/vocabulary_calibration.json). The statistics are the lexical index's, so the judgement
is recomputed whenever the index changes (assistant.retrieval.Bm25Index registers it with
kulturplan.language).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from kulturplan.language import general_frequency, stem

# A share below one chunk in ten thousand is taken as that (log of zero).
_SHARE_FLOOR = 1e-4
# wordfreq's Zipf scale is log10 of a word's frequency per billion words.
_ZIPF_PER_WORD = 9.0


@dataclass(frozen=True)
class GenericWordRule:
    """The thresholds of the judgement (Settings holds the calibrated values)."""

    domain_share: float  # a word whose compounds fill at least this share of the chunks is a domain word
    framing_zipf: float  # a word at least this common in Swedish (wordfreq Zipf) ...
    framing_lift: float  # ... that the documents use less than 10**lift times as often is a framing word
    common_zipf: float  # a word at least this common in Swedish frames a question whatever the documents do


class IndexStatistics(Protocol):
    """What the judgement reads of an index (kulturplan.lexical.LexicalIndex has all of it)."""

    chunk_count: int
    words_per_chunk: float  # the mean number of distinct word stems a chunk holds

    def share(self, term: str) -> float:
        """The share of chunks holding the word stem `term`."""

    def compound_share(self, term: str) -> float:
        """The share of chunks holding `term` or a word that begins with it."""


class CorpusVocabulary:
    """The generic-word judgement over one index's statistics."""

    def __init__(self, statistics: IndexStatistics, rule: GenericWordRule):
        self.statistics = statistics
        self.rule = rule
        self.is_generic = lru_cache(maxsize=65536)(self._is_generic)

    def lift(self, word: str) -> float:
        """log10 of how many times more chunks hold the word than would if the documents used it as
        often as Swedish at large does (0: as often; 1: ten times as often)."""
        per_word = 10 ** (general_frequency(word) - _ZIPF_PER_WORD)
        expected = min(1.0, per_word * max(self.statistics.words_per_chunk, 1.0))
        return math.log10(max(self.statistics.share(stem(word)), _SHARE_FLOOR) / max(expected, _SHARE_FLOOR))

    def is_domain_word(self, word: str) -> bool:
        """The word's compounds fill the domain share of the chunks, surely: the share's lower 95 %
        bound, so that in a handful of chunks (where every word fills half of them) none is."""
        share, chunks = self.statistics.compound_share(stem(word)), self.statistics.chunk_count
        return chunks > 0 and wilson_lower_bound(share, chunks) >= self.rule.domain_share

    def is_framing_word(self, word: str) -> bool:
        zipf, rule = general_frequency(word), self.rule
        return zipf >= rule.common_zipf or (zipf >= rule.framing_zipf and self.lift(word) < rule.framing_lift)

    def _is_generic(self, word: str) -> bool:
        word = word.lower()
        return self.is_domain_word(word) or self.is_framing_word(word)


def wilson_lower_bound(share: float, n: int) -> float:
    """The lower end of the 95 % Wilson score interval of a share observed in `n` chunks."""
    from scipy.stats import binomtest

    return float(binomtest(round(share * n), n).proportion_ci(confidence_level=0.95, method="wilson").low)
