"""`kulturplan ingest`, `sources` and `commitments`: what is indexed and what the plan commits to."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.common import ChromaUrl, DataDir, app, fail, open_store, settings_from


@app.command()
def ingest(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Files or folders (default: corpus/).")] = None,
    prune: Annotated[bool, typer.Option(help="Remove indexed documents that are no longer present.")] = False,
    data_dir: DataDir = None,
    chroma_url: ChromaUrl = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Read, chunk, embed and store plan documents (incremental)."""
    from ingest.pipeline import ingest as run_ingest
    from kulturplan.embedding import EmbedderUnavailable
    from kulturplan.store import StoreError

    settings = settings_from(data_dir=data_dir, chroma_url=chroma_url)
    try:
        report = run_ingest(
            settings, paths or None, prune=prune, progress=not quiet, on_estimate=lambda e: typer.echo(e.message, err=True)
        )
    except (EmbedderUnavailable, StoreError) as error:
        fail(str(error))
    for skipped in report.skipped:
        typer.echo(f"skipped {skipped.source}: {skipped.reason}", err=True)
    typer.echo(
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.removed)} removed, {len(report.skipped)} skipped; "
        f"{report.embedded_chunks} chunks embedded, {report.kept_chunks} kept, "
        f"{report.deleted_chunks} deleted in {report.seconds:.1f} s"
    )
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def sources(
    data_dir: DataDir = None,
    chroma_url: ChromaUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the indexed documents."""
    settings = settings_from(data_dir=data_dir, chroma_url=chroma_url)
    documents = open_store(settings).documents()
    if as_json:
        rows = [
            {
                "source": d.source, "title": d.title, "format": d.format, "chunks": d.chunks, "pages": d.pages,
                "region": d.region, "period_start": d.period_start, "period_end": d.period_end,
            }
            for d in documents
        ]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not documents:
        typer.echo("No documents indexed yet: run `kulturplan ingest`.")
        return
    typer.echo(f"{'source':40} {'format':6} {'chunks':>6} {'pages':>5} {'region':12} {'period':9}  title")
    for d in documents:
        typer.echo(
            f"{d.source:40} {d.format:6} {d.chunks:>6} {d.pages or '':>5} {d.region or '-':12} {d.period or '-':9}  {d.title}"
        )




COMMITMENT_FORMATS = ("table", "csv", "json")


@app.command()
def commitments(
    actor: Annotated[Optional[str], typer.Option(help="Actor name, or part of it (case-insensitive).")] = None,
    area: Annotated[Optional[str], typer.Option(help="Area, e.g. musik, bibliotek, 'barn och unga'.")] = None,
    municipality: Annotated[Optional[str], typer.Option(help="Municipality, or 'hela Blekinge'.")] = None,
    include_region_wide: Annotated[
        bool, typer.Option(help="With --municipality: also list commitments for the whole county.")
    ] = False,
    text: Annotated[Optional[str], typer.Option(help="Words the sentence must contain.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    data_dir: DataDir = None,
    chroma_url: ChromaUrl = None,
) -> None:
    """List the plan's commitments (who is responsible for what, where), with their sources."""
    from ingest.commitments import sync
    from kulturplan.commitments import CommitmentStore, location, write_csv
    from kulturplan.database import DatabaseError

    if output_format not in COMMITMENT_FORMATS:
        fail(f"unknown --format {output_format!r} (use {', '.join(COMMITMENT_FORMATS)})")
    settings = settings_from(data_dir=data_dir, chroma_url=chroma_url)
    store = open_store(settings)
    if store.count() == 0:
        fail("the index is empty: run `kulturplan ingest` first")
    try:
        # An index built before commitments existed, or changed since, is brought in step first.
        commitment_store = CommitmentStore.open(settings)
        sync(store, commitment_store)
        found = commitment_store.query(
            actor=actor, area=area, municipality=municipality, text=text, include_region_wide=include_region_wide
        )
    except DatabaseError as error:  # names the database and says why, in one line
        fail(str(error))
    except OSError as error:
        fail(f"cannot read the commitments in {location(settings)}: {error}")
    if output_format == "json":
        typer.echo(json.dumps([c.to_json() for c in found], ensure_ascii=False, indent=2))
    elif output_format == "csv":
        write_csv(sys.stdout, found, settings.profile.region_wide_label)
    elif not found:
        typer.echo("No commitments match.")
    else:
        for c in found:
            page = f", s. {c.page}" if c.page else ""
            typer.echo(f"{', '.join(c.actors) or '(no actor named)'}  [{c.kind}]")
            typer.echo(f"  areas: {', '.join(c.areas) or '-'}; where: {', '.join(c.municipalities)}")
            typer.echo(f"  {c.sentence}")
            typer.echo(f"  source: {c.source} — {c.section or c.title}{page}\n")
        typer.echo(f"{len(found)} commitments")
