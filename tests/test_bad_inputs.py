"""Bad files next to a good one: each is skipped once with a clear reason, nothing crashes, and nothing
already in the index is lost."""

from __future__ import annotations

import importlib.util
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

import fixture_docs as docs
from ingest.pipeline import Ingestor, IngestReport
from kulturplan.store import ChunkStore

from conftest import GOOD
from fakes import FakeEmbedder

pytestmark = pytest.mark.faults



def write_empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def write_blank(path: Path) -> Path:
    path.write_text(" \n\n\t\n", encoding="utf-8")
    return path


def write_only_page_chrome(path: Path) -> Path:
    path.write_text("Hjälpte informationen på sidan dig?\nJa / Nej\n", encoding="utf-8")
    return path


def write_html_app_shell(path: Path) -> Path:
    """A page saved from a JavaScript app: the content was never in the HTML."""
    path.write_text(
        "<html><head><title>Kulturplan</title></head><body><div id=\"app\"></div>"
        "<script>window.render('#app')</script><footer>Region Blekinge</footer></body></html>",
        encoding="utf-8",
    )
    return path


def write_unreadable(path: Path) -> Path:
    """A regular file that cannot be read, even by root: /proc/self/mem fails at offset 0 with EIO."""
    path.symlink_to("/proc/self/mem")
    return path


def write_pptx(path: Path) -> Path:
    docs.write_xlsx(path)  # any zip: the extension alone decides that the format is unsupported
    return path


CAN_FAIL_READING = Path("/proc/self/mem").is_file()
HAS_CRYPTOGRAPHY = importlib.util.find_spec("cryptography") is not None

# name -> (generator, words the reason must contain)
BAD_FILES: dict[str, tuple[Callable[[Path], Path], tuple[str, ...]]] = {
    "tom.txt": (write_empty, ("empty",)),
    "blank.md": (write_blank, ("empty",)),
    "bara_sidfot.txt": (write_only_page_chrome, ("no text",)),
    "meny.html": (write_html_app_shell, ("no main content",)),
    "binär.txt": (docs.write_binary, ("binary",)),
    "avbruten.pdf": (docs.write_truncated_pdf, ("corrupt", "PDF")),
    "lösenord.pdf": (docs.write_encrypted_pdf, ("encrypted", "password")),
    "skannad.pdf": (docs.write_pdf_without_text, ("no text layer",)),
    "avbruten.docx": (docs.write_truncated_docx, ("corrupt", "DOCX")),
    "trasig_xml.docx": (docs.write_docx_with_broken_xml, ("corrupt", "XML")),
    "trasig_zip.docx": (docs.write_docx_with_corrupt_stream, ("corrupt", "DOCX")),
    "skyddad.docx": (docs.write_password_protected_docx, ("password", "encrypted")),
    "tabell.xlsx": (docs.write_xlsx, ("unsupported", ".xlsx")),
    "bilder.pptx": (write_pptx, ("unsupported", ".pptx")),
}
if CAN_FAIL_READING:
    BAD_FILES["oläsbar.txt"] = (write_unreadable, ("cannot read",))
if not HAS_CRYPTOGRAPHY:  # with `cryptography` installed, an owner-password-only AES PDF is readable
    BAD_FILES["aes.pdf"] = (docs.write_aes_encrypted_pdf, ("AES", "cryptography"))


def run(settings, store, *paths: Path, embedder: FakeEmbedder | None = None) -> IngestReport:
    return Ingestor(settings, store, embedder or FakeEmbedder()).run(list(paths), progress=False)


def sources_in(store: ChunkStore) -> set[str]:
    return {d.source for d in store.documents()}


def assert_good_file_ingested(report: IngestReport, store: ChunkStore) -> None:
    assert report.added == [GOOD]
    good = [c for c in store.all_chunks() if c.source == GOOD]
    assert good and any("kulturhus" in c.text for c in good)
    assert sources_in(store) == {GOOD}  # nothing of a bad file reached the index


def assert_clear_reason(reason: str, words: tuple[str, ...]) -> None:
    for word in words:
        assert word.lower() in reason.lower(), f"{word!r} not in {reason!r}"
    assert reason.isprintable() and "\n" not in reason  # one line, no raw bytes
    assert "Traceback" not in reason and len(reason) < 200




@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_file_is_skipped_once_with_a_clear_reason(settings, store, folder, name):
    write, words = BAD_FILES[name]
    write(folder / name)
    report = run(settings, store, folder)
    assert [s.source for s in report.skipped] == [name]
    assert_clear_reason(report.skipped[0].reason, words)
    assert not report.ok
    assert_good_file_ingested(report, store)


