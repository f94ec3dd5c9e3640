"""Several people asking the local model at once, through a running chat server (gradio_client).

The local model answers one question at a time; the others wait in its line (assistant.queue) and
are shown their place. For each person this measures the time until the page shows either answer
text or their place in line (what a person needs to see at once), and the time to the final answer.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from evals.load import connect, warm_up
from evals.metrics import percentile

QUESTIONS = [
    "Vad är Blekingemodellen?", "Vem samordnar Kultur i vården?", "Vad är Språkstegen?",
    "Vad gör Biblioteksutveckling Blekinge Kronoberg?", "Vad handlar museets arbete om?",
    "Vilket ansvar har de regionala kulturverksamheterna?", "Var finns dansscenen?",
]  # fmt: skip
_EMPTY_STREAMING = 'kp-streaming"><p class="kp-status">'


def shows_text_or_place(chat_html: str) -> bool:
    """The last answer shows text (streamed or final) or the person's place in line."""
    last = chat_html.rsplit('class="kp-exchange"', 1)[-1]
    return "i kön" in last or ("kp-answer" in last and _EMPTY_STREAMING not in last)  # "… först i kön" too


@dataclass
class Person:
    question: str
    first_ms: float | None = None  # text or place in line shown
    total_ms: float | None = None
    saw_place: bool = False
    error: str = ""


@dataclass
class ChatsResult:
    people: list[Person] = field(default_factory=list)

    def figure(self, name: str, p: float) -> float | None:
        """The p-th percentile (0-100) of `name` over the people who got that far."""
        values = [getattr(person, name) for person in self.people if getattr(person, name) is not None]
        return round(percentile(values, p / 100), 1) if values else None

    @property
    def errors(self) -> int:
        return sum(bool(p.error) for p in self.people)

    @property
    def shown_a_place(self) -> int:
        return sum(p.saw_place for p in self.people)


def _ask(url: str, api, person: Person, start: threading.Barrier, timeout: float) -> None:
    client = connect(url)
    try:
        start.wait()
        started = time.perf_counter()
        job = client.submit(question=person.question, generator="local", api_name=api.ask)
        seen = 0
        while not job.done() or seen < len(job.outputs()):
            outputs = job.outputs()
            for output in outputs[seen:]:
                page = str(output[0])
                person.saw_place = person.saw_place or "nummer" in page and "i kön" in page
                if person.first_ms is None and shows_text_or_place(page):
                    person.first_ms = (time.perf_counter() - started) * 1000
            seen = len(outputs)
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"no answer in {timeout:.0f} s")
            time.sleep(0.02)
        job.result(timeout=timeout)
        person.total_ms = (time.perf_counter() - started) * 1000
    except Exception as error:  # noqa: BLE001 - whatever the client raises is this person's error
        person.error = f"{type(error).__name__}: {error}"
    finally:
        client.close()


def run_local_chats(url: str, people: int = 5, timeout: float = 300.0) -> ChatsResult:
    """`people` sessions asking the local model at the same moment (after one warm-up question)."""
    api = warm_up(url, "local", timeout)
    result = ChatsResult([Person(QUESTIONS[i % len(QUESTIONS)]) for i in range(people)])
    start = threading.Barrier(people, timeout=timeout)
    with ThreadPoolExecutor(max_workers=people, thread_name_prefix="local-chat") as pool:
        for future in [pool.submit(_ask, url, api, person, start, timeout) for person in result.people]:
            future.result()
    return result
