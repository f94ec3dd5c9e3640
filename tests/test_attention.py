"""The embedding model without attention masks where they change nothing: the same vectors as
transformers' own masks (a question, and a padded batch of documents), for less time."""

from __future__ import annotations

import numpy as np
import pytest

from kulturplan.attention import NAME

pytestmark = pytest.mark.integration

TEXTS = ["Karlskrona blev världsarv 1998 tack vare örlogsstaden.", "Kort text.", "Vad är Blekingemodellen?"]


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def _vectors(embedder) -> tuple[np.ndarray, np.ndarray]:
    return embedder.embed_query(TEXTS[2]), embedder.embed_documents(TEXTS[:2], ["titel", "titel"])


def test_unmasked_attention_gives_the_vectors_of_the_masked_one(real_embedder):
    transformer = real_embedder.model[0].auto_model
    assert transformer.config._attn_implementation == NAME
    _vectors(real_embedder)  # the first batch after a load can differ in the last bf16 bits
    fast_query, fast_documents = _vectors(real_embedder)
    transformer.set_attn_implementation("sdpa")
    try:
        query, documents = _vectors(real_embedder)
    finally:
        transformer.set_attn_implementation(NAME)
    assert _cosine(fast_query, query) > 0.9999
    assert all(_cosine(a, b) > 0.9999 for a, b in zip(fast_documents, documents))
