"""Small helpers for the benchmarks' server processes: a free port, "does it answer", a clean stop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers_http(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_until_answering(url: str, process: subprocess.Popen | None, timeout: float) -> bool:
    """Poll `url` until it answers 200; False when `process` exits or `timeout` passes first."""
    deadline = time.monotonic() + timeout
    while not answers_http(url):
        if (process is not None and process.poll() is not None) or time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def stop(process: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGTERM, then SIGKILL if it has not ended within `timeout`."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def memory_mib(pid: int, field: str = "VmRSS") -> float | None:
    """A process's memory from /proc in MiB: "VmRSS" now, "VmHWM" its peak; None once it has ended."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class ChromaServer:
    """`chroma run` on a loopback port, persisting into `root/db`; can be stopped and started again
    on the same port and data (the benchmarks' server, and the tests' through tests/chroma_process.py)."""

    executable = Path(sys.executable).with_name("chroma")

    def __init__(self, root: Path, port: int | None = None):
        self.root, self.port = root, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = root / "chroma.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90.0) -> "ChromaServer":
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        command = [str(self.executable), "run", "--path", str(self.root / "db"), "--host", "127.0.0.1",
                   "--port", str(self.port)]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=env)  # fmt: skip
        if not wait_until_answering(self.url + "/api/v2/heartbeat", self.process, timeout):
            self.stop()
            raise RuntimeError(f"the Chroma server did not start:\n{self.log_path.read_text()[-2000:]}")
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process, timeout=20)
            self.process = None

    def __enter__(self) -> "ChromaServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
