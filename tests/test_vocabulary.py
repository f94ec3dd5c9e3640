"""Generic words judged from the index's statistics (kulturplan/vocabulary.py), not from a word list:
the rule on deterministic statistics, the compound share on a real saved index, and that a loaded
index's vocabulary is what the language layer and the plain place question use."""

from __future__ import annotations

import pytest

from kulturplan import language
from kulturplan.language import content_terms, general_frequency, is_stopword, stem, use_vocabulary
from kulturplan.lexical import LexicalIndex
from kulturplan.vocabulary import CorpusVocabulary, GenericWordRule, wilson_lower_bound

from fakes import FakeStatistics

RULE = GenericWordRule(domain_share=0.5, framing_zipf=5.0, framing_lift=0.5, common_zipf=8.1)


WORDS_PER_CHUNK = 30


def vocabulary(shares: dict[str, float], compounds: dict[str, float] | None = None, rule=RULE, chunks=1000):
    """A vocabulary over made-up chunk shares of stems."""
    return CorpusVocabulary(FakeStatistics(shares, compounds or {}, chunks, WORDS_PER_CHUNK), rule)


def as_swedish_uses_it(word: str, times: float = 1.0) -> float:
    """The share of chunks holding `word` if the documents used it `times` as often as Swedish does."""
    return 10 ** (general_frequency(word) - 9) * WORDS_PER_CHUNK * times


def test_a_word_whose_compounds_fill_the_chunks_is_a_domain_word():
    words = vocabulary({"kultur": 0.2, "bibliotek": 0.2}, {"kultur": 0.9, "bibliotek": 0.3})
    assert words.is_generic("kultur") and words.is_generic("Kulturen")
    assert not words.is_generic("bibliotek")


def test_common_swedish_the_documents_do_not_favour_frames_a_question_but_a_favoured_subject_does_not():
    # "finns" and "barn" are both common Swedish; a culture plan uses "barn" far more than Swedish
    # does, "finns" about as much.
    assert general_frequency("finns") >= 5.0 and general_frequency("barn") >= 5.0
    words = vocabulary({stem("finns"): as_swedish_uses_it("finns"), stem("barn"): as_swedish_uses_it("barn", 10)})
    assert words.lift("finns") == pytest.approx(0.0, abs=1e-6) and words.lift("barn") == pytest.approx(1.0)
    assert words.is_generic("finns")
    assert not words.is_generic("barn")


def test_the_most_common_words_of_swedish_frame_a_question_whatever_the_documents_do():
    favoured = {stem("finns"): as_swedish_uses_it("finns", 5)}  # lift 0.7, under the domain share
    assert not vocabulary(favoured).is_generic("finns")
    common = GenericWordRule(domain_share=0.5, framing_zipf=5.0, framing_lift=0.5, common_zipf=6.0)
    assert general_frequency("finns") >= 6.0 > general_frequency("barn")
    assert vocabulary(favoured, rule=common).is_generic("finns")
    assert not vocabulary({stem("barn"): as_swedish_uses_it("barn", 10)}, rule=common).is_generic("barn")


def test_a_rare_word_is_never_a_framing_word_even_when_the_documents_lack_it():
    words = vocabulary({})
    assert general_frequency("konstnärsresidens") < RULE.framing_zipf
    assert not words.is_generic("konstnärsresidens")
    assert words.is_generic("bakom")  # common Swedish, absent from the documents: it frames


def test_a_share_seen_in_a_handful_of_chunks_makes_no_domain_word():
    # In two chunks every word fills half of them or all: that says nothing about the domain.
    assert not vocabulary({}, {"kultur": 1.0}, chunks=2).is_generic("kultur")
    assert not vocabulary({}, {"norrby": 0.5}, chunks=2).is_generic("norrby")
    assert vocabulary({}, {"kultur": 0.92}, chunks=12).is_generic("kultur")
    assert wilson_lower_bound(0.5, 2) < 0.1 < wilson_lower_bound(0.92, 12) < 0.92
    assert wilson_lower_bound(0.6, 100_000) == pytest.approx(0.6, abs=0.005)


def test_the_thresholds_decide():
    shares = {"kultur": 0.2}
    compounds = {"kultur": 0.45}
    assert not vocabulary(shares, compounds).is_generic("kultur")
    assert vocabulary(shares, compounds, GenericWordRule(0.4, 5.0, 0.5, 8.1)).is_generic("kultur")
    never = GenericWordRule(domain_share=1.01, framing_zipf=8.1, framing_lift=0.5, common_zipf=8.1)
    assert not vocabulary({}, {"kultur": 1.0}, never).is_generic("finns")


def test_the_language_layer_uses_the_registered_vocabulary_and_grammar_without_one():
    use_vocabulary(None)
    assert is_stopword("och") and is_stopword("vilka")  # function words and interrogatives
    assert not is_stopword("kultur") and stem("kultur") in content_terms("Vilken kultur finns i Ronneby?")
    use_vocabulary(vocabulary({}, {"kultur": 0.9}))
    assert content_terms("Vilken kultur finns i Ronneby?") == {"ronneby"}


def _chunk(n: int, text: str):
    from kulturplan.chunks import Chunk

    return Chunk(f"d{n}", f"d{n}.txt", f"D{n}", "txt", 0, text, (), 0, len(text))


def test_the_compound_share_counts_chunks_holding_the_stem_or_words_that_begin_with_it():
    index = LexicalIndex.build([
        _chunk(0, "Kulturskolan i Ronneby har många elever."),
        _chunk(1, "Kulturarvet vårdas av museet."),
        _chunk(2, "Biblioteket har öppet på lördagar."),
        _chunk(3, "Kultur för alla i länet."),
    ])  # fmt: skip
    assert index.share("kultur") == pytest.approx(0.25)
    assert index.compound_share("kultur") == pytest.approx(0.75)
    assert index.compound_share(stem("biblioteket")) == pytest.approx(0.25)
    assert index.compound_share("ordsomintefinns") == 0.0
    assert index.compound_share("mus") == index.share("mus")  # too short to start compounds


def test_a_loaded_index_registers_its_vocabulary_and_the_flagship_stays_a_place_question(settings, store, corpus_copy):
    from assistant.municipality_overview import is_plain_place_question
    from assistant.retrieval import HybridRetriever
    from ingest.pipeline import Ingestor

    from fakes import FakeEmbedder

    use_vocabulary(None)
    Ingestor(settings, store, FakeEmbedder()).run([corpus_copy], progress=False)
    bm25 = HybridRetriever(settings, store, FakeEmbedder()).bm25()
    assert language._vocabulary is bm25.vocabulary
    assert bm25.vocabulary.is_generic("kultur")  # the seed document is a culture plan's text
    assert is_plain_place_question("Vilken kultur finns i Ronneby?", settings.profile)
    assert not is_plain_place_question("Vad kostar kulturskolan i Ronneby?", settings.profile)
