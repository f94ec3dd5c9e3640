"""A Chroma server process on a loopback port for the tests that need a real server: the benchmarks'
`evals.processes.ChromaServer`, skipped when the `chroma` executable is missing, a test failure when
it does not start."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from evals.processes import ChromaServer


class ChromaProcess(ChromaServer):
    """`chroma run` persisting into `root/db` on `port`; can be stopped and started again."""

    def __init__(self, root: Path, port: int):
        if not self.executable.is_file():
            pytest.skip(f"no chroma executable next to {sys.executable}")
        super().__init__(root, port)

    def start(self, timeout: float = 60.0) -> "ChromaProcess":
        try:
            super().start(timeout)
        except RuntimeError as error:
            pytest.fail(str(error))
        return self
