"""Whether the documents can answer a question, judged from the evidence retrieval found.

Seven signals, combined by a logistic model whose weights, bias and threshold are calibrated with
`python -m evals.calibrate` on development questions (evals/calibration.json holds the figures):
- the best sentence's evidence score (assistant.evidence: dense similarity, IDF-weighted coverage,
  the asked-for kind);
- the best passage's dense similarity with the question (the embedding model's question prompt);
- the share of the question's content words found in the three best passages;
- how specific the question's most specific word that the documents lack is: a word common in
  Swedish at large that no passage holds only frames the question ("Vem betalar för ...?"), a rare
  one usually names what is asked for ("kulturbudgeten"). No word is refused for itself: the signals
  are weighed together;
- whether the asked-for kind is there: a question asking how many, when or who, whose best
  sentences hold no number, date or name, is most likely asked about something the plan leaves out;
- how specific the asked-for noun is when the documents lack it: in Swedish the noun right after
  "vilken/vilket/vilka" or "hur många/mycket" is what the question asks for ("Vilka öppettider
  har ...?"), so its absence weighs more than that of another word;
- whether the years the question names are in the passages that hold its best sentences (their text
  or their document's title): a question about "2019" answered by passages that only know 2023 is
  about a year the documents do not cover, however close its topic. None are when the best sentence
  speaks of other years only: a question about 2023 whose best sentence gives 2022's figure is most
  likely asked about a year the documents lack.

For a generator with a model of its own (the local LLM), a second stage (`JudgedAnswerability`)
weighs the evidence model's verdict together with the model's own judgement whether the best
selected sentence gives the answer; calibrated with `python -m evals.calibrate_judge`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import astuple, dataclass

from assistant.evidence import asked_kinds
from assistant.scope import names_other_years, names_time
from kulturplan.chunks import periods_in
from kulturplan.language import general_frequency, stem

_ASKED_NOUN = re.compile(r"\b(?:vilken|vilket|vilka|hur många|hur mycket|which|how many|how much)\s+(\w+)", re.IGNORECASE)
# How many of the best sentences may hold the asked-for kind (the answer's usual length).
KIND_SENTENCES = 3
# wordfreq's Zipf scale tops out at 8 ("och" is 7.7); a word it has never seen is 0.
_ZIPF_TOP = 8.0


@dataclass(frozen=True)
class AnswerabilityFeatures:
    best_evidence: float
    best_dense: float
    coverage: float
    absent_specificity: float  # 0 when the documents hold every content word of the question
    asked_kind_found: float  # 1 when the question asks for no kind (number, date, name) or a best sentence holds it
    absent_focus_specificity: float  # the asked-for noun's specificity when the documents lack it, else 0
    years_found: float  # share of the question's years in the best sentences' passages (1 when it names none)

    def as_list(self) -> list[float]:
        return list(astuple(self))


def logistic(z: float) -> float:
    """The probability of the log-odds `z` (both models below are logistic regressions)."""
    return 1.0 / (1.0 + math.exp(-z))


@dataclass(frozen=True)
class AnswerabilityModel:
    weights: tuple[float, ...]
    bias: float
    threshold: float  # refuse below this probability; 0 never refuses early

    def probability(self, features: AnswerabilityFeatures) -> float:
        return logistic(self.bias + sum(w * x for w, x in zip(self.weights, features.as_list())))

    def refuses(self, features: AnswerabilityFeatures) -> bool:
        return self.refuses_at(self.probability(features))

    def refuses_at(self, probability: float) -> bool:
        return self.threshold > 0 and probability < self.threshold


# Log-odds of probabilities this close to 0 or 1 are cut off: a model's "certain" is not infinite evidence.
_SMALLEST_PROBABILITY = 1e-4


def log_odds(probability: float) -> float:
    p = min(max(probability, _SMALLEST_PROBABILITY), 1 - _SMALLEST_PROBABILITY)
    return math.log(p / (1 - p))


@dataclass(frozen=True)
class JudgedAnswerability:
    """The second stage: the evidence model's log-odds and the LLM's own log-odds that the best
    selected sentence gives the answer (the generator's `judge`), in one logistic model. Asked only
    about questions the evidence model let through with a probability below `ask_below` (1.0 asks
    about all of them): an LLM call is not free on a CPU."""

    weights: tuple[float, float]  # evidence log-odds, judge log-odds
    bias: float
    threshold: float  # refuse below this probability; 0 never asks
    ask_below: float

    def asks(self, evidence_probability: float) -> bool:
        return self.threshold > 0 and evidence_probability < self.ask_below

    def probability(self, evidence_probability: float, judged_yes: float) -> float:
        evidence, judge = self.weights
        return logistic(self.bias + evidence * log_odds(evidence_probability) + judge * log_odds(judged_yes))

    def refuses(self, evidence_probability: float, judged_yes: float) -> bool:
        return self.asks(evidence_probability) and self.probability(evidence_probability, judged_yes) < self.threshold


def absent_specificity(unknown_words: Iterable[str], place_terms: frozenset[str] = frozenset()) -> float:
    """0..1: how rare in Swedish the rarest question word the documents lack is (places left out:
    a municipality the region names is answered by its own route)."""
    rarities = [1.0 - min(general_frequency(w), _ZIPF_TOP) / _ZIPF_TOP for w in unknown_words if stem(w) not in place_terms]
    return max(rarities, default=0.0)


def features_of(retrieval, evidence, place_terms: frozenset[str] = frozenset()) -> AnswerabilityFeatures:
    """The signals of one retrieval and its scored sentences (best first)."""
    asked, noun = asked_kinds(retrieval.question), asked_noun(retrieval.question)
    return AnswerabilityFeatures(
        best_evidence=evidence[0].score if evidence else 0.0,
        best_dense=max((p.dense for p in retrieval.passages), default=0.0),
        coverage=retrieval.coverage,
        absent_specificity=absent_specificity(retrieval.unknown_words, place_terms),
        asked_kind_found=float(not asked or any(s.typed for s in evidence[:KIND_SENTENCES])),
        absent_focus_specificity=absent_specificity([w for w in retrieval.unknown_words if w == noun], place_terms),
        years_found=years_found(retrieval, evidence[:KIND_SENTENCES]),
    )


def years_found(retrieval, best) -> float:
    """The share of the question's times (years, dates, periods) that the passages holding the `best`
    sentences name (their text, section headings, table introduction or document title; a period
    holding an asked year names it); 1.0 for a question that names no time, 0.0 when the best
    sentence speaks of other years only (the documents give the neighbouring year's figure, lacking
    the asked one)."""
    asked = periods_in(retrieval.question)
    if not asked:
        return 1.0
    if best and names_other_years(retrieval.question, best[0].text):
        return 0.0
    chunks = [retrieval.passages[n - 1].chunk for n in dict.fromkeys(s.n for s in best)]
    named = periods_in(" ".join(f"{chunk.title} {chunk.searchable_text}" for chunk in chunks))
    return sum(names_time(time, named) for time in asked) / len(asked)


def asked_noun(question: str) -> str | None:
    """The word right after an interrogative determiner ("vilka", "hur många"), lower-cased."""
    match = _ASKED_NOUN.search(question)
    return match.group(1).lower() if match else None
