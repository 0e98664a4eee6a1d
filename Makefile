# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The editable install is a tree of links (setuptools' strict mode) that type checkers
# can follow, unlike the default import hook. Files added or removed need a new tree, so
# the install depends on the list of package files, rewritten only when it changes.
FILES := $(VENV)/.package-files
PACKAGE_FILES := $(sort $(shell find src models -type f -not -path '*/__pycache__/*' \
	-not -path '*.egg-info/*' 2>/dev/null))

.PHONY: install test lint typecheck pytest demo bench clean FORCE

install: $(STAMP)

$(FILES): FORCE
	@mkdir -p $(VENV)
	@echo '$(PACKAGE_FILES)' | cmp -s - $@ || echo '$(PACKAGE_FILES)' > $@

$(STAMP): pyproject.toml $(FILES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,sandbox]' --config-settings editable_mode=strict
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
