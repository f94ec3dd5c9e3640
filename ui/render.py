"""The HTML of the chat: answer text with citation links, highlighted sources, notices and the conversation.

Every piece of text that comes from a document, the LLM or the user is escaped with `html.escape`
first; only then is our own markup (paragraphs, citation links, <mark>) added around it. A
`<script>` or `<img onerror>` inside a document is shown as text and never runs.
"""

from __future__ import annotations

import html
import logging
import re
from typing import TYPE_CHECKING

from assistant.events import Event
from assistant.types import Answer, Citation
from kulturplan.store import StoreError
from ui import messages

if TYPE_CHECKING:
    from ui.chat import ChatSession, Entry

# Texts shared by the tabs.
ALL_MUNICIPALITIES = "Alla"  # the "no filter" choice of every dropdown
ERROR_MESSAGE = "Något gick fel. Försök igen."
STORE_DOWN_MESSAGE = "Dokumentdatabasen svarar inte just nu. Försök igen om en stund."
REFUSAL_LABEL = "Svar saknas i kulturplanen"
EMPTY_CHAT = "Ställ en fråga om kulturplanen nedan, eller välj en av exempelfrågorna."

# One citation mark, "[3]" or "[1, 2]", as it appears in the (escaped) answer text.
_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def esc(text: str | None) -> str:
    return html.escape(text or "", quote=True)


def anchor_id(turn: int, n: int) -> str:
    return f"kalla-{turn}-{n}"


def status_html(text: str, role: str = "status", css: str = "kp-thanks") -> str:
    """A one-line status ("Tack! …") or, with role="alert", an error notice; empty text, no markup."""
    return f'<p class="{css}" role="{role}">{esc(text)}</p>' if text else ""


def failure_message(error: BaseException, what: str, log: logging.Logger) -> str:
    """The one line a person reads when `what` failed with `error`, logged for whoever runs the server.

    A store that does not answer (a stopped Chroma server) is a known, passing state: one warning
    line, no traceback, and the person is told to try again. Anything else is a bug: logged whole."""
    if isinstance(error, StoreError):
        log.warning("%s: %s", what, error)
        return STORE_DOWN_MESSAGE
    log.error("%s", what, exc_info=error)
    return ERROR_MESSAGE


def error_html(css: str, message: str = ERROR_MESSAGE) -> str:
    """`message` as an alert inside a `<div class=css>` (a tab whose data could not be read)."""
    return f'<div class="{css}"><p class="kp-notice" role="alert">{esc(message)}</p></div>'


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


# --- what happened while answering --------------------------------------------------------------------
def render_notes(events: list[Event]) -> str:
    """The notices the person should read with the answer, and the details under "Så kontrollerades svaret"."""
    parts = [f'<p class="kp-note">{esc(text)}</p>' for text in messages.notices(events)]
    lines = messages.details(events)
    if lines:
        parts.append(
            '<details class="kp-details"><summary>Så kontrollerades svaret</summary><ul>'
            + "".join(f"<li>{esc(line)}</li>" for line in lines)
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
            f"{render_notes(answer.events)}</div>"
        )
    return (
        '<div class="kp-answer">'
        f"{render_text(answer.text, turn, {c.n for c in answer.citations})}"
        f"{render_notes(answer.events)}"
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
        status = queue_text(entry.queue.position) if entry.queue and not text else "Svarar …"
        body = f'<div class="kp-answer kp-streaming">{text}<p class="kp-status">{esc(status)}</p></div>'
    return (
        f'<article class="kp-exchange" id="svar-{turn}" aria-label="Fråga och svar {turn}">{question}'
        f'<div class="kp-turn kp-bot"><p class="kp-who">Kulturplan-assistenten</p>{body}</div></article>'
    )


def queue_text(position: int) -> str:
    """What a person asking the local model reads before the answer's text: their place in line."""
    if position == 0:
        return "Din fråga står först i kön. Språkmodellen skriver svaret nu."
    ahead = "en fråga" if position == 1 else f"{position} frågor"
    return f"Du är nummer {position} i kön. Språkmodellen svarar på {ahead} före din, en i taget."


def render_conversation(session: ChatSession | None) -> str:
    entries = session.entries if session else []
    busy = "true" if entries and not entries[-1].done else "false"
    inner = "".join(render_entry(e, i) for i, e in enumerate(entries, start=1))
    if not inner:
        inner = f'<p class="kp-empty">{esc(EMPTY_CHAT)}</p>'
    return f'<div class="kp-chat" role="log" aria-live="polite" aria-busy="{busy}" aria-label="Samtal">{inner}</div>'
