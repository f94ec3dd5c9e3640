"""Twenty chat sessions at once against the real app, and the same while a changed document is ingested.

The app runs in this process on a loopback port, on corpus/ indexed with the real embedding model;
each session is its own gradio_client Client (its own session hash) asking a question and a
follow-up that only makes sense after it, with the extractive generator (see evals/load.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from conftest import CORPUS, SEED, serving_app
from evals.load import run_load, run_load_during_ingest

pytestmark = [pytest.mark.integration, pytest.mark.faults]

SESSIONS = 20


@pytest.fixture(scope="module")
def load_index(tmp_path_factory, real_settings_base, real_embedder):
    """corpus/ indexed for this module alone: the second test ingests a changed document into it."""
    from ingest.pipeline import ingest

    settings = real_settings_base.model_copy(update={"data_dir": tmp_path_factory.mktemp("load-index")})
    assert ingest(settings, [CORPUS], progress=False, embedder=real_embedder).ok
    return settings


@pytest.fixture(scope="module")
def chat_url(load_index, real_embedder, tmp_path_factory) -> Iterator[str]:
    with serving_app(load_index, real_embedder, tmp_path_factory.mktemp("load-feedback") / "feedback.sqlite3") as url:
        yield url


def test_twenty_sessions_with_follow_ups_get_their_own_answers(chat_url):
    started = time.perf_counter()
    result = run_load(chat_url, sessions=SESSIONS)
    print(result.summary(), f"(test {time.perf_counter() - started:.1f} s)")
    assert result.errors == 0, result.problems
    assert result.leaks == 0, result.problems
    assert result.requests == 2 * SESSIONS
    assert result.answers_with_sources == 2 * SESSIONS


def test_sessions_keep_answering_while_a_changed_document_is_ingested(chat_url, load_index):
    started = time.perf_counter()
    result = run_load_during_ingest(chat_url, load_index.data_dir, SEED, sessions=SESSIONS)
    print(result.summary(), result.ingest, f"(test {time.perf_counter() - started:.1f} s)")
    assert result.ingest["exit_code"] == 0, result.ingest
    assert result.ingest["summary"].startswith("0 added, 1 updated"), result.ingest
    assert result.errors == 0, result.problems
    assert result.leaks == 0, result.problems
    assert result.requests >= 2 * SESSIONS
    # The server answers from the changed document once the ingest is done.
    assert result.ingest["change_visible_after_s"] is not None
