"""An ingest killed with SIGKILL at random moments never leaves a broken index behind.

What a user sees: `kulturplan ingest` can be stopped hard (kill -9, a power cut, the OOM killer) at any
moment, several times in a row, while documents are edited and deleted in between; the next complete
run then leaves exactly the index a fresh ingest of the same folder would build. No chunk twice, no
chunk of a deleted document or of an old version, nothing missing, the same vectors, and the same
commitments in the derived SQLite store.

The ingest runs in a child process with the deterministic fake embedder, slowed down a little per batch
so that the kills land in the middle of the work; the moments come from a fixed seed.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from fakes import FakeEmbedder
from ingest.pipeline import ingest
from kulturplan.commitments import CommitmentStore
from kulturplan.config import Settings, load_settings
from kulturplan.store import ChunkStore

pytestmark = pytest.mark.faults

SEED = 20240917
KILLS = 5
DOCUMENTS = 15
BATCH_SIZE = 4  # small batches: many store writes, so a kill lands between or inside them
BATCH_DELAY = 0.05  # seconds the child's fake embedder sleeps per batch
STARTUP_TIMEOUT = 60.0

MUNICIPALITIES = ["Karlskrona", "Ronneby", "Karlshamn", "Olofström", "Sölvesborg"]
ACTORS = ["Regionen", "Kommunerna", "Musik i Blekinge", "Blekinge museum", "Biblioteken", "Studieförbunden"]
VERBS = ["ska utveckla", "ansvarar för", "samordnar", "planerar att stärka", "stöder", "arbetar med"]
ACTIVITIES = [
    "läsfrämjande insatser", "konserter för unga", "utställningar om kulturarv", "dansprojekt i skolan",
    "filmvisningar på landsbygden", "slöjdkurser för äldre", "teaterturnéer", "residens för konstnärer",
]  # fmt: skip
TOPICS = ["Musik", "Dans", "Teater", "Bibliotek", "Kulturarv", "Film", "Bildkonst", "Slöjd", "Litteratur"]

# The child: the real `ingest` entry point with a slow fake embedder that reports each batch.
CHILD_SCRIPT = """
import sys, time
from pathlib import Path
sys.path[:0] = [{repo!r}, {tests!r}]
from fakes import FakeEmbedder
from ingest.pipeline import ingest
from kulturplan.config import load_settings

class SlowFakeEmbedder(FakeEmbedder):
    def _encode(self, texts):
        time.sleep({delay!r})
        vectors = super()._encode(texts)
        print("batch", len(texts), flush=True)
        return vectors

