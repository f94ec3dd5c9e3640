"""Faults in the files being ingested: odd names, links, deep HTML, size limits, files that change
while the run goes on. Each test checks what the user sees (one skip line, the exit code) and that
nothing stored was lost or duplicated."""

from __future__ import annotations

import os
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest

import fixture_docs as docs
import ingest.pipeline as pipeline
import ingest.throughput as throughput
from ingest.pipeline import Ingestor, IngestReport, Skipped, display_safe
from kulturplan.chunks import document_id
from kulturplan.store import ChunkStore

from conftest import GOOD, GOOD_TEXT
from fakes import FakeEmbedder

pytestmark = pytest.mark.faults

OTHER_TEXT = "Musik i Ronneby\n\nRonneby kulturcentrum visar samtida konst och har en musikskola.\n"


class SlowEmbedder(FakeEmbedder):
    """The fake embedder at a known speed, so that a run measures it."""

    name = "långsam"

    def __init__(self, seconds_per_chunk: float, first_batch_seconds: float = 0.0):
        super().__init__()
        self.seconds_per_chunk = seconds_per_chunk
        self.first_batch_seconds = first_batch_seconds  # as a model loaded on first use

    def _encode(self, texts: list[str]):
        time.sleep(self.seconds_per_chunk * len(texts) + (self.first_batch_seconds if self.batches == 0 else 0.0))
        return super()._encode(texts)


def run(settings, store, *paths: Path, embedder: FakeEmbedder | None = None, ingestor=Ingestor, **options) -> IngestReport:
    return ingestor(settings, store, embedder or FakeEmbedder()).run(list(paths), progress=False, **options)


def sources_in(store: ChunkStore) -> set[str]:
    return {d.source for d in store.documents()}


def assert_one_line(text: str) -> None:
    assert text.isprintable() and "\n" not in text and "\r" not in text, repr(text)


def assert_consistent(store: ChunkStore) -> None:
    """No chunk twice, no orphan: every stored document has exactly its `doc_chunks` chunks, one per
    position, all from the same version of the file."""
    metadata = store.all_metadata()
    by_doc: dict[str, list[dict]] = {}
    for meta in metadata.values():
        by_doc.setdefault(meta["doc_id"], []).append(meta)
    for rows in by_doc.values():
        assert len(rows) == rows[0]["doc_chunks"], rows
        assert sorted(r["position"] for r in rows) == list(range(len(rows)))
        assert len({r["doc_hash"] for r in rows}) == 1


def texts_of(store: ChunkStore, source: str) -> list[str]:
    return [c.text for c in store.all_chunks() if c.source == source]




def cli_ingest(tmp_path: Path, *paths: Path):
    from typer.testing import CliRunner

    from cli import app

    return CliRunner().invoke(app, ["ingest", "--quiet", "--data-dir", str(tmp_path / "data"), *map(str, paths)])


# --- 1. file names that are not UTF-8 ----------------------------------------------------------
def write_bytes_name(folder: Path, name: bytes, text: str) -> None:
    with open(os.path.join(os.fsencode(folder), name), "wb") as handle:
        handle.write(text.encode("utf-8"))


def test_non_utf8_file_name_is_skipped_and_the_rest_ingested(settings, store, folder):
    write_bytes_name(folder, b"plan-\xff.txt", OTHER_TEXT)
    os.mkdir(os.path.join(os.fsencode(folder), b"kapitel-\xe5"))
    write_bytes_name(folder, b"kapitel-\xe5/del.txt", OTHER_TEXT)

    report = run(settings, store, folder)

    assert Counter(s.source for s in report.skipped) == Counter(["kapitel-\\xe5/del.txt", "plan-\\xff.txt"])
    for skipped in report.skipped:
        assert "not valid UTF-8" in skipped.reason and "rename" in skipped.reason
        assert_one_line(skipped.source)
    assert report.added == [GOOD] and not report.ok
    assert sources_in(store) == {GOOD} and any("kulturhus" in t for t in texts_of(store, GOOD))
    assert_consistent(store)


def test_cli_non_utf8_file_name_one_line_and_exit_code_1(fake_backend, folder, tmp_path):
    write_bytes_name(folder, b"plan-\xff.txt", OTHER_TEXT)
    result = cli_ingest(tmp_path, folder)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    assert result.stderr.splitlines() == [
        "skipped plan-\\xff.txt: the file name is not valid UTF-8; rename the file (e.g. convmv -f latin1 -t utf8)"
    ]
    assert "1 added" in result.stdout and "1 skipped" in result.stdout


