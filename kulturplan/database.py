"""The database of feedback and commitments: SQLite files in the data directory, or one shared server.

By default each store is a small SQLite file in the data directory. With the `database_url` setting
(e.g. postgresql+psycopg://kulturplan@127.0.0.1:5432/kulturplan) every store lives in that database
instead, so several chat processes share the feedback and the commitments written by an ingest.

SQLAlchemy Core, one engine per URL for the whole process. Every call is one short transaction on a
connection of its own, so a store is safe from any thread. A SQLite file gets no connection pool (a
file deleted or replaced between calls is simply opened afresh); a server gets a pool that checks a
connection before lending it, so a restarted server is used again without restarting the chat. Any
failure of the database becomes a DatabaseError, a StoreError: the CLI prints it in one line and the
chat treats it like any store that does not answer.
"""

from __future__ import annotations

import os
import re
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import URL, Connection, Engine, MetaData, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import CreateIndex, CreateTable

from kulturplan.store import StoreError

BUSY_TIMEOUT_SECONDS = 10  # SQLite: another process (an ingest, a second chat) may hold the write lock briefly
CONNECT_TIMEOUT_SECONDS = 5  # a server that does not answer is an error after this, not a chat that hangs
URL_EXAMPLE = "postgresql+psycopg://user@127.0.0.1:5432/kulturplan"
# PostgreSQL advisory lock held while tables are created (two chats starting at once must not race).
_SCHEMA_LOCK = zlib.crc32(b"kulturplan schema")


class DatabaseError(StoreError):
    """The feedback and commitments database cannot be reached or used; the message says why in one line."""


_engines: dict[str, Engine] = {}
_ready: set[tuple[str, str]] = set()  # (engine key, store name) whose tables exist on a server
_lock = threading.Lock()


def redacted(url: str | URL) -> str:
    """The URL to show in a message: its password, if any, as ***."""
    try:
        return (url if isinstance(url, URL) else make_url(url)).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "database_url"  # not a URL: better not echo it, it may hold a password


def parse_url(url: str) -> URL:
    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        raise DatabaseError(f"database_url must look like {URL_EXAMPLE}") from None


def engine_for(url: URL) -> Engine:
    """The process's one engine for `url` (created on first use)."""
    key = url.render_as_string(hide_password=False)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = _create_engine(url)
        return engine


def _create_engine(url: URL) -> Engine:
    try:
        if url.get_backend_name() == "sqlite":
            return create_engine(url, poolclass=NullPool, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})
        connect_args = {}
        if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
            connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    except (ArgumentError, ImportError) as error:  # an unknown kind of database, or its driver is not installed
        raise DatabaseError(f"cannot use the database at {redacted(url)}: {_one_line(error)}") from error


def _forget_engines_in_child() -> None:
    """A forked child must not share the parent's pooled connections: it opens its own."""
    global _lock
    _lock = threading.Lock()
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


os.register_at_fork(after_in_child=_forget_engines_in_child)


def _one_line(error: BaseException) -> str:
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    message = re.sub(r"\(Background on this error at: [^)]*\)", "", str(cause))
    return " ".join(message.split()) or type(cause).__name__


class Database:
    """One store's tables (`metadata`) in a SQLite file at `path` or in the database at `url`."""

    def __init__(self, name: str, metadata: MetaData, *, url: str = "", path: Path | str | None = None):
        if not url and path is None:
            raise ValueError("a database needs a url or a path")
        self.name, self.metadata = name, metadata
        self.path = None if url else Path(path)  # type: ignore[arg-type]
        self.url = parse_url(url) if url else URL.create("sqlite", database=str(self.path))
        self._write_lock = zlib.crc32(f"kulturplan {name}".encode())

    @property
    def where(self) -> str:
        """The file or (password hidden) URL, for messages."""
        return str(self.path) if self.path is not None else redacted(self.url)

    def exists(self) -> bool:
        """False only for a SQLite file not created yet (nothing stored, nothing to read)."""
        return self.path is None or self.path.exists()

    def check(self) -> None:
        """Reach the database and create the tables if needed; DatabaseError says why not."""
        with self.transaction():
            pass

    @contextmanager
    def transaction(self, write: bool = False) -> Iterator[Connection]:
        """A connection in one transaction: committed on success, rolled back on error.

        `write=True` makes writers of this store take turns on a server (a PostgreSQL advisory lock
        held until commit), as SQLite's file lock makes them do, so that two processes replacing the
        same rows at once do not collide."""
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise DatabaseError(f"cannot create the folder of {self.path}: {error}") from error
        engine = engine_for(self.url)
        ready = (self.url.render_as_string(hide_password=False), self.name)
        try:
            connection = engine.connect()
        except SQLAlchemyError as error:
            raise DatabaseError(f"cannot reach the database at {self.where}: {_one_line(error)}") from error
        try:
            with connection, connection.begin():
                postgres = connection.dialect.name == "postgresql"
                # A file may have been deleted since the last call: SQLite checks every time (cheap).
                if self.path is not None or ready not in _ready:
                    if postgres:
                        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
                    _create_tables(connection, self.metadata)
                if write and postgres:
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": self._write_lock})
                yield connection
        except SQLAlchemyError as error:
            _ready.discard(ready)  # tables dropped behind our back are created again by the next call
            raise DatabaseError(f"the database at {self.where} failed: {_one_line(error)}") from error
        if self.path is None:
            _ready.add(ready)


def _create_tables(connection: Connection, metadata: MetaData) -> None:
    """CREATE … IF NOT EXISTS, statement by statement: threads and processes that open the same new
    file at once do not race (SQLAlchemy's checkfirst looks, then creates, and two can both look)."""
    for table in metadata.sorted_tables:
        connection.execute(CreateTable(table, if_not_exists=True))
        for index in table.indexes:
            connection.execute(CreateIndex(index, if_not_exists=True))
