"""The shared database (`database_url`): feedback and commitments round-trip through a real PostgreSQL
server (tests/postgres_process.py) with the same results as the default SQLite files, and a database
that cannot be reached is one clear line in the CLI and a Swedish line in the chat, never a traceback."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path

import pytest

from conftest import free_port
from fakes import FakeEmbedder, use_fake_backend
from ingest.commitments import sync
from ingest.pipeline import Ingestor
from kulturplan.commitments import Commitment, CommitmentStore, write_csv
from kulturplan.config import Settings
from kulturplan.database import DatabaseError
from kulturplan.feedback import COLUMNS, FeedbackStore
from kulturplan.region import load_profile
from kulturplan.store import ChunkStore, StoreError
from postgres_process import postgres_server, postgres_url  # noqa: F401  (fixtures)

pytestmark = pytest.mark.integration

PROFILE = load_profile()
REGION_WIDE = PROFILE.region_wide_label


@pytest.fixture(params=["sqlite", "postgresql"])
def where(request, tmp_path) -> dict:
    """Keyword arguments of a store: a SQLite file, or a fresh database on the PostgreSQL server."""
    if request.param == "sqlite":
        return {"path": tmp_path / "data" / "store.sqlite"}
    return {"url": request.getfixturevalue("postgres_url")}


# --- feedback -------------------------------------------------------------------------------------------
FEEDBACK = [
    ("Vilken kultur finns i Ronneby?", "Ett museum [1].", '[{"n": 1, "source": "plan.txt"}]', "up", "Bra, tack! <b>"),
    ('=HYPERLINK("http://x";"Klicka")', "svar", "[]", "down", "@SUM(1+1)*cmd|' /C calc'!A0"),
    ("Vad gör regionen för äldre?", "Det framgår inte.", "[]", "down", "  " + "å" * 2100),
]


def without_timestamps(csv_text: str) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert all(row.pop("created_at").endswith("+00:00") for row in rows)  # UTC
    return rows


def test_feedback_round_trips(where):
    store = FeedbackStore(**where)
    assert store.rows() == [] and store.export_csv(io.StringIO()) == 0
    assert [store.add(*row) for row in FEEDBACK] == [1, 2, 3]
    with pytest.raises(ValueError):
        store.add("q", "a", "[]", "meh")

    rows = store.rows()
    assert [tuple(row) for row in rows] == [COLUMNS] * 3
    assert [r["rating"] for r in rows] == ["up", "down", "down"]
    assert rows[0]["comment"] == "Bra, tack! <b>" and json.loads(rows[0]["citations"])[0]["source"] == "plan.txt"
    assert rows[2]["comment"] == "å" * 2000  # stripped and cut to MAX_COMMENT_CHARS
    exported = without_timestamps(store.to_csv())
    assert exported[1]["question"] == "'" + FEEDBACK[1][0] and exported[1]["comment"] == "'" + FEEDBACK[1][4]
    assert [row["id"] for row in exported] == ["1", "2", "3"]



def test_feedback_from_many_threads(where):
    """One store shared by the chat's worker threads: every rating is kept, each under its own id."""
    from concurrent.futures import ThreadPoolExecutor

    store = FeedbackStore(**where)
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(lambda n: store.add(f"Fråga {n}?", "Svar.", "[]", "up"), range(40)))
    assert sorted(ids) == list(range(1, 41))
    assert sorted(row["question"] for row in store.rows()) == sorted(f"Fråga {n}?" for n in range(40))

def test_feedback_is_the_same_in_postgresql_as_in_sqlite(tmp_path, postgres_url):
    stores = [FeedbackStore(tmp_path / "feedback.sqlite3"), FeedbackStore(url=postgres_url)]
    for store in stores:
        for row in FEEDBACK:
            store.add(*row)
    sqlite_csv, postgres_csv = (without_timestamps(store.to_csv()) for store in stores)
    assert postgres_csv == sqlite_csv and len(sqlite_csv) == len(FEEDBACK)


def test_the_settings_choose_the_database(tmp_path, postgres_url):
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url)
    feedback, commitments = FeedbackStore.for_settings(settings), CommitmentStore.open(settings)
    assert feedback.path is None and commitments.path is None
    assert feedback.where == commitments.where == postgres_url
    feedback.add("Fråga?", "Svar.", "[]", "up")
    assert FeedbackStore(url=postgres_url).rows()[0]["question"] == "Fråga?"
    assert not (tmp_path / "data").exists()  # nothing written beside it
    default = Settings(data_dir=tmp_path / "data")
    assert FeedbackStore.for_settings(default).path == tmp_path / "data" / "feedback.sqlite3"


