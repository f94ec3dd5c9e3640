"""👍/👎 feedback on answers, in SQLite in the data directory.

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

from kulturplan.config import Settings
from kulturplan.sqlite import transaction
from kulturplan.csvsafe import neutralise_formula

FEEDBACK_FILE = "feedback.sqlite3"
RATINGS = ("up", "down")
MAX_COMMENT_CHARS = 2000
COLUMNS = ("id", "created_at", "rating", "question", "answer", "citations", "comment")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,            -- UTC, ISO 8601
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,             -- JSON list of the answer's sources
    comment TEXT NOT NULL DEFAULT ''
)
"""


def feedback_path(settings: Settings) -> Path:
    return settings.data_dir / FEEDBACK_FILE


class FeedbackStore:
    """One SQLite file; a short-lived connection per call, so it is safe from any thread."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    @classmethod
    def for_settings(cls, settings: Settings) -> "FeedbackStore":
        return cls(feedback_path(settings))

    def _connect(self):
        return transaction(self.path, _SCHEMA)

    def add(self, question: str, answer_text: str, citations_json: str, rating: str, comment: str = "") -> int:
        """Store one rating ("up" or "down"); returns its row id."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}, got {rating!r}")
        created_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        comment = (comment or "").strip()[:MAX_COMMENT_CHARS]
        with self._connect() as connection:
            cursor = connection.execute(
                "INSERT INTO feedback (created_at, rating, question, answer, citations, comment) VALUES (?, ?, ?, ?, ?, ?)",
                (created_at, rating, question, answer_text, citations_json, comment),
            )
            return int(cursor.lastrowid)

    def rows(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self._connect() as connection:
            cursor = connection.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id")
            return [dict(zip(COLUMNS, row)) for row in cursor.fetchall()]

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