data_dir, folder, prune = sys.argv[1], sys.argv[2], sys.argv[3] == "prune"
settings = load_settings(data_dir=Path(data_dir), embedding_batch_size={batch_size!r})
print("ready", flush=True)
report = ingest(settings, [Path(folder)], prune=prune, progress=False, embedder=SlowFakeEmbedder())
print("done", report.embedded_chunks, flush=True)
"""


# --- the documents ------------------------------------------------------------------------------------
def paragraph(rng: random.Random, doc: int, section: int, number: int) -> str:
    """Two to four sentences, most of them commitments ("X ska utveckla ... i Ronneby ...")."""
    return " ".join(
        f"{rng.choice(ACTORS)} {rng.choice(VERBS)} {rng.choice(ACTIVITIES)} i {rng.choice(MUNICIPALITIES)} "
        f"under år {2024 + (doc + section + sentence) % 6} med {10 + doc * 7 + section * 3 + number} deltagare."
        for sentence in range(rng.randint(2, 4))
    )


def document_text(rng: random.Random, doc: int, markdown: bool) -> str:
    heading = "# " if markdown else ""
    subheading = "## " if markdown else ""
    lines = [f"{heading}Kulturplan del {doc + 1} för {MUNICIPALITIES[doc % 5]}", ""]
    for section in range(rng.randint(16, 22)):
        lines += [f"{subheading}{rng.choice(TOPICS)} avsnitt {section + 1}", ""]
        lines += [paragraph(rng, doc, section, number) + "\n" for number in range(rng.randint(1, 2))]
    return "\n".join(lines)


def write_documents(folder: Path) -> list[Path]:
    folder.mkdir()
    rng = random.Random(SEED)
    paths = []
    for doc in range(DOCUMENTS):
        markdown = doc % 2 == 0
        path = folder / f"plan_{doc:02d}.{'md' if markdown else 'txt'}"
        path.write_text(document_text(rng, doc, markdown), encoding="utf-8")
        paths.append(path)
    return paths


# --- the index, as plain data -------------------------------------------------------------------------
def settings_for(data_dir: Path) -> Settings:
    return load_settings(data_dir=data_dir, embedding_batch_size=BATCH_SIZE)


def clean_ingest(folder: Path, data_dir: Path) -> tuple[Settings, float]:
    """A fresh index of `folder`, and how long building it took."""
    settings = settings_for(data_dir)
    started = time.perf_counter()
    report = ingest(settings, [folder], progress=False, embedder=FakeEmbedder())
    assert report.ok, report.skipped
    return settings, time.perf_counter() - started


def index_snapshot(settings: Settings) -> dict[str, tuple[str, dict]]:
    """chunk id -> (text, metadata) of every stored chunk."""
    store = ChunkStore.open(settings)
    chunks = store.collection.get(include=["documents", "metadatas"])
    assert len(chunks["ids"]) == len(set(chunks["ids"])) == store.count()  # no id twice
    return {i: (text, metadata) for i, text, metadata in zip(chunks["ids"], chunks["documents"], chunks["metadatas"])}


def ids_of(snapshot: dict[str, tuple[str, dict]], source: str) -> set[str]:
    return {i for i, (_, metadata) in snapshot.items() if metadata["source"] == source}


def commitments_snapshot(settings: Settings) -> tuple[list, dict[str, str]]:
    store = CommitmentStore.open(settings)
    return store.all(), store.fingerprints()


# --- killing the child ----------------------------------------------------------------------------------
def start_child(script: Path, data_dir: Path, folder: Path, prune: bool, log: Path) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KULTURPLAN_")}
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, str(script), str(data_dir), str(folder), "prune" if prune else "keep"],
            stdout=out, stderr=subprocess.STDOUT, cwd=script.parent, env=env,
        )  # fmt: skip


def wait_until_ready(child: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while "ready" not in log.read_text():
        assert child.poll() is None, f"the ingest child died on start:\n{log.read_text()}"
        assert time.monotonic() < deadline, "the ingest child did not start"
        time.sleep(0.01)


def kill_after(child: subprocess.Popen, log: Path, seconds: float) -> bool:
    """SIGKILL the child `seconds` after it is ready; True when it was still working then."""
    wait_until_ready(child, log)
    time.sleep(seconds)
    running = child.poll() is None
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    return running and "done" not in log.read_text()


def kill_delays(expected_seconds: float, overhead_seconds: float) -> list[float]:
    """When to kill each run, in seconds after it is ready: KILLS moments spread over one whole
    ingest, so that together the runs do about one ingest's work, each cut off after its share.
    Every run first plans again (reads the index, chunks the files): `overhead_seconds` more."""
    rng = random.Random(SEED)
    moments = sorted(rng.uniform(0, expected_seconds) for _ in range(KILLS))
    return [overhead_seconds + later - earlier for earlier, later in zip([0.0, *moments], moments)]


def overhead_seconds(script: Path, indexed: Path, folder: Path, log: Path) -> float:
    """How long a child works from "ready" on when everything is indexed already: the fixed cost of
    every run (reading the index, chunking the files, in a fresh process)."""
    child = start_child(script, indexed, folder, prune=False, log=log)
    wait_until_ready(child, log)
    started = time.monotonic()
    assert child.wait(timeout=60) == 0, log.read_text()
    assert "done 0" in log.read_text()
    return time.monotonic() - started


# --- edits between the runs -----------------------------------------------------------------------------
def change_one_fact(path: Path) -> tuple[str, str]:
    """Change the number of participants in one middle paragraph (same length, so no chunk moves);
    returns the paragraph before and after."""
    paragraphs = path.read_text(encoding="utf-8").split("\n\n")
    index = next(i for i in range(len(paragraphs) // 2, len(paragraphs)) if "deltagare." in paragraphs[i])
    old = paragraphs[index]
    new = re.sub(r"\d+ deltagare\.", "999 deltagare.", old, count=1)
    paragraphs[index] = new
    path.write_text("\n\n".join(paragraphs), encoding="utf-8")
    return old, new


def insert_section_at_top(path: Path) -> None:
    """A new first section: every later chunk moves one position, so every chunk id changes."""
    lines = path.read_text(encoding="utf-8").split("\n", 2)
    marker = "## " if path.suffix == ".md" else ""
    section = f"{marker}Inledning\n\nKommunerna ska samordna ett nytt kulturråd i Karlshamn under år 2032.\n"
    path.write_text(f"{lines[0]}\n\n{section}\n{lines[2]}", encoding="utf-8")


def kill_runs(script: Path, data_dir: Path, folder: Path, delays: list[float], before_run) -> list[bool]:
    """One child per delay, continuing on `data_dir`, each killed `delay` seconds after it is ready;
    `before_run(run)` may change the folder first. Which kills landed while the child was working."""
    landed = []
    for run, delay in enumerate(delays):
        before_run(run)
        log = data_dir.parent / f"run{run}.log"
        child = start_child(script, data_dir, folder, prune=run >= 2, log=log)
        landed.append(kill_after(child, log, delay))
    return landed


def complete_run(script: Path, data_dir: Path, folder: Path, log: Path) -> None:
    """One more child, with --prune, left to finish."""
    child = start_child(script, data_dir, folder, prune=True, log=log)
    assert child.wait(timeout=120) == 0, log.read_text()
    assert "done" in log.read_text()


# --- the test ---------------------------------------------------------------------------------------------
def test_ingest_killed_five_times_ends_with_the_index_of_a_clean_ingest(tmp_path):
    folder = tmp_path / "docs"
    paths = write_documents(folder)
    initial_settings, reference_seconds = clean_ingest(folder, tmp_path / "initial")
    initial = index_snapshot(initial_settings)
    assert 250 <= len(initial) <= 400
    script = tmp_path / "slow_ingest.py"
    script.write_text(
        CHILD_SCRIPT.format(repo=str(REPO), tests=str(REPO / "tests"), delay=BATCH_DELAY, batch_size=BATCH_SIZE)
    )
    expected_seconds = reference_seconds + len(initial) / BATCH_SIZE * BATCH_DELAY
    overhead = overhead_seconds(script, initial_settings.data_dir, folder, tmp_path / "overhead.log")

    edited, deleted, shifted, deleted_later = paths[3], paths[8], paths[6], paths[11]
    changed: list[tuple[str, str]] = []

    def edit_between_runs(run: int) -> None:
        if run == 2:  # a changed fact and a deleted document between two killed runs
            changed.append(change_one_fact(edited))
            deleted.unlink()
        if run == 4:  # a document whose every chunk moves, and another deletion
            insert_section_at_top(shifted)
            deleted_later.unlink()

    crashed_dir = tmp_path / "crashed"
    landed = kill_runs(script, crashed_dir, folder, kill_delays(expected_seconds, overhead), edit_between_runs)
    assert sum(landed) >= 3, f"too few kills landed while the ingest was working: {landed}"

    complete_run(script, crashed_dir, folder, tmp_path / "complete.log")
    crashed_settings = settings_for(crashed_dir)
    clean_settings, _ = clean_ingest(folder, tmp_path / "clean")
    crashed, clean = index_snapshot(crashed_settings), index_snapshot(clean_settings)

    assert_same_index(crashed, clean)
    assert_same_vectors(crashed_settings, clean_settings, sorted(clean))
    assert_dense_search_finds_every_chunk(crashed_settings, sorted(clean))
    assert_edit_replaced_only_its_own_chunks(initial, crashed, edited.name, *changed[0])
    assert not ids_of(crashed, deleted.name) and not ids_of(crashed, deleted_later.name)
    assert ids_of(crashed, shifted.name) and not ids_of(crashed, shifted.name) & ids_of(initial, shifted.name)
    for untouched in {p.name for p in paths} - {edited.name, deleted.name, shifted.name, deleted_later.name}:
        assert ids_of(crashed, untouched) == ids_of(initial, untouched)
    assert_same_commitments(crashed_settings, clean_settings, *changed[0])
    assert_rerun_changes_nothing(crashed_settings, folder)


def assert_same_index(crashed: dict, clean: dict) -> None:
    missing, orphans = set(clean) - set(crashed), set(crashed) - set(clean)
    assert not missing and not orphans, f"missing {sorted(missing)[:5]}, orphans {sorted(orphans)[:5]}"
    for chunk_id, (text, metadata) in clean.items():
        assert crashed[chunk_id] == (text, metadata), chunk_id  # text and all metadata, doc ids included


def assert_same_vectors(crashed_settings: Settings, clean_settings: Settings, ids: list[str]) -> None:
    crashed = ChunkStore.open(crashed_settings).vectors(ids)
    clean = ChunkStore.open(clean_settings).vectors(ids)
    assert set(crashed) == set(clean) == set(ids)
    for chunk_id in ids:
        np.testing.assert_allclose(crashed[chunk_id], clean[chunk_id], atol=1e-6)


def assert_dense_search_finds_every_chunk(settings: Settings, ids: list[str]) -> None:
    """The vector index (not only the metadata) holds exactly the chunks: nothing lost, no ghost."""
    store = ChunkStore.open(settings)
    query = FakeEmbedder().embed_query("kultur i Blekinge")
    assert sorted(hit.chunk.id for hit in store.search(query, k=len(ids))) == ids


def assert_edit_replaced_only_its_own_chunks(initial: dict, crashed: dict, source: str, old: str, new: str) -> None:
    """Exactly the chunk(s) holding the changed paragraph got a new id, at the same position."""
    before, after = ids_of(initial, source), ids_of(crashed, source)
    gone, came = before - after, after - before
    assert gone and gone == {i for i in before if old in initial[i][0]}
    assert came == {i for i in after if new in crashed[i][0]}
    positions = sorted(initial[i][1]["position"] for i in gone)
    assert positions == sorted(crashed[i][1]["position"] for i in came)


def assert_same_commitments(crashed_settings: Settings, clean_settings: Settings, old: str, new: str) -> None:
    """The derived SQLite store holds the commitments of the final documents, as a clean ingest's."""
    commitments, fingerprints = commitments_snapshot(crashed_settings)
    assert (commitments, fingerprints) == commitments_snapshot(clean_settings)
    changed_sentence = new.split(". ")[0]
    assert any(changed_sentence in c.sentence for c in commitments)
    assert not any(old.split(". ")[0] in c.sentence for c in commitments)


def assert_rerun_changes_nothing(settings: Settings, folder: Path) -> None:
    again = ingest(settings, [folder], prune=True, progress=False, embedder=FakeEmbedder())
    assert again.embedded_chunks == again.deleted_chunks == 0 and not again.updated and not again.added
