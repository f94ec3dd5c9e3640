"""`kulturplan ask`, the installed console script run as a subprocess like a user runs it.

It reuses the session's real index (corpus/ ingested with the real EmbeddingGemma). The two answering
runs load the embedding model (~15 s each); the error cases fail before any model is loaded.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SEED

pytestmark = pytest.mark.integration

KULTURPLAN = Path(sys.executable).with_name("kulturplan")
ANSWER_KEYS = {"answer", "refused", "citations", "retrieved", "timings"}
CITATION_KEYS = {"n", "source", "title", "section", "page", "text"}
RETRIEVED_KEYS = {"source", "page", "score"}
FIRST_QUESTION = "Vilken kultur finns i Ronneby?"


@pytest.fixture(scope="module", autouse=True)
def console_script() -> None:
    if not KULTURPLAN.is_file():
        pytest.skip(f"the console script is not installed next to {sys.executable} (pip install -e .)")


@pytest.fixture(scope="module")
def run(real_index):
    """Run `kulturplan ask ...` with the settings the real index was built with, offline."""

    def run(*args, data_dir: Path | None = None) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "KULTURPLAN_MODELS_DIR": str(real_index.models_root),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "ANONYMIZED_TELEMETRY": "False",
        }
        command = [str(KULTURPLAN), "ask", *map(str, args), "--data-dir", str(data_dir or real_index.data_dir)]
        # The working folder of the test session, so that the same configuration file (if any) applies.
        return subprocess.run(command, cwd=Path.cwd(), env=env, capture_output=True, text=True, timeout=600)

    return run


def assert_one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert not result.stdout.strip(), result.stdout
    return lines[0]


def parse_answer(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == ANSWER_KEYS
    assert isinstance(data["answer"], str) and data["answer"].strip()
    assert data["refused"] is False
    assert isinstance(data["timings"], dict) and data["timings"]
    assert all(isinstance(v, (int, float)) for v in data["timings"].values())
    assert data["retrieved"]
    for row in data["retrieved"]:
        assert set(row) == RETRIEVED_KEYS
        assert row["source"] == SEED.name
        assert row["page"] is None or isinstance(row["page"], int)
        assert isinstance(row["score"], (int, float))
    assert data["citations"]
    for n, citation in enumerate(data["citations"], start=1):
        assert set(citation) == CITATION_KEYS
        assert citation["n"] == n
        assert citation["source"] == SEED.name
        assert citation["text"].strip()
    cited = {c["n"] for c in data["citations"]}
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", data["answer"])}
    assert markers, data["answer"]
    assert markers <= cited, (markers, cited, data["answer"])
    return data


def test_ask_json_and_a_follow_up_from_a_history_file(run, tmp_path):
    first = run(FIRST_QUESTION, "--json", "--generator", "extractive")
    data = parse_answer(first)
    assert "konstresurscentrum" in data["answer"].lower(), data["answer"]

    history = tmp_path / "history.json"
    history.write_text(
        json.dumps(
            [{"role": "user", "content": FIRST_QUESTION}, {"role": "assistant", "content": data["answer"]}],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    follow_up = run("Och i Olofström?", "--json", "--generator", "extractive", "--history", history)
    data = parse_answer(follow_up)
    text = data["answer"]
    assert "Olofström" in text, text
    assert "litterär nod" in text or "Harry Martinson" in text, text


def test_user_errors_exit_2_with_one_line(run, tmp_path):
    empty_question = assert_one_error_line(run("", "--generator", "extractive"))
    assert "Skriv en fråga om kulturplanen." in empty_question
    assert_one_error_line(run("   ", "--json", "--generator", "extractive"))

    bad = tmp_path / "bad.json"
    bad.write_text("[{not json", encoding="utf-8")
    line = assert_one_error_line(run(FIRST_QUESTION, "--history", bad, "--generator", "extractive"))
    assert "history" in line and str(bad) in line
    wrong_shape = tmp_path / "wrong.json"
    wrong_shape.write_text(json.dumps([{"role": "system", "content": "x"}]), encoding="utf-8")
    assert "history" in assert_one_error_line(run(FIRST_QUESTION, "--history", wrong_shape))
    missing = assert_one_error_line(run(FIRST_QUESTION, "--history", tmp_path / "missing.json"))
    assert "history" in missing

    empty_index = tmp_path / "empty-index"
    empty_index.mkdir()
    line = assert_one_error_line(run(FIRST_QUESTION, "--generator", "extractive", data_dir=empty_index))
    assert "empty" in line and "kulturplan ingest" in line
