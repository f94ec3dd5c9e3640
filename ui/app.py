"""The chat: a Gradio app in Swedish with streamed answers, clickable sources and feedback.

Rendering: every piece of text that comes from a document, the LLM or the user is escaped with
`html.escape` first; only then is our own markup (paragraphs, citation links, <mark>) added around
it. A `<script>` or `<img onerror>` inside a document is shown as text and never runs.

State: each browser session has its own `ChatSession` in a `gr.State`; nothing about a conversation
lives in a module global. Feedback is stored without any personal data (see kulturplan.feedback).
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import csv  # noqa: E402
import html  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402
from gradio import processing_utils  # noqa: E402
from gradio.utils import get_upload_folder  # noqa: E402
from starlette.datastructures import MutableHeaders  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from assistant.engine import FALLBACK_NOTE_SV, UNSUPPORTED_NOTE_SV, Assistant  # noqa: E402
from assistant.municipality_overview import MunicipalityOverview, SectionGroup, municipality_overview  # noqa: E402
from assistant.safety import QuestionError, validate_question  # noqa: E402
from assistant.types import Answer, Citation, Turn  # noqa: E402
from kulturplan.commitments import REGION_WIDE, Commitment, CommitmentStore  # noqa: E402
from kulturplan.config import Settings  # noqa: E402
from kulturplan.feedback import MAX_COMMENT_CHARS, FeedbackStore  # noqa: E402
from kulturplan.municipalities import MUNICIPALITIES  # noqa: E402

logger = logging.getLogger(__name__)

TITLE = "Kulturplan-assistenten"
EXAMPLES = ("Vilken kultur finns i Ronneby?", "Vad är Blekingemodellen?", "Vilka åtaganden har Musik i Blekinge?")
ALL_MUNICIPALITIES = "Alla"
GENERATOR_LABELS = {
    "local": "Lokal språkmodell",
    "extractive": "Utdrag ur källorna",
    "openai": "Extern språkmodell (OpenAI-kompatibel server)",
}

# One citation mark, "[3]" or "[1, 2]", as it appears in the (escaped) answer text.
_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
# Notes the user should see, in the words the user sees them; the others are under "Detaljer".
_USER_NOTES = {
    FALLBACK_NOTE_SV: FALLBACK_NOTE_SV,
    UNSUPPORTED_NOTE_SV: UNSUPPORTED_NOTE_SV,
    "instruktioner i frågan följdes inte": "Instruktioner i frågan följdes inte; bara frågan om kulturplanen besvarades.",
}
NO_MODEL_NOTE_SV = "Språkmodellen kunde inte startas, så svaret är hämtat direkt ur källorna."
REFUSAL_LABEL = "Svar saknas i kulturplanen"
ERROR_MESSAGE = "Något gick fel. Försök igen."
EMPTY_CHAT = "Ställ en fråga om kulturplanen nedan, eller välj en av exempelfrågorna."


@dataclass
class Entry:
    """One question and what became of it: streamed text, the final answer or an error."""

    question: str
    streamed: str = ""
    answer: Answer | None = None
    error: str = ""
    feedback: str = ""  # "up" or "down" once rated

    @property
    def done(self) -> bool:
        return self.answer is not None or bool(self.error)


@dataclass
class ChatSession:
    """One browser session's conversation; lives in a `gr.State`, never in a module global."""

    entries: list[Entry] = field(default_factory=list)

    def history(self) -> list[Turn]:
        turns = []
        for entry in self.entries:
            if entry.answer is not None:
                turns += [Turn("user", entry.question), Turn("assistant", entry.answer.text)]
        return turns

    def last_answered(self) -> Entry | None:
        for entry in reversed(self.entries):
            if entry.answer is not None:
                return entry
        return None


def esc(text: str | None) -> str:
    return html.escape(text or "", quote=True)


def anchor_id(turn: int, n: int) -> str:
    return f"kalla-{turn}-{n}"


# --- answer text ------------------------------------------------------------------------------------
def link_citations(escaped: str, turn: int, valid: set[int] | None) -> str:
    """Turn each [n] of already escaped text into a link to source n of this turn."""

    def replace(match: re.Match) -> str:
        numbers = [int(x) for x in re.split(r"\s*,\s*", match.group(1))]
        if valid is not None and not all(n in valid for n in numbers):
            return match.group(0)
        links = ", ".join(
            f'<a class="kp-cite" href="#{anchor_id(turn, n)}" aria-label="Källa {n}">{n}</a>' for n in numbers
        )
        return f'<sup class="kp-cites">[{links}]</sup>'

    return _CITATION.sub(replace, escaped)


