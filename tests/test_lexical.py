"""The lexical index saved beside the vector store: built by the ingest, loaded by a chat process
without reading every chunk, rebuilt when damaged or missing, and the spelling correction on its
vocabulary. A real Chroma and the fake embedder."""

from __future__ import annotations

import json
import random

import pytest

from assistant.retrieval import HybridRetriever
from ingest.pipeline import Ingestor
from kulturplan.lexical import (
    LexicalIndex, closest_word, index_folder, is_saved, load_or_build, vocabulary_by_length,
)
from kulturplan.store import ChunkStore

from fakes import FakeEmbedder


@pytest.fixture
def indexed(settings, store, corpus_copy):
    Ingestor(settings, store, FakeEmbedder()).run([corpus_copy], progress=False)
    return settings, store


def test_ingest_saves_the_index_of_the_version_it_leaves(indexed):
    settings, store = indexed
    folder = index_folder(settings, store.version())
    assert is_saved(folder)
    saved = LexicalIndex.load(folder)
    built = LexicalIndex.build(store.all_chunks())
    assert saved.ids == built.ids and saved.document_frequency == built.document_frequency
    assert saved.topics == built.topics and saved.topics
    assert saved.documents == built.documents == store.documents()
    for question in ("Vilken kultur finns i Ronneby?", "Blekingemodellen skolan", "ordsomintefinns"):
        assert saved.search(question, 5) == built.search(question, 5)
    assert saved.search("konstresurscentrum Ronneby", 5)


def test_a_chat_process_loads_the_saved_index_without_reading_every_chunk(indexed, monkeypatch):
    settings, _ = indexed
    store = ChunkStore.open(settings)  # a new process's store

    def no_full_read():
        raise AssertionError("the chat read every chunk instead of loading the saved index")

    monkeypatch.setattr(store, "all_chunks", no_full_read)
    retrieval = HybridRetriever(settings, store, FakeEmbedder()).retrieve("Vad finns i Ronneby för konst?")
    assert any("Ronneby" in p.chunk.text for p in retrieval.passages)


def test_every_write_gives_a_new_version_seen_by_other_store_objects(indexed):
    settings, store = indexed
    other = ChunkStore.open(settings)
    before = other.version()
    chunk = store.all_chunks()[0]
    store.delete([chunk.id])
    after = other.version()
    assert after != before
    assert ChunkStore.open(settings).version() == after


def test_a_damaged_saved_index_is_rebuilt(indexed):
    settings, store = indexed
    version = store.version()
    folder = index_folder(settings, version)
    (folder / "statistics.json").write_text("{not json", encoding="utf-8")
    index = load_or_build(settings, store, version)
    assert index.ids == LexicalIndex.build(store.all_chunks()).ids
    assert LexicalIndex.load(folder).ids == index.ids  # saved again, whole


def test_a_save_in_an_older_layout_is_replaced_not_left_blocking(indexed):
    # An older release saved its statistics in several files; the folder of that version exists
    # without statistics.json, and the new save must still land in it.
    settings, store = indexed
    version = store.version()
    folder = index_folder(settings, version)
    (folder / "statistics.json").unlink()
    (folder / "ids.json").write_text("[]", encoding="utf-8")
    index = load_or_build(settings, store, version)
    assert is_saved(folder) and not (folder / "ids.json").exists()
    assert LexicalIndex.load(folder).ids == index.ids

def test_a_save_made_with_another_tokenizer_is_rebuilt(indexed):
    # Terms made by another stemmer would never match a question's terms made by the current one.
    import json

    settings, store = indexed
    version = store.version()
    statistics_file = index_folder(settings, version) / "statistics.json"
    statistics = json.loads(statistics_file.read_text(encoding="utf-8"))
    statistics["tokenizer"] = "another-stemmer"
    statistics["document_frequency"] = {"stale": 1}
    statistics_file.write_text(json.dumps(statistics), encoding="utf-8")
    index = load_or_build(settings, store, version)
    assert "stale" not in index.document_frequency and index.document_frequency
    assert json.loads(statistics_file.read_text(encoding="utf-8"))["tokenizer"] != "another-stemmer"


