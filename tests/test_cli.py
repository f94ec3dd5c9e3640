"""The installed `kulturplan` console script, run as a subprocess like a user runs it.

Only the first `ingest` loads the real embedding model (~15 s); every other run either finds the
documents unchanged (no model load: the model is loaded lazily) or fails before any model is needed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import SEED

KULTURPLAN = Path(sys.executable).with_name("kulturplan")
SUMMARY = re.compile(
    r"^(?P<added>\d+) added, (?P<updated>\d+) updated, (?P<unchanged>\d+) unchanged, (?P<removed>\d+) removed, "
    r"(?P<skipped>\d+) skipped; (?P<embedded>\d+) chunks embedded, (?P<kept>\d+) kept, "
    r"(?P<deleted>\d+) deleted in [\d.]+ s$"
)


def kulturplan(*args, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the console script with none of the caller's KULTURPLAN_* variables and no network."""
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("KULTURPLAN_")}
    clean.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    clean.update(env or {})
    return subprocess.run(
        [str(KULTURPLAN), *map(str, args)], cwd=cwd, env=clean, capture_output=True, text=True, timeout=900
    )


def summary(result: subprocess.CompletedProcess) -> dict[str, int]:
    match = SUMMARY.match(result.stdout.strip().splitlines()[-1])
    assert match, result.stdout
    return {key: int(value) for key, value in match.groupdict().items()}


def skipped_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("skipped ")]


def assert_no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr


@pytest.fixture(scope="session", autouse=True)
def console_script() -> None:
    if not KULTURPLAN.is_file():
        pytest.skip(f"the console script is not installed next to {sys.executable} (pip install -e .)")


# --- with the real embedding model ----------------------------------------------------------------
@dataclass
class Indexed:
    work: Path  # the working folder of every run (no kulturplan.toml in it)
    corpus: Path
    data_dir: Path
    models_env: dict[str, str]
    first: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, real_settings_base) -> Indexed:
    """`kulturplan ingest <corpus copy> --data-dir <tmp>`, run once for this module."""
    work = tmp_path_factory.mktemp("cli")
    corpus = work / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    models_env = {"KULTURPLAN_MODELS_DIR": str(real_settings_base.models_root)}
    data_dir = work / "index"
    first = kulturplan("ingest", corpus, "--data-dir", data_dir, cwd=work, env=models_env)
    return Indexed(work, corpus, data_dir, models_env, first)


@pytest.mark.integration
def test_ingest_then_sources_lists_the_seed_document(indexed):
    first = indexed.first
    assert first.returncode == 0, first.stderr
    assert_no_traceback(first)
    assert skipped_lines(first) == []
    counts = summary(first)
    assert (counts["added"], counts["updated"], counts["unchanged"], counts["skipped"]) == (1, 0, 0, 0)
    chunks = counts["embedded"]
    assert chunks > 3 and counts["kept"] == 0
    assert (indexed.data_dir / "chroma").is_dir()

    table = kulturplan("sources", "--data-dir", indexed.data_dir, cwd=indexed.work)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["source", "format", "chunks", "pages", "region", "period", "title"]
    assert len(rows) == 1
    assert re.fullmatch(rf"samverkan_med_kommunerna\.txt +txt +{chunks} +Blekinge +- +Samverkan med kommunerna", rows[0])

    as_json = kulturplan("sources", "--json", "--data-dir", indexed.data_dir, cwd=indexed.work)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == [
        {
            "source": "samverkan_med_kommunerna.txt",
            "title": "Samverkan med kommunerna",
            "format": "txt",
            "chunks": chunks,
            "pages": None,
            "region": "Blekinge",
            "period_start": None,
            "period_end": None,
        }
    ]


@pytest.mark.integration
def test_second_ingest_with_data_dir_from_env_embeds_nothing(indexed):
    env = {**indexed.models_env, "KULTURPLAN_DATA_DIR": str(indexed.data_dir)}
    again = kulturplan("ingest", indexed.corpus, cwd=indexed.work, env=env)
    assert again.returncode == 0, again.stderr
    assert_no_traceback(again)
    counts = summary(again)
    assert (counts["added"], counts["unchanged"], counts["embedded"], counts["deleted"]) == (0, 1, 0, 0)
    assert counts["kept"] == 0  # unchanged documents are not even chunked again
    # The env variable chose the index: nothing was created at the default ./.kulturplan.
    assert not (indexed.work / ".kulturplan").exists()

    listed = kulturplan("sources", "--json", cwd=indexed.work, env=env)
    assert [row["source"] for row in json.loads(listed.stdout)] == ["samverkan_med_kommunerna.txt"]


@pytest.mark.integration
def test_folder_with_a_bad_file_exits_1_with_one_skipped_line(indexed, tmp_path):
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(SEED, mixed / SEED.name)  # already indexed, unchanged: no model load needed
    (mixed / "trasig.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nnot really a pdf\n")
    result = kulturplan("ingest", mixed, "--data-dir", indexed.data_dir, "--quiet", cwd=indexed.work)
    assert result.returncode == 1
    assert_no_traceback(result)
    (line,) = skipped_lines(result)
    assert line.startswith("skipped trasig.pdf: ") and "corrupt" in line and "PDF" in line, line
    counts = summary(result)
    assert (counts["unchanged"], counts["skipped"], counts["embedded"]) == (1, 1, 0)


@pytest.mark.integration
def test_models_status_lists_both_models_as_ok(indexed):
    from kulturplan.models import MODELS

    result = kulturplan("models", "status", cwd=indexed.work, env=indexed.models_env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(MODELS) == 2
    for name, line in zip(MODELS, lines):
        assert line.split()[:2] == ["ok", name]


# --- failures before any model is needed -----------------------------------------------------------
def test_missing_path_is_one_clear_skipped_line(tmp_path):
    missing = tmp_path / "finns-inte.pdf"
    result = kulturplan("ingest", missing, "--data-dir", tmp_path / "index", "--quiet", cwd=tmp_path)
    assert result.returncode == 1
    assert_no_traceback(result)
    assert skipped_lines(result) == [f"skipped {missing}: no such file or folder"]
    counts = summary(result)
    assert (counts["added"], counts["skipped"], counts["embedded"]) == (0, 1, 0)


def test_invalid_config_exits_2_with_one_line(tmp_path):
    result = kulturplan(
        "ingest", tmp_path, "--data-dir", tmp_path / "index", cwd=tmp_path,
        env={"KULTURPLAN_EMBEDDING_BATCH_SIZE": "abc"},
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: invalid configuration: embedding_batch_size: "
        "Input should be a valid integer, unable to parse string as an integer"
    ]
    assert not (tmp_path / "index").exists()


def test_unreachable_chroma_server_exits_2_with_one_line(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free again once closed: nothing listens there
    result = kulturplan("sources", "--chroma-url", f"http://127.0.0.1:{port}", cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: cannot open the Chroma store at http://127.0.0.1:{port}: ")
    assert not (tmp_path / ".kulturplan").exists()


def test_sources_of_an_empty_index_says_how_to_fill_it(tmp_path):
    result = kulturplan("sources", "--data-dir", tmp_path / "index", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == "No documents indexed yet: run `kulturplan ingest`.\n"
