"""Many chat sessions at once against a running chat server, through its Gradio API (gradio_client).

Each session is its own `gradio_client.Client`, so its own session hash and its own `ChatSession` on
the server. It asks a first question and then a follow-up that only makes sense after that first
question ("Och i Karlshamn?", "Vem står bakom den?"), with the extractive generator. Per request it
records the time to the final answer, errors (an exception, the page's "Något gick fel", an answer
that never finished) and context leaks: the session's chat log holds a question it did not ask, or an
answer is not about the session's own topic (it lacks the words its own question calls for, or names
a topic that belongs to other sessions).

`run_load` measures a running server. `run_load_during_ingest` does the same while `kulturplan
ingest` indexes a changed version of a document in a subprocess on the server's data directory; the
sessions then ask round after round (a new conversation each round) until that ingest has finished.
`serving` starts `kulturplan serve` in a subprocess, for the benchmark.

The scenarios fit corpus/ (Region Blekinge's "Samverkan med kommunerna").
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evals.metrics import percentile
from evals.processes import free_port, stop, wait_until_answering
from ui.render import ERROR_MESSAGE

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # gradio_client's telemetry reads it

DEFAULT_SESSIONS = 20
DEFAULT_GENERATOR = "extractive"
MAX_PROBLEMS = 10  # errors and leaks quoted in a result; the counts hold them all
INGEST_LIMIT_SECONDS = 600.0  # the sessions stop asking by then even if the ingest still runs


# --- what the sessions ask ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Ask:
    """One question and what its answer must (`expect`) and must not (`avoid`) say, case-insensitively."""

    text: str
    expect: tuple[str, ...] = ()
    avoid: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    first: Ask
    follow_up: Ask


# (first question, follow-up, a word every answer on the topic holds and answers on the others lack)
TOPICS = [
    ("Vad är Blekingemodellen?", "Vem står bakom den?", "Regionteatern"),
    ("Vad är Språkstegen?", "Vem står bakom den?", "logopedi"),
    ("Vad är Kultur i vården?", "Vem samordnar den?", "Kultur i omsorgen"),
    ("Vad gör Biblioteksutveckling Blekinge Kronoberg?", "Vem är den till för?", "folkbibliotekens"),
    ("Vad är Blekinge museum?", "Vad gör det?", "världsarvet"),
]
# Municipalities with passages of their own: their overview opens "Det här säger kulturplanen om X:".
OWN_PASSAGES = ["Ronneby", "Karlshamn", "Olofström", "Sölvesborg"]
NOT_NAMED = "Karlskrona"  # named nowhere in corpus/: its answer is the county-wide offer
OVERVIEW = "kulturplanen om {}"

# The change made to a document for `run_load_during_ingest`, and a question only it answers.
CHANGE_HEADING = "Kulturarvsdagar"
CHANGE_TEXT = (
    "Under kulturarvsdagarna i september öppnar hembygdsföreningar och arkiv i hela Blekinge "
    "sina samlingar för allmänheten."
)
CHANGE_PROBE = Ask("Vad händer under kulturarvsdagarna?", expect=("hembygdsföreningar",))


def _topic_scenario(first: str, follow_up: str, marker: str) -> Scenario:
    others = tuple(m for _, _, m in TOPICS if m != marker) + (OVERVIEW.format(""),)
    return Scenario(Ask(first, (marker,), others), Ask(follow_up, (marker,), others))


def _overviews_except(place: str) -> tuple[str, ...]:
    return tuple(OVERVIEW.format(other) for other in OWN_PASSAGES if other != place)


def _municipality_scenario(first: str, then: str) -> Scenario:
    opening = OVERVIEW.format(first) if first in OWN_PASSAGES else first
    return Scenario(
        Ask(f"Vilken kultur finns i {first}?", (opening,), _overviews_except(first)),
        Ask(f"Och i {then}?", (OVERVIEW.format(then),), _overviews_except(then)),
    )


def scenarios(count: int) -> list[Scenario]:
    """`count` scenarios, all different up to 21 (then they repeat): topics, then pairs of places."""
    pairs = [(a, b) for a in [*OWN_PASSAGES, NOT_NAMED] for b in OWN_PASSAGES if a != b]
    unique = [_topic_scenario(*topic) for topic in TOPICS] + [_municipality_scenario(*p) for p in pairs]
    return [unique[i % len(unique)] for i in range(count)]


# --- reading the chat --------------------------------------------------------------------------------
_EXCHANGE = re.compile(r'<article class="kp-exchange".*?</article>', re.S)
_QUESTION = re.compile(r'<div class="kp-turn kp-user"><p class="kp-who">[^<]*</p><p>(.*?)</p>', re.S)
_NOT_ANSWER_TEXT = re.compile(
    r'<div class="kp-turn kp-user">.*?</div>|<p class="kp-who">.*?</p>'
    r'|<section class="kp-sources".*?</section>|<details class="kp-details">.*?</details>',
    re.S,
)
_TAG = re.compile(r"<[^>]+>")


@dataclass
class Exchange:
    """One question and its answer as the chat log shows them."""

    question: str
    answer: str  # the answer's text, without its sources and notes
    sources: int
    finished: bool
    failed: bool


def read_chat(chat_html: str) -> list[Exchange]:
    exchanges = []
    for block in _EXCHANGE.findall(chat_html):
        question = _QUESTION.search(block)
        text = html.unescape(_TAG.sub(" ", _NOT_ANSWER_TEXT.sub(" ", block)))
        exchanges.append(
            Exchange(
                question=html.unescape(question.group(1)) if question else "",
                answer=" ".join(text.split()),
                sources=block.count('class="kp-source"'),
                finished="kp-streaming" not in block,
                failed="kp-error" in block,
            )
        )
    return exchanges


# --- one request -------------------------------------------------------------------------------------
@dataclass
class Outcome:
    session: int
    question: str
    first: bool  # the first question of a round (else its follow-up)
    ms: float = 0.0
    error: str = ""
    leak: str = ""
    sources: int = 0


@dataclass(frozen=True)
class ChatApi:
    """The api_names of the chat's events: asking a question and starting a new conversation."""

    ask: str
    reset: str


