"""The commitment list answers what a question names: an action plan's table rows ("… i
handlingsplanen"), the region and period asked about or implied (not another region's plan naming
Region Blekinge, not the previous period's), with the count when asked "Hur många …?"."""

from __future__ import annotations

import pytest

from assistant.engine import Assistant
from ingest.pipeline import Ingestor

from fakes import FakeEmbedder

ACTION_PLAN = """# Handlingsplan för den regionala kulturplanen 2024–2025

## Åtaganden

| Nr | Åtagande | Ansvarig | År |
|---|---|---|---|
| 1 | Ta fram en strategi för kultur och hälsa | Region Blekinge | 2024 |
| 2 | Starta sångstunder på särskilda boenden | Musik i Blekinge | 2025 |
| 3 | Inrätta en ungdomsjury för ungas kulturprojekt | Region Blekinge | 2024 |

## Uppföljning

Region Blekinges kulturförvaltning samordnar uppföljningen av handlingsplanen.
"""
CURRENT_PLAN = """# Regional kulturplan för Blekinge 2024–2027

## Dans

Region Blekinge ska under perioden utreda en regional dansfunktion.
"""
PREVIOUS_PLAN = """# Regional kulturplan för Blekinge 2020–2023

## Vården

Under perioden ska Region Blekinge pröva Kultur i vården i samarbete med sjukvården.
"""
NEIGHBOUR = """# Regional kulturplan för Kronobergs län 2024–2027

## Samverkan

Region Kronoberg ska samverka med Region Blekinge kring en gemensam dansfunktion.
"""


@pytest.fixture
def assistant(settings, store, tmp_path):
    folder = tmp_path / "plans"
    folder.mkdir()
    for name, text in [("handlingsplan_2024_2025.md", ACTION_PLAN), ("kulturplan_2024_2027.md", CURRENT_PLAN),
                       ("kulturplan_2020_2023.md", PREVIOUS_PLAN), ("kronoberg_2024_2027.md", NEIGHBOUR)]:  # fmt: skip
        (folder / name).write_text(text, encoding="utf-8")
    assert Ingestor(settings, store, FakeEmbedder()).run([folder], progress=False).ok
    return Assistant(settings.model_copy(update={"answerability_threshold": 0.0}), store=store, embedder=FakeEmbedder())


def items(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("- ")]


@pytest.mark.parametrize(
    "question",
    ["Hur många åtaganden finns i handlingsplanen?", "Hur många åtaganden har Region Blekinges handlingsplan?"],
)
def test_the_action_plan_s_commitments_are_its_table_rows(assistant, question):
    """The owner's genitive ("Region Blekinges handlingsplan") names no actor: all three rows, not
    Region Blekinge's two, and not the prose about the follow-up."""
    answer = assistant.ask(question, generator="extractive")
    assert answer.generator == "åtaganden"
    assert answer.text.splitlines()[0] == "Åtagandena i Handlingsplan för den regionala kulturplanen 2024–2025, 3 åtaganden:"
    assert len(items(answer.text)) == 3 and "sångstunder" in answer.text
    assert "samordnar uppföljningen" not in answer.text


def test_an_actor_s_commitments_keep_to_the_region_and_the_current_period(assistant):
    answer = assistant.ask("Vilka åtaganden har Region Blekinge?", generator="extractive").text
    assert "strategi för kultur och hälsa" in answer and "regional dansfunktion" in answer
    assert "Kultur i vården" not in answer  # the 2020–2023 plan's
    assert "Region Kronoberg ska samverka" not in answer  # Kronoberg's plan naming Region Blekinge
    named_period = assistant.ask("Vilka åtaganden hade Region Blekinge i kulturplanen 2020–2023?", generator="extractive")
    assert "Kultur i vården" in named_period.text and "dansfunktion" not in named_period.text
    in_the_action_plan = assistant.ask("Vilka åtaganden har Region Blekinge i handlingsplanen?", generator="extractive")
    assert len(items(in_the_action_plan.text)) == 2 and "dansfunktion" not in in_the_action_plan.text


def test_a_named_period_without_commitments_gets_no_list(assistant):
    """Nothing of 2026–2027: no list of another period's rows (retrieval answers or refuses)."""
    answer = assistant.ask("Vilka åtaganden finns i handlingsplanen för 2026–2027?", generator="extractive")
    assert answer.generator != "åtaganden"


def test_one_commitment_of_the_action_plan_is_no_list_question(assistant):
    """ "ett åtagande i handlingsplanen" asks about one row's handling, not for the plan's list."""
    answer = assistant.ask("Vem får ändra tidplanen för ett enskilt åtagande i handlingsplanen?", generator="extractive")
    assert answer.generator != "åtaganden"


def test_the_commitments_of_a_year_are_the_rows_and_sentences_of_that_year(assistant):
    answer = assistant.ask("Vilka åtaganden ska genomföras 2025?", generator="extractive")
    assert answer.generator == "åtaganden" and answer.text.startswith("Det här åtar sig kulturplanen för hela Blekinge år 2025:")
    assert [line for line in items(answer.text)] == [
        "- 2 – Åtagande: Starta sångstunder på särskilda boenden; Ansvarig: Musik i Blekinge; År: 2025 [1]."
    ]
    counted = assistant.ask("Hur många åtaganden har Region Blekinge 2024?", generator="extractive")
    assert counted.text.splitlines()[0] == "Det här åtar sig kulturplanen för Region Blekinge år 2024, 2 åtaganden:"
