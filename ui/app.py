"""The web app: builds the header and the three tabs (Chatt, Åtaganden, Kommuner) and serves them.

Each tab lives in its own module (ui.chat, ui.commitments_tab, ui.municipalities_tab); the HTML is
rendered in ui.render, the page around it (language, theme, CSS and JS) in ui.page. The UI only
presents what `assistant` and `kulturplan` give it.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import logging  # noqa: E402
import threading  # noqa: E402

import gradio as gr  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from assistant.engine import Assistant  # noqa: E402
from kulturplan.config import Settings  # noqa: E402
from kulturplan.feedback import FeedbackStore  # noqa: E402
from ui.chat import ChatHandlers, build_chat_tab  # noqa: E402
from ui.commitments_tab import CommitmentHandlers, build_commitments_tab  # noqa: E402
from ui.municipalities_tab import MunicipalityHandlers, build_municipalities_tab  # noqa: E402
from ui.page import CSS, HEAD, THEME, SwedishPage  # noqa: E402
from ui.render import esc, failure_message  # noqa: E402

__all__ = ["TITLE", "build_app", "document_titles", "header_html", "launch", "serve"]

logger = logging.getLogger(__name__)

TITLE = "Kulturplan-assistenten"


def document_titles(assistant: Assistant) -> list[str]:
    try:
        documents = assistant.documents()
    except Exception as error:  # a store that cannot be read shows as "nothing indexed"; serve checks first
        failure_message(error, "listing the indexed documents failed", logger)
        return []
    return list(dict.fromkeys(d.title or d.source for d in documents))


def header_html(titles: list[str], plan_name: str) -> str:
    """The page heading and what the assistant knows: `plan_name` ("Region Blekinges kulturplan") and the documents."""
    if titles:
        known = ", ".join(f"<q>{esc(t)}</q>" for t in titles)
        line = f"Jag svarar på frågor om {esc(plan_name)} utifrån {known}, och visar källorna till varje svar."
    else:
        line = "Inga dokument är indexerade ännu, så jag kan inte svara på något än."
    return f'<header><h1>{TITLE}</h1><p class="kp-knows">{line}</p></header>'


def build_app(assistant: Assistant, settings: Settings, feedback: FeedbackStore | None = None) -> gr.Blocks:
    """The app as a Blocks app (queued: one answer at a time, the others wait their turn)."""
    chat = ChatHandlers(assistant, feedback or FeedbackStore.for_settings(settings))
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        header = header_html(document_titles(assistant), settings.profile.plan_name)
        gr.HTML(header, elem_id="kp-header", js_on_load=None)
        with gr.Tabs(elem_id="kp-tabs"):
            with gr.Tab("Chatt", id="chatt", elem_id="kp-tab-chat"):
                build_chat_tab(chat, settings)
            with gr.Tab("Åtaganden", id="ataganden", elem_id="kp-tab-atag"):
                commitments = CommitmentHandlers(assistant, settings)
                build_commitments_tab(commitments, settings)
            with gr.Tab("Kommuner", id="kommuner", elem_id="kp-tab-kommuner"):
                build_municipalities_tab(MunicipalityHandlers(assistant, settings))
    # One local model: one answer at a time; everyone else waits in the queue.
    app.queue(default_concurrency_limit=1)
    app.kp_routes = commitments.routes()  # served beside Gradio's own routes by `launch`
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
        app_kwargs={"middleware": [Middleware(SwedishPage)], "routes": getattr(app, "kp_routes", [])},
    )


def serve(settings: Settings, host: str | None = None, port: int | None = None, *, block: bool = True):
    """Build the assistant and the app and serve it on host:port (default 127.0.0.1:7860)."""
    assistant = Assistant(settings)
    # While the page loads and the person types, not inside their first question.
    threading.Thread(target=assistant.warm_up, name="warm-up", daemon=True).start()
    return launch(build_app(assistant, settings), settings, host, port, block=block)
