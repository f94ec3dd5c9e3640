# The README's two commands are `make run` and `make test`; both set everything up from nothing.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
KP := $(BIN)/kulturplan

# Nothing may reach a model hub or a telemetry endpoint (the machines are offline by design).
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: setup models browser ingest run test eval bench clean

# llama.cpp must not use AMX (these sandboxes do not allow AMX tiles: its matmul segfaults) and must
# not be tuned to one CPU (CI may get another), so it is built for plain AVX2.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF

# torch first: `torch==2.13.0` takes the CPU build on disk; any later "torch>=..." is then satisfied
# and pip pulls no CUDA. pip's cache is kept, so llama-cpp-python compiles once per machine.
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required, found " + sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed models

models: $(VENV)/.installed
	$(KP) models fetch

ingest: setup
	$(KP) ingest

run: ingest
	$(KP) serve

browser:
	bash .ci/install-browser.sh

test: setup browser
	$(BIN)/pytest

eval: ingest
	$(KP) eval evals/gold.jsonl --generator local --out reports/eval-local

bench: setup
	$(KP) bench --out reports/bench

clean:
	rm -rf $(VENV) .kulturplan reports