def render_text(text: str, turn: int, valid: set[int] | None = None) -> str:
    """Answer text as paragraphs and lists ("- " lines), escaped, with linked citations.

    `valid` is the set of citation numbers that have a source; None links none (while streaming).
    """
    blocks: list[str] = []
    items: list[str] = []

    def flush_items() -> None:
        if items:
            blocks.append("<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>")
            items.clear()

    for line in (text or "").strip().splitlines():
        stripped = line.strip()
        if not stripped:
            flush_items()
            continue
        body = esc(stripped[2:] if stripped.startswith(("- ", "* ", "• ")) else stripped)
        body = link_citations(body, turn, valid) if valid is not None else body
        if stripped.startswith(("- ", "* ", "• ")):
            items.append(body)
        else:
            flush_items()
            blocks.append(f"<p>{body}</p>")
    flush_items()
    return "".join(blocks)


# --- sources ----------------------------------------------------------------------------------------
def _sentence_pattern(sentence: str) -> re.Pattern | None:
    words = sentence.split()
    if not words:
        return None
    return re.compile(r"\s+".join(re.escape(word) for word in words))


def highlight(passage: str, supporting: tuple[str, ...] | list[str]) -> str:
    """The passage, escaped, with the supporting sentences inside <mark>."""
    spans: list[tuple[int, int]] = []
    for sentence in supporting:
        pattern = _sentence_pattern(sentence)
        if pattern is None:
            continue
        spans += [m.span() for m in pattern.finditer(passage)]
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, position = [], 0
    for start, end in merged:
        out.append(esc(passage[position:start]))
        out.append(f"<mark>{esc(passage[start:end])}</mark>")
        position = end
    out.append(esc(passage[position:]))
    return "".join(out)


def render_citation(citation: Citation, turn: int) -> str:
    where = [f'<cite class="kp-doc">{esc(citation.title or citation.source)}</cite>']
    if citation.section and citation.section != citation.title:
        where.append(f'<span class="kp-section">{esc(citation.section)}</span>')
    if citation.page:
        where.append(f'<span class="kp-page">s. {esc(str(citation.page))}</span>')
    return (
        f'<li class="kp-source" id="{anchor_id(turn, citation.n)}" tabindex="-1">'
        f'<p class="kp-source-head"><span class="kp-source-n">[{citation.n}]</span> '
        + ' <span aria-hidden="true">·</span> '.join(where)
        + "</p>"
        f'<blockquote class="kp-passage">{highlight(citation.text.strip(), citation.supporting)}</blockquote>'
        "</li>"
    )


def render_sources(citations: list[Citation], turn: int) -> str:
    if not citations:
        return ""
    items = "".join(render_citation(c, turn) for c in citations)
    return (
        f'<section class="kp-sources" aria-label="Källor till svar {turn}">'
        f'<h2 class="kp-sources-title">Källor</h2><ol class="kp-source-list">{items}</ol></section>'
    )


def user_note(note: str) -> str | None:
    """The note in the words the user sees, or None for a technical note."""
    if note in _USER_NOTES:
        return _USER_NOTES[note]
    if note.endswith("; använder extractive"):  # the chosen generator could not even start
        return NO_MODEL_NOTE_SV
    return None


def render_notes(notes: list[str]) -> str:
    shown = [text for n in notes if (text := user_note(n))]
    other = [n for n in notes if user_note(n) is None or n.endswith("; använder extractive")]
    parts = [f'<p class="kp-note">{esc(note)}</p>' for note in dict.fromkeys(shown)]
    if other:
        parts.append(
            '<details class="kp-details"><summary>Så kontrollerades svaret</summary><ul>'
            + "".join(f"<li>{esc(n)}</li>" for n in other)
            + "</ul></details>"
        )
    return "".join(parts)


# --- the conversation -------------------------------------------------------------------------------
def render_answer(answer: Answer, turn: int) -> str:
    if answer.refused:
        return (
            f'<div class="kp-answer kp-refusal" role="note" aria-label="{REFUSAL_LABEL}">'
            f'<p class="kp-refusal-label"><strong>{REFUSAL_LABEL}</strong></p>'
            f"{render_text(answer.text, turn, {c.n for c in answer.citations})}"
            f"{render_notes(answer.notes)}</div>"
        )
    return (
        '<div class="kp-answer">'
        f"{render_text(answer.text, turn, {c.n for c in answer.citations})}"
        f"{render_notes(answer.notes)}"
        f"{render_sources(answer.citations, turn)}</div>"
    )


def render_entry(entry: Entry, turn: int) -> str:
    question = f'<div class="kp-turn kp-user"><p class="kp-who">Du frågade</p><p>{esc(entry.question)}</p></div>'
    if entry.answer is not None:
        body = render_answer(entry.answer, turn)
    elif entry.error:
        body = f'<div class="kp-answer kp-error"><p>{esc(entry.error)}</p></div>'
    else:
        text = render_text(entry.streamed, turn) if entry.streamed else ""
        body = f'<div class="kp-answer kp-streaming">{text}<p class="kp-status">Svarar …</p></div>'
    return (
        f'<article class="kp-exchange" id="svar-{turn}" aria-label="Fråga och svar {turn}">{question}'
        f'<div class="kp-turn kp-bot"><p class="kp-who">Kulturplan-assistenten</p>{body}</div></article>'
    )