def test_all_bad_files_together(settings, store, folder):
    for name, (write, _) in BAD_FILES.items():
        write(folder / name)
    report = run(settings, store, folder)
    counts = Counter(s.source for s in report.skipped)
    assert counts == Counter(list(BAD_FILES))  # exactly one entry per bad file, none for the good one
    for skipped in report.skipped:
        assert_clear_reason(skipped.reason, BAD_FILES[skipped.source][1])
    assert not report.ok
    assert_good_file_ingested(report, store)


def test_bad_file_given_by_path_is_skipped_too(settings, store, folder, tmp_path):
    bad = docs.write_truncated_pdf(tmp_path / "rapport.pdf")
    report = run(settings, store, folder / GOOD, bad)
    assert [(s.source, "corrupt" in s.reason) for s in report.skipped] == [("rapport.pdf", True)]
    assert_good_file_ingested(report, store)


def test_missing_path_is_reported(settings, store, folder, tmp_path):
    report = run(settings, store, folder, tmp_path / "finns_inte.pdf")
    assert len(report.skipped) == 1 and "finns_inte.pdf" in report.skipped[0].source
    assert "no such file" in report.skipped[0].reason
    assert_good_file_ingested(report, store)


# --- a good file that later turns bad ----------------------------------------------------------
CORRUPTIONS: dict[str, tuple[Callable[[Path], Path], Callable[[Path], Path], str]] = {
    "plan.pdf": (docs.write_pdf, docs.write_truncated_pdf, "corrupt"),
    "plan.docx": (docs.write_docx, docs.write_truncated_docx, "corrupt"),
    "plan.txt": (lambda p: docs.write_text(p, docs.LEGACY_TEXT), docs.write_binary, "binary"),
    "plan.html": (docs.write_html, write_empty, "empty"),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_file_that_becomes_corrupt_keeps_its_indexed_chunks(settings, store, folder, name):
    write_good, write_bad, word = CORRUPTIONS[name]
    write_good(folder / name)
    first = run(settings, store, folder)
    assert first.ok and sorted(first.added) == sorted([GOOD, name])
    before = {i: m for i, m in store.all_metadata().items()}
    texts_before = sorted(c.text for c in store.all_chunks() if c.source == name)
    assert texts_before

    write_bad(folder / name)
    embedder = FakeEmbedder()
    second = run(settings, store, folder, embedder=embedder)
    assert [s.source for s in second.skipped] == [name] and word in second.skipped[0].reason
    assert second.unchanged == [GOOD] and second.deleted_chunks == 0 and embedder.embedded_texts == []
    assert store.all_metadata() == before  # every chunk, with its metadata, is still there
    assert sorted(c.text for c in store.all_chunks() if c.source == name) == texts_before

    write_good(folder / name)  # repaired: the same bytes again, so nothing needs embedding
    third = run(settings, store, folder, embedder=FakeEmbedder())
    assert third.ok and sorted(third.unchanged) == sorted([GOOD, name])


# --- the CLI -------------------------------------------------------------------------------------
def test_cli_reports_each_skipped_file_on_one_line_and_exits_non_zero(fake_backend, folder, tmp_path):
    from typer.testing import CliRunner

    from cli import app

    for name, (write, _) in BAD_FILES.items():
        write(folder / name)
    result = CliRunner().invoke(app, ["ingest", "--quiet", "--data-dir", str(tmp_path / "data"), str(folder)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a crash
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    # stderr holds the skipped lines and nothing else (no library warnings in between).
    assert all(line.startswith("skipped ") for line in lines), lines
    assert len(lines) == len(BAD_FILES)
    for name, (_, words) in BAD_FILES.items():
        line = next(line for line in lines if line.startswith(f"skipped {name}: "))
        assert_clear_reason(line.split(": ", 1)[1], words)
    assert "1 added" in result.stdout and f"{len(BAD_FILES)} skipped" in result.stdout


def test_cli_exits_zero_when_nothing_is_skipped(fake_backend, folder, tmp_path):
    from typer.testing import CliRunner

    from cli import app

    result = CliRunner().invoke(app, ["ingest", "--quiet", "--data-dir", str(tmp_path / "data"), str(folder)])
    assert result.exit_code == 0, result.output
    assert result.stderr == "" and "1 added" in result.stdout and "0 skipped" in result.stdout
