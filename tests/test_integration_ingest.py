"""corpus/ ingested with the real EmbeddingGemma into a real Chroma."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.chunking import SENTENCE_STRETCH
from kulturplan.language import split_sentences
from kulturplan.store import ChunkStore

pytestmark = pytest.mark.integration


def test_real_model_loads_in_the_cpus_native_dtype_and_gives_unit_vectors(real_embedder):
    import torch

    vector = real_embedder.embed_query("Vilken kultur finns i Ronneby?")
    native_bf16 = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    assert real_embedder.model.dtype == (torch.bfloat16 if native_bf16 else torch.float32)
    assert vector.shape == (768,)
    assert np.isclose(np.linalg.norm(vector), 1.0, atol=1e-3)


def test_query_about_art_in_ronneby_finds_the_konstresurscentrum(real_index, real_embedder):
    store = ChunkStore.open(real_index)
    hits = store.search(real_embedder.embed_query("Finns det något för bildkonst i Ronneby?"), k=3)
    assert hits, "the index is empty"
    passage = next((h.chunk for h in hits if "konstresurscentrum i Ronneby" in h.chunk.text), None)
    assert passage is not None, [h.chunk.text[:60] for h in hits]
    assert passage.source == "samverkan_med_kommunerna.txt"
    assert "Ronneby" in passage.municipalities
    assert passage.heading_path == ("Samverkansinitiativ",)


def test_model_prompts_rank_the_right_section_first(real_index, real_embedder):
    store = ChunkStore.open(real_index)
    hits = store.search(real_embedder.embed_query("Vem samordnar kultur i vården?"), k=1)
    assert hits[0].chunk.heading_path == ("Kultur i vården och Kultur i omsorgen",)


def test_chunks_respect_the_token_budget(real_index, real_embedder):
    chunks = ChunkStore.open(real_index).all_chunks()
    assert len(chunks) >= 5
    budget = real_index.chunk_max_tokens
    # Over the budget only to keep a long sentence whole (ingest.chunking.SENTENCE_STRETCH).
    for chunk in chunks:
        if len(real_embedder.tokenize(chunk.text)) > budget:
            assert len(real_embedder.tokenize(chunk.text)) <= budget * (SENTENCE_STRETCH + 1)
            assert max(len(real_embedder.tokenize(s)) for s in split_sentences(chunk.text)) > budget // 2
