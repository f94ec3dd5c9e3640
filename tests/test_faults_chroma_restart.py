"""The Chroma server stops and comes back while the chat runs: the person reads one Swedish line
("Dokumentdatabasen svarar inte just nu …") instead of "Något gick fel", the server log holds one
warning per failed request and no traceback, and the same chat process answers again once Chroma is
back, without a restart. Through the real Gradio server, a real `chroma run` and the fake embedder.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.engine import Assistant
from ingest.pipeline import ingest
from kulturplan.config import load_settings
from kulturplan.feedback import FeedbackStore
from ui.render import STORE_DOWN_MESSAGE

from chroma_process import ChromaProcess
from conftest import free_port
from fakes import FakeEmbedder

pytestmark = [pytest.mark.integration, pytest.mark.faults]

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
QUESTION = "Vad är Blekingemodellen?"


@pytest.fixture
def chat(tmp_path) -> Iterator[tuple[str, ChromaProcess]]:
    from ui.app import build_app, launch

    chroma = ChromaProcess(tmp_path, free_port()).start()
    settings = load_settings(data_dir=tmp_path / "data", chroma_url=chroma.url).model_copy(
        update={"generator": "extractive", "answerability_threshold": 0.0}
    )
    embedder = FakeEmbedder()
    assert ingest(settings, [CORPUS], progress=False, embedder=embedder).ok
    app = build_app(Assistant(settings, embedder=embedder), settings, FeedbackStore(tmp_path / "feedback.sqlite3"))
    port = free_port()
    launch(app, settings, "127.0.0.1", port, block=False)
    try:
        yield f"http://127.0.0.1:{port}/", chroma
    finally:
        app.close()
        chroma.stop()


def ask(client, question: str = QUESTION) -> str:
    return client.predict(question, "extractive", 3, "Alla", api_name="/respond")[0]


def test_chroma_stopped_and_restarted_under_a_running_chat(chat, caplog, capfd):
    from gradio_client import Client

    url, chroma = chat
    client = Client(url, verbose=False)
    assert "Blekingemodellen" in ask(client) and "kp-cite" in ask(client, "Vilken kultur finns i Ronneby?")

    chroma.stop()
    caplog.clear()
    capfd.readouterr()
    with caplog.at_level(logging.WARNING):
        down = [ask(Client(url, verbose=False)) for _ in range(2)]
        overview = client.predict("Ronneby", api_name="/overview")
    for page in (*down, overview):
        assert STORE_DOWN_MESSAGE in page and "Något gick fel" not in page
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert "Traceback" not in capfd.readouterr().err
    assert any("Chroma" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)

    chroma.start()
    deadline = time.monotonic() + 30
    page = ask(client)
    while STORE_DOWN_MESSAGE in page and time.monotonic() < deadline:
        time.sleep(1)
        page = ask(client)
    assert "Blekingemodellen" in page and "kp-cite" in page and STORE_DOWN_MESSAGE not in page
    assert "Ronneby" in client.predict("Ronneby", api_name="/overview")