def find_chat_api(client) -> ChatApi:
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    asking = [
        name for name, info in endpoints.items()
        if [p["parameter_name"] for p in info["parameters"]][:2] == ["question", "generator"]
    ]  # fmt: skip
    if not asking or "/new_conversation" not in endpoints:
        raise RuntimeError(f"the server has no chat endpoints to load; it has {sorted(endpoints)}")
    return ChatApi(ask=asking[0], reset="/new_conversation")


def _judge(outputs: tuple, asked: list[str], ask: Ask) -> tuple[str, str, int]:
    """(error, leak, sources) of an answered request; at most one of error and leak is set."""
    if any(ERROR_MESSAGE in str(part) for part in outputs):
        return f"{ask.text!r}: the page shows {ERROR_MESSAGE!r}", "", 0
    exchanges = read_chat(str(outputs[0]))
    last = exchanges[-1] if exchanges else None
    if last is None or not last.finished or last.failed:
        return f"{ask.text!r}: no finished answer in the chat", "", 0
    questions = [e.question for e in exchanges]
    answer = last.answer.casefold()
    missing = [w for w in ask.expect if w.casefold() not in answer]
    foreign = [w for w in ask.avoid if w.casefold() in answer]
    if questions != asked:
        leak = f"the chat holds {questions}, the session asked {asked}"
    elif missing or foreign:
        leak = f"{ask.text!r} after {asked[:-1]}: lacks {missing}, names {foreign}: {last.answer[:160]!r}"
    else:
        leak = ""
    return "", leak, last.sources


def ask_once(client, api: ChatApi, ask: Ask, asked: list[str], session: int, generator: str, timeout: float) -> Outcome:
    """Ask `ask` in this client's session (whose questions so far, this one last, are `asked`)."""
    outcome = Outcome(session, ask.text, first=len(asked) == 1)
    started = time.perf_counter()
    try:
        outputs = client.submit(question=ask.text, generator=generator, api_name=api.ask).result(timeout=timeout)
    except Exception as error:  # noqa: BLE001 - whatever the client raises is an error of this request
        outcome.error = f"{ask.text!r}: {type(error).__name__}: {error}"
        return outcome
    outcome.ms = (time.perf_counter() - started) * 1000
    outcome.error, outcome.leak, outcome.sources = _judge(tuple(outputs), asked, ask)
    return outcome


# --- one session -------------------------------------------------------------------------------------
def connect(url: str):
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


def _ask_round(client, api: ChatApi, scenario: Scenario, session: int, generator: str, timeout: float) -> list[Outcome]:
    first = ask_once(client, api, scenario.first, [scenario.first.text], session, generator, timeout)
    if first.error:
        skipped = Outcome(session, scenario.follow_up.text, False, error="not asked: the first question failed")
        return [first, skipped]
    asked = [scenario.first.text, scenario.follow_up.text]
    return [first, ask_once(client, api, scenario.follow_up, asked, session, generator, timeout)]


