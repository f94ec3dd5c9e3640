"""The CI helper that retries network steps (.ci/retry.sh): a cut download must not fail CI at once."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

RETRY = Path(__file__).resolve().parents[1] / ".ci" / "retry.sh"


def run_retry(attempts: int, script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RETRY_DELAY": "0", "COUNT_FILE": str(tmp_path / "count")}
    return subprocess.run(
        ["bash", str(RETRY), str(attempts), "bash", "-c", script], capture_output=True, text=True, env=env
    )


# Appends a line per run to COUNT_FILE and fails until the third run.
FLAKY = 'echo run >> "$COUNT_FILE"; [ "$(wc -l < "$COUNT_FILE")" -ge 3 ]'


def runs(tmp_path: Path) -> int:
    return len((tmp_path / "count").read_text().splitlines())


def test_a_command_that_fails_twice_succeeds_on_the_third_attempt(tmp_path):
    result = run_retry(3, FLAKY, tmp_path)
    assert result.returncode == 0
    assert runs(tmp_path) == 3
    assert result.stderr.count("trying again") == 2


def test_a_command_that_keeps_failing_stops_after_the_attempts_with_its_own_status(tmp_path):
    result = run_retry(2, 'echo run >> "$COUNT_FILE"; exit 7', tmp_path)
    assert result.returncode == 7
    assert runs(tmp_path) == 2
    assert "failed 2 times (exit 7)" in result.stderr


def test_a_command_that_succeeds_runs_once(tmp_path):
    result = run_retry(3, 'echo run >> "$COUNT_FILE"', tmp_path)
    assert result.returncode == 0 and runs(tmp_path) == 1 and result.stderr == ""
