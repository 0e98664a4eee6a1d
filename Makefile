# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck pytest demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,sandbox]'
	touch $(STAMP)

lint: install
	$(BIN)/ruff check src tests benchmarks models
	$(BIN)/ruff format --check src tests benchmarks models

typecheck: install
	$(BIN)/mypy --strict src

pytest: install
	$(BIN)/pytest -W error

test: lint typecheck pytest

demo: install
	$(BIN)/animus-prep check examples/character
	$(BIN)/animus-prep run examples/character --name "Example character" --sandbox

bench: install
	$(BIN)/python benchmarks/bench_preflight.py

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache
