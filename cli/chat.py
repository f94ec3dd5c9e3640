"""`kulturplan serve` and `kulturplan feedback export`: the web chat and its feedback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.common import ChromaUrl, DataDir, app, fail, feedback_app, open_store, settings_from


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Address to listen on (default 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port to listen on (default 7860).")] = None,
    data_dir: DataDir = None,
    chroma_url: ChromaUrl = None,
) -> None:
    """Start the chat in the browser (Gradio), in Swedish, on http://127.0.0.1:7860 by default."""
    settings = settings_from(host=host, port=port, data_dir=data_dir, chroma_url=chroma_url)
    if open_store(settings).count() == 0:
        fail("the index is empty: run `kulturplan ingest` first")
    if settings.database_url:  # a shared database that cannot be reached is said now, not at the first 👍
        check_database(settings)
    from ui.app import serve as serve_chat

    typer.echo(f"Kulturplan-assistenten: http://{settings.host}:{settings.port}")
    try:
        serve_chat(settings)
    except OSError as error:  # the port is taken, or the address cannot be bound
        fail(f"cannot serve on {settings.host}:{settings.port}: {error}")


def check_database(settings) -> None:
    from kulturplan.database import DatabaseError
    from kulturplan.feedback import FeedbackStore

    try:
        FeedbackStore.for_settings(settings).check()
    except DatabaseError as error:
        fail(str(error))


@feedback_app.command("export")
def feedback_export(
    out: Annotated[Optional[Path], typer.Option("--out", help="CSV file to write (default: standard output).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Export all feedback as CSV (timestamp, rating, question, answer, sources, comment)."""
    from kulturplan.database import DatabaseError
    from kulturplan.feedback import FeedbackStore

    settings = settings_from(data_dir=data_dir)
    try:
        store = FeedbackStore.for_settings(settings)
        if out is None:
            store.export_csv(sys.stdout)
            return
        count = store.export_csv(out)
    except (OSError, DatabaseError) as error:
        fail(f"cannot export the feedback: {error}")
    typer.echo(f"{count} feedback rows written to {out}", err=True)
