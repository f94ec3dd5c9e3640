"""The embedder's dtype follows the CPU (emulated bf16 made every embedding 7-11x slower),
and so does compiling its layers (it paid only in bf16)."""

from __future__ import annotations

import pytest
import torch

from kulturplan.config import Settings
from kulturplan.embedding import compiles, cpu_dtype


@pytest.mark.parametrize(
    "avx512_bf16, amx, expected",
    [(True, False, "bfloat16"), (False, True, "bfloat16"), (False, False, "float32")],
)
def test_auto_takes_bfloat16_only_where_the_cpu_computes_it(monkeypatch, avx512_bf16, amx, expected):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert cpu_dtype("auto") == expected


def test_a_named_dtype_is_kept_whatever_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    assert cpu_dtype("bfloat16") == "bfloat16"
    assert cpu_dtype("float16") == "float16"


def test_the_default_setting_is_auto():
    assert Settings.model_fields["embedding_dtype"].default == "auto"


def test_auto_compiles_only_a_bfloat16_embedder():
    assert compiles("auto", "bfloat16")
    assert not compiles("auto", "float32")


def test_a_chosen_compile_setting_is_kept_whatever_the_dtype():
    assert compiles(True, "float32")
    assert not compiles(False, "bfloat16")


def test_the_compile_setting_reads_auto_and_booleans_from_the_environment(monkeypatch):
    monkeypatch.delenv("KULTURPLAN_EMBEDDING_COMPILE", raising=False)
    assert Settings().embedding_compile == "auto"
    monkeypatch.setenv("KULTURPLAN_EMBEDDING_COMPILE", "false")
    assert Settings().embedding_compile is False
    monkeypatch.setenv("KULTURPLAN_EMBEDDING_COMPILE", "true")
    assert Settings().embedding_compile is True
