"""Kulturplan-assistenten's bottom layer: settings, store, embedder, chunks, language, region profile; imports nothing above it."""

import os

# Nothing may reach a model hub or a telemetry endpoint: these machines have no internet, and the
# assistant must never depend on it. Set before any of those libraries is imported.
for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ.setdefault(_name, _value)
# torch's OpenMP threads spin after each parallel region (GNU OpenMP: 300 000 turns by default). Right
# after a question is embedded they kept a core busy that the Chroma server needed for the search
# that follows: at 100 000 chunks on two cores retrieval took p50 54.7 / p95 57-60 ms with the default
# and 51.7-53.0 / 53.8-57.4 ms with 50 000 turns (three runs each). Fewer turns made the embedding
# itself slower (10 000: +5 ms); the local LLM's speed did not change (4.6 s for 64 tokens either way).
os.environ.setdefault("GOMP_SPINCOUNT", "50000")

__version__ = "0.1.0"
