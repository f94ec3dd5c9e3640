"""A PostgreSQL server on a loopback port (initdb + pg_ctl in a temporary folder), for the tests that need one.

Debian's server binaries (`apt-get install postgresql`, done by .ci/run) are used; nothing is installed
or started system-wide. The cluster trusts connections from 127.0.0.1 only and listens on no Unix
socket. PostgreSQL refuses to run as root: as root, initdb and pg_ctl run as the `postgres` user
(`runuser -u postgres --`) in a folder it owns, outside pytest's root-only temporary folders.

Use the fixtures by importing them into a test module:

    from postgres_process import postgres_server, postgres_url  # noqa: F401
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import free_port

USER = "postgres"  # the cluster's superuser, and the OS user that runs it when the tests run as root
START_TIMEOUT = 60
MISSING = (
    "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: `.ci/run` installs them "
    "(apt-get install --no-install-recommends postgresql)"
)
# Nothing here needs to survive a crash: fast settings for a throwaway cluster.
SERVER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB"


def binary(name: str) -> str | None:
    """`name` on PATH, else in Debian's /usr/lib/postgresql/<version>/bin (newest version first)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[4]), reverse=True)
    return candidates[0] if candidates else None


def missing() -> None:
    """Fail in CI (CI=true: .ci/run should have installed the server), skip with the reason elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(MISSING)
    pytest.skip(MISSING)


class PostgresProcess:
    """A throwaway cluster on `port`: `start()` creates and starts it, `stop()` stops it and removes its folder."""

    def __init__(self, port: int):
        self.initdb, self.pg_ctl = binary("initdb"), binary("pg_ctl")
        if not (self.initdb and self.pg_ctl):
            missing()
        self.as_root = os.geteuid() == 0
        if self.as_root and not shutil.which("runuser"):
            pytest.fail("running the tests as root needs `runuser` to start PostgreSQL as the postgres user")
        self.port = port
        self.root: Path | None = None
        self.running = False

    @property
    def data(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        assert self.root is not None
        return self.root / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = START_TIMEOUT) -> subprocess.CompletedProcess:
        command = ["runuser", "-u", USER, "--", *args] if self.as_root else list(args)
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def start(self) -> "PostgresProcess":
        self.root = Path(tempfile.mkdtemp(prefix="kulturplan-pg-"))  # in /tmp: the postgres user can reach it
        if self.as_root:
            shutil.chown(self.root, USER, USER)
        created = self._run(self.initdb, "-D", str(self.data), "-U", USER, "--auth=trust", "--encoding=UTF8",
                            "--locale=C.UTF-8", "--no-sync", "--no-instructions")  # fmt: skip
        if created.returncode != 0:
            self.stop()
            pytest.fail(f"initdb failed:\n{created.stdout[-2000:]}{created.stderr[-2000:]}")
        # Trust only TCP from 127.0.0.1 (no Unix socket, no other address).
        (self.data / "pg_hba.conf").write_text("host all all 127.0.0.1/32 trust\n", encoding="utf-8")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories='' {SERVER_OPTIONS}"
        started = self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.log_path), "-o", options,
                            "-w", "-t", str(START_TIMEOUT), "start")  # fmt: skip
        self.running = True
        if started.returncode != 0:
            log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            self.stop()
            pytest.fail(f"PostgreSQL did not start:\n{started.stdout}{started.stderr}\n{log}")
        return self

    def create_database(self, name: str | None = None) -> str:
        """A new, empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = name or f"kp_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={USER} dbname=postgres", autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast: open connections are cut) and remove its folder; safe to call twice."""
        if self.running and self.root is not None:
            stopped = self._run(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")
            if stopped.returncode != 0:
                self._kill_postmaster()
            self.running = False
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def _kill_postmaster(self) -> None:
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            os.kill(pid, 9)
            time.sleep(0.5)
        except (OSError, ValueError, IndexError):
            pass


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PostgresProcess]:
    """One PostgreSQL server for the test module; always stopped afterwards."""
    server = PostgresProcess(free_port())
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresProcess) -> str:
    """The URL of a fresh, empty database on the module's server."""
    return postgres_server.create_database()