def test_a_municipality_search_here_equals_the_stores_restricted_search(indexed):
    # The saved vectors of the chunks naming a municipality rank them as Chroma's search among the
    # same ids does, so a chat process needs no filtered search on the server.
    settings, store = indexed
    index = LexicalIndex.load(index_folder(settings, store.version()))
    assert set(index.municipality_chunks) >= {"Ronneby", "Karlshamn"}
    vector = FakeEmbedder().embed_query("Vilken kultur finns i Ronneby?")
    for name, ids in index.municipality_chunks.items():
        here = index.nearest_in_municipality(name, vector, k=3)
        there = store.search(vector, k=3, ids=ids)
        assert [i for i, _ in here] == [h.chunk.id for h in there]
        assert [round(s, 4) for _, s in here] == [round(h.score, 4) for h in there]
    assert index.nearest_in_municipality("Kiruna", vector, k=3) == []


def test_a_save_without_municipality_vectors_is_rebuilt_with_them(indexed):
    settings, store = indexed
    version = store.version()
    folder = index_folder(settings, version)
    (folder / "municipality_vectors.npy").unlink()  # as an earlier release saved it
    index = load_or_build(settings, store, version)
    assert index.municipality_vectors is not None
    assert (folder / "municipality_vectors.npy").is_file()


def test_an_empty_store_has_an_empty_index(settings, store):
    index = load_or_build(settings, store, store.version())
    assert index.search("Ronneby", 5) == [] and index.chunk_count == 0 and index.documents == []


def test_closest_word_agrees_with_a_full_scan():
    from rapidfuzz import fuzz

    rng = random.Random(3)
    letters = "abdefgiklmnoprstuvåäö"
    vocabulary = {"".join(rng.choice(letters) for _ in range(rng.randint(3, 14))) for _ in range(3000)}
    vocabulary |= {"språksteg", "konstresurscentrum", "blekingemodell", "världsarv", "förfat"}
    buckets = vocabulary_by_length(dict.fromkeys(vocabulary, 1))
    # "författar"/"förfat" is exactly at the cutoff (2·6/15 = 0.8), at the edge of the length buckets.
    for word in ("språksteget", "konstresurcentrum", "blekingmodell", "världsarvet", "författar", "zzzzzzzz"):
        scored = [(fuzz.ratio(word, v), v) for v in vocabulary]
        best_score = max(score for score, _ in scored)
        found = closest_word(word, buckets, 0.8)
        if best_score >= 80 - 1e-6:
            assert found is not None and fuzz.ratio(word, found) == best_score
        else:
            assert found is None


def test_a_word_typed_without_diacritics_is_spelled_as_the_documents_spell_it():
    from kulturplan.language import stem
    from kulturplan.spelling import diacritics_key, with_diacritics
    from kulturplan.lexical import vocabulary_by_diacritics_key

    assert diacritics_key("pågå") == diacritics_key("paga") and diacritics_key("från") == diacritics_key("fran")
    keyed = vocabulary_by_diacritics_key([stem(w) for w in ("pågå", "från", "länge", "lång", "källa", "kultur")])
    assert stem("kultur") not in {s for stems in keyed.values() for s in stems}  # its own key
    assert with_diacritics("paga", keyed[diacritics_key("paga")]) == "pågå"
    assert with_diacritics("fran", keyed[diacritics_key("fran")]) == "från"
    # Two stems on one key ("läng", "lång"): the spelling more common in Swedish.
    assert with_diacritics("lange", keyed[diacritics_key("lange")]) == "länge"
    # A word more common as typed stays: "kallas" is no misspelt "källas".
    assert with_diacritics("kallas", keyed.get(diacritics_key("kallas"), ())) is None


def test_a_word_the_stemmer_reads_otherwise_without_diacritics_still_meets_the_documents_spelling():
    from kulturplan.language import stem
    from kulturplan.spelling import diacritics_key, with_diacritics
    from kulturplan.lexical import vocabulary_by_diacritics_key

    # "ordförande" stems to "ordför"; "ordforande" to "ordfor", which the stemmer shortens further
    # when it reads "ordfor" again: the stem is keyed both ways.
    keyed = vocabulary_by_diacritics_key([stem(w) for w in ("ordförande", "förvaltningsområde", "pågå")])
    assert with_diacritics("ordforande", keyed[diacritics_key("ordforande")]) == "ordförande"
    assert with_diacritics("paga", keyed[diacritics_key("paga")]) == "pågå"
    # Neither spelling is a word Swedish at large knows: the documents' spelling is taken.
    assert with_diacritics("forvaltningsomrade", keyed[diacritics_key("forvaltningsomrade")]) == "förvaltningsområde"