# --- 2. symbolic links ---------------------------------------------------------------------------
def test_broken_links_and_link_loops_get_one_skip_each(settings, store, folder):
    (folder / "borta.txt").symlink_to(folder / "finns_inte.txt")
    (folder / "själv.txt").symlink_to("själv.txt")
    (folder / "ping.txt").symlink_to("pong.txt")
    (folder / "pong.txt").symlink_to("ping.txt")
    (folder / "varv").symlink_to(".", target_is_directory=True)  # a folder link to its own folder
    (folder / "länk.txt").symlink_to(GOOD)  # a good link is still ingested, as before

    report = run(settings, store, folder)

    reasons = {s.source: s.reason for s in report.skipped}
    assert len(report.skipped) == len(reasons)  # one entry each
    assert reasons.keys() == {"borta.txt", "själv.txt", "ping.txt", "pong.txt", "varv"}
    assert "broken symbolic link" in reasons["borta.txt"]
    for name in ("själv.txt", "ping.txt", "pong.txt", "varv"):
        assert "symbolic link loop" in reasons[name], reasons[name]
    assert sorted(report.added) == [GOOD, "länk.txt"]
    assert sources_in(store) == {GOOD, "länk.txt"}
    assert_consistent(store)


def test_broken_link_given_on_the_command_line(settings, store, folder, tmp_path):
    (tmp_path / "plan.txt").symlink_to(tmp_path / "saknas.txt")
    report = run(settings, store, folder, tmp_path / "plan.txt")
    assert len(report.skipped) == 1 and "broken symbolic link" in report.skipped[0].reason
    assert report.added == [GOOD]


# --- 3. control characters in names ------------------------------------------------------------
def test_display_safe_escapes_only_what_cannot_be_shown():
    assert display_safe("kulturplan 2025 – åäö.pdf") == "kulturplan 2025 – åäö.pdf"
    assert display_safe("rad\nett\ttab\r\x1b[31m") == "rad\\nett\\ttab\\r\\x1b[31m"
    assert display_safe(os.fsdecode(b"plan-\xff.txt")) == "plan-\\xff.txt"
    assert display_safe("osynlig\u200bmellanrum") == "osynlig\\u200bmellanrum"
    assert Skipped("a\nb.pdf", "trasig\nfil").source == "a\\nb.pdf"


def test_bad_files_with_control_characters_in_their_names_get_one_line_each(fake_backend, folder, tmp_path):
    docs.write_truncated_pdf(folder / "rapport\nslutlig.pdf")
    (folder / "tom\tfil.txt").write_bytes(b"")
    (folder / "färg\x1b[31m.txt").write_bytes(b"")

    result = cli_ingest(tmp_path, folder)

    assert result.exit_code == 1, result.output
    lines = sorted(result.stderr.splitlines())
    assert len(lines) == 3, lines  # one line per bad file: no name split over two lines
    assert lines[0].startswith("skipped färg\\x1b[31m.txt: the file is empty")
    assert lines[1].startswith("skipped rapport\\nslutlig.pdf: the PDF is corrupt or truncated")
    assert lines[2].startswith("skipped tom\\tfil.txt: the file is empty")
    assert all(line.isprintable() for line in lines)
    assert "1 added" in result.stdout and "3 skipped" in result.stdout


# --- 4. deeply nested HTML -----------------------------------------------------------------------
DEEP_SENTENCE = "Länsmuseet i Karlskrona öppnar en ny utställning om skärgårdens båtbyggare."


def deep_html(levels: int, sentence: str) -> str:
    return (
        "<html><head><title>Djup sida</title></head><body>"
        + "<div>" * levels
        + (f"<p>{sentence}</p>" if sentence else "<script>render()</script>")
        + "</div>" * levels
        + "</body></html>"
    )


def test_deeply_nested_html_is_ingested_as_plain_text(settings, store, folder):
    (folder / "djup.html").write_text(deep_html(10_000, DEEP_SENTENCE), encoding="utf-8")
    report = run(settings, store, folder)
    assert report.ok, report.skipped
    assert sorted(report.added) == [GOOD, "djup.html"]
    assert any(DEEP_SENTENCE in text for text in texts_of(store, "djup.html"))
    assert_consistent(store)


def test_deeply_nested_html_without_text_says_why(settings, store, folder):
    (folder / "tom_djup.html").write_text(deep_html(10_000, ""), encoding="utf-8")
    report = run(settings, store, folder)
    assert [s.source for s in report.skipped] == ["tom_djup.html"]
    reason = report.skipped[0].reason
    assert "nested" in reason and "no visible text" in reason, reason
    assert report.added == [GOOD] and sources_in(store) == {GOOD}


