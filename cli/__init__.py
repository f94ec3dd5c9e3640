"""The `kulturplan` command: the one entry point that wires the packages together.

Layers, lowest first: `kulturplan` (settings, store, embedder, language, region) < `ingest` and
`assistant` < `ui` < `evals` < `cli`. Subcommands are thin: they parse flags into Settings and
call a package; nothing below imports this package.
"""

from cli import answer, chat, documents, evaluate, models_cmd  # noqa: F401  (register the subcommands)
from cli.common import app

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover - console entry point convenience
    app()
