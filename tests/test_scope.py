"""A document's scope (region, plan period): detection at ingest, storage, `sources`, and reranking."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from assistant.scope import (
    LATER_PERIOD_FACTOR,
    OLDER_PERIOD_FACTOR,
    OTHER_PERIOD_FACTOR,
    OTHER_REGION_FACTOR,
    current_period,
    question_scope,
    rerank_by_scope,
)
from assistant.types import Passage
from ingest.document import Block, ParsedDocument
from ingest.chunking import chunk_document
from ingest.scope import detect_scope, document_scope, with_scope
from kulturplan.chunks import Chunk, periods_in
from kulturplan.region import load_profile

from fakes import FakeEmbedder, use_fake_backend

PROFILE = load_profile()
TODAY = date(2025, 5, 1)


# --- detection at ingest ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("title", "source", "opening", "region", "period"),
    [
        # the current plan
        ("Regional kulturplan för Blekinge 2024–2027", "kulturplan_blekinge_2024_2027.pdf",
         "Planen gäller 2024–2027 och följer upp kulturplanen 2020–2023.", "Blekinge", (2024, 2027)),
        # the previous period's plan, named only by its file name
        ("Kulturplan", "kulturplan_blekinge_2020_2023.docx", "Inledning", "Blekinge", (2020, 2023)),
        # an action plan
        ("Handlingsplan för den regionala kulturplanen 2024-2025", "handlingsplan.docx",
         "Region Blekinge genomför planen 2024–2027 genom ...", "Blekinge", (2024, 2025)),
        # minutes: a date in the file name, the region in the opening
        ("Protokoll regionala utvecklingsnämnden", "protokoll_run_2024-03-14.txt",
         "Region Blekinge. Regionala utvecklingsnämnden sammanträdde. Kulturplanen 2024–2027 ...",
         "Blekinge", (2024, 2024)),
        # a follow-up report: one year in the title
        ("Uppföljning av kulturen i Blekinge 2023", "uppfoljning.pdf", "", "Blekinge", (2023, 2023)),
        # another region's plan, sharing institutions with Blekinge
        ("Region Kronoberg – Regional kulturplan 2024–2027", "kulturplan_kronoberg_2024_2027.pdf",
         "Regionteatern Blekinge Kronoberg och Musik i Blekinge ...", "Kronoberg", (2024, 2027)),
        # ASCII file names of other regions
        ("", "kulturplan_kalmar_lan_2023_2026.docx", "", "Kalmar län", (2023, 2026)),
        ("", "kulturplan_skane_2024_2027_utdrag.docx", "", "Skåne", (2024, 2027)),
        # a municipal programme belongs to the region
        ("Kulturprogram för Ronneby kommun 2022–2026", "ronneby.html", "", "Blekinge", (2022, 2026)),
        # nothing named in title or file name: the region named most often in the opening
        ("Verksamhetsberättelse", "vb.txt",
         "Kalmar läns museum samarbetar med Blekinge. I Kalmar län ökade besöken; Kalmar län ...",
         "Kalmar län", None),
        # nothing at all: unknown, and single years of the text are statistics, not the period
        ("Biblioteken", "bibliotek.md", "År 2022 hade biblioteken 1,2 miljoner besök.", "", None),
        # a national text naming another region in passing is no region's; its one period counts
        ("Kultursamverkansmodellen", "modellen.txt",
         "Modellen infördes 2011–2012. Alla regioner utom Region Stockholm ingår i modellen.", "", (2011, 2012)),
        # an opening telling of several plan periods: the document is about all of them
        ("Kulturplaner över tid", "over_tid.md",
         "Den första planen gällde 2012–2014, den andra 2015–2017.", "", None),
    ],
)
def test_detects_region_and_period(title, source, opening, region, period):
    scope = detect_scope(title, source, opening, PROFILE)
    assert scope.region == region
    assert (scope.period_start, scope.period_end) == (period or (None, None))


def test_a_municipal_document_records_its_municipality():
    scope = detect_scope("Protokoll kulturnämnden", "protokoll_kulturnamnden_karlskrona_2024-05-22.txt", "", PROFILE)
    assert (scope.region, scope.municipality, scope.period) == ("Blekinge", "Karlskrona", "2024")


def test_organisation_names_made_of_places_are_not_the_region():
    assert [r for _, r, _ in PROFILE.region_mentions("Regionteatern Blekinge Kronoberg i Kronobergs län")] == [
        "Kronoberg"
    ]
    assert PROFILE.region_mentions("Regionteatern Blekinge-Kronoberg") == []


def test_periods_in_text():
    assert periods_in("planen 2024–2027, 2024_2027, 2024–27 och mötet 2024-03-14, året 2023") == [
        ("span", 2024, 2027), ("span", 2024, 2027), ("span", 2024, 2027), ("date", 2024, 2024), ("year", 2023, 2023)
    ]
    # decades and centuries are no years
    assert periods_in("hav under 1900-talet, musik från 1990-talets början och 2020-talet") == []


def test_document_scope_reads_the_title_and_opening_of_a_parsed_document():
    document = ParsedDocument(
        "Kulturplan", "md",
        [Block("Kulturplan", "heading"), Block("Region Kronobergs plan för 2024–2027. Kronoberg satsar på musik.")],
    )
    scope = document_scope(document, "plan.md", PROFILE)
    assert (scope.region, scope.period) == ("Kronoberg", "2024–2027")


def test_a_document_telling_of_several_periods_has_none_and_its_lists_stay_whole():
    document = ParsedDocument("Blekinges kulturplaner över tid", "md", [
        Block("Den första planen gällde 2012–2014, den andra 2015–2017."),
        Block("Kulturplanen 2026–2029", "heading", level=2),
        Block("Inför perioden har regionen beslutat om tre nya mål:"),
        Block("1. Kulturens kraft ska tas tillvara."),
    ])  # fmt: skip
    chunks = chunk_document(document, "over_tid.md", "h", 120, str.split, PROFILE)
    scoped = with_scope(chunks, document_scope(document, "over_tid.md", PROFILE))
    assert [(c.period_start, c.period_end) for c in scoped] == [(None, None), (None, None)]
    assert "1. Kulturens kraft" in scoped[1].text


def test_a_municipalitys_own_document_is_that_municipalitys_in_every_passage():
    document = ParsedDocument("Protokoll kulturnämnden Karlskrona 2024-05-22", "txt", [
        Block("Uppföljning", "heading"),
        Block("Barn i kö till kulturskolan – Utfall 2023: 310; Mål 2026: 190"),
        Block("Ronneby och Karlskrona samarbetar om en turné."),
    ])  # fmt: skip
    source = "protokoll_kulturnamnden_karlskrona_2024-05-22.txt"
    chunks = chunk_document(document, source, "h", 12, str.split, PROFILE)
    assert len(chunks) > 1 and "Karlskrona" not in chunks[0].municipalities
    scoped = with_scope(chunks, document_scope(document, source, PROFILE))
    assert all("Karlskrona" in c.municipalities for c in scoped)
    assert [c.id for c in scoped] == [c.id for c in chunks]
    assert "Ronneby" in scoped[-1].municipalities and scoped[-1].municipalities.count("Karlskrona") == 1
    regional = with_scope(chunks, detect_scope("Regional kulturplan för Blekinge 2024–2027", "plan.pdf", "", PROFILE))
    assert [c.municipalities for c in regional] == [c.municipalities for c in chunks]


# --- storage --------------------------------------------------------------------------------------
def chunk(region: str = "", period: tuple[int, int] | None = None, text: str = "Text.", position: int = 0) -> Chunk:
    return Chunk(
        doc_id=f"{region}-{period}", source=f"{region}-{period}.md", title="T", format="md", position=position,
        text=text, heading_path=(), start=0, end=len(text), region=region,
        period_start=period[0] if period else None, period_end=period[1] if period else None,
    )


def test_scope_round_trips_through_metadata_and_keeps_the_chunk_id():
    plain = chunk()
    scoped = with_scope([plain], detect_scope("Kulturplan för Blekinge 2024–2027", "a.md", "", PROFILE))[0]
    assert scoped.id == plain.id
    metadata = scoped.to_metadata()
    assert (metadata["region"], metadata["period_start"], metadata["period_end"]) == ("Blekinge", 2024, 2027)
    assert Chunk.from_metadata(scoped.text, metadata) == scoped
    unknown = plain.to_metadata()
    assert unknown["region"] == "" and "period_start" not in unknown and "period_end" not in unknown
    assert None not in unknown.values()
    assert Chunk.from_metadata(plain.text, unknown) == plain


def test_sources_json_shows_region_and_period(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from cli import app

    use_fake_backend(monkeypatch, tmp_path)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "kulturplan_kronoberg_2024_2027.md").write_text("# Kulturplan\n\nKultur för alla.\n", encoding="utf-8")
    (folder / "anteckningar.md").write_text("# Anteckningar\n\nInget datum här.\n", encoding="utf-8")
    data = str(tmp_path / "data")
    assert CliRunner().invoke(app, ["ingest", "--quiet", str(folder), "--data-dir", data]).exit_code == 0
    result = CliRunner().invoke(app, ["sources", "--json", "--data-dir", data])
    assert result.exit_code == 0
    rows = {row["source"]: row for row in json.loads(result.stdout)}
    plan = rows["kulturplan_kronoberg_2024_2027.md"]
    assert (plan["region"], plan["period_start"], plan["period_end"]) == ("Kronoberg", 2024, 2027)
    assert (rows["anteckningar.md"]["region"], rows["anteckningar.md"]["period_start"]) == ("", None)
    table = CliRunner().invoke(app, ["sources", "--data-dir", data]).stdout
    assert "region" in table.splitlines()[0] and "period" in table.splitlines()[0]
    assert "Kronoberg" in table and "2024–2027" in table


# --- reranking ------------------------------------------------------------------------------------
OWN_NOW = ("Blekinge", (2024, 2027))
OWN_BEFORE = ("Blekinge", (2020, 2023))
KRONOBERG = ("Kronoberg", (2024, 2027))


def passages(*scopes_and_scores) -> list[Passage]:
    return [
        Passage(chunk(region, period, text=f"{region} {period}", position=i), score=score)
        for i, ((region, period), score) in enumerate(scopes_and_scores)
    ]


def order(question: str, candidates: list[Passage], today: date = TODAY) -> list[tuple[str, tuple | None]]:
    ranked = rerank_by_scope(question, candidates, PROFILE, today=today)
    assert [p.score for p in ranked] == sorted((p.score for p in ranked), reverse=True)
    return [(p.chunk.region, (p.chunk.period_start, p.chunk.period_end) if p.chunk.period_start else None) for p in ranked]


def test_own_region_before_another_region_of_comparable_relevance():
    candidates = passages((KRONOBERG, 0.032), (OWN_NOW, 0.025))
    assert order("Hur mycket får Regionteatern i stöd?", candidates)[0] == OWN_NOW
    # demoted, not dropped; and a clearly better other-region passage can still win
    assert len(order("Hur mycket får Regionteatern i stöd?", candidates)) == 2
    assert order("Vad är Kulturtrappan?", passages((KRONOBERG, 0.032), (OWN_NOW, 0.012)))[0] == KRONOBERG
    ranked = rerank_by_scope("Vad gäller?", candidates, PROFILE, today=TODAY)
    assert ranked[1].score == pytest.approx(0.032 * OTHER_REGION_FACTOR)


def test_a_named_other_region_comes_first():
    candidates = passages((OWN_NOW, 0.032), (KRONOBERG, 0.025))
    assert order("Hur mycket får Regionteatern i stöd i Kronoberg?", candidates)[0] == KRONOBERG
    assert order("Vad står i Kronobergs läns kulturplan om teater?", candidates)[0] == KRONOBERG
    # "Regionteatern Blekinge Kronoberg" is a name: the question is still about Blekinge
    assert order("Hur mycket får Regionteatern Blekinge Kronoberg?", passages((KRONOBERG, 0.032), (OWN_NOW, 0.025)))[0] == OWN_NOW
    # a municipality of the region is the region
    assert order("Vad gör Regionteatern i Ronneby?", passages((KRONOBERG, 0.032), (OWN_NOW, 0.025)))[0] == OWN_NOW


def test_a_name_only_another_regions_passages_hold_implies_that_region():
    def named(region, period, text, score, position):
        return Passage(chunk(region, period, text=text, position=position), score=score)

    candidates = [
        named(*OWN_NOW, "Musik i Blekinge får 9 870 000 kronor i statligt stöd.", 0.032, 0),
        named(*KRONOBERG, "Kulturparken Småland får 14 900 000 kronor i statligt stöd.", 0.025, 1),
    ]
    ranked = rerank_by_scope("Hur mycket statligt stöd får Kulturparken Småland?", candidates, PROFILE, today=TODAY)
    assert [p.chunk.region for p in ranked] == ["Blekinge", "Kronoberg"] and ranked[1].scope == 1.0
    # A name both regions' passages hold implies neither: the own region is still preferred.
    ranked = rerank_by_scope("Hur mycket statligt stöd får Musik i Blekinge?", candidates[::-1], PROFILE, today=TODAY)
    assert ranked[1].chunk.region == "Kronoberg" and ranked[1].scope == OTHER_REGION_FACTOR


@pytest.mark.parametrize(
    "question",
    [
        "Hur mycket fick Regionteatern i stöd 2020–2023?",
        "Hur mycket fick Regionteatern i stöd 2020-2023?",
        "Hur mycket fick Regionteatern i stöd 2022?",
        "Vad sa förra planen om Regionteatern?",
        "Vad stod i förra kulturplanen om Regionteatern?",
        "Hur gick det under den förra perioden?",
        "Vad sägs om teater i den tidigare kulturplanen?",
    ],
)
def test_a_named_period_comes_first(question):
    candidates = passages((OWN_NOW, 0.032), (OWN_BEFORE, 0.030))
    assert order(question, candidates)[0] == OWN_BEFORE


def test_a_single_year_prefers_its_period_and_later_reports_to_earlier_documents():
    candidates = passages((OWN_BEFORE, 0.030), (("Blekinge", (2024, 2024)), 0.030), (("Blekinge", (2025, 2028)), 0.030))
    ranked = rerank_by_scope("Hur många besök var det 2024?", candidates, PROFILE, today=TODAY)
    factors = {(p.chunk.period_start, p.chunk.period_end): round(p.score / 0.030, 3) for p in ranked}
    assert factors == {(2024, 2024): 1.0, (2025, 2028): LATER_PERIOD_FACTOR, (2020, 2023): OTHER_PERIOD_FACTOR}


def test_a_passage_naming_the_asked_year_speaks_of_it_whatever_its_documents_date():
    minutes = Passage(chunk("Blekinge", (2024, 2024), text="Barn i kö till kulturskolan – Mål 2026: 190"), score=0.030)
    silent = Passage(chunk("Blekinge", (2024, 2024), text="Barn i kö till kulturskolan: 310", position=1), score=0.030)
    ranked = rerank_by_scope("Vilket mål för kön finns för 2026?", [silent, minutes], PROFILE, today=TODAY)
    assert [(p.chunk.text[-3:], p.scope) for p in ranked] == [("190", 1.0), ("310", OTHER_PERIOD_FACTOR)]
    # a season holding the year names it; a case number merely containing its digits does not
    season = Passage(chunk("Blekinge", (2024, 2024), text="Elever läsåret 2025/26: 1 450"), score=0.030)
    number = Passage(chunk("Blekinge", (2024, 2024), text="Elever: 1 450 (dnr 20261)", position=1), score=0.030)
    ranked = rerank_by_scope("Hur många elever har kulturskolan 2026?", [number, season], PROFILE, today=TODAY)
    assert [p.scope for p in ranked] == [1.0, OTHER_PERIOD_FACTOR]


def test_next_period():
    candidates = passages((OWN_NOW, 0.032), (("Blekinge", (2028, 2031)), 0.025))
    assert order("Vad planeras för nästa period?", candidates)[0] == ("Blekinge", (2028, 2031))
    wanted = question_scope("Vad planeras i kommande kulturplan?", [p.chunk for p in candidates[:1]], PROFILE, TODAY)
    assert wanted.periods == ((2028, 2031),)  # none indexed: the period of the same length after


def test_no_time_named_means_the_current_period():
    candidates = passages((OWN_BEFORE, 0.032), (OWN_NOW, 0.026), (("", None), 0.030))
    assert order("Hur mycket får Regionteatern i stöd?", candidates) == [("", None), OWN_NOW, OWN_BEFORE]
    ranked = rerank_by_scope("Hur mycket får Regionteatern i stöd?", candidates, PROFILE, today=TODAY)
    assert ranked[-1].score == pytest.approx(0.032 * OLDER_PERIOD_FACTOR)


def test_today_is_injectable():
    candidates = passages((OWN_BEFORE, 0.032), (OWN_NOW, 0.026))
    chunks = [p.chunk for p in candidates]
    assert current_period(chunks, PROFILE, date(2022, 6, 1)) == (2020, 2023)
    assert current_period(chunks, PROFILE, date(2025, 6, 1)) == (2024, 2027)
    assert current_period(chunks, PROFILE, date(2030, 6, 1)) == (2024, 2027)  # the latest one started
    assert order("Hur mycket får Regionteatern?", candidates, today=date(2022, 6, 1))[0] == OWN_BEFORE
    assert order("Hur mycket får Regionteatern?", candidates, today=date(2025, 6, 1))[0] == OWN_NOW
    # in 2022 "förra planen" is the one before 2020–2023, of the same length
    assert question_scope("förra planen", chunks, PROFILE, date(2022, 6, 1)).periods == ((2016, 2019),)


def test_documents_without_scope_are_untouched():
    candidates = passages((("", None), 0.02), (("", None), 0.01))
    for question in ("Vad gäller?", "I Kronoberg 2020?", "förra planen"):
        assert [p.score for p in rerank_by_scope(question, candidates, PROFILE, today=TODAY)] == [0.02, 0.01]
    assert rerank_by_scope("Vad gäller?", [], PROFILE) == []


# --- end to end: a real Chroma, the fake embedder, the extractive generator -------------------------
PLANS = {
    "kulturplan_blekinge_2024_2027.md": ("Regional kulturplan för Blekinge 2024–2027", "Region Blekinge", "9,4 miljoner"),
    "kulturplan_blekinge_2020_2023.md": ("Regional kulturplan för Blekinge 2020–2023", "Region Blekinge", "7,1 miljoner"),
    "kulturplan_kronoberg_2024_2027.md": ("Regional kulturplan för Kronoberg 2024–2027", "Region Kronoberg", "12,8 miljoner"),
}


def write_plans(folder: Path) -> None:
    folder.mkdir()
    for name, (title, region, budget) in PLANS.items():
        (folder / name).write_text(
            f"# {title}\n\n"
            f"## Scenkonst\n\nRegionteatern Blekinge Kronoberg får {budget} kronor i stöd från {region} per år.\n\n"
            # passages on the same theatre without a figure: they, not other plans, fill the answer's sources
            f"## Turnéer\n\nRegionteatern turnerar med föreställningar för barn och unga.\n\n"
            f"## Skolor\n\nRegionteatern spelar i skolorna och i hela länet.\n\n"
            f"## Publik\n\nRegionteatern når en ny publik med sina gästspel.\n",
            encoding="utf-8",
        )


def test_end_to_end_the_current_own_plan_answers(settings, store, tmp_path):
    from assistant.engine import Assistant
    from ingest.pipeline import Ingestor

    write_plans(tmp_path / "plans")
    report = Ingestor(settings, store, FakeEmbedder()).run([tmp_path / "plans"], progress=False)
    assert report.ok and len(report.added) == 3
    assistant = Assistant(settings.model_copy(update={"answerability_threshold": 0.0}), store=store, embedder=FakeEmbedder())

    answer = assistant.ask("Hur mycket får Regionteatern i stöd?", generator="extractive")
    assert "9,4 miljoner" in answer.text
    assert "7,1 miljoner" not in answer.text and "12,8 miljoner" not in answer.text

    answer = assistant.ask("Hur mycket får Regionteatern i stöd 2020–2023?", generator="extractive")
    assert "7,1 miljoner" in answer.text
    assert "12,8 miljoner" not in answer.text


def test_the_scope_preference_does_not_hide_the_only_sentence_giving_what_is_asked(settings, store, tmp_path):
    """The current plan says why the centre was founded, not when; only the last period's follow-up says
    when it was founded. The answer keeps to the follow-up's scope instead of refusing for lack of a
    date; a question whose asked kind no document gives is still refused."""
    from assistant.engine import Assistant
    from assistant.events import EventKind
    from ingest.pipeline import Ingestor

    folder = tmp_path / "plans"
    folder.mkdir()
    (folder / "kulturplan_blekinge_2024_2027.md").write_text(
        "# Regional kulturplan för Blekinge 2024–2027\n\n## Konstresurscentrum\n\n"
        "Konstresurscentrum Blekinge bildades för att stärka bildkonsten.\n\n"
        "Konstresurscentrum Blekinge ger råd till konstnärer och samordnar offentlig konst.\n",
        encoding="utf-8",
    )
    (folder / "uppfoljning_kulturplan_blekinge_2020_2023.md").write_text(
        "# Uppföljning av regional kulturplan för Blekinge 2020–2023\n\n## Konstnärers villkor\n\n"
        "Konstresurscentrum Blekinge bildades den 1 januari 2023 efter en utredning.\n",
        encoding="utf-8",
    )
    assert Ingestor(settings, store, FakeEmbedder()).run([folder], progress=False).ok
    assistant = Assistant(settings.model_copy(update={"answerability_threshold": 0.0}), store=store, embedder=FakeEmbedder())

    answer = assistant.ask("När bildades Konstresurscentrum Blekinge?", generator="extractive")
    assert not answer.refused and "1 januari 2023" in answer.text
    assert [c.source for c in answer.citations] == ["uppfoljning_kulturplan_blekinge_2020_2023.md"]

    unanswerable = assistant.ask("Hur många konstnärer fick råd av Konstresurscentrum Blekinge?", generator="extractive")
    assert unanswerable.refused and unanswerable.has(EventKind.NOTHING_RELEVANT)
