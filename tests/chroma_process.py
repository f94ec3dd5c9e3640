"""A Chroma server process on a loopback port (`chroma run`), for the tests that need a real server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMA = Path(sys.executable).with_name("chroma")
# chromadb 1.x serves only the v2 API; /api/v1/heartbeat answers 410 Gone.
HEARTBEAT = "/api/v2/heartbeat"
START_TIMEOUT = 60.0


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + HEARTBEAT, timeout=1) as response:
            return response.status == 200 and b"heartbeat" in response.read()
    except OSError:
        return False


class ChromaProcess:
    """`chroma run` persisting into `root/db` on `port`; can be stopped and started again."""

    def __init__(self, root: Path, port: int):
        if not CHROMA.is_file():
            pytest.skip(f"no chroma executable next to {sys.executable}")
        self.root, self.port = root, port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = root / "server.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "ChromaProcess":
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(CHROMA), "run", "--path", str(self.root / "db"), "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while not answers(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"chroma server did not start:\n{self.log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()  # the server shuts down gracefully on SIGTERM, within a few seconds
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
