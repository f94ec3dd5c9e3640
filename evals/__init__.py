"""Evaluation and benchmarks: gold questions, evaluation runs, metrics, reports and performance figures."""
