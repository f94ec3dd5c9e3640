"""Generators, registered by name: `extractive`, `local` and `openai`."""

from assistant.generators import extractive, local, openai_compatible  # noqa: F401  (register built-ins)
from assistant.generators.base import (  # noqa: F401
    GENERATORS,
    ChatModelGenerator,
    GenerationRequest,
    Generator,
    GeneratorError,
    GeneratorTimeout,
    make_generator,
    register_generator,
)
