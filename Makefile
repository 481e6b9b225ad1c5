# Gopy — developer and operator entry points.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test lint format install demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: migrate the embedded SQLite database under ./var/ (GOPY_HOME), load the bundled data (a no-op when
## unchanged; staff changes are kept), start everything.
run: export GOPY_HOME ?= $(CURDIR)/var
run: $(STAMP)
	$(BIN)/gopy db upgrade
	$(BIN)/gopy load data/lists.yaml data/localities.csv data/plan.yaml data/plan-demo.yaml data/units.yaml data/documents/sample-draft.md
	GOPY_ENV=$${GOPY_ENV:-development} $(BIN)/gopy run

## make test: lint, type-check and run the whole suite (needs PostgreSQL on 127.0.0.1:5432).
test: $(STAMP) lint
	$(BIN)/pytest -q -rs $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	for f in bench/bench_*.py; do $(BIN)/python $$f; done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
