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

__version__ = "0.1.0"
