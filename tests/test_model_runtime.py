"""The embedder on CPU: token embeddings mapped from a file, layers compiled; same vectors as eagerly."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from kulturplan import model_runtime
from kulturplan.embedding import SentenceTransformerEmbedder


class TinyTransformer(torch.nn.Module):
    """Shaped like a transformers model: input embeddings and a list of repeated layers."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embed = torch.nn.Embedding(50, 8, dtype=torch.bfloat16)
        self.layers = torch.nn.ModuleList(torch.nn.Linear(8, 8, dtype=torch.bfloat16) for _ in range(3))
        self.heads = torch.nn.ModuleList([torch.nn.Identity()])

    def get_input_embeddings(self):
        return self.embed

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        hidden = self.embed(ids)
        for layer in self.layers:
            hidden = torch.nn.functional.gelu(layer(hidden)) + hidden
        return hidden


def test_token_embeddings_are_read_from_a_mapped_file_with_the_same_values(tmp_path):
    model = TinyTransformer()
    ids = torch.tensor([[1, 7, 49]])
    expected = model(ids)
    assert model_runtime.map_token_embeddings(model, tmp_path, "tiny-v1")
    files = list(tmp_path.glob("token-embeddings-*.bin"))
    assert len(files) == 1 and files[0].stat().st_size == 50 * 8 * 2
    assert _mapped_file_of(model.embed.weight) == str(files[0])
    assert torch.equal(model(ids), expected)
    # Private mapping: writing to the tensor never reaches the file other processes map.
    before = files[0].read_bytes()
    with torch.no_grad():
        model.embed.weight[0].fill_(3.0)
    assert files[0].read_bytes() == before


def test_a_mapped_file_is_reused_and_a_truncated_one_rewritten(tmp_path):
    model_runtime.map_token_embeddings(TinyTransformer(), tmp_path, "tiny-v1")
    (path,) = tmp_path.glob("token-embeddings-*.bin")
    written = path.stat().st_mtime_ns
    model_runtime.map_token_embeddings(TinyTransformer(), tmp_path, "tiny-v1")
    assert path.stat().st_mtime_ns == written
    path.write_bytes(path.read_bytes()[:100])  # an interrupted copy by hand, a full disk
    model = TinyTransformer()
    expected = model.embed.weight.clone()
    assert model_runtime.map_token_embeddings(model, tmp_path, "tiny-v1")
    assert torch.equal(model.embed.weight, expected)
    # Other weights behind the same shapes get their own file.
    model_runtime.map_token_embeddings(TinyTransformer(), tmp_path, "tiny-v2")
    assert len(list(tmp_path.glob("token-embeddings-*.bin"))) == 2


def test_a_folder_that_cannot_be_written_keeps_the_embeddings_in_memory(tmp_path, caplog):
    blocked = tmp_path / "file"
    blocked.write_text("x")
    model = TinyTransformer()
    weight = model.embed.weight
    with caplog.at_level(logging.WARNING):
        assert not model_runtime.map_token_embeddings(model, blocked / "weights", "tiny-v1")
    assert model.embed.weight is weight
    assert "in memory" in caplog.text
    assert not model_runtime.map_token_embeddings(torch.nn.Linear(2, 2), tmp_path, "no-embeddings")


def test_compiled_layers_compute_what_the_eager_ones_do_and_can_be_restored():
    model = TinyTransformer()
    ids = torch.tensor([[1, 2, 3, 4]])
    expected = model(ids)
    blocks = model_runtime.compile_repeated_blocks(model)
    assert blocks == list(model.layers)  # the longest module list, not the one-element one
    assert torch.allclose(model(ids).float(), expected.float(), atol=1e-2)
    model_runtime.restore_eager(blocks)
    assert all("forward" not in vars(block) for block in model.layers)
    assert torch.equal(model(ids), expected)


