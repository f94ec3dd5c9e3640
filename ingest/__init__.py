"""Ingestion: reads plan documents, chunks them along their structure and writes the index."""

import kulturplan  # noqa: F401  (sets the offline environment before any model library loads)
