"""`kulturplan ask`: one question answered from the index, with its sources."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.common import ChromaUrl, DataDir, app, fail, read_history, settings_from

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
    from assistant.queue import QueueStatus
    from assistant.types import Answer, history_from_json
    from kulturplan.embedding import EmbedderUnavailable
    from kulturplan.store import StoreError

    settings = settings_from(data_dir=data_dir, chroma_url=chroma_url)
    turns = read_history(history, history_from_json) if history else []
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
            elif isinstance(item, QueueStatus):
                if item.position:
                    typer.echo(f"waiting for the local model: number {item.position} in line", err=True)
            elif not as_json:
                streamed += item
                typer.echo(item, nl=False)
    except QuestionError as error:
        fail(str(error))
    except (GeneratorError, EmbedderUnavailable, StoreError) as error:
        fail(str(error))
    assert answer is not None
    if as_json:
        # The documented answer schema; what happened goes to stderr as in the text output.
        data = answer.to_json()
        typer.echo(json.dumps({key: data[key] for key in ASK_JSON_KEYS}, ensure_ascii=False, indent=2))
        _print_events(answer)
        return
    if answer.text != streamed.strip():
        # The grounding check or a fallback replaced what was streamed: show the final answer.
        typer.echo(("\n\n" if streamed else "") + answer.text)
    else:
        typer.echo()
    for citation in answer.citations:
        page = f", s. {citation.page}" if citation.page else ""
        typer.echo(f"[{citation.n}] {citation.source} — {citation.section or citation.title}{page}")
    _print_events(answer)


def _print_events(answer) -> None:
    from ui.messages import details, notices

    for line in notices(answer.events) + details(answer.events):
        typer.echo(f"({line})", err=True)