def test_a_word_typed_without_diacritics_reads_as_the_swedish_word_so_typed():
    from kulturplan.spelling import has_diacritics, spellings_with_diacritics, swedish_spelling

    assert swedish_spelling("fullmaktige") == "fullmäktige" and swedish_spelling("omgangen") == "omgången"
    assert swedish_spelling("sommar") is None  # more common as typed
    assert has_diacritics("Vad är det?") and not has_diacritics("vad ar det")
    assert len(spellings_with_diacritics("manga")) == 9 and spellings_with_diacritics("a" * 7) == []


def test_spelling_correction_restores_diacritics_only_in_swedish_questions_typed_without_them(settings):
    from assistant.retrieval import Bm25Index
    from kulturplan.chunks import Chunk

    text = "Vad kostar det? Det kostar mycket. Planen antogs i Ronneby och gäller för kommunfullmäktige."
    chunk = Chunk("doc", "a.txt", "A", "txt", 0, text, (), 0, len(text))
    bm25 = Bm25Index(LexicalIndex.build([chunk]), settings.generic_word_rule)
    assert bm25.correct_spelling("nar antogs planen av fullmaktige") == "när antogs planen av fullmäktige"
    # One å, ä or ö: the keyboard has them, and a word the documents lack is taken as typed.
    assert "fullmaktige" in bm25.correct_spelling("När antogs planen av fullmaktige?")
    # A misspelt document word more common in Swedish than the word's reading with diacritics.
    assert bm25.correct_spelling("vilken kultur finns i ronnby") == "vilken kultur finns i ronneby"
    # A function word misspelt ("mycke"), but a content word is no misspelt function word ("vad")
    # when it reads as a Swedish word without diacritics.
    assert bm25.correct_spelling("hur mycke kostar tva extra vandor") == "hur mycket kostar två extra vändor"


def test_a_municipality_search_survives_chunks_deleted_since_the_index_was_saved(indexed):
    settings, store = indexed
    retriever = HybridRetriever(settings, ChunkStore.open(settings), FakeEmbedder())
    before = retriever.retrieve("Vilken kultur finns i Ronneby?")
    own = [p.chunk for p in before.passages if p.via_municipality]
    assert own
    store.delete([own[0].id])  # the saved index still lists it until the next re-check
    after = retriever.retrieve("Vilken kultur finns i Ronneby?")
    assert own[0].id not in {p.chunk.id for p in after.passages}
    assert any(p.via_municipality for p in after.passages)


def test_the_lexical_dir_setting_puts_the_saved_index_in_a_shared_folder(settings, store, corpus_copy, tmp_path):
    shared = settings.model_copy(update={"lexical_dir": tmp_path / "shared"})
    Ingestor(shared, store, FakeEmbedder()).run([corpus_copy], progress=False)
    folder = index_folder(shared, store.version())
    assert folder.is_relative_to(tmp_path / "shared") and is_saved(folder)
    assert not (settings.data_dir / "lexical").exists()


def test_a_word_more_common_in_swedish_than_the_documents_closest_is_no_misspelling(settings):
    from assistant.retrieval import Bm25Index
    from kulturplan.chunks import Chunk

    text = "Regionala utvecklingsnämnden beslutar om bidrag till varje kommun och nämnd i länet."
    chunk = Chunk("doc", "a.txt", "A", "txt", 0, text, (), 0, len(text))
    index = Bm25Index(LexicalIndex.build([chunk]), settings.generic_word_rule)
    # "komun" is a misspelt "kommun"; "nämns" (is mentioned) is a word of its own, not "nämnd".
    assert index.correct_spelling("Vilka bidrag får varje komun?") == "Vilka bidrag får varje kommun?"
    assert index.correct_spelling("Vilka bidrag nämns?") == "Vilka bidrag nämns?"


