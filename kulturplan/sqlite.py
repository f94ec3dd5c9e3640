"""The one way the app opens its small SQLite files: a short-lived connection, one transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

BUSY_TIMEOUT_SECONDS = 10  # another process (an ingest, a second chat) may hold the write lock briefly


@contextmanager
def transaction(path: Path, schema: str = "") -> Iterator[sqlite3.Connection]:
    """A connection to `path` (created with its folder and `schema` if needed) that commits on
    success and rolls back on error; safe from any thread because it lives for one call."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS)) as connection:
        with connection:
            if schema:
                connection.executescript(schema)
            yield connection
