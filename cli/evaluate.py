"""`kulturplan eval` and `kulturplan bench`: evaluation runs and performance figures (package `evals`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.common import DataDir, fail, app, settings_from


@app.command("eval")
def evaluate(
    questions: Annotated[Path, typer.Argument(help="Gold questions (JSONL).")],
    corpus: Annotated[Optional[Path], typer.Option(help="Ingest this folder first (into --data-dir or a temporary one).")] = None,
    data_dir: DataDir = None,
    generator: Annotated[Optional[str], typer.Option(help="extractive, local or openai.")] = None,
    out: Annotated[Path, typer.Option(help="Folder for predictions.jsonl, report.json/.md and the chart.")] = Path("reports/eval"),
    baseline: Annotated[Optional[Path], typer.Option(help="An earlier report.json to compare with.")] = None,
    check: Annotated[Optional[Path], typer.Option(help="JSON {metric: threshold} (or {set: {...}}); exit 1 when one is missed.")] = None,
    check_set: Annotated[str, typer.Option(help="Which set of thresholds in a --check file with several.")] = "gold",
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
) -> None:
    """Answer every gold question and write predictions and a report."""
    import datetime
    import tempfile

    from assistant.engine import Assistant
    from ingest.pipeline import ingest as run_ingest
    from evals import gold as gold_questions
    from evals import metrics, report as reports, run
    from kulturplan.embedding import EmbedderUnavailable
    from kulturplan.store import StoreError

    try:
        gold = gold_questions.load_questions(questions)
        thresholds = metrics.thresholds_for(json.loads(check.read_text(encoding="utf-8")), check_set) if check else {}
        previous = json.loads(baseline.read_text(encoding="utf-8")) if baseline else None
    except (gold_questions.GoldError, KeyError) as error:
        fail(str(error).strip("'\""))
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
        predictions = run.predict(assistant, gold, generator, progress=not quiet)
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
    report = metrics.build_report(gold, predictions, meta)
    reports.write_outputs(out, predictions, report)
    for name, value in report["overall"].items():
        typer.echo(f"{name:24} {value}")
    if previous:
        typer.echo("\nchange against the baseline:")
        for name, before, now, change in metrics.compare(report, previous):
            typer.echo(f"{name:24} {before} -> {now} ({change:+})")
    typer.echo(f"\nwrote {out}/predictions.jsonl, report.json, report.md, per_tag.png")
    problems = metrics.check_thresholds(report, thresholds)
    for problem in problems:
        typer.echo(f"threshold missed: {problem}", err=True)
    if problems:
        raise typer.Exit(1)




DEFAULT_SCALES = "1,100,1000"


@app.command()
def bench(
    out: Annotated[Path, typer.Option(help="Folder for bench.json, bench.md and latency.png.")] = Path("reports/bench"),
    scales: Annotated[str, typer.Option(help="Corpus sizes as multiples of corpus/, comma-separated.")] = DEFAULT_SCALES,
    corpus: Annotated[Optional[Path], typer.Option(help="Documents to benchmark on (default corpus/).")] = None,
    no_local: Annotated[bool, typer.Option("--no-local", help="Skip the local LLM figures.")] = False,
    load_only: Annotated[
        bool, typer.Option("--load-only", help="Only the chat-under-load figures (they replace those in an existing bench.json).")
    ] = False,
    sessions: Annotated[int, typer.Option(help="Concurrent chat sessions for the load figures.", min=1)] = 20,
    answer_questions: Annotated[
        int, typer.Option(help="Questions timed for the answer figures (ours and the baseline).", min=1)
    ] = 20,
    local_chats: Annotated[int, typer.Option(help="Chats asking the local model at once.", min=1)] = 5,
    questions: Annotated[
        Optional[Path],
        typer.Option(help="Gold-format questions for the answer figures (default: the development corpus's, on it)."),
    ] = None,
    answer_corpus: Annotated[
        Optional[Path], typer.Option(help="Documents the --questions are asked of (default --corpus).")
    ] = None,
    scale: Annotated[
        Optional[str],
        typer.Option("--scale", help="Only the scale-out figures on a Chroma server, at these chunk counts "
                                     "(comma-separated, e.g. 10000,100000); writes scale.json, scale.md, scale.png."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Measure load times, ingest throughput, retrieval and answer latency, memory and the chat under load.

    Against plain llama-index where it has a counterpart."""
    from evals import benchmark

    settings = settings_from(data_dir=data_dir)
    if scale is not None:
        _bench_scale(settings, scale, corpus, out)
        return
    sizes = _positive_counts(scales, "--scales")
    corpus = corpus or settings.corpus_dir
    if not corpus.is_dir():
        fail(f"--corpus {corpus} is not a folder")
    if answer_corpus is not None and (questions is None or not answer_corpus.is_dir()):
        fail("--answer-corpus needs --questions and a folder")
    if questions is not None and not questions.is_file():
        fail(f"--questions {questions} is not a file")
    result = benchmark.run(settings, corpus, out, sizes, include_local=not no_local, log=typer.echo,
                           load_sessions=sessions, load_only=load_only, answer_count=answer_questions,
                           local_chats=local_chats, questions=questions, answer_corpus=answer_corpus)  # fmt: skip
    typer.echo("\n" + benchmark.render_table(result))
    typer.echo(f"wrote {out}/bench.json, bench.md" + ("" if load_only else ", latency.png"))
    readme = Path(__file__).resolve().parents[1] / "README.md"
    default_run = corpus.resolve() == settings.corpus_dir.resolve() and questions is None and scales == DEFAULT_SCALES
    if default_run and benchmark.update_readme(result, readme):  # the README's table is `make bench`'s
        typer.echo(f"updated the benchmark table in {readme}")


def _bench_scale(settings, scale: str, corpus: Optional[Path], out: Path) -> None:
    from evals import scale as scale_bench

    sizes = _positive_counts(scale, "--scale")
    # The real chunks the copies are made from: the plan (corpus/) and the development corpus's sources.
    corpora = [corpus] if corpus else [settings.corpus_dir, Path(scale_bench.__file__).parent / "devcorpus" / "src"]
    result = scale_bench.run(settings, sizes, [c for c in corpora if c.is_dir()], out, log=typer.echo)
    typer.echo("\n" + scale_bench.render_table(result))
    typer.echo(f"wrote {out}/scale.json, scale.md, scale.png")


def _positive_counts(text: str, option: str) -> list[int]:
    """"1,100,1000" as sorted whole numbers, or one clear line and exit."""
    try:
        counts = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        fail(f"{option} takes whole numbers separated by commas, got {text!r}")
    if not counts or min(counts) < 1:
        fail(f"{option} must be positive")
    return counts
