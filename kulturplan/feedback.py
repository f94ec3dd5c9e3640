"""👍/👎 feedback on answers, in SQLite in the data directory or in the shared database (`database_url`).

Only what is needed to improve the answers is stored: the question, the answer, its sources, the
rating, the optional comment and a UTC timestamp. No IP address, user agent, session id or any
other data about the person is recorded.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from sqlalchemy import CheckConstraint, Column, Integer, MetaData, Table, Text, insert, select

from kulturplan.config import Settings
from kulturplan.csvsafe import neutralise_formula
from kulturplan.database import Database

FEEDBACK_FILE = "feedback.sqlite3"
RATINGS = ("up", "down")
MAX_COMMENT_CHARS = 2000
COLUMNS = ("id", "created_at", "rating", "question", "answer", "citations", "comment")

_METADATA = MetaData()
_FEEDBACK = Table(
    "feedback",
    _METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", Text, nullable=False),  # UTC, ISO 8601
    Column("rating", Text, CheckConstraint("rating IN ('up', 'down')"), nullable=False),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("citations", Text, nullable=False),  # JSON list of the answer's sources
    Column("comment", Text, nullable=False, server_default=""),
    sqlite_autoincrement=True,  # ids are never reused, as in the first version of the file
)


def feedback_path(settings: Settings) -> Path:
    return settings.data_dir / FEEDBACK_FILE


class FeedbackStore:
    """One SQLite file at `path`, or the table `feedback` in the database at `url` (then `path` is
    None); a short transaction per call, so it is safe from any thread and from other processes."""

    def __init__(self, path: Path | str | None = None, *, url: str = ""):
        self.db = Database("feedback", _METADATA, url=url, path=path)
        self.path = self.db.path

    @classmethod
    def for_settings(cls, settings: Settings) -> "FeedbackStore":
        return cls(feedback_path(settings), url=settings.database_url)

    @property
    def where(self) -> str:
        return self.db.where

    def check(self) -> None:
        """Reach the database (and create the table); DatabaseError says why not."""
        self.db.check()

    def add(self, question: str, answer_text: str, citations_json: str, rating: str, comment: str = "") -> int:
        """Store one rating ("up" or "down"); returns its row id."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}, got {rating!r}")
        created_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        comment = (comment or "").strip()[:MAX_COMMENT_CHARS]
        row = dict(created_at=created_at, rating=rating, question=question, answer=answer_text,
                   citations=citations_json, comment=comment)  # fmt: skip
        with self.db.transaction() as connection:
            result = connection.execute(insert(_FEEDBACK).values(**row))
            return int(result.inserted_primary_key[0])

    def rows(self) -> list[dict[str, Any]]:
        if not self.db.exists():
            return []
        with self.db.transaction() as connection:
            result = connection.execute(select(*(_FEEDBACK.c[name] for name in COLUMNS)).order_by(_FEEDBACK.c.id))
            return [dict(zip(COLUMNS, row)) for row in result]

    def export_csv(self, target: Path | str | IO[str]) -> int:
        """Write all feedback as CSV (UTF-8, header row) to a path or an open text file; returns the row count."""
        rows = self.rows()
        if isinstance(target, (str, Path)):
            with open(target, "w", encoding="utf-8", newline="") as handle:
                _write_csv(handle, rows)
        else:
            _write_csv(target, rows)
        return len(rows)

    def to_csv(self) -> str:
        buffer = io.StringIO()
        self.export_csv(buffer)
        return buffer.getvalue()


def _write_csv(handle: IO[str], rows: list[dict[str, Any]]) -> None:
    writer = csv.DictWriter(handle, fieldnames=COLUMNS)
    writer.writeheader()
    # Comments, questions and answers are user text: a leading = + - @ must not run as a formula.
    writer.writerows({key: neutralise_formula(value) for key, value in row.items()} for row in rows)