def run_session(url, api, scenario, session, start: threading.Barrier, keep_asking, generator, timeout) -> list:
    """Connect, wait for the others, then ask rounds of question and follow-up while `keep_asking()`."""
    try:
        client = connect(url)
    except Exception as error:  # noqa: BLE001
        start.abort()  # the others stop waiting for this session
        failed = f"cannot connect: {type(error).__name__}: {error}"
        return [
            Outcome(session, scenario.first.text, True, error=failed),
            Outcome(session, scenario.follow_up.text, False, error=failed),
        ]
    outcomes: list[Outcome] = []
    try:
        start.wait()
        while not outcomes or keep_asking():
            if outcomes:
                client.predict(api_name=api.reset)
            outcomes += _ask_round(client, api, scenario, session, generator, timeout)
    except Exception as error:  # noqa: BLE001 - e.g. another session could not connect, or no new conversation
        outcomes.append(Outcome(session, "(between questions)", False, error=f"{type(error).__name__}: {error}"))
    finally:
        client.close()
    return outcomes


# --- the result --------------------------------------------------------------------------------------
@dataclass
class LoadResult:
    mode: str
    sessions: int
    generator: str
    requests: int = 0
    errors: int = 0
    leaks: int = 0
    answers_with_sources: int = 0
    rounds: int = 0  # question-and-follow-up rounds, all sessions together
    p50_ms: float | None = None  # time to the final answer, of the requests that got one
    p95_ms: float | None = None
    max_ms: float | None = None
    seconds: float = 0.0  # wall time of the whole load
    problems: list[str] = field(default_factory=list)  # the first errors and leaks
    ingest: dict[str, Any] | None = None  # run_load_during_ingest: what the ingest did

    @classmethod
    def of(cls, mode: str, sessions: int, generator: str, outcomes: list[Outcome], seconds: float) -> "LoadResult":
        answered = [o.ms for o in outcomes if not o.error]
        problems = [f"session {o.session}: {o.error or o.leak}" for o in outcomes if o.error or o.leak]
        return cls(
            mode=mode, sessions=sessions, generator=generator, requests=len(outcomes),
            errors=sum(bool(o.error) for o in outcomes), leaks=sum(bool(o.leak) for o in outcomes),
            answers_with_sources=sum(o.sources > 0 and not o.error for o in outcomes),
            rounds=sum(o.first for o in outcomes),
            p50_ms=_quantile_ms(answered, 0.5), p95_ms=_quantile_ms(answered, 0.95),
            max_ms=_quantile_ms(answered, 1.0), seconds=round(seconds, 2),
            problems=problems[:MAX_PROBLEMS],
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"{self.mode}: {self.sessions} sessions, {self.requests} requests in {self.seconds} s, "
            f"{self.errors} errors, {self.leaks} leaks, {self.answers_with_sources} answers with sources; "
            f"p50 {self.p50_ms} ms, p95 {self.p95_ms} ms, max {self.max_ms} ms"
        )


def _quantile_ms(values: list[float], q: float) -> float | None:
    return round(percentile(values, q), 1) if values else None


# --- the loads ---------------------------------------------------------------------------------------
def warm_up(url: str, generator: str = DEFAULT_GENERATOR, timeout: float = 300.0) -> ChatApi:
    """Find the chat's endpoints and ask one question, so that lazily loaded models are in memory."""
    client = connect(url)
    try:
        api = find_chat_api(client)
        client.submit(question=TOPICS[0][0], generator=generator, api_name=api.ask).result(timeout=timeout)
        return api
    finally:
        client.close()


def run_load(
    url: str,
    sessions: int = DEFAULT_SESSIONS,
    generator: str = DEFAULT_GENERATOR,
    timeout: float = 300.0,
    keep_asking: Callable[[], bool] = lambda: False,
    mode: str = "plain",
) -> LoadResult:
    """`sessions` concurrent sessions, each a question and a follow-up (more rounds while `keep_asking()`)."""
    return _load(url, warm_up(url, generator, timeout), sessions, generator, timeout, keep_asking, mode)


def _load(url, api: ChatApi, sessions: int, generator: str, timeout: float, keep_asking, mode: str) -> LoadResult:
    start = threading.Barrier(sessions, timeout=timeout)  # all sessions connected, then all ask at once
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=sessions, thread_name_prefix="load-session") as pool:
        futures = [
            pool.submit(run_session, url, api, scenario, number, start, keep_asking, generator, timeout)
            for number, scenario in enumerate(scenarios(sessions), start=1)
        ]
        outcomes = [outcome for future in futures for outcome in future.result()]
    return LoadResult.of(mode, sessions, generator, outcomes, time.perf_counter() - started)