# --- commitments ----------------------------------------------------------------------------------------
def commitment(doc: str, n: int, sentence: str, source: str, **fields) -> Commitment:
    values = dict(id=f"{doc}-{n}", doc_id=doc, chunk_id=f"{doc}-000{n}", source=source, title=source.title(),
                  section="Avsnitt", page=n or None, sentence=sentence, actors=("Region Blekinge",),
                  areas=("musik",), municipalities=(REGION_WIDE,), kind="ansvar")  # fmt: skip
    return Commitment(**{**values, **fields})


DOCS = {
    "zeta": [commitment("zeta", 1, "Regionen stöder körsång.", "Zeta.txt", region_wide=True)],
    "annan": [
        commitment("annan", 2, "Ronneby kommun driver kulturskolan.", "annan.txt", municipalities=("Ronneby",),
                   actors=("Ronneby kommun",), areas=("barn och unga",)),  # fmt: skip
        commitment("annan", 0, "Musik i Blekinge ger konserter i hela länet.", "annan.txt", region_wide=True),
        # The same id twice: the last one is kept, as SQLite's INSERT OR REPLACE did.
        commitment("annan", 2, "Ronneby kommun driver kulturskolan och biblioteket.", "annan.txt",
                   municipalities=("Ronneby",), actors=("Ronneby kommun",), areas=("bibliotek",)),  # fmt: skip
    ],
    "osby": [commitment("osby", 3, "Östra delen får en ny konsthall.", "Östra.txt", municipalities=("Karlshamn",))],
}


def test_commitments_round_trip(where):
    store = CommitmentStore(profile=PROFILE, **where)
    assert store.count() == 0 and store.all() == [] and store.fingerprints() == {}
    for doc, found in DOCS.items():
        store.replace_document(doc, found, fingerprint=f"fp-{doc}")
    assert store.fingerprints() == {doc: f"fp-{doc}" for doc in DOCS} and store.count() == 4

    listed = store.all()
    assert [c.source for c in listed] == ["Zeta.txt", "annan.txt", "annan.txt", "Östra.txt"]  # code-point order
    assert [c.id for c in listed if c.source == "annan.txt"] == ["annan-0", "annan-2"]  # document order
    assert listed[2] == DOCS["annan"][2] and listed[0] == DOCS["zeta"][0]  # tuples, bools and pages intact
    assert listed[0].region_wide is True and listed[0].page == 1 and listed[1].page is None

    assert [c.id for c in store.query(municipality="ronnebys")] == ["annan-2"]
    assert [c.id for c in store.query(municipality="Ronneby", include_region_wide=True)] == ["zeta-1", "annan-0", "annan-2"]
    assert [c.id for c in store.query(actor="ronneby", area="bibl")] == ["annan-2"]
    assert store.actors() == ["Region Blekinge", "Ronneby kommun"] and "bibliotek" in store.areas()

    store.replace_document("zeta", [], fingerprint="fp-zeta-2")  # a document that lost its commitments
    store.remove_documents(["osby", "missing"])
    assert store.fingerprints() == {"zeta": "fp-zeta-2", "annan": "fp-annan"}
    assert [c.id for c in store.all()] == ["annan-0", "annan-2"]
    assert [c.id for c in CommitmentStore(**where).all()] == ["annan-0", "annan-2"]  # another store object


def test_ingest_writes_the_same_commitments_to_postgresql_as_to_sqlite(tmp_path, postgres_url, corpus_copy):
    """The real path: an ingest fills the shared database; a sync into SQLite from the same index agrees."""
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url, embedding_batch_size=8)
    store = ChunkStore.open(settings)
    report = Ingestor(settings, store, FakeEmbedder()).run([corpus_copy], progress=False)
    assert report.ok, report.skipped
    shared = CommitmentStore.open(settings)
    assert report.commitments == shared.count() > 0
    assert not settings.commitments_path.exists()  # not in the data directory

    local = CommitmentStore(tmp_path / "local.sqlite", PROFILE)
    assert sync(store, local).total == report.commitments
    assert shared.all() == local.all() and shared.fingerprints() == local.fingerprints()
    assert shared.query(municipality="Ronneby", include_region_wide=True) == local.query(
        municipality="Ronneby", include_region_wide=True
    )
    assert csv_of(shared) == csv_of(local)
    assert sync(store, shared).extracted == []  # in step: nothing to redo