def _mapped_file_of(tensor: torch.Tensor) -> str | None:
    """The file whose mapping holds the tensor's memory (None: anonymous memory)."""
    address = tensor.data_ptr()
    for line in open("/proc/self/maps", encoding="utf-8"):
        fields = line.split()
        start, end = (int(part, 16) for part in fields[0].split("-"))
        if start <= address < end:
            return fields[5] if len(fields) > 5 and fields[5].startswith("/") else None
    return None


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


QUESTIONS = ["Vilken kultur finns i Ronneby?", "Hur mycket får Blekinge museum i regionalt stöd per år 2024?"]
DOCUMENTS = ["Karlskrona blev världsarv 1998.", "Kulturrådet fördelar medel till regionerna enligt kultursamverkansmodellen."]


def _embedder(settings, **adaptations) -> SentenceTransformerEmbedder:
    """The real model, with the given `runtime_cache` and `compile_layers` (none: eager, in memory)."""
    return SentenceTransformerEmbedder(
        settings.embedding_model_path,
        document_prompt=settings.embedding_document_prompt,
        query_prompt=settings.embedding_query_prompt,
        **adaptations,
    )


@pytest.mark.integration
def test_the_adapted_embedder_gives_the_eager_embedders_vectors(real_settings_base):
    eager = _embedder(real_settings_base)
    adapted = _embedder(real_settings_base, runtime_cache=real_settings_base.runtime_cache, compile_layers=True)
    queries = [np.stack([e.embed_query(q) for q in QUESTIONS]) for e in (eager, adapted)]
    documents = [e.embed_documents(DOCUMENTS, ["titel", "titel"]) for e in (eager, adapted)]
    assert adapted.compiled
    transformer = adapted.model[0].auto_model
    mapped_from = _mapped_file_of(transformer.get_input_embeddings().weight)
    assert mapped_from is not None and mapped_from.startswith(str(real_settings_base.runtime_cache))
    assert _cosines(*queries).min() > 0.999
    assert _cosines(*documents).min() > 0.999


@pytest.mark.integration
def test_an_embedder_whose_compilation_fails_runs_eagerly(real_settings_base, monkeypatch, caplog):
    def failing_compile(model):
        blocks = model_runtime._repeated_blocks(model)
        for block in blocks:
            block.forward = lambda *args, **kwargs: (_ for _ in ()).throw(RuntimeError("no C compiler"))
        return blocks

    monkeypatch.setattr(model_runtime, "compile_repeated_blocks", failing_compile)
    embedder = _embedder(real_settings_base, runtime_cache=real_settings_base.runtime_cache, compile_layers=True)
    with caplog.at_level(logging.WARNING):
        vector = embedder.embed_query(QUESTIONS[0])
    assert not embedder.compiled
    assert "uncompiled: no C compiler" in caplog.text
    assert vector.shape == (768,) and abs(np.linalg.norm(vector) - 1) < 1e-3


@pytest.mark.integration
def test_an_embedder_on_a_read_only_model_cache_runs_from_memory(real_settings_base, tmp_path, monkeypatch, caplog):
    """A models folder shared read-only: no map, no compiled kernels, the same vectors, one warning each."""
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)  # as in a new process
    blocked = tmp_path / "read-only"
    blocked.write_text("a file where the runtime folder would be")
    embedder = _embedder(real_settings_base, runtime_cache=blocked / "runtime", compile_layers=True)
    with caplog.at_level(logging.WARNING):
        vector = embedder.embed_query(QUESTIONS[0])
    assert not embedder.compiled
    mapped = _mapped_file_of(embedder.model[0].auto_model.get_input_embeddings().weight)
    # No map of ours: the weights are as loaded, in memory, or (float32 on a CPU without native bf16,
    # the checkpoint's own dtype) still mapped from the model's safetensors file.
    assert mapped is None or mapped.endswith(".safetensors")
    assert "keeping the token embeddings in memory" in caplog.text and "uncompiled" in caplog.text
    assert abs(np.linalg.norm(vector) - 1) < 1e-3
