"""Running the embedding model on two CPU cores: what it holds in memory and how its blocks run.

Two measured costs of EmbeddingGemma-300m (bf16) on the 2-core machines, and what this module does:

- Its token-embedding matrix (262 144 x 768, 384 MiB in bf16) is a third of a chat process's resident
  memory, although a question reads a few dozen of its rows. `map_token_embeddings` writes the
  matrix once to a raw bf16 file and maps it read-only: the rows a process reads are resident, the
  rest stays on disk, and processes on one machine share those pages.
- A question's embedding took p50 41 / p95 50 ms eagerly, 40 % of it in hundreds of small element-wise
  operations between the matrix products (norms, casts, rotary embeddings). `compile_repeated_blocks`
  compiles the transformer's repeated block with torch.compile (inductor, dynamic shapes): p50 34 /
  p95 41 ms. Compiling the block, not the whole model, traces it once for all layers: 18 s on a
  machine's first run, 3 s after that from inductor's on-disk cache (whole model: 25 s every start).
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)


def inductor_cache(folder: Path) -> None:
    """Point inductor's compiled-kernel cache at `folder` (kept between runs, where /tmp may not be)
    unless the person running it named another. Importing torch's libraries may already have written
    inductor's default (/tmp/torchinductor_<user>) into the environment: that one is replaced."""
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    current = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    if current is None or os.path.abspath(current) == os.path.abspath(default_cache_dir()):
        folder.mkdir(parents=True, exist_ok=True)
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(folder)


def _token_embedding(model):
    embedding = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    return embedding if embedding is not None and getattr(embedding, "weight", None) is not None else None


def _mapped_file(folder: Path, source_key: str, weight) -> Path:
    shape = "x".join(str(n) for n in weight.shape)
    key = hashlib.sha256(f"{source_key}|{shape}|{weight.dtype}".encode()).hexdigest()[:16]
    return folder / f"token-embeddings-{key}.bin"


def _write_atomically(path: Path, weight) -> None:
    """Another process may map the same file at once: it only ever sees a whole one."""
    import torch

    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        weight.detach().contiguous().view(torch.uint8).numpy().tofile(partial)  # the raw bytes, any dtype
        os.replace(partial, path)
    finally:  # a full disk leaves no half file behind
        partial.unlink(missing_ok=True)


def map_token_embeddings(model, folder: Path, source_key: str) -> bool:
    """Replace the model's token-embedding weight by a read-only memory map of the same values.
    `source_key` names the weights the matrix came from (a changed model file gets a new map).
    False, and the model unchanged, when the model has no such matrix or the file cannot be made."""
    import torch

    embedding = _token_embedding(model)
    if embedding is None:
        return False
    weight = embedding.weight
    path = _mapped_file(folder, source_key, weight)
    expected_bytes = weight.numel() * weight.element_size()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.stat().st_size != expected_bytes:
            _write_atomically(path, weight)
        # shared=False maps the file privately: nothing written to the tensor can reach the file.
        mapped = torch.from_file(str(path), shared=False, size=weight.numel(), dtype=weight.dtype)
    except (OSError, RuntimeError) as error:
        logger.warning("keeping the token embeddings in memory: %s", error)
        return False
    mapped = mapped.view(weight.shape)
    if not torch.equal(mapped[:8], weight[:8]) or not torch.equal(mapped[-8:], weight[-8:]):
        logger.warning("the mapped token embeddings differ from the model's; keeping them in memory")
        return False
    embedding.weight = torch.nn.Parameter(mapped, requires_grad=False)
    return True


def _repeated_blocks(model) -> list:
    """The transformer's layers: the longest list of modules in it."""
    import torch

    lists = [module for module in model.modules() if isinstance(module, torch.nn.ModuleList)]
    return list(max(lists, key=len)) if lists else []


def compile_repeated_blocks(model) -> list:
    """Compile each layer's forward (one traced graph, reused by all layers); the compiled layers."""
    import torch

    blocks = _repeated_blocks(model)
    for block in blocks:
        block.forward = torch.compile(block.forward, dynamic=True)
    return blocks


def restore_eager(blocks: list) -> None:
    """Undo `compile_repeated_blocks`: the class's own forward runs again."""
    for block in blocks:
        if "forward" in vars(block):
            del block.forward