def csv_of(store: CommitmentStore) -> str:
    buffer = io.StringIO()
    write_csv(buffer, store.all(), REGION_WIDE)
    return buffer.getvalue()


# --- a database that cannot be reached ------------------------------------------------------------------
def closed_url() -> str:
    return f"postgresql+psycopg://kulturplan:hemligt@127.0.0.1:{free_port()}/kulturplan"  # nothing listens there


def test_an_unreachable_database_is_one_clear_error():
    url = closed_url()
    for make in (lambda: FeedbackStore(url=url).add("q", "a", "[]", "up"), lambda: CommitmentStore(None, url=url)):
        with pytest.raises(DatabaseError) as raised:
            make()
        message = str(raised.value)
        assert isinstance(raised.value, StoreError)  # the chat's and the CLI's known store failure
        assert message.startswith("cannot reach the database at postgresql+psycopg://kulturplan:***@127.0.0.1:")
        assert "\n" not in message and "hemligt" not in message and "refused" in message, message
    with pytest.raises(DatabaseError, match="database_url must look like postgresql"):
        FeedbackStore(url="inte en adress")
    with pytest.raises(DatabaseError, match="cannot use the database at nosuchdb://x"):
        FeedbackStore(url="nosuchdb://x").rows()


def test_the_cli_says_an_unreachable_database_in_one_line(monkeypatch, tmp_path, folder):
    from typer.testing import CliRunner

    from cli import app

    use_fake_backend(monkeypatch, tmp_path)
    monkeypatch.setenv("KULTURPLAN_DATABASE_URL", closed_url())
    data = str(tmp_path / "data")

    def run(*args: str):
        result = CliRunner().invoke(app, [*args, "--data-dir", data])
        assert "Traceback" not in result.output and "hemligt" not in result.output, result.output
        return result

    ingested = run("ingest", "--quiet", str(folder))  # the chunks are stored; the commitments are skipped
    assert ingested.exit_code == 1
    assert "cannot update commitments: cannot reach the database at postgresql+psycopg://kulturplan:***@" in ingested.output
    for args in (("commitments",), ("feedback", "export"), ("serve", "--port", str(free_port()))):
        result = run(*args)
        errors = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert result.exit_code == 2 and len(errors) == 1, result.output
        assert "cannot reach the database at postgresql+psycopg://kulturplan:***@127.0.0.1:" in errors[0]


def test_the_chat_says_an_unreachable_database_in_swedish(tmp_path, caplog):
    from assistant.types import Answer
    from ui.chat import ChatHandlers, ChatSession, Entry
    from ui.commitments_tab import CommitmentHandlers
    from ui.render import STORE_DOWN_MESSAGE

    settings = Settings(data_dir=tmp_path / "data", database_url=closed_url())
    session = ChatSession([Entry("Fråga?", answer=Answer("Fråga?", "Svar."))])
    caplog.set_level(logging.WARNING)
    status, *_ = ChatHandlers(None, FeedbackStore.for_settings(settings)).rate("up")("", session)
    assert "Återkopplingen kunde inte sparas" in status and session.entries[0].feedback == ""
    table, link = CommitmentHandlers(None, settings).commitments()
    assert STORE_DOWN_MESSAGE in table and link == ""
    assert caplog.records and all(r.exc_info is None for r in caplog.records)  # warnings, no tracebacks
    assert all("hemligt" not in r.getMessage() for r in caplog.records)


def test_the_chat_still_answers_from_the_passages_while_the_database_is_down(settings, corpus_copy, caplog):
    """The commitment list is the only route that reads the database: without it, questions are
    answered from the passages (a commitments question too, as a plain answer), with one warning."""
    from assistant.engine import Assistant

    embedder = FakeEmbedder()
    assert Ingestor(settings, ChunkStore.open(settings), embedder).run([corpus_copy], progress=False).ok
    down = settings.model_copy(update={"database_url": closed_url(), "generator": "extractive", "answerability_threshold": 0.0})
    caplog.set_level(logging.WARNING)
    assistant = Assistant(down, embedder=embedder)
    assert assistant.ask("Vilka åtaganden har Musik i Blekinge?").generator != "åtaganden"  # no list, no error
    answer = assistant.ask("Vilken kultur finns i Ronneby?")
    assert answer.citations and not answer.refused
    warnings = [r for r in caplog.records if "commitment list is skipped" in r.getMessage()]
    assert len(warnings) == 2 and all(r.exc_info is None for r in warnings)