def render_conversation(session: ChatSession | None) -> str:
    entries = session.entries if session else []
    busy = "true" if entries and not entries[-1].done else "false"
    inner = "".join(render_entry(e, i) for i, e in enumerate(entries, start=1))
    if not inner:
        inner = f'<p class="kp-empty">{esc(EMPTY_CHAT)}</p>'
    return f'<div class="kp-chat" role="log" aria-live="polite" aria-busy="{busy}" aria-label="Samtal">{inner}</div>'


# --- the commitments tab ("Åtaganden") --------------------------------------------------------------
# The CSV is for Excel with Swedish settings: UTF-8 with a BOM and ";" between fields (the comma is
# the decimal sign there, so Excel splits a Swedish CSV on semicolons).
CSV_COLUMNS = ("aktör", "område", "kommun", "åtagande", "källa", "avsnitt", "sida")
CSV_DELIMITER = ";"
CSV_NAME = "ataganden.csv"
TABLE_COLUMNS = ("Aktör", "Vad", "Område", "Var", "Källa")
NO_COMMITMENTS = "Inga åtaganden matchar filtren."
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _choice(value: str | None) -> str | None:
    """A filter value, or None for "Alla" and an empty choice."""
    value = (value or "").strip()
    return None if value in ("", ALL_MUNICIPALITIES) else value


def commitment_places(commitment: Commitment) -> str:
    """"Ronneby, Karlshamn", "hela Blekinge", or both: where the commitment applies."""
    named = [m for m in commitment.municipalities if m != REGION_WIDE]
    return ", ".join(named + ([REGION_WIDE] if commitment.region_wide or not named else []))


def commitment_source(commitment: Commitment) -> str:
    """"Titel · Avsnitt, s. 3": the passage a commitment was taken from."""
    title = commitment.title or commitment.source
    where = title + (f" · {commitment.section}" if commitment.section and commitment.section != title else "")
    return where + (f", s. {commitment.page}" if commitment.page else "")


def filter_commitments(
    store: CommitmentStore,
    actor: str | None = None,
    area: str | None = None,
    municipality: str | None = None,
    text: str | None = None,
    include_region_wide: bool = True,
) -> list[Commitment]:
    """The commitments the filters select; "Alla" or nothing means no filter on that column."""
    actor, area, municipality, text = _choice(actor), _choice(area), _choice(municipality), (text or "").strip()
    found = store.query(actor=actor, area=area, municipality=municipality, text=text or None,
                        include_region_wide=include_region_wide)
    # The dropdowns offer exact names: "Blekinge museum" must not also pick "Blekinge museum X".
    return [c for c in found if (not actor or actor in c.actors) and (not area or area in c.areas)]


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A cell Excel would run as a formula is kept as text.
    return "'" + text if text.startswith(_FORMULA_START) else text


