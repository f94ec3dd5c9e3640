"""Faults in an OpenAI-compatible chat server: a broken reply, an HTTP error, an empty answer, and
citations and numbers the sources do not hold. Whatever the server does, the person gets the
extractive answer, a Swedish line saying why, and never a word of what the server invented.

The server is a real HTTP server on localhost that misbehaves on purpose; the assistant uses a real
Chroma and the fake embedder.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assistant.engine import Assistant
from assistant.events import EventKind
from ingest.pipeline import Ingestor
from ui.messages import FAILURES, details, notices

from fakes import FakeEmbedder

pytestmark = pytest.mark.faults

QUESTION = "Vilken kultur finns i Ronneby?"
INVENTED = "Budgeten för kultur i Ronneby är 47 miljoner kronor [7]. Museet grundades 1987 [1]."


def _events(text: str) -> bytes:
    """`text` as an OpenAI chat-completion event stream, a few characters per event."""
    chunks = [text[i : i + 6] for i in range(0, len(text), 6)] or [""]
    lines = [
        "data: " + json.dumps({"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
                               "choices": [{"index": 0, "delta": {"content": c}, "finish_reason": None}]})
        for c in chunks
    ]
    return ("\n\n".join(lines + ["data: [DONE]"]) + "\n\n").encode()


# What the misbehaving server sends for each mode: (status, content type, body).
REPLIES = {
    "invalid_json": (200, "application/json", b'{"choices": [ this is not json'),
    "invalid_events": (200, "text/event-stream", b"data: {broken\n\n"),
    "http_500": (500, "application/json", b'{"error": {"message": "internal"}}'),
    "empty": (200, "text/event-stream", _events("")),
    "invented": (200, "text/event-stream", _events(INVENTED)),
}


class _Handler(BaseHTTPRequestHandler):
    mode = "invalid_json"

    def do_POST(self):  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, content_type, body = REPLIES[self.server.mode]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture(scope="module")
def bad_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture
def assistant(settings, store, corpus_copy, bad_server) -> Assistant:
    embedder = FakeEmbedder()
    Ingestor(settings, store, embedder).run([corpus_copy], progress=False)
    url = f"http://127.0.0.1:{bad_server.server_address[1]}/v1"
    settings = settings.model_copy(update={
        "answerability_threshold": 0.0, "openai_base_url": url, "openai_model": "m", "llm_timeout_seconds": 10,
    })
    return Assistant(settings, store=store, embedder=embedder)


@pytest.mark.parametrize(
    "mode, reason",
    [("invalid_json", "invalid_reply"), ("invalid_events", "invalid_reply"), ("http_500", "server_error"),
     ("empty", "empty_reply")],
)
def test_a_broken_server_reply_is_named_as_such_and_the_extractive_answer_given(assistant, bad_server, mode, reason):
    bad_server.mode = mode
    answer = assistant.ask(QUESTION, generator="openai")

    assert answer.generator == "openai→extractive"
    failed = [e for e in answer.events if e.kind is EventKind.GENERATOR_FAILED]
    assert [e.details["reason"] for e in failed] == [reason]
    assert FAILURES[reason] in details(answer.events)
    assert "kunde inte beläggas" not in " ".join(notices(answer.events))  # not blamed on the sources
    assert not answer.refused and "Ronneby" in answer.text and answer.citations


def test_invented_numbers_and_citations_never_reach_the_person(assistant, bad_server):
    bad_server.mode = "invented"
    answer = assistant.ask(QUESTION, generator="openai")

    shown = " ".join([answer.text, *notices(answer.events), *details(answer.events)])
    for invented in ("47 miljoner", "1987", "[7]"):
        assert invented not in shown
    assert answer.has(EventKind.FELL_BACK)
    assert not answer.refused and answer.citations
