"""The assistant: reads the index and answers questions with cited passages."""

import kulturplan  # noqa: F401  (sets the offline environment before any model library loads)