def commitments_csv(commitments: list[Commitment]) -> bytes:
    """The rows as CSV for Excel: UTF-8 with BOM, ";"-separated, columns CSV_COLUMNS."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for c in commitments:
        row = (", ".join(c.actors), ", ".join(c.areas), commitment_places(c), c.sentence,
               c.title or c.source, c.section, c.page or "")
        writer.writerow([_csv_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def render_commitments(commitments: list[Commitment], passages: dict[str, str], total: int | None = None) -> str:
    """The commitments as an escaped HTML table; each source cell opens the passage it came from."""
    shown = len(commitments)
    count = f"{shown} åtaganden" if total is None or total == shown else f"{shown} av {total} åtaganden"
    status = f'<p class="kp-count" role="status">{esc(count)}</p>'
    if not commitments:
        return f'<div class="kp-atag">{status}<p class="kp-empty">{esc(NO_COMMITMENTS)}</p></div>'
    head = "".join(f'<th scope="col">{name}</th>' for name in TABLE_COLUMNS)
    rows = []
    for c in commitments:
        passage = passages.get(c.chunk_id)
        quoted = highlight(passage.strip(), (c.sentence,)) if passage else f"<mark>{esc(c.sentence)}</mark>"
        source = (
            f'<details class="kp-atag-source"><summary>{esc(commitment_source(c))}</summary>'
            f'<blockquote class="kp-passage">{quoted}</blockquote></details>'
        )
        rows.append(
            f'<tr id="atag-{esc(c.id)}"><td>{esc(", ".join(c.actors))}</td><td>{esc(c.sentence)}</td>'
            f"<td>{esc(', '.join(c.areas))}</td><td>{esc(commitment_places(c))}</td><td>{source}</td></tr>"
        )
    return (
        f'<div class="kp-atag">{status}<table class="kp-table"><caption>Kulturplanens åtaganden. '
        "Öppna källan för att läsa stycket åtagandet kommer från.</caption>"
        f'<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
    )


# --- the municipalities tab ("Kommuner") -------------------------------------------------------------
CHOOSE_MUNICIPALITY = "Välj en kommun för att se vad dokumenten säger om kulturen där."


def _mention_source(title: str, section: str, page: int | None) -> str:
    where = title + (f" · {section}" if section and section != title else "")
    return where + (f", s. {page}" if page else "")


def render_groups(groups: tuple[SectionGroup, ...], level: int) -> str:
    parts = []
    for group in groups:
        items = "".join(
            f'<li><p class="kp-ov-sentence">{esc(m.sentence)}</p>'
            f'<p class="kp-ov-source">Källa: <cite>{esc(_mention_source(m.title or m.source, m.section, m.page))}</cite></p></li>'
            for m in group.mentions
        )
        parts.append(f'<h{level} class="kp-ov-heading">{esc(group.heading)}</h{level}><ul class="kp-ov-list">{items}</ul>')
    return "".join(parts)


def render_overview(overview: MunicipalityOverview | None) -> str:
    if overview is None:
        return f'<div class="kp-overview"><p class="kp-empty">{esc(CHOOSE_MUNICIPALITY)}</p></div>'
    name = esc(overview.municipality)
    if overview.mentioned:
        local = render_groups(overview.local, 4)
    else:
        local = f'<p class="kp-ov-none">Dokumenten nämner inte {name}. Här nedan finns det som gäller alla kommuner i Blekinge.</p>'
    if overview.region_wide:
        wide = (f'<p>Det här når alla Blekinges kommuner, också {name}.</p>' + render_groups(overview.region_wide, 4))
    else:
        wide = '<p class="kp-ov-none">Dokumenten beskriver inga erbjudanden för hela Blekinge.</p>'
    return (
        f'<div class="kp-overview" aria-live="polite"><h2>Kultur i {name}</h2>'
        f'<section class="kp-ov-local" aria-labelledby="kp-ov-local-h"><h3 id="kp-ov-local-h">Det dokumenten säger om {name}</h3>{local}</section>'
        f'<section class="kp-ov-region" aria-labelledby="kp-ov-region-h"><h3 id="kp-ov-region-h">För hela Blekinge</h3>{wide}</section></div>'
    )


class BrowseHandlers:
    """Handlers of the "Åtaganden" and "Kommuner" tabs: read the index, return escaped HTML."""

    def __init__(self, assistant: Assistant, settings: Settings):
        self.assistant = assistant
        self.settings = settings

    def commitment_store(self) -> CommitmentStore:
        return CommitmentStore.open(self.settings)

    def filter_options(self) -> tuple[list[str], list[str]]:
        try:
            store = self.commitment_store()
            return store.actors(), store.areas()
        except Exception:
            logger.exception("reading the commitments failed")
            return [], []

    def commitments(self, actor=None, area=None, municipality=None, text=None, include_region_wide=True):
        """Return (table HTML, CSV file in Gradio's cache) for the filters."""
        try:
            store = self.commitment_store()
            found = filter_commitments(store, actor, area, municipality, text, bool(include_region_wide))
            total = store.count()
            passages = {i: c.text for i, c in self.assistant.store.chunks_by_id(sorted({c.chunk_id for c in found})).items()}
        except Exception:
            logger.exception("listing the commitments failed")
            return f'<div class="kp-atag"><p class="kp-notice" role="alert">{esc(ERROR_MESSAGE)}</p></div>', None
        # Gradio's own cache (content-addressed), never a path from the request.
        path = processing_utils.save_bytes_to_cache(commitments_csv(found), CSV_NAME, get_upload_folder())
        return render_commitments(found, passages, total), path

    def overview(self, municipality: str | None) -> str:
        if municipality not in MUNICIPALITIES:
            return render_overview(None)
        try:
            return render_overview(municipality_overview(self.assistant.store, municipality))
        except Exception:
            logger.exception("the overview of %r failed", municipality)
            return f'<div class="kp-overview"><p class="kp-notice" role="alert">{esc(ERROR_MESSAGE)}</p></div>'


# --- page language, citation links and styles -------------------------------------------------------
# Gradio 6 serves index.html with a fixed lang="en" and then sets <html lang> to the browser's language
# (svelte-i18n, from navigator.language); it has no setting for the page language. This script makes
# Gradio's own strings Swedish too (it reports the browser language as "sv") and keeps lang="sv".
# It also makes citation links jump within the page: Gradio's <base href="./"> would otherwise
# resolve "#kalla-1-2" against the base URL and reload the page when the URL has a query string.
PAGE_JS = """
(function () {
  if (window.__kulturplanPage) return;
  window.__kulturplanPage = true;
  try {
    Object.defineProperty(Navigator.prototype, "language", { get: function () { return "sv"; }, configurable: true });
    Object.defineProperty(Navigator.prototype, "languages", { get: function () { return ["sv"]; }, configurable: true });
  } catch (e) {}
  var root = document.documentElement;
  if (root.lang !== "sv") root.lang = "sv";
  new MutationObserver(function () { if (root.lang !== "sv") root.lang = "sv"; })
    .observe(root, { attributes: true, attributeFilter: ["lang"] });
  document.addEventListener("click", function (event) {
    var link = event.target && event.target.closest ? event.target.closest("a.kp-cite") : null;
    if (!link) return;
    var id = (link.getAttribute("href") || "").replace(/^#/, "");
    var target = document.getElementById(id);
    if (!target) return;
    event.preventDefault();
    if (window.location.hash !== "#" + id) window.location.hash = id;
    target.scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
  });
})();
"""
HEAD = f"<script>{PAGE_JS}</script>"

CSS = """
#kp-header h1 { font-size: 1.8rem; margin: 0 0 .25rem 0; }
#kp-header p { margin: 0; }
.kp-chat { display: flex; flex-direction: column; gap: 1rem; }
.kp-empty { color: var(--body-text-color-subdued); margin: .5rem 0; }
.kp-exchange { display: flex; flex-direction: column; gap: .5rem; }
.kp-turn { border-radius: 10px; padding: .6rem .9rem; max-width: 100%; }
.kp-user { align-self: flex-end; background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary); }
.kp-bot { border: 1px solid var(--border-color-primary); background: var(--block-background-fill); }
.kp-who { font-size: .8rem; font-weight: 600; margin: 0 0 .25rem 0; color: var(--body-text-color-subdued); }
.kp-answer p, .kp-turn p { margin: .3rem 0; }
.kp-answer ul { margin: .3rem 0 .3rem 1.2rem; padding: 0; list-style: disc; }
.kp-answer li { margin: .15rem 0; }
.kp-cites { font-size: .8em; line-height: 0; white-space: nowrap; }
a.kp-cite { color: #1d4ed8; font-weight: 600; text-decoration: underline; padding: 0 .1em; }
.dark a.kp-cite { color: #93c5fd; }
a.kp-cite:focus-visible, .kp-source:focus-visible { outline: 3px solid #2563eb; outline-offset: 2px; }
.kp-status { font-style: italic; color: var(--body-text-color-subdued); }
.kp-refusal { border-left: 5px solid #b45309; background: #fffbeb; color: #1f2937; padding: .5rem .8rem; border-radius: 6px; }
.kp-refusal-label { color: #92400e; }
.kp-error { border-left: 5px solid #b91c1c; background: #fef2f2; color: #7f1d1d; padding: .5rem .8rem; border-radius: 6px; }
.kp-note { font-size: .9rem; font-style: italic; color: var(--body-text-color-subdued); }
.kp-details { font-size: .85rem; color: var(--body-text-color-subdued); margin-top: .3rem; }
.kp-sources { margin-top: .6rem; border-top: 1px solid var(--border-color-primary); padding-top: .4rem; }
.kp-sources-title { font-size: 1rem; margin: .2rem 0 .3rem 0; }
.kp-source-list { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: .5rem; }
.kp-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .4rem .7rem; scroll-margin: 4rem; }
.kp-source:target { border-color: #2563eb; box-shadow: 0 0 0 3px rgba(37, 99, 235, .35); }
.kp-source-head { font-size: .9rem; margin: 0 0 .2rem 0; }
.kp-source-n { font-weight: 700; }
.kp-doc { font-style: normal; font-weight: 600; }
#kp-chat .kp-source .kp-passage { margin: 0 !important; padding: .2rem 0 .2rem .7rem; border-left: 3px solid var(--border-color-primary); font-size: .92rem; white-space: pre-line; color: var(--body-text-color); quotes: none; }
#kp-chat .kp-passage::before, #kp-chat .kp-passage::after { content: none; }
.kp-passage mark { background: #fef08a; color: #1f2937; padding: 0 .1em; }
.kp-thanks { color: var(--body-text-color); }
.kp-notice { color: #b91c1c; }
.dark .kp-notice { color: #fca5a5; }
#kp-examples-label p { margin: 0; font-weight: 600; }
.kp-count { font-weight: 600; margin: .3rem 0; }
.kp-table { width: 100%; border-collapse: collapse; font-size: .92rem; }
.kp-table caption { text-align: left; font-weight: 600; padding: .3rem 0; caption-side: top; }
.kp-table th, .kp-table td { border: 1px solid var(--border-color-primary); padding: .35rem .5rem; text-align: left; vertical-align: top; }
.kp-table thead th { background: var(--background-fill-secondary); }
.kp-atag-source summary { cursor: pointer; color: #1d4ed8; text-decoration: underline; }
.dark .kp-atag-source summary { color: #93c5fd; }
.kp-atag-source summary:focus-visible { outline: 3px solid #2563eb; outline-offset: 2px; }
.kp-atag-source .kp-passage { margin: .3rem 0 0 0; padding: .2rem 0 .2rem .6rem; border-left: 3px solid var(--border-color-primary); white-space: pre-line; quotes: none; }
.kp-atag-source .kp-passage::before, .kp-atag-source .kp-passage::after { content: none; }
.kp-overview h2 { font-size: 1.4rem; margin: .3rem 0; }
.kp-overview h3 { font-size: 1.15rem; margin: .8rem 0 .3rem 0; }
.kp-overview h4 { font-size: 1rem; margin: .6rem 0 .2rem 0; }
.kp-ov-region { border-left: 5px solid #1d4ed8; padding: .2rem .8rem; margin-top: 1rem; background: var(--background-fill-secondary); border-radius: 6px; }
.kp-ov-list { margin: 0 0 0 1.2rem; padding: 0; list-style: disc; }
.kp-ov-list p { display: block; margin: .15rem 0; }
.kp-ov-list li { display: list-item; }
.kp-ov-source { font-size: .85rem; color: var(--body-text-color-subdued); }
.kp-ov-source cite { font-style: normal; }
.kp-ov-none { font-style: italic; }
"""

# A theme with system fonts (no font is fetched from anywhere) and WCAG AA contrast: the default
# orange primary button and the light grey "subdued" text fail it.
THEME = gr.themes.Default(
    primary_hue="blue", font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
).set(
    button_primary_background_fill="*primary_700",
    button_primary_background_fill_hover="*primary_800",
    button_primary_background_fill_dark="*primary_600",
    body_text_color_subdued="*neutral_600",
    body_text_color_subdued_dark="*neutral_300",
)


class SwedishPage:
    """ASGI middleware: the served page says lang="sv" and runs PAGE_JS before Gradio's own scripts."""

    _HTML_LANG = re.compile(rb'(<html\b[^>]*?\blang=")[^"]*(")', re.IGNORECASE)

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "GET" or scope.get("path") != "/":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        body: list[bytes] = []

        async def capture(message):
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            content = b"".join(body)
            headers = MutableHeaders(raw=list(start.get("headers", [])))
            if "text/html" in headers.get("content-type", "") and "content-encoding" not in headers:
                content = self.rewrite(content)
                if "content-length" in headers:
                    headers["content-length"] = str(len(content))
            await send({**start, "headers": headers.raw})
            await send({"type": "http.response.body", "body": content})

        await self.app(scope, receive, capture)

    @classmethod
    def rewrite(cls, page: bytes) -> bytes:
        page = cls._HTML_LANG.sub(rb"\1sv\2", page, count=1)
        return page.replace(b"<head>", b"<head>" + HEAD.encode(), 1)


# --- handlers ---------------------------------------------------------------------------------------
def _status(text: str, role: str = "status", css: str = "kp-thanks") -> str:
    return f'<p class="{css}" role="{role}">{esc(text)}</p>' if text else ""


class ChatHandlers:
    """The event handlers; all conversation state comes in and goes out through `gr.State`."""

    def __init__(self, assistant: Assistant, feedback: FeedbackStore):
        self.assistant = assistant
        self.feedback = feedback

    def respond(
        self,
        question: str,
        session: ChatSession | None,
        generator: str | None = None,
        max_sources: float | None = None,
        municipality: str | None = None,
    ) -> Iterator[tuple]:
        """Yield (chat, session, question box, feedback box, feedback status, comment, notice)."""
        session = session if isinstance(session, ChatSession) else ChatSession()
        keep = gr.update()
        try:
            cleaned = validate_question(question, self.assistant.settings.max_question_chars)
        except QuestionError as error:  # nothing is asked: the question stays in the box to fix
            yield render_conversation(session), session, keep, keep, keep, keep, _status(str(error), "alert", "kp-notice")
            return
        history = session.history()
        entry = Entry(question=cleaned)
        session.entries.append(entry)
        hide = gr.update(visible=False)
        yield render_conversation(session), session, "", hide, "", keep, ""
        options = {
            "generator": generator or None,
            "max_passages": int(max_sources) if max_sources else None,
            "municipality": None if municipality in (None, "", ALL_MUNICIPALITIES) else municipality,
        }
        try:
            for item in self.assistant.stream(cleaned, history, **options):
                if isinstance(item, Answer):
                    entry.answer = item
                else:
                    entry.streamed += item
                    yield render_conversation(session), session, keep, hide, keep, keep, keep
        except QuestionError as error:
            entry.error = str(error)
        except Exception:  # never a traceback in the page; the log has it
            logger.exception("answering %r failed", cleaned)
            entry.error = ERROR_MESSAGE
        if entry.answer is None and not entry.error:
            entry.error = ERROR_MESSAGE
        yield render_conversation(session), session, keep, gr.update(visible=entry.answer is not None), "", "", keep

    def example(self, question: str):
        def ask_example(session, generator=None, max_sources=None, municipality=None):
            yield from self.respond(question, session, generator, max_sources, municipality)

        return ask_example

    def rate(self, rating: str):
        def give_feedback(comment: str, session: ChatSession | None):
            """Return (feedback status, comment, feedback box, session)."""
            entry = session.last_answered() if isinstance(session, ChatSession) else None
            keep = gr.update()
            if entry is None or entry.answer is None:
                return _status("Det finns inget svar att ge återkoppling på än."), keep, keep, session
            if entry.feedback:
                return _status("Du har redan gett återkoppling på det här svaret."), keep, keep, session
            citations = json.dumps([c.to_json() for c in entry.answer.citations], ensure_ascii=False)
            try:
                self.feedback.add(entry.question, entry.answer.text, citations, rating, (comment or "")[:MAX_COMMENT_CHARS])
            except Exception:
                logger.exception("storing feedback failed")
                return _status("Återkopplingen kunde inte sparas. Försök igen.", "alert", "kp-notice"), keep, keep, session
            entry.feedback = rating
            return _status("Tack! Din återkoppling är sparad."), "", gr.update(visible=False), session

        return give_feedback

    @staticmethod
    def new_conversation():
        """Return (chat, session, question box, feedback box, feedback status, comment, notice)."""
        session = ChatSession()
        return render_conversation(session), session, "", gr.update(visible=False), "", "", ""


# --- the app ----------------------------------------------------------------------------------------
def document_titles(assistant: Assistant) -> list[str]:
    try:
        documents = assistant.store.documents()
    except Exception:  # a store that cannot be read shows as "nothing indexed"; serve checks first
        logger.exception("listing the indexed documents failed")
        return []
    return list(dict.fromkeys(d.title or d.source for d in documents))


def header_html(titles: list[str]) -> str:
    if titles:
        known = ", ".join(f"<q>{esc(t)}</q>" for t in titles)
        line = f"Jag svarar på frågor om Region Blekinges kulturplan utifrån {known}, och visar källorna till varje svar."
    else:
        line = "Inga dokument är indexerade ännu, så jag kan inte svara på något än."
    return f'<header><h1>{TITLE}</h1><p class="kp-knows">{line}</p></header>'


def generator_choices(settings: Settings) -> list[tuple[str, str]]:
    names = ["local", "extractive"] + (["openai"] if settings.openai_base_url else [])
    return [(GENERATOR_LABELS[name], name) for name in names]


def build_app(assistant: Assistant, settings: Settings, feedback: FeedbackStore | None = None) -> gr.Blocks:
    """The chat as a Blocks app (queued: one answer at a time, the others wait their turn)."""
    handlers = ChatHandlers(assistant, feedback or FeedbackStore.for_settings(settings))
    choices = generator_choices(settings)
    default_generator = settings.generator if settings.generator in {v for _, v in choices} else "local"
    browse = BrowseHandlers(assistant, settings)
    actors, areas = browse.filter_options()
    first_table, first_csv = browse.commitments()

    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        session = gr.State(None)  # a ChatSession per browser session, created on its first question
        gr.HTML(header_html(document_titles(assistant)), elem_id="kp-header", js_on_load=None)
        with gr.Tabs(elem_id="kp-tabs"):
            with gr.Tab("Chatt", id="chatt", elem_id="kp-tab-chat"):
                chat = gr.HTML(render_conversation(None), elem_id="kp-chat", js_on_load=None)
                with gr.Row(equal_height=True):
                    question = gr.Textbox(
                        label="Din fråga",
                        placeholder="Skriv en fråga om kulturplanen och tryck Enter",
                        lines=1,
                        max_lines=6,
                        scale=5,
                        elem_id="kp-question",
                    )
                    send = gr.Button("Skicka", variant="primary", scale=1, min_width=100, elem_id="kp-send")
                notice = gr.HTML("", elem_id="kp-notice", js_on_load=None)
                gr.HTML("<p>Exempelfrågor:</p>", elem_id="kp-examples-label", js_on_load=None)
                with gr.Row(elem_id="kp-examples"):
                    example_buttons = [
                        (gr.Button(text, size="sm", variant="secondary", elem_classes=["kp-example"]), text) for text in EXAMPLES
                    ]
                with gr.Group(visible=False, elem_id="kp-feedback") as feedback_box:
                    comment = gr.Textbox(
                        label="Var svaret till hjälp? Lämna gärna en kommentar (valfritt)",
                        lines=1,
                        max_lines=4,
                        max_length=MAX_COMMENT_CHARS,
                        elem_id="kp-comment",
                    )
                    with gr.Row():
                        thumbs_up = gr.Button("👍 Ja, till hjälp", size="sm", elem_id="kp-up")
                        thumbs_down = gr.Button("👎 Nej, inte till hjälp", size="sm", elem_id="kp-down")
                feedback_status = gr.HTML("", elem_id="kp-feedback-status", js_on_load=None)
                new_chat = gr.Button("Ny konversation", variant="secondary", elem_id="kp-new")
                with gr.Accordion("Inställningar", open=False, elem_id="kp-settings"):
                    generator = gr.Radio(choices, value=default_generator, label="Hur svaret skapas", elem_id="kp-generator")
                    max_sources = gr.Slider(
                        1, 12, value=settings.max_passages, step=1, label="Antal källor", elem_id="kp-max-sources",
                        info="Hur många stycken ur dokumenten svaret får bygga på.",
                    )
                    municipality = gr.Dropdown(
                        [ALL_MUNICIPALITIES, *MUNICIPALITIES], value=ALL_MUNICIPALITIES, label="Kommun",
                        info="Sök i första hand i det som gäller en kommun.", elem_id="kp-municipality",
                    )
            with gr.Tab("Åtaganden", id="ataganden", elem_id="kp-tab-atag"):
                gr.HTML(
                    "<p>Vem i kulturplanen ansvarar för vad, och var? Filtrera listan och öppna källan för att "
                    "läsa stycket ett åtagande kommer från.</p>",
                    elem_id="kp-atag-intro", js_on_load=None,
                )
                with gr.Row(elem_id="kp-atag-filters"):
                    actor_filter = gr.Dropdown(
                        [ALL_MUNICIPALITIES, *actors], value=ALL_MUNICIPALITIES, label="Aktör", elem_id="kp-atag-actor"
                    )
                    area_filter = gr.Dropdown(
                        [ALL_MUNICIPALITIES, *areas], value=ALL_MUNICIPALITIES, label="Område", elem_id="kp-atag-area"
                    )
                    place_filter = gr.Dropdown(
                        [ALL_MUNICIPALITIES, *MUNICIPALITIES], value=ALL_MUNICIPALITIES, label="Kommun",
                        elem_id="kp-atag-municipality",
                    )
                with gr.Row(equal_height=True):
                    text_filter = gr.Textbox(
                        label="Fritext", placeholder="Sök i åtagandenas text och tryck Enter", lines=1, max_lines=1,
                        scale=4, elem_id="kp-atag-text",
                    )
                    wide_filter = gr.Checkbox(
                        value=True, label="Ta med åtaganden för hela Blekinge", scale=2, elem_id="kp-atag-wide"
                    )
                    search = gr.Button("Filtrera", variant="primary", scale=1, min_width=100, elem_id="kp-atag-search")
                table = gr.HTML(first_table, elem_id="kp-atag-table", js_on_load=None)
                download = gr.DownloadButton(
                    "Ladda ner CSV", value=first_csv, variant="secondary", size="sm", elem_id="kp-atag-csv"
                )
                gr.HTML(
                    '<p class="kp-note-csv">CSV-filen innehåller de filtrerade raderna (UTF-8, semikolon mellan fälten, '
                    "öppnas direkt i Excel).</p>",
                    js_on_load=None,
                )
            with gr.Tab("Kommuner", id="kommuner", elem_id="kp-tab-kommuner"):
                chosen = gr.Radio(
                    list(MUNICIPALITIES), value=None, label="Välj kommun", elem_id="kp-kommun-val"
                )
                overview = gr.HTML(render_overview(None), elem_id="kp-kommun", js_on_load=None)

        outputs = [chat, session, question, feedback_box, feedback_status, comment, notice]
        options = [session, generator, max_sources, municipality]
        answer = {"outputs": outputs, "concurrency_id": "answer", "show_progress": "minimal"}
        events = [
            question.submit(handlers.respond, [question, *options], **answer),
            send.click(handlers.respond, [question, *options], **answer),
        ]
        for button, text in example_buttons:
            events.append(button.click(handlers.example(text), options, **answer))
        quick = {"concurrency_limit": None, "show_progress": "hidden"}  # never wait behind an answer
        new_chat.click(handlers.new_conversation, None, outputs, cancels=events, **quick)
        feedback_outputs = [feedback_status, comment, feedback_box, session]
        thumbs_up.click(handlers.rate("up"), [comment, session], feedback_outputs, **quick)
        thumbs_down.click(handlers.rate("down"), [comment, session], feedback_outputs, **quick)

        filters = [actor_filter, area_filter, place_filter, text_filter, wide_filter]
        for trigger in (actor_filter.change, area_filter.change, place_filter.change, wide_filter.change,
                        text_filter.submit, search.click):
            trigger(browse.commitments, filters, [table, download], **quick)
        chosen.change(browse.overview, chosen, overview, **quick)

    # One local model: one answer at a time; everyone else waits in the queue.
    app.queue(default_concurrency_limit=1)
    return app


def launch(app: gr.Blocks, settings: Settings, host: str | None = None, port: int | None = None, *, block: bool = True):
    """Start the server (blocking, or in a background thread with block=False; then app.close() stops it)."""
    return app.launch(
        server_name=host or settings.host,
        server_port=port or settings.port,
        share=False,
        inbrowser=False,
        prevent_thread_lock=not block,
        quiet=not block,
        show_error=False,
        footer_links=[],
        allowed_paths=None,
        blocked_paths=[str(settings.data_dir.resolve()), str(settings.models_root)],
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        enable_monitoring=False,
        theme=THEME,
        css=CSS,
        head=HEAD,
        app_kwargs={"middleware": [Middleware(SwedishPage)]},
    )


def serve(settings: Settings, host: str | None = None, port: int | None = None, *, block: bool = True):
    """Build the assistant and the chat and serve it on host:port (default 127.0.0.1:7860)."""
    assistant = Assistant(settings)
    return launch(build_app(assistant, settings), settings, host, port, block=block)