# --- 5. limits -----------------------------------------------------------------------------------
def test_file_over_the_size_limit_is_skipped_without_being_read(settings, store, folder):
    big = folder / "stor.txt"
    with open(big, "wb") as handle:  # sparse: 64 MB that take no disk space
        handle.truncate(64 * 1024 * 1024)
    tracemalloc.start()
    try:
        report = run(settings, store, folder)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [s.source for s in report.skipped] == ["stor.txt"]
    assert report.skipped[0].reason == "the file is 64.0 MB, over the limit of 50 MB (setting max_file_mb)"
    assert peak < 32 * 1024 * 1024  # the 64 MB were never read into memory
    assert report.added == [GOOD] and sources_in(store) == {GOOD}


def test_size_limit_setting_is_honoured_and_keeps_an_earlier_version(settings, store, folder):
    (folder / "växer.txt").write_text(OTHER_TEXT, encoding="utf-8")
    first = run(settings, store, folder)
    assert first.ok
    before = store.all_metadata()

    (folder / "växer.txt").write_text(OTHER_TEXT + "\nMer text om Ronneby.\n" * 200, encoding="utf-8")
    small = settings.model_copy(update={"max_file_mb": 0.002})  # ~2 KB
    embedder = FakeEmbedder()
    second = run(small, store, folder, embedder=embedder)
    assert [(s.source, s.reason) for s in second.skipped] == [
        ("växer.txt", "the file is 0.0 MB, over the limit of 0.002 MB (setting max_file_mb)")
    ]
    assert second.unchanged == [GOOD] and embedder.embedded_texts == []
    assert store.all_metadata() == before  # the earlier version is still indexed, unchanged


def many_sections(count: int, word: str = "Avsnitt") -> str:
    return "\n\n".join(f"# {word} {i}\n\n{word} {i} handlar om kultur i Blekinge nummer {i}." for i in range(count))


def test_document_over_the_chunk_limit_is_skipped_before_embedding(settings, store, folder):
    (folder / "lång.md").write_text(many_sections(3), encoding="utf-8")
    first = run(settings.model_copy(update={"max_chunks_per_document": 5}), store, folder)
    assert first.ok and len(texts_of(store, "lång.md")) == 3
    before = store.all_metadata()

    (folder / "lång.md").write_text(many_sections(8, "Kapitel"), encoding="utf-8")
    embedder = FakeEmbedder()
    second = run(settings.model_copy(update={"max_chunks_per_document": 5}), store, folder, embedder=embedder)

    assert [(s.source, s.reason) for s in second.skipped] == [
        ("lång.md", "the document has 8 chunks, over the limit of 5 (setting max_chunks_per_document)")
    ]
    assert embedder.embedded_texts == []  # nothing of it was embedded
    assert store.all_metadata() == before  # its earlier version stays
    assert_consistent(store)


def test_estimate_is_given_before_embedding_a_large_input(settings, store, folder):
    count = pipeline.ESTIMATE_MIN_CHUNKS + 10
    (folder / "stor.md").write_text(many_sections(count), encoding="utf-8")
    fast = settings.model_copy(update={"embedding_batch_size": 256})
    embedder = FakeEmbedder()
    seen: list[tuple[pipeline.IngestEstimate, int]] = []

    report = run(fast, store, folder, embedder=embedder, on_estimate=lambda e: seen.append((e, embedder.batches)))

    assert report.ok and report.embedded_chunks == count + 2
    assert len(seen) == 1 and seen[0][1] == 0  # once, before the first batch was embedded
    estimate = seen[0][0]
    assert report.estimate == estimate and estimate.chunks == count + 2
    minutes = max(1, round((count + 2) / throughput.DEFAULT_CHUNKS_PER_SECOND / 60))
    assert estimate.message == f"about {count + 2} chunks to embed, estimated {minutes} min"
    assert_consistent(store)


def test_the_next_estimate_uses_the_rate_this_machine_measured(settings, store, folder):
    # 100 chunks/s after a first batch that also "loads the model" for 2 s: 100, not 34, is measured.
    (folder / "mellan.md").write_text(many_sections(100), encoding="utf-8")
    run(settings, store, folder, embedder=SlowEmbedder(seconds_per_chunk=0.01, first_batch_seconds=2.0))
    rate = throughput.expected_rate(settings.data_dir, SlowEmbedder.name)
    assert 80 < rate <= 100

    (folder / "stor.md").write_text(many_sections(pipeline.ESTIMATE_MIN_CHUNKS + 10), encoding="utf-8")
    seen = []
    run(settings, store, folder, embedder=SlowEmbedder(seconds_per_chunk=0.0), on_estimate=seen.append)
    assert seen and seen[0].seconds == pytest.approx(seen[0].chunks / rate)
    # another model's rate is its own; a broken rate file falls back to the default
    assert throughput.expected_rate(settings.data_dir, "annan-modell") == throughput.DEFAULT_CHUNKS_PER_SECOND
    (settings.data_dir / throughput.RATE_FILE).write_text("{inte json", encoding="utf-8")
    assert throughput.expected_rate(settings.data_dir, SlowEmbedder.name) == throughput.DEFAULT_CHUNKS_PER_SECOND


