"""The plan's commitments: extraction quality on corpus/ against the hand-labelled set
evals/commitments.jsonl, the SQLite store kept in step with the index, and the CLI.

Labelling rule of evals/commitments.jsonl: a sentence is a commitment when it states an obligation,
responsibility, task, funding, a plan or a standing resource of someone (not a description or a past
result). Its actors are who carries it and the organisations named as working with them
("tillsammans med kommunerna"); target groups and beneficiaries ("alla barn", "folkbibliotekens")
are not actors. A commitment naming no municipality concerns "hela Blekinge".
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from kulturplan.language import split_sentences
from ingest.pipeline import Ingestor
from kulturplan.chunks import Chunk
from ingest.commitments import commitment_kind, extract, organisation_spans, sync, table_row_actors
from kulturplan.commitments import CommitmentStore
from kulturplan.region import load_profile

REGION_WIDE = load_profile().region_wide_label
from kulturplan.config import Settings
from kulturplan.store import ChunkStore

from fakes import FakeEmbedder, use_fake_backend
from conftest import CORPUS, REPO, SEED

GOLD = REPO / "evals" / "commitments.jsonl"
SOURCE = SEED.name

# Measured on corpus/ when written: every figure 1.00 (9 labelled commitments of 19 sentences). The
# rules were written with this page in view, so these are optimistic; the minimums leave room for
# one miss.
MIN_SENTENCE_PRECISION = 0.85
MIN_SENTENCE_RECALL = 0.85
MIN_ACTOR_PRECISION = 0.85
MIN_ACTOR_RECALL = 0.85


def load_gold() -> list[dict]:
    return [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]


def ingest(settings: Settings, store: ChunkStore, folder: Path, prune: bool = False):
    report = Ingestor(settings, store, FakeEmbedder()).run([folder], prune=prune, progress=False)
    assert report.ok, report.skipped
    return report


@pytest.fixture
def corpus_folder(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture
def indexed(settings: Settings, store: ChunkStore, corpus_folder: Path) -> CommitmentStore:
    """corpus/ ingested with the fake embedder; ingestion fills the commitment store itself."""
    ingest(settings, store, corpus_folder)
    return CommitmentStore.open(settings)


def one(commitments: CommitmentStore, words: str):
    found = commitments.query(text=words)
    assert len(found) == 1, [c.sentence for c in found]
    return found[0]


# --- quality against the labelled set ------------------------------------------------------------------
def test_labelled_sentences_are_verbatim_sentences_of_the_corpus(store, indexed):
    sentences = {(c.source, s) for c in store.all_chunks() for s in split_sentences(c.text)}
    for row in load_gold():
        assert (row["source"], row["sentence"]) in sentences, row["sentence"]


def test_extraction_precision_and_recall_on_the_corpus(indexed):
    gold = {(row["source"], row["sentence"]): row for row in load_gold()}
    predicted = {(c.source, c.sentence): c for c in indexed.all()}

    hits = gold.keys() & predicted.keys()
    sentence_precision = len(hits) / len(predicted) if predicted else 0.0
    sentence_recall = len(hits) / len(gold)

    # Actor level, over (sentence, actor) pairs: a missed sentence misses its actors, a spurious
    # sentence's actors are all spurious.
    gold_pairs = {(key, actor) for key, row in gold.items() for actor in row["actors"]}
    predicted_pairs = {(key, actor) for key, c in predicted.items() for actor in c.actors}
    actor_hits = gold_pairs & predicted_pairs
    actor_precision = len(actor_hits) / len(predicted_pairs) if predicted_pairs else 0.0
    actor_recall = len(actor_hits) / len(gold_pairs)

    areas_right = sum(set(predicted[k].areas) == set(gold[k]["areas"]) for k in hits)
    places_right = sum(set(predicted[k].municipalities) == set(gold[k]["municipalities"]) for k in hits)
    print(
        f"\ncommitments: {len(gold)} labelled, {len(predicted)} extracted\n"
        f"sentence precision {sentence_precision:.2f} recall {sentence_recall:.2f}\n"
        f"actor    precision {actor_precision:.2f} recall {actor_recall:.2f}\n"
        f"areas exactly right {areas_right}/{len(hits)}, municipalities exactly right {places_right}/{len(hits)}"
    )
    for key in sorted(gold.keys() - predicted.keys()):
        print(f"missed: {key[1]}")
    for key in sorted(predicted.keys() - gold.keys()):
        print(f"spurious: {key[1]}")
    for pair in sorted(gold_pairs - predicted_pairs):
        print(f"missed actor {pair[1]!r} in: {pair[0][1][:70]}")
    for pair in sorted(predicted_pairs - gold_pairs):
        print(f"spurious actor {pair[1]!r} in: {pair[0][1][:70]}")

    assert sentence_precision >= MIN_SENTENCE_PRECISION
    assert sentence_recall >= MIN_SENTENCE_RECALL
    assert actor_precision >= MIN_ACTOR_PRECISION
    assert actor_recall >= MIN_ACTOR_RECALL
    assert areas_right >= len(hits) - 2 and places_right >= len(hits) - 1


# --- the commitments the plan is known for --------------------------------------------------------------
def test_blekingemodellen_school_performances_twice_a_year(indexed):
    c = one(indexed, "två gånger varje år")
    assert {"Musik i Blekinge", "Blekinge Läns Bildningsförbund", "Regionteatern Blekinge Kronoberg"} <= set(c.actors)
    assert {"musik", "dans", "teater", "barn och unga"} <= set(c.areas)
    assert c.source == SOURCE and c.section == "Blekingemodellen" and c.municipalities == (REGION_WIDE,)
    assert c.kind == "möjliggör"


def test_culture_in_care_is_coordinated_by_two_organisations(indexed):
    c = one(indexed, "Kultur i vården")
    assert c.actors == ("Musik i Blekinge", "Blekinge Läns Bildningsförbund")
    assert c.areas == ("vård och omsorg",)  # not "musik": words inside names do not count
    assert c.kind == "samordning" and c.source == SOURCE


def test_library_development_is_a_resource_despite_the_missing_space(indexed):
    c = one(indexed, "folkbibliotekens utvecklingsarbete")
    assert "Kronobergfinns" in c.sentence  # the sentence stays verbatim...
    assert c.actors == ("Biblioteksutveckling Blekinge Kronoberg",)  # ...the name is still found
    assert c.kind == "resurs" and c.areas == ("bibliotek",) and c.source == SOURCE
    assert indexed.query(actor="biblioteksutveckling") == [c]


def test_regional_organisations_are_responsible_for_freelance_artists(indexed):
    c = one(indexed, "frilansande professionella kulturskapare")
    assert c.actors[0] == "de regionala kulturverksamheterna"
    assert c.kind == "ansvar" and c.source == SOURCE and c.section == "Regionala kulturverksamheterna"


def test_museum_sentence_without_a_name_takes_the_actor_from_its_heading(indexed):
    c = one(indexed, "arkeologi")
    assert c.actors == ("Blekinge museum",)
    assert set(c.municipalities) == {"Ronneby", "Sölvesborg"}


def test_descriptions_and_interests_are_no_commitments(indexed):
    assert indexed.query(text="gemensamt intresse") == []  # an interest in a museum, not a plan
    assert indexed.query(text="Regioner är ett sätt att samordna") == []
    assert indexed.query(text="Harry Martinson")[0].actors == ("regional litterär nod",)  # a person is no actor


# --- rules on sentences that are not in the corpus ------------------------------------------------------
@pytest.mark.parametrize(
    "sentence, kind",
    [
        ("Region Blekinge ansvarar för den regionala biblioteksverksamheten.", "ansvar"),
        ("Kommunerna ska erbjuda kulturskola för alla barn.", "plan"),
        ("Länsmuseet har i uppdrag att dokumentera kulturmiljöer.", "uppdrag"),
        ("Verksamheten finansieras av regionen och staten.", "finansiering"),
        ("Filmkonsulenten kommer att starta ett filmläger i Karlshamn.", "plan"),
        ("Biblioteket är en viktig mötesplats.", None),
        ("Det verkar vara svårt att nå unga vuxna.", None),
        ("Regioner är ett sätt att samordna och samverka.", None),
    ],
)
def test_trigger_phrases(sentence, kind):
    assert commitment_kind(sentence) == kind


def test_organisation_names_are_found_in_the_text():
    names = [name for *_, name in organisation_spans(
        "I Sölvesborg samverkar Kulturrådet med Region Blekinge, Musik i Blekinge och Harry Martinson."
    )]  # fmt: skip
    assert names == ["Kulturrådet", "Region Blekinge", "Musik i Blekinge"]


def test_a_name_in_the_genitive_is_the_organisation_itself():
    names = [name for *_, name in organisation_spans(
        "Region Blekinges kulturförvaltning samordnar uppföljningen, i lokaler för Musik i Blekinges konserter."
    )]  # fmt: skip
    assert names == ["Region Blekinge", "Musik i Blekinge"]


def test_a_county_s_name_ends_with_lan():
    names = [name for *_, name in organisation_spans("Region Blekinge samverkar med Region Kalmar län och Skåne.")]
    assert names == ["Region Blekinge", "Region Kalmar län"]


def test_a_committee_joined_by_a_hyphen_stays_one_actor():
    row = "4 – Åtagande: Följa upp planen; Ansvarig: kultur- och fritidsnämnden och Musik i Blekinge; År: 2024"
    assert table_row_actors(row) == ("kultur- och fritidsnämnden", "Musik i Blekinge")


def test_extract_sets_ids_municipalities_and_beneficiaries():
    text = (
        "Regionteatern Blekinge Kronoberg ska spela i Karlskrona och Olofström. "
        "Biblioteken i kommunerna ska få stöd. Kulturskolorna ska samverka med föreningar i hela Blekinge."
    )
    chunk = Chunk("doc", "x.txt", "X", "txt", 0, text, ("Scen",), 0, len(text))
    first, second, third = extract([chunk])
    assert first.actors == ("Regionteatern Blekinge Kronoberg",) and first.areas == ()  # names give no area
    assert first.municipalities == ("Karlskrona", "Olofström")
    assert second.actors == ("biblioteken",)  # "i kommunerna" is where, not who
    assert third.municipalities == (REGION_WIDE,) and third.actors == ("kulturskolorna", "föreningar")
    assert extract([chunk])[0].id == first.id  # stable


def test_regionen_is_the_region_the_document_is_about():
    text = "Regionen ska stödja ett kulturskolenätverk."
    own = Chunk("own", "a.txt", "A", "txt", 0, text, (), 0, len(text), region="Blekinge")
    other = Chunk("other", "b.txt", "B", "txt", 0, text, (), 0, len(text), region="Kalmar län")
    assert extract([own])[0].actors == ("Region Blekinge",)
    assert extract([other])[0].actors == ("Region Kalmar län",)


# --- the store follows the index --------------------------------------------------------------------
def test_reingesting_a_changed_document_replaces_and_pruning_removes(settings, store, corpus_folder, indexed):
    before = indexed.all()
    assert any("Kultur i vården" in c.sentence for c in before)
    page = corpus_folder / SOURCE
    page.write_text(
        page.read_text(encoding="utf-8").replace(
            "samordnar också utbudet i kommunerna för Kultur i vården och Kultur i omsorgen",
            "ansvarar för Kultur i vården och Kultur i omsorgen i Karlskrona",
        ),
        encoding="utf-8",
    )
    report = ingest(settings, store, corpus_folder)
    assert report.updated == [SOURCE] and report.commitments == len(before)
    after = CommitmentStore.open(settings).all()
    care = [c for c in after if "Kultur i vården" in c.sentence]
    assert len(care) == 1 and care[0].kind == "ansvar" and care[0].municipalities == ("Karlskrona",)
    assert not any("samordnar också utbudet" in c.sentence for c in after)

    (corpus_folder / "annan.txt").write_text("Annan plan\n\nRegion Blekinge ska stödja dansen.\n", encoding="utf-8")
    ingest(settings, store, corpus_folder)
    assert {c.source for c in CommitmentStore.open(settings).all()} == {SOURCE, "annan.txt"}
    page.unlink()
    report = ingest(settings, store, corpus_folder, prune=True)
    assert report.removed == [SOURCE]
    assert [c.source for c in CommitmentStore.open(settings).all()] == ["annan.txt"]


def test_sync_is_idempotent_and_rebuilds_a_missing_store(settings, store, indexed):
    count = len(indexed.all())
    again = sync(store, indexed)
    assert again.extracted == [] and again.removed == [] and again.total == count
    settings.commitments_path.unlink()  # an index built before commitments existed
    rebuilt = sync(store, CommitmentStore.open(settings))
    assert len(rebuilt.extracted) == 1 and rebuilt.total == count


def test_query_filters(indexed):
    assert {c.sentence for c in indexed.query(actor="musik i blekinge")} == {
        c.sentence for c in indexed.all() if "Musik i Blekinge" in c.actors
    }
    assert all("barn och unga" in c.areas for c in indexed.query(area="barn"))
    ronneby = indexed.query(municipality="ronnebys")
    assert ronneby and all("Ronneby" in c.municipalities for c in ronneby)
    wider = indexed.query(municipality="Ronneby", include_region_wide=True)
    assert len(wider) > len(ronneby) and all({"Ronneby", REGION_WIDE} & set(c.municipalities) for c in wider)
    assert indexed.query(municipality="Ronneby", actor="Blekinge museum", area="kulturarv")
    assert "Blekinge museum" in indexed.actors() and "vård och omsorg" in indexed.areas()


# --- the CLI ---------------------------------------------------------------------------------------------
@pytest.fixture
def cli(monkeypatch, tmp_path, corpus_folder):
    """Run the CLI with the fake embedder registered as a backend, on an index of corpus/."""
    from typer.testing import CliRunner

    from cli import app

    use_fake_backend(monkeypatch, tmp_path)
    data = str(tmp_path / "cli-data")

    def run(*args: str):
        return CliRunner().invoke(app, [*args, "--data-dir", data])

    assert run("ingest", "--quiet", str(corpus_folder)).exit_code == 0
    Path(data, "commitments.sqlite").unlink()  # the command must sync an index built without it
    return run


def test_cli_json_with_filters(cli):
    result = cli("commitments", "--actor", "Bildningsförbund", "--area", "vård och omsorg", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 1 and rows[0]["actors"] == ["Musik i Blekinge", "Blekinge Läns Bildningsförbund"]
    assert rows[0]["source"] == SOURCE and rows[0]["section"] == "Kultur i vården och Kultur i omsorgen"


def test_cli_csv_and_municipality(cli):
    result = cli("commitments", "--municipality", "Olofström", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout), delimiter=";"))
    assert len(rows) == 1 and rows[0]["aktör"] == "regional litterär nod" and rows[0]["kommun"] == "Olofström"


def test_cli_table_and_bad_format(cli):
    table = cli("commitments")
    assert table.exit_code == 0 and "Biblioteksutveckling Blekinge Kronoberg  [resurs]" in table.stdout
    assert f"{len(load_gold())} commitments" in table.stdout
    assert "No commitments match." in cli("commitments", "--actor", "ingen sådan").stdout
    bad = cli("commitments", "--format", "xml")
    assert bad.exit_code == 2 and bad.stderr.strip() == "error: unknown --format 'xml' (use table, csv, json)"
