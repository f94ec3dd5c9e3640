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

# Downloads from PyPI are sometimes cut off mid-file here (CI once failed on a truncated wheel):
# pip resumes a cut download more often, and a failed install is tried again (see PIP_INSTALL).
export PIP_RETRIES := 10
export PIP_RESUME_RETRIES := 20
PIP_INSTALL := bash .ci/retry.sh 3 $(BIN)/pip install --quiet

.PHONY: setup models browser ingest run test eval bench clean

# llama.cpp is built for the CPU it will run on, from a fixed set of instruction sets: AVX2 always;
# AVX-512 with VNNI and BF16 where the CPU has all of them (prompt evaluation 77 -> 118 tokens/s on
# these machines' Xeons, with flash attention). Never AMX: these sandboxes do not allow AMX tiles and
# llama.cpp's AMX matmul segfaults. Never -march=native, so the flags, not the CPU, name the build.
LLAMA_PIN := $(shell grep -o 'llama-cpp-python==[0-9.]*' pyproject.toml)
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
AVX512_CPU_FLAGS := avx512f avx512cd avx512vl avx512dq avx512bw avx512vbmi avx512_vnni avx512_bf16 avx_vnni
CPU_FLAGS := $(shell grep -m1 -w '^flags' /proc/cpuinfo 2>/dev/null)
ifeq ($(filter-out $(CPU_FLAGS),$(AVX512_CPU_FLAGS)),)
LLAMA_CMAKE_ARGS += -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AVX_VNNI=ON
endif
# The wheel is kept per set of flags (pip's own cache knows only the version, and would hand an AVX2
# build to an AVX-512 machine or the reverse), so it compiles once per machine and flag set (~7 min).
LLAMA_WHEELS := $(HOME)/.cache/kulturplan/wheels/$(shell echo '$(LLAMA_PIN) $(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-16)

# torch first: `torch==2.13.0` takes the CPU build on disk; any later "torch>=..." is then satisfied
# and pip pulls no CUDA. llama-cpp-python is installed from its own wheel first (see LLAMA_WHEELS),
# replacing a build of the same version made with other flags; a changed Makefile installs again.
$(VENV)/.installed: pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required, found " + sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip
	$(PIP_INSTALL) torch==2.13.0
	ls $(LLAMA_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" \
		$(BIN)/pip wheel --quiet --no-cache-dir --no-deps -w $(LLAMA_WHEELS) '$(LLAMA_PIN)'
	$(BIN)/pip install --quiet --force-reinstall --no-deps $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	$(PIP_INSTALL) -e '.[test]'
	touch $@

setup: $(VENV)/.installed models

models: $(VENV)/.installed
	bash .ci/retry.sh 3 $(KP) models fetch

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