def test_a_short_run_leaves_the_measured_rate_alone(settings, store, folder):
    run(settings, store, folder, embedder=SlowEmbedder(seconds_per_chunk=0.001))
    assert not (settings.data_dir / throughput.RATE_FILE).exists()  # too few chunks to say the speed


def test_no_estimate_for_a_small_input(settings, store, folder):
    seen = []
    report = run(settings, store, folder, on_estimate=seen.append)
    assert report.ok and report.estimate is None and seen == []


# --- 6. files that change while the run goes on ----------------------------------------------------
class ChangingFiles(Ingestor):
    """Runs an action (delete, rewrite) just before the named file is read."""

    actions: dict = {}

    def _plan(self, file, report):
        if action := self.actions.pop(file.source, None):
            action()
        return super()._plan(file, report)


class ChangingEmbedder(FakeEmbedder):
    """Runs an action while the first batch is being embedded (after every file was read)."""

    def __init__(self, action):
        super().__init__()
        self.action = action

    def _encode(self, texts):
        if self.action:
            self.action, action = None, self.action
            action()
        return super()._encode(texts)


def test_file_deleted_before_it_is_read_is_one_skip_and_its_chunks_stay(settings, store, folder):
    (folder / "plan.txt").write_text(OTHER_TEXT, encoding="utf-8")
    assert run(settings, store, folder).ok
    before = store.all_metadata()
    (folder / GOOD).write_text(GOOD_TEXT + "\nNytt stycke om Sölvesborg.\n", encoding="utf-8")

    ChangingFiles.actions = {"plan.txt": (folder / "plan.txt").unlink}
    report = run(settings, store, folder, ingestor=ChangingFiles, prune=True)

    assert [(s.source, s.reason) for s in report.skipped] == [
        ("plan.txt", "the file disappeared before it could be read (deleted or moved during the ingest)")
    ]
    assert report.updated == [GOOD] and report.removed == []
    after = store.all_metadata()
    assert {i: m for i, m in after.items() if m["source"] == "plan.txt"} == {
        i: m for i, m in before.items() if m["source"] == "plan.txt"
    }  # not lost, even with --prune
    assert_consistent(store)


def test_files_rewritten_and_deleted_during_embedding(settings, store, folder):
    (folder / "plan.txt").write_text(OTHER_TEXT, encoding="utf-8")
    (folder / "gammal.txt").write_text("Gammal text\n\nOm Olofström och dess bibliotek.\n", encoding="utf-8")
    assert run(settings, store, folder).ok
    (folder / GOOD).write_text(GOOD_TEXT + "\nNytt stycke om Sölvesborg.\n", encoding="utf-8")
    changed = "Ny version\n\nKarlshamn får ett nytt kulturhus i hamnen.\n"

    def meddle():
        (folder / "plan.txt").write_text(changed, encoding="utf-8")
        (folder / "gammal.txt").unlink()

    report = run(settings, store, folder, embedder=ChangingEmbedder(meddle))
    assert report.ok and report.updated == [GOOD]
    assert_consistent(store)
    assert texts_of(store, "plan.txt") == ["Ronneby kulturcentrum visar samtida konst och har en musikskola."]

    again = run(settings, store, folder, prune=True)  # the next run catches up with both changes
    assert again.ok and again.updated == ["plan.txt"] and again.removed == ["gammal.txt"]
    assert texts_of(store, "plan.txt") == ["Karlshamn får ett nytt kulturhus i hamnen."]
    assert sources_in(store) == {GOOD, "plan.txt"}
    assert_consistent(store)


def test_same_name_from_two_places_is_one_document(settings, store, tmp_path):
    for name, text in (("a", GOOD_TEXT), ("b", OTHER_TEXT)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "plan.txt").write_text(text, encoding="utf-8")

    report = run(settings, store, tmp_path / "a", tmp_path / "b")

    assert report.added == ["plan.txt"] and [s.source for s in report.skipped] == ["plan.txt"]
    assert "same name" in report.skipped[0].reason and str(tmp_path / "a" / "plan.txt") in report.skipped[0].reason
    assert sources_in(store) == {"plan.txt"} and any("kulturhus" in t for t in texts_of(store, "plan.txt"))
    assert len(store.document_chunks(document_id("plan.txt"))) == len(texts_of(store, "plan.txt"))
    assert_consistent(store)


def test_folder_and_a_file_in_it_given_both_is_no_skip(settings, store, folder):
    report = run(settings, store, folder, folder / GOOD)
    assert report.ok and report.added == [GOOD]
    assert_consistent(store)
