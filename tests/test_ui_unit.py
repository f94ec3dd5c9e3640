"""The chat without a browser: HTML rendering, the feedback store and the event handlers."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import sqlite3

import gradio as gr
import pytest

from assistant.engine import Assistant
from assistant.events import EventKind, event
from assistant.generators import GENERATORS
from assistant.types import Answer, Citation
from ingest.pipeline import ingest
from kulturplan.feedback import COLUMNS, FeedbackStore, feedback_path
from kulturplan.region import load_profile
from ui import messages
from ui.app import build_app, header_html
from ui.chat import ChatHandlers, ChatSession, Entry, generator_choices
from ui.page import SwedishPage
from ui.render import ERROR_MESSAGE, REFUSAL_LABEL, highlight, render_answer, render_conversation, render_text

from fakes import FailingLLM, FakeEmbedder

XSS = '<script>window.__pwned=1</script> och <img src=x onerror=alert(1)>'


def citation(n: int = 1, text: str = "Första meningen. Andra meningen om Ronneby.", **kw) -> Citation:
    fields = dict(chunk_id=f"c{n}", source="plan.txt", title="Samverkan med kommunerna", section="Samverkansinitiativ",
                  page=None, text=text, supporting=())
    fields.update(kw)
    return Citation(n=n, **fields)


# --- rendering --------------------------------------------------------------------------------------
def test_document_and_answer_markup_is_escaped():
    answer = Answer(
        question="q",
        text=f"Dokumentet säger {XSS} [1].",
        citations=[citation(1, text=f"Före. {XSS} Efter.", title="<b>Titel</b>", section="<i>Avsnitt</i>",
                            supporting=(f"{XSS} Efter.",))],
        events=[event(EventKind.GENERATOR_FAILED, error="<script>x</script>"), event(EventKind.SENTENCE_DROPPED, sentence=XSS)],
    )
    page = render_answer(answer, turn=1)
    for raw in ("<script>", "<img", "<b>Titel", "<i>Avsnitt"):
        assert raw not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;b&gt;Titel&lt;/b&gt;" in page
    # The only tags are our own.
    assert set(re.findall(r"<(\w+)", page)) <= {
        "div", "p", "sup", "a", "section", "h2", "ol", "li", "span", "cite", "blockquote", "mark", "details", "summary", "ul",
    }


def test_question_is_escaped_in_the_conversation():
    session = ChatSession()
    session.entries.append(Entry(question=XSS, error="Fel <b>"))
    page = render_conversation(session)
    assert "<script>" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;" in page


def test_citations_link_to_their_source_anchors():
    answer = Answer(
        question="q",
        text="Inledning:\n- Ett museum i Ronneby [1].\n- Utgrävningar [2].\n- Okänd källa [7].",
        citations=[citation(1), citation(2, section="Blekinge museum", page=12)],
    )
    page = render_answer(answer, turn=3)
    assert page.count('href="#kalla-3-1"') == 1 and page.count('href="#kalla-3-2"') == 1
    assert 'id="kalla-3-1"' in page and 'id="kalla-3-2"' in page
    assert "[7]" in page and "#kalla-3-7" not in page  # a number without a source stays plain text
    assert "<ul><li>" in page  # "- " lines are a list
    assert "s. 12" in page and "Blekinge museum" in page and "Samverkan med kommunerna" in page
    # Sources are numbered like the [n] in the text, in order.
    assert re.findall(r'class="kp-source-n">\[(\d+)\]', page) == ["1", "2"]


def test_supporting_sentences_are_highlighted():
    text = "Första meningen.\nAndra  meningen om\nRonneby. Tredje <meningen>."
    marked = highlight(text, ("Andra meningen om Ronneby.", "Tredje <meningen>."))
    assert "<mark>Andra  meningen om\nRonneby.</mark>" in marked  # whitespace may differ
    assert "<mark>Tredje &lt;meningen&gt;.</mark>" in marked
    assert marked.startswith("Första meningen.") and "<mark>Första" not in marked
    assert highlight("Inget <här>.", ()) == "Inget &lt;här&gt;."


def test_refusal_looks_different_and_has_no_sources():
    refusal = Answer(question="q", text="Det framgår inte av kulturplanen. Dokumenten handlar till exempel om: X, Y.",
                     refused=True)
    page = render_answer(refusal, turn=1)
    assert "kp-refusal" in page and REFUSAL_LABEL in page and "Dokumenten handlar till exempel om" in page
    assert "kp-sources" not in page
    normal = render_answer(Answer(question="q", text="Svar [1].", citations=[citation(1)]), turn=1)
    assert "kp-refusal" not in normal and REFUSAL_LABEL not in normal


def test_fallback_note_is_shown_and_technical_notes_are_tucked_away():
    answer = Answer(question="q", text="Svar [1].", citations=[citation(1)],
                    events=[event(EventKind.GENERATOR_TIMEOUT, error="timed out"), event(EventKind.FELL_BACK, reason="failed")])
    page = render_answer(answer, turn=1)
    assert f'<p class="kp-note">{messages.FELL_BACK["failed"]}</p>' in page
    assert "<details" in page and "Språkmodellen svarade inte i tid." in page
    assert page.index('class="kp-note"') < page.index("<details")


def test_streaming_text_has_no_links_yet_and_the_log_is_busy():
    session = ChatSession([Entry(question="Fråga", streamed="Halvt svar [1]")])
    page = render_conversation(session)
    assert 'aria-busy="true"' in page and "kp-streaming" in page and "kp-cite" not in page
    assert render_text("a [1]", 1) == "<p>a [1]</p>"


def test_header_lists_the_indexed_documents():
    plan = "Region Blekinges kulturplan"
    assert "Samverkan med kommunerna" in header_html(["Samverkan med kommunerna"], plan)
    assert f"frågor om {plan} utifrån" in header_html(["Samverkan med kommunerna"], plan)
    assert "&lt;x&gt;" in header_html(["<x>"], plan)
    assert "Inga dokument" in header_html([], plan)


def test_served_page_says_swedish_before_any_script_runs():
    page = b'<!doctype html>\n<html\n\tlang="en"\n\tstyle="margin: 0"\n>\n\t<head>\n\t\t<meta charset="utf-8" />'
    rewritten = SwedishPage.rewrite(page)
    assert b'lang="sv"' in rewritten and b'lang="en"' not in rewritten
    assert rewritten.index(b"<script>") < rewritten.index(b"<meta")


def test_openai_is_offered_only_when_configured(settings):
    assert [v for _, v in generator_choices(settings)] == ["local", "extractive"]
    configured = settings.model_copy(update={"openai_base_url": "http://127.0.0.1:8000/v1"})
    assert [v for _, v in generator_choices(configured)] == ["local", "extractive", "openai"]


# --- feedback ---------------------------------------------------------------------------------------
def test_feedback_round_trips_through_csv_without_personal_data(tmp_path):
    store = FeedbackStore(tmp_path / "data" / "feedback.sqlite3")
    citations = json.dumps([{"n": 1, "source": "plan.txt", "text": "Ett museum i Ronneby."}], ensure_ascii=False)
    store.add("Vilken kultur finns i Ronneby?", "Ett museum [1].", citations, "up", "Bra, tack! <b>")
    store.add("Vad är X?", "Det framgår inte.", "[]", "down", "")
    with pytest.raises(ValueError):
        store.add("q", "a", "[]", "meh", "")

    out = tmp_path / "feedback.csv"
    assert store.export_csv(out) == 2
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert tuple(rows[0]) == COLUMNS
    assert [r["rating"] for r in rows] == ["up", "down"]
    assert rows[0]["question"] == "Vilken kultur finns i Ronneby?" and rows[0]["comment"] == "Bra, tack! <b>"
    assert json.loads(rows[0]["citations"])[0]["source"] == "plan.txt"
    assert rows[0]["created_at"].endswith("+00:00")  # UTC
    buffer = io.StringIO()
    store.export_csv(buffer)
    assert buffer.getvalue() == out.read_bytes().decode("utf-8")

    # Nothing about the person: no address, agent, session or user column anywhere in the database.
    with sqlite3.connect(store.path) as connection:
        names = {row[1].lower() for row in connection.execute("PRAGMA table_info(feedback)")}
    assert names == set(COLUMNS)
    assert not any(word in name for name in names for word in ("ip", "addr", "agent", "session", "user", "email"))


# --- handlers with a real (temporary) Chroma index and the fake embedder -----------------------------
@pytest.fixture
def fake_index(settings, corpus_copy):
    embedder = FakeEmbedder()
    report = ingest(settings, [corpus_copy], progress=False, embedder=embedder)
    assert report.ok
    # The fake embedder's similarities are not calibrated; keep the early refusal lexical only.
    return settings.model_copy(update={"answerability_threshold": 0.0, "generator": "extractive"}), embedder


@pytest.fixture
def handlers(fake_index):
    settings, embedder = fake_index
    return ChatHandlers(Assistant(settings, embedder=embedder), FeedbackStore.for_settings(settings))


def run(events) -> list[tuple]:
    return list(events)


def test_llm_failure_shows_the_extractive_answer_and_a_note(fake_index, monkeypatch):
    settings, embedder = fake_index
    monkeypatch.setitem(GENERATORS, "ui-failing", FailingLLM)  # undone after the test
    handlers = ChatHandlers(Assistant(settings, embedder=embedder), FeedbackStore.for_settings(settings))
    updates = run(handlers.respond("Vilken kultur finns i Ronneby?", None, "ui-failing", 4, "Alla"))
    chat, session = updates[-1][0], updates[-1][1]
    answer = session.entries[-1].answer
    assert answer is not None and not answer.refused and answer.generator == "ui-failing→extractive"
    assert "konstresurscentrum" in chat and 'href="#kalla-1-1"' in chat and 'id="kalla-1-1"' in chat
    assert messages.FELL_BACK["failed"] in chat
    assert ERROR_MESSAGE not in chat and "Traceback" not in chat
    assert updates[-1][3]["visible"] is True  # feedback offered


def test_unexpected_error_is_one_swedish_line(handlers, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database exploded at /secret/path")
        yield  # pragma: no cover

    monkeypatch.setattr(handlers.assistant, "stream", broken)
    updates = run(handlers.respond("Vad är Blekingemodellen?", None))
    chat = updates[-1][0]
    assert ERROR_MESSAGE in chat and "exploded" not in chat and "/secret" not in chat
    assert updates[-1][3]["visible"] is False


def test_question_errors_keep_the_question_and_show_the_swedish_message(handlers):
    updates = run(handlers.respond("   ", None))
    assert len(updates) == 1
    chat, session, question_box, *_, notice = updates[0]
    assert "Skriv en fråga om kulturplanen." in notice and session.entries == []
    too_long = "Vad är Blekingemodellen? " * 40
    *_, notice = run(handlers.respond(too_long, None))[-1]
    assert "Frågan är för lång" in notice


def test_sessions_are_isolated_and_history_stays_in_the_session(handlers):
    first = run(handlers.respond("Vilken kultur finns i Ronneby?", None))[-1][1]
    second = run(handlers.respond("Vad är Blekingemodellen?", None))[-1][1]
    assert first is not second
    assert [e.question for e in first.entries] == ["Vilken kultur finns i Ronneby?"]
    assert [e.question for e in second.entries] == ["Vad är Blekingemodellen?"]
    assert "Ronneby" not in render_conversation(second)

    # A follow-up in the first session sees only the first session's history.
    seen = []
    original = handlers.assistant.stream

    def spy(question, history, **options):
        seen.append([t.content for t in history])
        yield from original(question, history, **options)

    handlers.assistant.stream = spy
    first = run(handlers.respond("Och i Karlshamn?", first))[-1][1]
    assert seen[-1][0] == "Vilken kultur finns i Ronneby?" and len(seen[-1]) == 2
    assert len(first.entries) == 2 and len(second.entries) == 1

    # A new conversation starts empty and leaves other sessions alone.
    chat, fresh, *_ = ChatHandlers.new_conversation()
    assert fresh.entries == [] and len(first.entries) == 2 and "kp-empty" in chat


def test_settings_panel_values_reach_the_assistant(handlers):
    seen = []
    original = handlers.assistant.stream

    def spy(question, history, **options):
        seen.append(options)
        yield from original(question, history, **options)

    handlers.assistant.stream = spy
    run(handlers.respond("Vilken kultur finns i Ronneby?", None, "extractive", 3.0, "Ronneby"))
    run(handlers.respond("Vilken kultur finns i Ronneby?", None, "extractive", 4, "Alla"))
    assert seen == [
        {"generator": "extractive", "max_passages": 3, "municipality": "Ronneby"},
        {"generator": "extractive", "max_passages": 4, "municipality": None},
    ]


def test_feedback_is_stored_for_the_last_answer_once(handlers, fake_index):
    settings, _ = fake_index
    nothing = handlers.rate("up")("", None)
    assert "inget svar" in nothing[0]
    session = run(handlers.respond("Vad är Blekingemodellen?", None))[-1][1]
    status, comment, box, session = handlers.rate("down")("  Saknar detaljer  ", session)
    assert "Tack" in status and comment == "" and box["visible"] is False
    again = handlers.rate("up")("", session)
    assert "redan" in again[0]
    rows = FeedbackStore(feedback_path(settings)).rows()
    assert len(rows) == 1
    assert rows[0]["rating"] == "down" and rows[0]["comment"] == "Saknar detaljer"
    assert rows[0]["question"] == "Vad är Blekingemodellen?" and rows[0]["answer"] == session.entries[-1].answer.text
    assert json.loads(rows[0]["citations"])[0]["n"] == 1


def test_app_builds_with_per_session_state_and_a_queue(handlers, fake_index):
    settings, _ = fake_index
    app = build_app(handlers.assistant, settings)
    assert isinstance(app, gr.Blocks) and app.title == "Kulturplan-assistenten"
    states = [b for b in app.blocks.values() if isinstance(b, gr.State)]
    assert states and all(s.value is None for s in states)  # created per session, never shared
    assert app._queue.default_concurrency_limit == 1
    config = json.dumps(app.config, ensure_ascii=False, default=str)
    for text in ("Vilken kultur finns i Ronneby?", "Vad är Blekingemodellen?", "Vilka åtaganden har Musik i Blekinge?",
                 "Ny konversation", "Inställningar", "Utdrag ur källorna", "Lokal språkmodell", "Sölvesborg"):
        assert text in config
    assert "Extern språkmodell" not in config


# --- the "Åtaganden" and "Kommuner" tabs --------------------------------------------------------------
def commitment(sentence: str = "Musik i Blekinge ska ge konserter.", **kw):
    from kulturplan.commitments import Commitment

    fields = dict(id="k1", doc_id="d", chunk_id="c1", source="plan.txt", title="Samverkan med kommunerna",
                  section="Blekingemodellen", page=None, sentence=sentence, actors=("Musik i Blekinge",),
                  areas=("musik",), municipalities=("hela Blekinge",), kind="plan")
    fields.update(kw)
    return Commitment(**fields)


def test_commitment_table_is_escaped_and_links_each_row_to_its_passage():
    from ui.commitments_tab import TABLE_COLUMNS, render_commitments

    rows = [
        commitment(f"Aktören ska {XSS}.", actors=("<b>Aktör</b>",), title="<i>Plan</i>", section="Avsnitt", page=3),
        commitment("Ronneby ska få ett museum.", id="k2", chunk_id="c2", municipalities=("Ronneby",)),
    ]
    passages = {"c1": f"Före. Aktören ska {XSS}. Efter.", "c2": "Ronneby ska få ett museum."}
    page = render_commitments(rows, passages, total=9, region_wide_label="hela Blekinge")
    for raw in ("<script>", "<img", "<b>Aktör", "<i>Plan"):
        assert raw not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page and "&lt;b&gt;Aktör&lt;/b&gt;" in page
    assert set(re.findall(r"<(\w+)", page)) <= {
        "div", "p", "table", "caption", "thead", "tbody", "tr", "th", "td", "details", "summary", "blockquote", "mark",
    }
    assert "<caption>" in page and re.findall(r'<th scope="col">([^<]+)</th>', page) == list(TABLE_COLUMNS)
    assert page.count("<tr id=") == 2 and "2 av 9 åtaganden" in page
    # The source cell names the passage and opens it, with the commitment marked.
    assert "<summary>&lt;i&gt;Plan&lt;/i&gt; · Avsnitt, s. 3</summary>" in page
    assert "<mark>Aktören ska &lt;script&gt;" in page and "Före. " in page
    assert "<td>hela Blekinge</td>" in page and "<td>Ronneby</td>" in page
    assert "Inga åtaganden" in render_commitments([], {}, region_wide_label="hela Blekinge")


def test_commitments_csv_is_excel_friendly_and_complete():
    from kulturplan.commitments import CSV_COLUMNS
    from ui.commitments_tab import commitments_csv

    rows = [
        commitment("Musik i Blekinge samordnar Kultur i vården; också \"i omsorgen\".", page=4,
                   actors=("Musik i Blekinge", "kommunerna"), areas=("musik", "vård och omsorg")),
        commitment("=HYPERLINK(\"http://x\") ska inte köras.", id="k2", municipalities=("Ronneby", "hela Blekinge"),
                   region_wide=True),
    ]
    data = commitments_csv(rows, "hela Blekinge")
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert tuple(parsed[0]) == CSV_COLUMNS == ("aktör", "område", "kommun", "åtagande", "källa", "avsnitt", "sida")
    assert parsed[1] == ["Musik i Blekinge, kommunerna", "musik, vård och omsorg", "hela Blekinge",
                         rows[0].sentence, "Samverkan med kommunerna", "Blekingemodellen", "4"]
    assert parsed[2][2] == "Ronneby, hela Blekinge" and parsed[2][3].startswith("'=HYPERLINK")
    assert parsed[2][6] == "" and len(parsed) == 3


def test_commitment_filters_and_csv_download_from_the_index(fake_index):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from ui.commitments_tab import CommitmentHandlers

    settings, embedder = fake_index
    browse = CommitmentHandlers(Assistant(settings, embedder=embedder), settings)
    actors, areas = browse.filter_options()
    assert "Musik i Blekinge" in actors and "vård och omsorg" in areas
    page, link = browse.commitments("Musik i Blekinge", "Alla", "Alla", "", True)
    assert page.count("<tr id=") == 2 and "två gånger varje år" in page and "Kultur i vården" in page
    # The link downloads the same rows from the app's own route; no file and no server path involved.
    href = html.unescape(re.search(r'href="([^"]+)"', link).group(1))
    assert href.startswith("ataganden.csv?") and "/" not in href
    client = TestClient(Starlette(routes=browse.routes()))
    response = client.get("/" + href)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 2 and all("Musik i Blekinge" in r["aktör"] for r in rows)
    everything = client.get("/ataganden.csv").content.decode("utf-8-sig")
    assert everything.count("\n") > len(rows) + 1
    only_ronneby, _ = browse.commitments("Alla", "Alla", "Ronneby", "", False)
    assert "konstresurscentrum" in only_ronneby and "två gånger varje år" not in only_ronneby
    text, _ = browse.commitments(None, None, None, "utgrävningar", True)
    assert text.count("<tr id=") == 1 and "utgrävningar" in text
    none, _ = browse.commitments("Alla", "Alla", "Alla", "finns inte alls", True)
    assert "Inga åtaganden matchar filtren." in none


def test_municipality_overview_groups_local_and_region_wide_passages(fake_index):
    from assistant.municipality_overview import municipality_overview
    from ui.municipalities_tab import MunicipalityHandlers, render_overview

    settings, embedder = fake_index
    store = Assistant(settings, embedder=embedder).store
    profile = settings.profile
    ronneby = municipality_overview(store, "Ronneby", profile)
    assert ronneby.mentioned
    local = {g.heading: [m.sentence for m in g.mentions] for g in ronneby.local}
    assert any("konstresurscentrum i Ronneby" in s for s in local["Samverkansinitiativ"])
    museum = " ".join(local["Blekinge museum - Blekinges länsmuseum"])
    assert "utgrävningar" in museum and "museum i Ronneby" in museum
    assert all("Ronneby" in m.sentence for g in ronneby.local for m in g.mentions)
    wide = [m.sentence for g in ronneby.region_wide for m in g.mentions]
    assert any("två gånger varje år" in s for s in wide)
    assert not set(wide) & {m.sentence for g in ronneby.local for m in g.mentions}  # never twice

    karlskrona = municipality_overview(store, "Karlskrona", profile)
    assert not karlskrona.mentioned and karlskrona.region_wide
    page = render_overview(karlskrona, profile)
    assert "Dokumenten nämner inte Karlskrona" in page and "två gånger varje år" in page

    page = MunicipalityHandlers(Assistant(settings, embedder=embedder), settings).overview("Ronneby")
    assert page.index("konstresurscentrum") < page.index('class="kp-ov-region"') < page.index("två gånger varje år")
    assert "Källa: <cite>Samverkan med kommunerna · Samverkansinitiativ</cite>" in page
    assert "Välj en kommun" in MunicipalityHandlers(None, settings).overview("<script>")
    with pytest.raises(ValueError):
        municipality_overview(store, "Lund", profile)


def test_overview_escapes_document_text():
    from assistant.municipality_overview import Mention, MunicipalityOverview, SectionGroup
    from ui.municipalities_tab import render_overview

    mention = Mention(f"Ronneby {XSS}", "c1", "plan.txt", "<b>T</b>", "<i>S</i>", 2)
    group = SectionGroup("<h1>Rubrik</h1>", "<b>T</b>", "plan.txt", (mention,))
    page = render_overview(MunicipalityOverview("Ronneby", (group,), (group,)), load_profile())
    for raw in ("<script>", "<img", "<b>T", "<i>S", "<h1>Rubrik"):
        assert raw not in page
    assert "&lt;h1&gt;Rubrik&lt;/h1&gt;" in page and "&lt;b&gt;T&lt;/b&gt; · &lt;i&gt;S&lt;/i&gt;, s. 2" in page
    assert "tidigare planperioder" not in page
    with_earlier = render_overview(MunicipalityOverview("Ronneby", (group,), (group,), (group,)), load_profile())
    assert "Ur tidigare planperioder" in with_earlier and "<script>" not in with_earlier


def test_app_has_the_commitment_and_municipality_tabs(handlers, fake_index):
    settings, _ = fake_index
    app = build_app(handlers.assistant, settings)
    tabs = [b for b in app.blocks.values() if isinstance(b, gr.Tab)]
    assert [t.label for t in tabs] == ["Chatt", "Åtaganden", "Kommuner"]
    config = json.dumps(app.config, ensure_ascii=False, default=str)
    for text in ("Ladda ner CSV", "Aktör", "Område", "Fritext", "Musik i Blekinge", "Välj kommun", "Karlskrona"):
        assert text in config


# --- another region: every region text comes from the profile ---------------------------------------
EXEMPELLAND = """\
name = "Region Exempelland"
region = "Exempelland"
plan_name = "Region Exempellands kulturplan"
region_wide_label = "hela Exempelland"
region_wide_patterns = ["alla (?:{region}s )?kommuner(?:na)?", "hela (?:{region}|regionen|länet)"]
places = ["Exempelland"]
municipalities = ["Norrby", "Söderås", "Västervik"]
examples = ["Vilken kultur finns i Norrby?", "Vad gör Exempellands länsmuseum?"]
"""
NORRBY = """\
Kultur i Norrby

