"""The chat in a real browser: Playwright drives Debian's chromium against the app on a loopback port.

Needs /usr/bin/chromium and axe-core (both installed by `.ci/install-browser.sh`; `playwright
install` is never run) and the real embedding model (the `real_index` fixture). Answers use the
`extractive` generator: fast and deterministic.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO, serving_app

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(os.environ.get("KULTURPLAN_AXE_PATH", "~/.cache/kulturplan/npm/node_modules/axe-core/axe.min.js")).expanduser()
ARTIFACTS = REPO / "tests" / "artifacts"
FLAGSHIP = "Vilken kultur finns i Ronneby?"
# The chat log once no answer is streaming any more.
SETTLED = '#kp-chat .kp-chat[aria-busy="false"]'
PAYLOAD = """Skärvsta konsthall

Skärvsta konsthall visar samtidskonst varje sommar och har skylten <script>window.__pwned=1</script> vid entrén till utställningen.

Skärvsta konsthall har också en skulptur med inskriften <img src=x onerror="window.__pwned=1"> och texten ${window.__pwned=1} i trädgården.
"""


def _missing(what: str) -> None:
    message = f"{what} is missing: run .ci/install-browser.sh"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        _missing(str(CHROMIUM))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _serve(settings, embedder, feedback_file: Path) -> Iterator[str]:
    with serving_app(settings.model_copy(update={"generator": "extractive"}), embedder, feedback_file) as url:
        yield url


@pytest.fixture(scope="module")
def feedback_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("feedback") / "feedback.sqlite3"


@pytest.fixture(scope="module")
def chat_url(real_index, real_embedder, feedback_file) -> Iterator[str]:
    yield from _serve(real_index, real_embedder, feedback_file)


@pytest.fixture(scope="module")
def payload_url(tmp_path_factory, real_settings_base, real_embedder) -> Iterator[str]:
    """A separate index whose only document carries HTML and script payloads as text."""
    from ingest.pipeline import ingest

    folder = tmp_path_factory.mktemp("payload-docs")
    (folder / "skarvsta_konsthall.txt").write_text(PAYLOAD, encoding="utf-8")
    settings = real_settings_base.model_copy(update={"data_dir": tmp_path_factory.mktemp("payload-index")})
    assert ingest(settings, [folder], progress=False, embedder=real_embedder).ok
    yield from _serve(settings, real_embedder, tmp_path_factory.mktemp("payload-feedback") / "feedback.sqlite3")


def _open(browser, url: str):
    # An English browser: the page must still be Swedish.
    context = browser.new_context(locale="en-US", viewport={"width": 1100, "height": 900})
    page = context.new_page()
    response = page.goto(url)
    page.wait_for_selector("#kp-question textarea")
    return context, page, response


def _ask(page, question: str, turn: int) -> None:
    page.fill("#kp-question textarea", question)
    page.press("#kp-question textarea", "Enter")
    page.wait_for_selector(f"{SETTLED} #svar-{turn} .kp-answer:not(.kp-streaming)", timeout=60_000)


def test_flagship_question_with_sources_feedback_and_accessibility(browser, chat_url, feedback_file):
    context, page, response = _open(browser, chat_url)
    try:
        served = response.text()
        assert 'lang="sv"' in served[: served.index("<head>")]
        assert page.evaluate("document.documentElement.lang") == "sv"
        assert page.title() == "Kulturplan-assistenten"
        assert "Samverkan med kommunerna" in page.inner_text("#kp-header")

        # Record whether the answer was ever shown while streaming (before the final answer replaced it).
        page.evaluate(
            """() => { window.__sawStreaming = false;
                new MutationObserver(() => { if (document.querySelector('.kp-streaming')) window.__sawStreaming = true; })
                  .observe(document.body, { childList: true, subtree: true }); }"""
        )
        page.evaluate("window.__notReloaded = true")
        _ask(page, FLAGSHIP, 1)  # typed and sent with Enter: usable from the keyboard
        assert page.evaluate("window.__sawStreaming") is True
        assert page.input_value("#kp-question textarea") == ""

        answer = page.inner_text("#svar-1 .kp-bot")
        assert answer.startswith("Kulturplan-assistenten") and "Ronneby" in answer
        sources = page.inner_text("#svar-1 .kp-sources")
        for fact in ("konstresurscentrum", "utgrävningar", "museum i Ronneby"):
            assert fact in sources
        links = page.eval_on_selector_all("#svar-1 a.kp-cite", "els => els.map(e => e.getAttribute('href'))")
        anchors = page.eval_on_selector_all("#svar-1 .kp-source", "els => els.map(e => '#' + e.id)")
        assert links and anchors and set(links) == set(anchors) and anchors[0] == "#kalla-1-1"
        assert page.locator("#svar-1 .kp-passage mark").count() >= 1

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)

        # [1] jumps to its source, in the same page (no reload), and moves the focus there.
        page.locator("#svar-1 a.kp-cite", has_text="1").first.click()
        page.wait_for_function("location.hash === '#kalla-1-1'")
        target = page.locator("#kalla-1-1")
        assert target.evaluate("el => el.matches(':target')") and target.is_visible()
        assert page.evaluate("document.activeElement.id") == "kalla-1-1"
        box, height = target.bounding_box(), page.viewport_size["height"]
        assert box["y"] >= 0 and box["y"] < height
        assert page.evaluate("window.__notReloaded") is True

        # 👍 with a comment lands in SQLite.
        page.fill("#kp-comment textarea", "Bra svar med källor")
        page.click("#kp-up")
        page.wait_for_selector("#kp-feedback-status .kp-thanks")
        with sqlite3.connect(feedback_file) as connection:
            rows = connection.execute("SELECT rating, comment, question, answer FROM feedback").fetchall()
        assert len(rows) == 1
        rating, comment, question, stored_answer = rows[0]
        assert (rating, comment, question) == ("up", "Bra svar med källor", FLAGSHIP)
        assert "konstresurscentrum" in stored_answer

        # A refusal looks different.
        _ask(page, "Vad kostar en biljett till Liseberg?", 2)
        refusal = page.locator("#svar-2 .kp-refusal")
        assert refusal.is_visible() and "Svar saknas i kulturplanen" in refusal.inner_text()
        assert "Närmast din fråga kommer avsnitten" in refusal.inner_text()

        # axe-core on the page with both answers and the settings panel open.
        if not AXE.is_file():
            _missing(str(AXE))
        page.click("#kp-settings button")
        page.wait_for_selector("#kp-municipality")
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => await axe.run(document, { resultTypes: ['violations'] })")
        summary = [(v["impact"], v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]
        print("axe violations:", summary or "none")
        assert [s for s in summary if s[0] in ("critical", "serious")] == []
    finally:
        context.close()


def test_sessions_do_not_see_each_other(browser, chat_url):
    first, page_a, _ = _open(browser, chat_url)
    second, page_b, _ = _open(browser, chat_url)
    try:
        # An example question, chosen with the keyboard.
        page_a.get_by_role("button", name="Vad är Blekingemodellen?").focus()
        page_a.keyboard.press("Enter")
        page_a.wait_for_selector(f"{SETTLED} #svar-1 .kp-answer:not(.kp-streaming)", timeout=60_000)
        assert "Vad är Blekingemodellen?" in page_a.inner_text("#kp-chat")

        assert page_b.locator("#kp-chat .kp-empty").is_visible()
        _ask(page_b, FLAGSHIP, 1)
        chat_a, chat_b = page_a.inner_text("#kp-chat"), page_b.inner_text("#kp-chat")
        assert FLAGSHIP in chat_b and "Vad är Blekingemodellen?" not in chat_b
        assert FLAGSHIP not in chat_a and page_a.locator(".kp-exchange").count() == 1

        # A new conversation in one session empties only that one.
        page_a.click("#kp-new")
        page_a.wait_for_selector("#kp-chat .kp-empty")
        assert FLAGSHIP in page_b.inner_text("#kp-chat")
    finally:
        first.close()
        second.close()


def test_html_in_a_document_and_in_a_question_stays_inert_text(browser, payload_url):
    context, page, _ = _open(browser, payload_url)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        _ask(page, "Vad visar Skärvsta konsthall?", 1)
        text = page.inner_text("#svar-1")
        assert "<script>window.__pwned=1</script>" in text
        assert '<img src=x onerror="window.__pwned=1">' in text
        assert "${window.__pwned=1}" in text
        hostile = '<img src=x onerror="alert(1);window.__pwned=1"><script>alert(2)</script> Vad visar Skärvsta konsthall?'
        _ask(page, hostile, 2)
        assert '<img src=x onerror="alert(1);window.__pwned=1">' in page.inner_text("#kp-chat")
        assert page.locator("#kp-chat script, #kp-chat img").count() == 0
        page.wait_for_timeout(300)  # an onerror would have fired by now
        assert page.evaluate("typeof window.__pwned") == "undefined" and dialogs == []
    finally:
        context.close()


def test_local_model_chosen_in_the_settings_streams_an_answer(browser, chat_url):
    """The settings panel switches this session to the local LLM; its answer streams in with sources."""
    context, page, _ = _open(browser, chat_url)
    try:
        page.click("#kp-settings button")
        page.get_by_label("Lokal språkmodell").check()
        page.evaluate(
            """() => { window.__streamed = 0;
                new MutationObserver(() => { if (document.querySelector('.kp-streaming')) window.__streamed += 1; })
                  .observe(document.body, { childList: true, subtree: true, characterData: true }); }"""
        )
        page.fill("#kp-question textarea", "Vad är Blekingemodellen?")
        page.press("#kp-question textarea", "Enter")
        page.wait_for_selector(f"{SETTLED} #svar-1 .kp-answer:not(.kp-streaming)", timeout=150_000)
        assert page.evaluate("window.__streamed") > 0
        answer = page.inner_text("#svar-1 .kp-bot")
        assert "Blekinge" in answer and "Något gick fel" not in answer
        # Either the model's checked answer or, if it failed the check, the extractive one: with sources.
        assert page.locator("#svar-1 .kp-source").count() >= 1
    finally:
        context.close()


def _axe_violations(page) -> list:
    if not AXE.is_file():
        _missing(str(AXE))
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, { resultTypes: ['violations'] })")
    return [(v["impact"], v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]


def test_commitments_and_municipality_tabs(browser, chat_url):
    import csv
    import io

    context, page, _ = _open(browser, chat_url)
    try:
        # Åtaganden: filter on an actor; exactly that actor's rows remain.
        page.get_by_role("tab", name="Åtaganden").click()
        page.wait_for_selector("#kp-atag-table table.kp-table")
        everything = page.locator("#kp-atag-table tbody tr").count()
        page.click("#kp-atag-actor input")
        page.get_by_role("option", name="Musik i Blekinge", exact=True).click()
        page.wait_for_function(
            "() => document.querySelectorAll('#kp-atag-table tbody tr').length === 2", timeout=15_000
        )
        rows = page.locator("#kp-atag-table tbody tr")
        texts = [rows.nth(i).inner_text() for i in range(rows.count())]
        assert everything > 2
        assert all("Musik i Blekinge" in t.split("\t")[0] for t in texts)  # the Aktör cell
        assert sum("två gånger varje år" in t for t in texts) == 1 and sum("Kultur i vården" in t for t in texts) == 1
        assert page.locator("#kp-atag-table caption").is_visible()
        assert page.locator('#kp-atag-table th[scope="col"]').count() == 5

        # The source of a row opens its passage, with the commitment marked.
        row = rows.filter(has_text="två gånger varje år")
        passage = row.locator(".kp-passage")
        assert not passage.is_visible()
        row.locator("summary").click()
        passage.wait_for(state="visible")
        assert "två gånger varje år" in passage.locator("mark").inner_text()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "atag.png"), full_page=True)

        # The CSV holds the filtered rows: UTF-8 with BOM, semicolons.
        with page.expect_download() as info:
            page.click("#kp-atag-csv")
        download = info.value
        assert download.suggested_filename.endswith(".csv")
        data = Path(download.path()).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")
        parsed = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
        assert len(parsed) == 2 and all("Musik i Blekinge" in r["aktör"] for r in parsed)
        assert {"två gånger varje år" in r["åtagande"] for r in parsed} == {True, False}
        assert any("Kultur i vården" in r["åtagande"] for r in parsed)

        summary = _axe_violations(page)
        print("axe violations (Åtaganden):", summary or "none")
        assert [s for s in summary if s[0] in ("critical", "serious")] == []

        # Kommuner: Ronneby's own passages, and apart the offers for the whole county.
        page.get_by_role("tab", name="Kommuner").click()
        page.locator("#kp-kommun-val").get_by_label("Ronneby").check()
        page.wait_for_selector("#kp-kommun .kp-ov-local")
        local = page.inner_text("#kp-kommun .kp-ov-local")
        for fact in ("konstresurscentrum", "utgrävningar", "museum i Ronneby"):
            assert fact in local
        assert "två gånger varje år" not in local
        region = page.locator("#kp-kommun .kp-ov-region")
        assert "två gånger varje år" in region.inner_text() and region.locator("h3").inner_text() == "För hela Blekinge"
        page.screenshot(path=str(ARTIFACTS / "kommuner.png"), full_page=True)
        summary = _axe_violations(page)
        print("axe violations (Kommuner):", summary or "none")
        assert [s for s in summary if s[0] in ("critical", "serious")] == []
    finally:
        context.close()