def test_a_misspelt_word_is_corrected_to_the_documents_word_with_the_ending_it_was_typed_with(settings):
    from assistant.retrieval import Bm25Index
    from kulturplan.chunks import Chunk
    from kulturplan.spelling import with_typed_ending

    # The stem alone ("regionteat") is no word the embedding model knows.
    assert with_typed_ending("regiontatern", "regionteat") == "regionteatern"
    assert with_typed_ending("verksaheter", "verksam") == "verksamheter"
    # A typo in the ending: the stem, not a new misspelling ("kulturpriss").
    assert with_typed_ending("kulturpirs", "kulturpris") == "kulturpris"
    # Swedish knows the stem as a word, not the word with the typed ending.
    assert with_typed_ending("mycke", "mycket") == "mycket"
    text = "Regionteatern Blekinge Kronoberg spelar i Karlshamn. Verksamheter i kommunen får stöd."
    chunk = Chunk("doc", "a.txt", "A", "txt", 0, text, (), 0, len(text))
    index = Bm25Index(LexicalIndex.build([chunk]), settings.generic_word_rule)
    assert index.correct_spelling("Var spelar regiontatern?") == "Var spelar regionteatern?"
    assert index.lexical.capitalized >= {"blekinge", "kronoberg", "karlshamn"}


def test_the_names_the_documents_capitalize_are_saved_with_the_index(indexed):
    settings, store = indexed
    version = store.version()
    built = load_or_build(settings, store, version)
    assert "ronneby" in built.capitalized
    folder = index_folder(settings, version)
    assert LexicalIndex.load(folder).capitalized == built.capitalized
    # An earlier release's save, without them, is rebuilt with them.
    statistics = json.loads((folder / "statistics.json").read_text(encoding="utf-8"))
    del statistics["capitalized"]
    (folder / "statistics.json").write_text(json.dumps(statistics), encoding="utf-8")
    assert load_or_build(settings, store, version).capitalized == built.capitalized


def test_a_word_the_documents_hold_as_a_compounds_last_part_is_not_absent(settings):
    from assistant.retrieval import Bm25Index
    from kulturplan.chunks import Chunk

    text = "Planen antogs av kommunfullmäktige i februari."
    chunk = Chunk("doc", "a.txt", "A", "txt", 0, text, (), 0, len(text))
    index = Bm25Index(LexicalIndex.build([chunk]), settings.generic_word_rule)
    # Swedish compounds name their kind last: "fullmäktige" is in "kommunfullmäktige".
    assert index.unknown_words("När antogs planen av fullmäktige?") == []
    assert index.unknown_words("När antogs planen av kulturrådet?") == ["kulturrådet"]


def test_a_list_running_past_its_chunk_brings_the_chunk_it_goes_on_in(tmp_path):
    from assistant.retrieval import Retrieval
    from assistant.types import Passage
    from kulturplan.config import load_settings

    settings = load_settings(data_dir=tmp_path / "data", chunk_max_tokens=32)
    store = ChunkStore.open(settings)
    folder = tmp_path / "docs"
    folder.mkdir()
    items = "\n".join(f"- Förening nummer {n} i Blekinge" for n in range(1, 31))
    text = f"# Plan\n\n## Remissinstanser\n\nFöljande lämnade remissvar:\n\n{items}\n\n## Annat\n\nText om annat.\n"
    (folder / "plan.md").write_text(text, encoding="utf-8")
    Ingestor(settings, store, FakeEmbedder()).run([folder], progress=False)
    from assistant.list_continuation import with_lists_continued

    retriever = HybridRetriever(settings, ChunkStore.open(settings), FakeEmbedder())
    chunk_ids, read = retriever.bm25().chunk_ids_by_place, retriever.store.chunks_by_id
    listing = sorted((c for c in store.all_chunks() if c.heading_path[-1] == "Remissinstanser"), key=lambda c: c.position)
    assert len(listing) >= 3  # the list spans chunks

    def retrieved(*chunks):
        passages = [Passage(chunk, 0.5, dense=0.7) for chunk in chunks]
        return Retrieval("Vilka lämnade remissvar?", passages, passages, (), 0.0, [])

    continued = with_lists_continued(retrieved(listing[0]), chunk_ids, read)
    assert [p.chunk.id for p in continued.passages] == [listing[0].id, listing[1].id]
    assert continued.passages[1].dense == 0.7  # its passage's scores
    # A chunk already among the passages is not added again; the section's last chunk brings nothing
    # (the next one is another section's).
    both = retrieved(listing[0], listing[1])
    assert with_lists_continued(both, chunk_ids, read).passages == [*both.passages, *retrieved(listing[2]).passages]
    assert with_lists_continued(retrieved(listing[-1]), chunk_ids, read).passages == retrieved(listing[-1]).passages
