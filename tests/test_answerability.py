"""The answerability model: its signals and its decision (no models, no store)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from assistant.scope import names_other_years
from assistant.answerability import (
    AnswerabilityFeatures, AnswerabilityModel, JudgedAnswerability, absent_specificity, features_of, log_odds,
)  # fmt: skip
from kulturplan.chunks import Chunk

MODEL = AnswerabilityModel(weights=(1.5, 0.0, 1.3, -1.3, 1.0, -1.0, 1.7), bias=-5.0, threshold=0.28)


def test_a_word_common_in_swedish_weighs_less_than_a_rare_one():
    framing = absent_specificity(["betalar"])  # frames a question: "Vem betalar för ...?"
    subject = absent_specificity(["kulturbudgeten"])  # names what is asked for
    assert 0 < framing < subject <= 1
    assert absent_specificity([]) == 0.0
    assert absent_specificity(["betalar", "kulturbudgeten"]) == subject  # the most specific one counts


def test_places_the_region_names_do_not_count_as_missing_words():
    assert absent_specificity(["tingsryd"], place_terms=frozenset({"tingsryd"})) == 0.0


def test_the_same_evidence_is_refused_with_a_rare_missing_word_and_answered_with_a_common_one():
    def features(word):
        return AnswerabilityFeatures(1.2, 0.55, 0.5, absent_specificity([word]), 1.0, 0.0, 1.0)

    assert not MODEL.refuses(features("betalar"))
    assert MODEL.probability(features("kulturbudgeten")) < MODEL.probability(features("betalar"))


def test_stronger_evidence_raises_the_probability_and_threshold_zero_never_refuses():
    weak, strong = AnswerabilityFeatures(0.3, 0.3, 0.0, 0.8, 0.0, 0.8, 1.0), AnswerabilityFeatures(1.6, 0.7, 1.0, 0.0, 1.0, 0.0, 1.0)
    assert MODEL.probability(weak) < MODEL.threshold < MODEL.probability(strong)
    assert MODEL.refuses(weak) and not MODEL.refuses(strong)
    assert not AnswerabilityModel(MODEL.weights, MODEL.bias, 0.0).refuses(weak)


def test_features_come_from_the_retrieval_and_the_best_sentence():
    passages = [SimpleNamespace(dense=0.4), SimpleNamespace(dense=0.6)]
    retrieval = SimpleNamespace(question="Vad är Blekingemodellen?", passages=passages, coverage=0.75, unknown_words=[])
    evidence = [SimpleNamespace(score=1.1, typed=False), SimpleNamespace(score=0.9, typed=False)]
    assert features_of(retrieval, evidence) == AnswerabilityFeatures(1.1, 0.6, 0.75, 0.0, 1.0, 0.0, 1.0)
    empty = SimpleNamespace(question="Vad?", passages=[], coverage=0.0, unknown_words=[])
    assert features_of(empty, []).best_evidence == 0.0


def test_a_question_asking_how_many_needs_a_number_among_the_best_sentences():
    retrieval = SimpleNamespace(question="Hur många besökare hade museet?", passages=[], coverage=1.0, unknown_words=[])
    without = [SimpleNamespace(score=1.0, typed=False)] * 3 + [SimpleNamespace(score=0.5, typed=True)]
    assert features_of(retrieval, without).asked_kind_found == 0.0
    assert features_of(retrieval, [SimpleNamespace(score=1.0, typed=True)]).asked_kind_found == 1.0


def _passage(title, text, context=""):
    chunk = Chunk(doc_id="d", source="plan.pdf", title=title, format="pdf", position=0, text=text, heading_path=(), start=0, end=len(text), context=context)
    return SimpleNamespace(dense=0.6, chunk=chunk)


def test_a_year_the_best_passages_never_name_lowers_the_probability():
    passages = [_passage("Kulturplan 2024–2027", "Kastellet hade 21 000 besök 2023."), _passage("Protokoll", "Kastellet 2019.")]
    best = [SimpleNamespace(score=1.2, typed=True, n=1, text="Kastellet hade många besök.")]

    def features(question):
        return features_of(SimpleNamespace(question=question, passages=passages, coverage=1.0, unknown_words=[]), best)

    assert features("Hur många besök hade Kastellet 2023?").years_found == 1.0
    assert features("Hur många besök hade Kastellet?").years_found == 1.0  # names no year
    assert features("Vad gäller för 2024?").years_found == 1.0  # the document's title names it
    assert features("Hur många besök hade Kastellet 2019?").years_found == 0.0  # only a passage not among the best
    assert features("Hur många besök 2019 och 2023?").years_found == 0.5
    assert features("Hur många besök 2022–2023?").years_found == 1.0  # a period: a year within it counts
    assert features("Hur många besök 2025/26?").years_found == 0.0  # "2025/26" is a season, not the years in "2024–2027"
    asked_2019, asked_2023 = features("Hur många besök hade Kastellet 2019?"), features("Hur många besök hade Kastellet 2023?")
    assert MODEL.probability(asked_2019) < MODEL.probability(asked_2023)


def test_a_best_sentence_of_other_years_than_the_asked_one_finds_none_of_them():
    assert names_other_years("Hur många besök hade konsthallen 2023?", "Konsthallen hade 38 000 besök 2022.")
    assert not names_other_years("Hur många besök hade konsthallen 2023?", "Konsthallen hade 41 000 besök 2023.")
    assert not names_other_years("Hur många besök hade konsthallen 2023?", "Konsthallen hade många besök.")
    assert not names_other_years("Hur många besök hade konsthallen?", "Konsthallen hade 38 000 besök 2022.")
    assert not names_other_years("Hur många elever fick kulturmöten 2023?", "Läsåret 2022/23 fick 71 procent kulturmöten.")
    assert not names_other_years("Vilka utställningar visades 2023?", "Sju utställningar, bland annat om 1900-talet.")
    # a question naming two times is answered by a sentence naming one of them
    assert not names_other_years("Hur många fick kulturmöten 2022/23, och vad är målet för 2027?", "Läsåret 2022/23 fick 71 procent.")
    # a period is not a single year: a 2020 figure may answer "2020–2023"
    assert not names_other_years("Hur mycket stöd gavs 2020–2023?", "Stödet var 10 miljoner 2020.")

    passages = [_passage("Kulturprogram 2023–2026", "Konsthallen hade 38 000 besök 2022.")]
    retrieval = SimpleNamespace(question="Hur många besök hade konsthallen 2023?", passages=passages, coverage=1.0, unknown_words=[])
    other_year = [SimpleNamespace(score=1.2, typed=True, n=1, text="Konsthallen hade 38 000 besök 2022.")]
    asked_year = [SimpleNamespace(score=1.2, typed=True, n=1, text="Konsthallen hade 41 000 besök 2023.")]
    assert features_of(retrieval, other_year).years_found == 0.0  # though the title's period starts 2023
    assert features_of(retrieval, asked_year).years_found == 1.0


def test_a_table_row_takes_its_year_from_the_tables_introduction():
    row = "Gått på konsert – Andel av invånarna: 38 %"
    question = "Hur stor andel hade gått på konsert enligt kulturvaneundersökningen 2022?"
    best = [SimpleNamespace(score=1.2, typed=True, n=1, text=row)]

    def found(context):
        passages = [_passage("Kulturplan 2024–2027", row, context)]
        return features_of(SimpleNamespace(question=question, passages=passages, coverage=1.0, unknown_words=[]), best).years_found

    assert found("Region Blekinge genomförde hösten 2022 en kulturvaneundersökning.") == 1.0
    assert found("") == 0.0


# --- the second stage: the LLM's own judgement ---------------------------------------------------------
JUDGED = JudgedAnswerability(weights=(1.0, 1.0), bias=0.0, threshold=0.3, ask_below=0.8)


def test_the_judge_is_asked_only_in_its_band_and_never_with_threshold_zero():
    assert JUDGED.asks(0.5) and not JUDGED.asks(0.9)  # confident evidence skips the LLM call
    assert not JudgedAnswerability(JUDGED.weights, JUDGED.bias, 0.0, 1.0).asks(0.5)
    assert not JUDGED.refuses(0.9, 0.0)  # outside the band even a "no" does not refuse


def test_the_models_no_refuses_doubtful_evidence_and_its_yes_keeps_it():
    assert JUDGED.refuses(0.5, 0.05) and not JUDGED.refuses(0.5, 0.95)
    assert JUDGED.probability(0.5, 0.05) < JUDGED.probability(0.5, 0.5) < JUDGED.probability(0.5, 0.95)
    # Stronger evidence needs a firmer "no" to be refused.
    assert JUDGED.probability(0.4, 0.2) < JUDGED.probability(0.7, 0.2)


def test_certainty_is_cut_off_so_one_signal_cannot_outweigh_everything():
    assert log_odds(0.0) == pytest.approx(-log_odds(1.0)) and abs(log_odds(0.0)) < 10
    assert log_odds(0.5) == 0.0
