"""What a municipality overview ("Vilken kultur finns i Ronneby?") counts as about the municipality,
and what as an offer for the whole region: a list of every municipality is neither, and a
neighbouring region's "hela länet" is not this region's."""

from __future__ import annotations

import pytest

from assistant.municipality_overview import municipality_overview, reaches_whole_region, speaks_of
from kulturplan.chunks import Chunk
from kulturplan.region import load_profile

from fakes import FakeEmbedder

PROFILE = load_profile()
EVERY_MUNICIPALITY = "Blekinge har fem kommuner: Karlskrona, Karlshamn, Ronneby, Olofström och Sölvesborg."


def chunk(text: str, region: str = "") -> Chunk:
    return Chunk("d", "d.txt", "D", "txt", 0, text, (), 0, len(text), region=region)


@pytest.mark.parametrize(
    ("sentence", "about_ronneby"),
    [
        ("Kulturcentrum Ronneby har en konsthall.", True),
        ("Berättarkraft drivs av Ronneby och Olofström tillsammans.", True),
        ("Kulturskolor finns i Karlskrona, Karlshamn, Ronneby och Sölvesborg.", True),  # not every one
        (EVERY_MUNICIPALITY, False),
        ("Olofström har ett aktivt föreningsliv.", False),
    ],
)
def test_a_sentence_speaks_of_a_municipality_unless_it_lists_them_all(sentence, about_ronneby):
    assert speaks_of(sentence, "Ronneby", PROFILE) is about_ronneby


def test_a_region_wide_offer_is_one_of_this_region():
    ours = "Musik i Blekinge spelar i hela länet."
    assert reaches_whole_region(chunk(ours), ours, PROFILE)
    assert reaches_whole_region(chunk(ours, region="Blekinge"), ours, PROFILE)
    # another region's plan, or a sentence about another region in a document of mixed regions
    assert not reaches_whole_region(chunk(ours, region="Kalmar län"), ours, PROFILE)
    kalmar = "Region Kalmar län har fyra prioriteringar: kultur i hela länet med bredd och spets."
    assert not reaches_whole_region(chunk(kalmar), kalmar, PROFILE)
    assert not reaches_whole_region(chunk("Ronneby har en konsthall."), "Ronneby har en konsthall.", PROFILE)


def test_overview_and_its_answer_leave_out_the_county_list_and_other_regions(settings, store, corpus_copy):
    """Beside the seed document (so that "kultur" is the index's domain word and "Vilken kultur finns
    i Ronneby?" a plain place question), a page listing all municipalities and a neighbours' page."""
    from assistant.engine import Assistant
    from ingest.pipeline import Ingestor

    folder = corpus_copy
    (folder / "kommunerna.md").write_text(
        f"# Kulturen i Blekinges kommuner\n\n{EVERY_MUNICIPALITY}\n\n## Ronneby\n\n"
        "Kulturcentrum Ronneby Konsthall visar samtidskonst.\n\n## Länet\n\n"
        "Musik i Blekinge ger kulturkonserter i hela länet.\n",
        encoding="utf-8",
    )
    (folder / "grannregioner.md").write_text(
        "# Kulturplaner i grannregionerna\n\n"
        "Region Kalmar län satsar på kultur i hela länet med bredd och spets.\n\n"
        "Kalmar län har ett rikt kulturliv med kulturhus i varje kommun.\n",
        encoding="utf-8",
    )
    assert Ingestor(settings, store, FakeEmbedder()).run([folder], progress=False).ok

    overview = municipality_overview(store, "Ronneby", PROFILE)
    local = [m.sentence for group in overview.local for m in group.mentions]
    wide = [m.sentence for group in overview.region_wide for m in group.mentions]
    assert "Kulturcentrum Ronneby Konsthall visar samtidskonst." in local
    assert "Musik i Blekinge ger kulturkonserter i hela länet." in wide
    assert EVERY_MUNICIPALITY not in local + wide and not any("Kalmar" in s for s in local + wide)
    assert "Ronneby" not in local  # a section's heading is the group's, no mention

    assistant = Assistant(settings.model_copy(update={"answerability_threshold": 0.0}), store=store, embedder=FakeEmbedder())
    answer = assistant.ask("Vilken kultur finns i Ronneby?", generator="extractive")
    assert "Konsthall visar samtidskonst" in answer.text and "kulturkonserter i hela länet" in answer.text
    assert "fem kommuner" not in answer.text and "Kalmar" not in answer.text


def test_overview_keeps_earlier_plan_periods_apart_and_the_municipalitys_own_documents_first(settings, store, tmp_path):
    """A question naming no time asks about today: the previous plan's figures for Ronneby are shown
    apart (the tab), not in the chat's answer; a municipality only the previous plan names keeps them."""
    from datetime import date

    from assistant.engine import Assistant
    from ingest.pipeline import Ingestor

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a_kulturplan_blekinge_2020_2023.md").write_text(
        "# Regional kulturplan för Blekinge 2020–2023\n\n## Kommunerna\n\n"
        "Ronneby bibliotek hade 96 400 besök 2018.\n\nOlofström har ett bruksmuseum.\n",
        encoding="utf-8",
    )
    (folder / "b_kulturplan_blekinge_2024_2027.md").write_text(
        "# Regional kulturplan för Blekinge 2024–2027\n\n## Kommunerna\n\n"
        "Ronneby bibliotek hade 164 300 besök 2022.\n\nMusik i Blekinge ger kulturkonserter i hela länet.\n",
        encoding="utf-8",
    )
    (folder / "c_ronneby_kulturprogram_2022_2026.md").write_text(
        "# Ronneby kommuns kulturprogram 2022–2026\n\n## Kulturlivet\n\nKulturnatten i Ronneby lockar tusentals besökare.\n",
        encoding="utf-8",
    )
    assert Ingestor(settings, store, FakeEmbedder()).run([folder], progress=False).ok
    today = date(2025, 6, 1)

    ronneby = municipality_overview(store, "Ronneby", PROFILE, today)
    local = [m.sentence for group in ronneby.local for m in group.mentions]
    earlier = [m.sentence for group in ronneby.earlier for m in group.mentions]
    assert local == ["Kulturnatten i Ronneby lockar tusentals besökare.", "Ronneby bibliotek hade 164 300 besök 2022."]
    assert earlier == ["Ronneby bibliotek hade 96 400 besök 2018."]
    olofstrom = municipality_overview(store, "Olofström", PROFILE, today)
    assert [m.sentence for g in olofstrom.local for m in g.mentions] == ["Olofström har ett bruksmuseum."]
    assert olofstrom.earlier == ()

    assistant = Assistant(settings.model_copy(update={"answerability_threshold": 0.0}), store=store, embedder=FakeEmbedder())
    answer = assistant.ask("Vilken kultur finns i Ronneby?", generator="extractive").text
    assert "164 300" in answer and "96 400" not in answer
    assert answer.index("Kulturnatten") < answer.index("164 300")  # the municipality's own programme first