def write_changed_copy(document: Path, folder: Path) -> Path:
    """`document` with one section added, under the same name (so an ingest updates it) in `folder`."""
    from ingest.readers import decode_text

    folder.mkdir(parents=True, exist_ok=True)
    # Read as the ingest reads it (a region's folder holds cp1252 text too); the copy is UTF-8.
    text = decode_text(document.read_bytes()).rstrip("\n")
    changed = folder / document.name
    changed.write_text(f"{text}\n\n{CHANGE_HEADING}\n\n{CHANGE_TEXT}\n", encoding="utf-8")
    return changed


def kulturplan_command() -> list[str]:
    script = Path(sys.executable).with_name("kulturplan")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from cli import main; main()"]


def run_load_during_ingest(
    url: str,
    data_dir: Path,
    document: Path,
    sessions: int = DEFAULT_SESSIONS,
    generator: str = DEFAULT_GENERATOR,
    timeout: float = 300.0,
) -> LoadResult:
    """`run_load` while `kulturplan ingest` indexes a changed `document` into the server's `data_dir`."""
    api = warm_up(url, generator, timeout)
    with tempfile.TemporaryDirectory(prefix="kulturplan-changed-") as folder:
        changed = write_changed_copy(document, Path(folder))
        command = kulturplan_command() + ["ingest", str(changed), "--data-dir", str(data_dir), "--quiet"]
        out, err = Path(folder) / "out.txt", Path(folder) / "err.txt"  # files, not pipes: nothing can fill up
        with out.open("w") as stdout, err.open("w") as stderr:
            started = time.perf_counter()
            process = subprocess.Popen(command, stdout=stdout, stderr=stderr)
            deadline = time.monotonic() + INGEST_LIMIT_SECONDS
            ingesting = lambda: process.poll() is None and time.monotonic() < deadline  # noqa: E731
            try:
                result = _load(url, api, sessions, generator, timeout, ingesting, "during an ingest")
                process.wait(timeout=max(1.0, deadline - time.monotonic()))
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
            ingest_seconds = time.perf_counter() - started
        result.ingest = {
            "exit_code": process.returncode,
            "seconds": round(ingest_seconds, 2),
            "summary": _last_line(out),
            "stderr_tail": err.read_text(encoding="utf-8", errors="replace")[-500:] if process.returncode else "",
            "change_visible_after_s": seconds_until_answered(url, api, CHANGE_PROBE, generator),
        }
    return result


def _last_line(path: Path) -> str:
    lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return lines[-1] if lines else ""


def seconds_until_answered(url: str, api: ChatApi, ask: Ask, generator: str, limit: float = 30.0) -> float | None:
    """How long until a fresh session's answer to `ask` holds what it expects (None: not within `limit`)."""
    started = time.perf_counter()
    client = connect(url)
    try:
        while time.perf_counter() - started < limit:
            outcome = ask_once(client, api, ask, [ask.text], 0, generator, limit)
            if not outcome.error and not outcome.leak:
                return round(time.perf_counter() - started, 2)
            client.predict(api_name=api.reset)
            time.sleep(0.5)
        return None
    finally:
        client.close()


# --- a server in a subprocess ------------------------------------------------------------------------
@contextmanager
def serving(data_dir: Path, timeout: float = 180.0) -> Iterator[str]:
    """`kulturplan serve` on a free loopback port over `data_dir`; yields its URL, stops it after."""
    port = free_port()
    env = {**os.environ, "KULTURPLAN_DATA_DIR": str(data_dir), "GRADIO_ANALYTICS_ENABLED": "False"}
    command = kulturplan_command() + ["serve", "--host", "127.0.0.1", "--port", str(port)]
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            url = f"http://127.0.0.1:{port}/"
            if not wait_until_answering(url, process, timeout):
                log.seek(0)
                raise RuntimeError(f"`kulturplan serve` did not start: {log.read()[-500:]}")
            yield url
        finally:
            stop(process)


def changeable_document(corpus: Path) -> Path | None:
    """The first plain-text or Markdown document of `corpus` (a section can be added to it)."""
    candidates = sorted(p for p in corpus.iterdir() if p.suffix in (".txt", ".md") and p.name != "README.md")
    return candidates[0] if candidates else None


__all__ = [
    "Ask", "LoadResult", "Scenario", "changeable_document", "find_chat_api", "read_chat", "run_load",
    "run_load_during_ingest", "scenarios", "serving", "write_changed_copy",
]  # fmt: skip
