"""The "Chatt" tab: per-session conversation state, its event handlers, and its components and wiring.

State: each browser session has its own `ChatSession` in a `gr.State`; nothing about a conversation
lives in a module global. Feedback is stored without any personal data (see kulturplan.feedback).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import gradio as gr

from assistant.engine import Assistant
from assistant.queue import QueueStatus
from assistant.safety import QuestionError, validate_question
from assistant.types import Answer, Turn
from kulturplan.config import Settings
from kulturplan.feedback import MAX_COMMENT_CHARS, FeedbackStore
from ui.components import CheckedDropdown, CheckedRadio, CheckedSlider, rejecting
from ui.render import ALL_MUNICIPALITIES, ERROR_MESSAGE, failure_message, render_conversation, status_html

logger = logging.getLogger(__name__)

GENERATOR_LABELS = {
    "local": "Lokal språkmodell",
    "extractive": "Utdrag ur källorna",
    "openai": "Extern språkmodell (OpenAI-kompatibel server)",
}


@dataclass
class Entry:
    """One question and what became of it: streamed text, the final answer or an error."""

    question: str
    streamed: str = ""
    queue: QueueStatus | None = None  # the place in the local model's line, while text has not come
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
            notice = status_html(str(error), "alert", "kp-notice")
            yield render_conversation(session), session, keep, keep, keep, keep, notice
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
                elif isinstance(item, QueueStatus):  # the local model's line: show the place in it
                    entry.queue = item
                    yield render_conversation(session), session, keep, hide, keep, keep, keep
                else:
                    entry.streamed += item
                    yield render_conversation(session), session, keep, hide, keep, keep, keep
        except QuestionError as error:
            entry.error = str(error)
        except Exception as error:  # never a traceback in the page; the log has it
            entry.error = failure_message(error, f"answering {cleaned!r} failed", logger)
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
                return status_html("Det finns inget svar att ge återkoppling på än."), keep, keep, session
            if entry.feedback:
                return status_html("Du har redan gett återkoppling på det här svaret."), keep, keep, session
            citations = json.dumps([c.to_json() for c in entry.answer.citations], ensure_ascii=False)
            try:
                self.feedback.add(entry.question, entry.answer.text, citations, rating, (comment or "")[:MAX_COMMENT_CHARS])
            except Exception as error:
                failure_message(error, "storing feedback failed", logger)
                failed = status_html("Återkopplingen kunde inte sparas. Försök igen.", "alert", "kp-notice")
                return failed, keep, keep, session
            entry.feedback = rating
            return status_html("Tack! Din återkoppling är sparad."), "", gr.update(visible=False), session

        return give_feedback

    @staticmethod
    def new_conversation():
        """Return (chat, session, question box, feedback box, feedback status, comment, notice)."""
        session = ChatSession()
        return render_conversation(session), session, "", gr.update(visible=False), "", "", ""


def generator_choices(settings: Settings) -> list[tuple[str, str]]:
    names = ["local", "extractive"] + (["openai"] if settings.openai_base_url else [])
    return [(GENERATOR_LABELS[name], name) for name in names]


def build_chat_tab(handlers: ChatHandlers, settings: Settings) -> None:
    """The Chatt tab's components and events; call inside the `gr.Tab` of a `gr.Blocks`."""
    profile = settings.profile
    choices = generator_choices(settings)
    default_generator = settings.generator if settings.generator in {v for _, v in choices} else "local"

    session = gr.State(None)  # a ChatSession per browser session, created on its first question
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
            (gr.Button(text, size="sm", variant="secondary", elem_classes=["kp-example"]), text)
            for text in profile.examples
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
        generator = rejecting(CheckedRadio(
            choices, value=default_generator, label="Hur svaret skapas", elem_id="kp-generator"
        ), "Okänd svarsmetod: välj en av dem som visas under Inställningar.")
        max_sources = rejecting(CheckedSlider(
            1, 12, value=settings.max_passages, step=1, label="Antal källor", elem_id="kp-max-sources",
            info="Hur många stycken ur dokumenten svaret får bygga på.",
        ), "Antal källor ska vara ett heltal från 1 till 12.")
        municipality = rejecting(CheckedDropdown(
            [ALL_MUNICIPALITIES, *profile.municipalities], value=ALL_MUNICIPALITIES, label="Kommun",
            info="Sök i första hand i det som gäller en kommun.", elem_id="kp-municipality",
        ), "Okänd kommun: välj en av kommunerna i listan.")

    outputs = [chat, session, question, feedback_box, feedback_status, comment, notice]
    options = [session, generator, max_sources, municipality]
    # Answers run side by side (extractive ones take a fraction of a second); the local model's own
    # line (assistant.queue) orders its questions and tells each person their place.
    lanes = settings.llm_queue_size + 1
    answer = {"outputs": outputs, "concurrency_id": "answer", "concurrency_limit": lanes, "show_progress": "minimal"}
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
