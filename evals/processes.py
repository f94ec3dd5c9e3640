"""Small helpers for the benchmarks' server processes: a free port, "does it answer", a clean stop."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request


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