Norrby har ett stadsbibliotek med sagostunder för barn varje lördag. Norrby kommun ska driva en kulturskola med undervisning i dans och teater.
"""
SODERAS = """\
Kulturarv i Söderås

Söderås har ett hembygdsmuseum vid torget. Exempellands länsmuseum ska ge visningar i alla kommuner i Exempelland varje sommar.
"""


@pytest.fixture
def exempelland(tmp_path):
    from kulturplan.config import load_settings

    profile_path = tmp_path / "exempelland.toml"
    profile_path.write_text(EXEMPELLAND, encoding="utf-8")
    folder = tmp_path / "exempel-docs"
    folder.mkdir()
    (folder / "norrby.txt").write_text(NORRBY, encoding="utf-8")
    (folder / "soderas.txt").write_text(SODERAS, encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "exempel-data", region=str(profile_path), embedding_batch_size=2)
    embedder = FakeEmbedder()
    assert ingest(settings, [folder], progress=False, embedder=embedder).ok
    settings = settings.model_copy(update={"answerability_threshold": 0.0, "generator": "extractive"})
    return settings, embedder


def test_the_ui_speaks_for_another_region_from_its_profile(exempelland):
    from ui.municipalities_tab import MunicipalityHandlers

    settings, embedder = exempelland
    assert settings.profile.name == "Region Exempelland"
    assistant = Assistant(settings, embedder=embedder)
    app = build_app(assistant, settings)
    config = json.dumps(app.config, ensure_ascii=False, default=str)
    assert "Region Exempellands kulturplan" in config and "Region Blekinges kulturplan" not in config
    assert "Vilken kultur finns i Norrby?" in config and "Vad är Blekingemodellen?" not in config
    assert "Ta med åtaganden för hela Exempelland" in config
    radios = [b for b in app.blocks.values() if isinstance(b, gr.Radio) and b.elem_id == "kp-kommun-val"]
    assert [value for _, value in radios[0].choices] == ["Norrby", "Söderås", "Västervik"]
    for blekinge in ("Ronneby", "Karlskrona", "Sölvesborg", "hela Blekinge"):
        assert blekinge not in config

    overview = MunicipalityHandlers(assistant, settings)
    norrby = overview.overview("Norrby")
    assert "Kultur i Norrby" in norrby and "sagostunder" in norrby
    assert "För hela Exempelland" in norrby and "Blekinge" not in norrby
    söderås = overview.overview("Söderås")
    assert "hembygdsmuseum" in söderås and "Det här når alla Exempellands kommuner" in söderås
    assert "Välj en kommun" in overview.overview("Ronneby")  # not a municipality of this region

    answer = assistant.ask("Vilken kultur finns i Norrby?", generator="extractive")
    assert not answer.refused and answer.citations
    assert "norrby.txt" in {c.source for c in answer.citations}
    assert "Norrby" in render_answer(answer, turn=1)
