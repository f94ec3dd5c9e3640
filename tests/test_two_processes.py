"""Scale-out: two `kulturplan serve` processes on one Chroma server and one PostgreSQL database.

Real processes all the way: a `chroma run` server, a throwaway PostgreSQL cluster, two chat servers
and `kulturplan ingest` run by the CLI, all configured by environment variables only, each chat with
a data directory of its own (nothing is shared through files). What one ingest writes, both chats
answer from within the retriever's re-check interval; the commitments tab reads what the ingest
extracted; feedback given in either chat lands in the one PostgreSQL table. The real embedding model
(needs `kulturplan models fetch`) with the extractive generator; the documents are tiny.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant.retrieval import VERSION_CHECK_SECONDS
from chroma_process import ChromaProcess
from conftest import free_port
from kulturplan.commitments import CommitmentStore
from kulturplan.feedback import FeedbackStore
from postgres_process import PostgresProcess

pytestmark = pytest.mark.integration

KULTURPLAN = Path(sys.executable).with_name("kulturplan")
START_TIMEOUT = 120  # a chat process imports torch and gradio on two busy cores
# An answer with the real embedder on these cores (its first one loads the model) takes a few seconds.
ANSWER_SLACK_SECONDS = 25

DOCS = {
    "glasbruket.txt": "Glasbruket i Kallinge\n\nRegion Blekinge stöder Glasbruket i Kallinge i Ronneby kommun. "
    "Glasbruket håller öppen verkstad i glasblåsning för barn varje lördag under hösten.\n",
    "filmdagar.txt": "Filmdagar i Sölvesborg\n\nSölvesborgs kommun ordnar Filmdagar i Sölvesborg varje vår. "
    "Filmdagarna visar kortfilmer av unga filmare från hela länet.\n",
}
LATER = ("fyrskeppet.txt", "Fyrskeppet i Karlshamn\n\nKarlshamns kommun driver Fyrskeppet i Karlshamn som "
         "en flytande scen för teater och visor. Fyrskeppet tar emot skolklasser varje månad.\n")  # fmt: skip
FIRST_QUESTION, FIRST_TITLE = "Vad gör Glasbruket i Kallinge för barn?", "Glasbruket i Kallinge"
LATER_QUESTION, LATER_TITLE = "Vad är Fyrskeppet i Karlshamn för scen?", "Fyrskeppet i Karlshamn"


def cites(page: str, title: str) -> bool:
    return f'<cite class="kp-doc">{title}</cite>' in page


@dataclass
class Chat:
    """One `kulturplan serve` process."""

    name: str
    url: str
    process: subprocess.Popen
    log: Path

    def client(self):
        from gradio_client import Client

        return Client(self.url, verbose=False)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@pytest.fixture(scope="module")
def servers(tmp_path_factory, real_settings_base) -> Iterator[tuple[dict[str, str], PostgresProcess]]:
    """A Chroma server and a PostgreSQL server, and the environment that points the CLI at them."""
    root = tmp_path_factory.mktemp("scale-out")
    chroma = ChromaProcess(root, free_port())
    postgres = PostgresProcess(free_port())
    try:
        chroma.start()
        postgres.start()
        config = root / "kulturplan.toml"
        config.write_text("", encoding="utf-8")  # no kulturplan.toml of the checkout
        env = {key: value for key, value in os.environ.items() if not key.startswith("KULTURPLAN_")}
        env.update(
            HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False", GRADIO_ANALYTICS_ENABLED="False",
            KULTURPLAN_CONFIG=str(config),
            KULTURPLAN_MODELS_DIR=str(real_settings_base.models_root),
            KULTURPLAN_CHROMA_URL=chroma.url,
            KULTURPLAN_DATABASE_URL=postgres.create_database("kulturplan"),
            KULTURPLAN_GENERATOR="extractive",
        )  # fmt: skip
        yield env, postgres
    finally:
        postgres.stop()
        chroma.stop()


def run_cli(env: dict[str, str], data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([str(KULTURPLAN), *args], env={**env, "KULTURPLAN_DATA_DIR": str(data_dir)},
                            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)  # fmt: skip
    assert result.returncode == 0, f"kulturplan {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def start_chat(name: str, env: dict[str, str], root: Path) -> Chat:
    port = free_port()
    # One thread each for torch/BLAS: the two chats must not fight over the two cores.
    chat_env = {**env, "KULTURPLAN_DATA_DIR": str(root / name), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                "KULTURPLAN_LLM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}  # fmt: skip
    log = root / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(KULTURPLAN), "serve", "--port", str(port)], env=chat_env,
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # fmt: skip
    return Chat(name, f"http://127.0.0.1:{port}/", process, log)


def wait_until_up(chat: Chat) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(chat.url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if chat.process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"chat {chat.name} did not start:\n{chat.tail()}")
        time.sleep(0.5)


def stop(chat: Chat) -> None:
    chat.process.terminate()
    try:
        chat.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        chat.process.kill()
        chat.process.wait()


def ask(chat: Chat, question: str):
    """(chat HTML, the client whose session holds the answer)."""
    client = chat.client()
    return client.predict(question, "extractive", 3, "Alla", api_name="/respond")[0], client


def ask_until_cited(chat: Chat, question: str, title: str, deadline: float):
    """Ask in a new session each time until the answer cites `title`; returns (page, client, seconds)."""
    started = time.monotonic()
    while True:
        page, client = ask(chat, question)
        if cites(page, title):
            return page, client, time.monotonic() - started
        if time.monotonic() > deadline or chat.process.poll() is not None:
            pytest.fail(f"chat {chat.name} never cited {title!r}; last answer:\n{page[-1500:]}\n{chat.tail()}")
        time.sleep(1)


def test_two_chats_share_one_chroma_and_one_postgresql(servers, tmp_path):
    env, postgres = servers
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    ingest_dir = tmp_path / "ingest"  # the ingest's own data directory: the chats see nothing of it
    run_cli(env, ingest_dir, "ingest", "--quiet", str(docs))
    shared = CommitmentStore(url=env["KULTURPLAN_DATABASE_URL"])
    extracted = {c.sentence for c in shared.all()}
    assert any("Glasbruket" in s for s in extracted), extracted  # the ingest's commitments are in PostgreSQL

    chats = [start_chat(name, env, tmp_path) for name in ("a", "b")]
    try:
        for chat in chats:
            wait_until_up(chat)
        a, b = chats
        endpoints = a.client().view_api(return_format="dict", print_info=False)["named_endpoints"]
        assert {"/respond", "/give_feedback", "/give_feedback_1"} <= set(endpoints)

        page, _, _ = ask_until_cited(b, FIRST_QUESTION, FIRST_TITLE, time.monotonic() + ANSWER_SLACK_SECONDS)
        assert "kp-cite" in page
        csv_text = urllib.request.urlopen(a.url + "ataganden.csv", timeout=30).read().decode("utf-8")
        assert all(sentence in csv_text for sentence in extracted), csv_text  # the tab reads the shared store
        assert not cites(ask(a, LATER_QUESTION)[0], LATER_TITLE)  # not ingested yet

        (docs / LATER[0]).write_text(LATER[1], encoding="utf-8")
        run_cli(env, ingest_dir, "ingest", "--quiet", str(docs))
        ingested = time.monotonic()
        deadline = ingested + VERSION_CHECK_SECONDS + ANSWER_SLACK_SECONDS
        _, in_b, _ = ask_until_cited(b, LATER_QUESTION, LATER_TITLE, deadline)
        _, in_a, _ = ask_until_cited(a, LATER_QUESTION, LATER_TITLE, deadline)
        print(f"both chats cite the new document {time.monotonic() - ingested:.1f} s after its ingest")

        thanks = "Tack! Din återkoppling är sparad."
        assert thanks in in_b.predict("Bra svar från B", api_name="/give_feedback")[0]  # 👍
        assert thanks in in_a.predict("Sämre svar från A", api_name="/give_feedback_1")[0]  # 👎
    finally:
        for chat in chats:
            stop(chat)
    for chat in chats:
        assert "Traceback" not in chat.log.read_text(errors="replace"), chat.tail()

    rows = FeedbackStore(url=env["KULTURPLAN_DATABASE_URL"]).rows()
    assert [(r["rating"], r["comment"], r["question"]) for r in rows] == [
        ("up", "Bra svar från B", LATER_QUESTION),
        ("down", "Sämre svar från A", LATER_QUESTION),
    ]
    assert all(LATER_TITLE in r["citations"] for r in rows)
    assert not list(tmp_path.rglob("*.sqlite*"))  # no store fell back to a file
