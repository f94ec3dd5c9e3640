"""The line in front of the local model: places, the wait limit, and several people asking at once
through the real Gradio server (gradio_client sessions; the model is a slow scripted stand-in)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest

from assistant.engine import Assistant
from assistant.events import EventKind
from assistant.queue import ModelQueue, QueueFull, QueueStatus
from assistant.types import Answer
from conftest import serving_app
from evals.load import connect, find_chat_api
from fakes import FakeEmbedder, SlowSerialLLM
from ingest.pipeline import Ingestor

REPLY = "Blekingemodellen ger alla barn scenkonst två gånger varje år [1]."
QUESTION = "Vad är Blekingemodellen?"


def test_places_move_up_in_order_and_are_left_on_exit():
    queue = ModelQueue(size=2, typical_answer_seconds=4.0)
    with ExitStack() as stack:
        first_block = ExitStack()
        first = first_block.enter_context(queue.place())
        second, third = stack.enter_context(queue.place()), stack.enter_context(queue.place())
        assert (first.position, second.position, third.position) == (0, 1, 2)
        assert third.status() == QueueStatus(2, 8.0)
        with pytest.raises(QueueFull), queue.place():
            pass
        moved = []
        waiter = threading.Thread(target=lambda: moved.append(third.wait(timeout=5)))
        waiter.start()
        time.sleep(0.1)
        first_block.close()  # the first question is answered: everyone moves up
        waiter.join()
        assert moved == [1] and second.position == 0
    with queue.place() as alone:
        assert alone.position == 0  # every place was left
    queue.record(2.0)
    assert queue.expected_wait(1) == pytest.approx(3.0)  # mean of the typical and the measured answer


@pytest.fixture
def indexed(settings, store, corpus_copy):
    Ingestor(settings, store, FakeEmbedder()).run([corpus_copy], progress=False)
    return settings.model_copy(update={"answerability_threshold": 0.0}), store


def _ask_in_thread(assistant: Assistant, results: list, started: threading.Event | None = None):
    items = []
    for item in assistant.stream(QUESTION, generator="local"):
        items.append(item)
        if started is not None and isinstance(item, str):
            started.set()
    results.append(items)


def test_a_second_question_waits_with_its_place_and_a_long_wait_gets_the_extractive_answer(indexed):
    settings, store = indexed
    llm = SlowSerialLLM(settings, REPLY, seconds=1.0)
    waits = settings.model_copy(update={"llm_typical_answer_seconds": 1.0, "llm_queue_max_wait_seconds": 1.5})
    assistant = Assistant(waits, store=store, embedder=FakeEmbedder(), generators={"local": llm})
    results: list = []
    threads = [threading.Thread(target=_ask_in_thread, args=(assistant, results)) for _ in range(3)]
    for thread in threads:
        thread.start()
        time.sleep(0.2)  # in this order
    for thread in threads:
        thread.join(timeout=30)
    assert llm.most_at_once == 1 and len(llm.calls) == 2
    statuses = [[i.position for i in items if isinstance(i, QueueStatus)] for items in results]
    answers = [items[-1] for items in results]
    assert all(isinstance(a, Answer) for a in answers)
    busy = [a for a in answers if any(e.kind is EventKind.FELL_BACK and e.details["reason"] == "busy" for e in a.events)]
    # The third in line would wait ~2 s (> 1.5 s): it is answered from the sources at once.
    assert len(busy) == 1 and busy[0].generator == "local→extractive" and busy[0].text
    assert sorted(statuses, key=len) == [[], [0], [1, 0]]  # 0: first in line, the model writes now


@pytest.mark.integration
def test_people_asking_at_once_through_the_server_see_their_place_and_all_get_answers(indexed, tmp_path):
    settings, _ = indexed
    settings = settings.model_copy(update={"generator": "local", "llm_typical_answer_seconds": 2.0})
    llm = SlowSerialLLM(settings, REPLY, seconds=2.0)
    with serving_app(settings, FakeEmbedder(), tmp_path / "feedback.sqlite3", {"local": llm}) as url:
        api = find_chat_api(connect(url))

        def ask(_):
            client = connect(url)
            try:
                job = client.submit(question=QUESTION, generator="local", api_name=api.ask)
                job.result(timeout=60)
                return [str(outputs[0]) for outputs in job.outputs()]
            finally:
                client.close()

        with ThreadPoolExecutor(4) as pool:
            pages = list(pool.map(ask, range(4)))
    assert llm.most_at_once == 1
    waited = [p for p in pages if any("i kön" in page for page in p)]
    assert len(waited) >= 2  # while one is answered, the others are told their place
    for page in pages:
        assert "Blekingemodellen" in page[-1] and "Något gick fel" not in page[-1]
        shown_place = [i for i, html in enumerate(page) if "i kön" in html]
        if shown_place:  # the place comes before any answer text
            assert "två gånger varje år" not in page[shown_place[0]]
