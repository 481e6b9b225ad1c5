# Gopy — developer and operator entry points.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# `make test` runs the suite in this many pytest-xdist worker processes (`make test PYTEST_WORKERS=0`: serially);
# loadgroup spreads the tests one by one, but keeps the modules marked xdist_group on one worker.
PYTEST_WORKERS ?= 2
PYTEST_PARALLEL = -n $(PYTEST_WORKERS) --dist loadgroup
# The pinned, hashed dependency sets (see `make lock`): runtime only, and runtime + the dev extra.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
UV_COMPILE = $(BIN)/uv pip compile --quiet pyproject.toml --python-version 3.11 --generate-hashes

.PHONY: run test lint format install lock deadcode demo bench clean

## make install: exactly the versions of requirements-dev.lock, then Gopy itself (editable, no dependency
## resolution); redone whenever a lock or pyproject.toml changes.
$(STAMP): $(DEV_LOCK) $(LOCK) pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	touch $(STAMP)

install: $(STAMP)

## make lock: re-resolve the locks after a change to the dependencies in pyproject.toml (versions already
## pinned are kept; `make lock UPGRADE=1` moves everything to the newest versions pyproject allows).
lock: | $(BIN)/uv
	$(UV_COMPILE) --extra dev $(if $(UPGRADE),--upgrade) -o $(DEV_LOCK)
	$(UV_COMPILE) -c $(DEV_LOCK) -o $(LOCK)

# uv (at the version the dev lock pins) is all `make lock` needs: it works even when pyproject.toml names a
# dependency the lock does not have yet (then `make install` stops at `pip check`).
$(BIN)/uv:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "$$(grep -m1 '^uv==' $(DEV_LOCK) | cut -d' ' -f1)"

## make deadcode: vulture (settings in pyproject.toml [tool.vulture]); advisory, review its findings by hand.
deadcode: $(STAMP)
	$(BIN)/vulture

## make run: migrate the embedded SQLite database under ./var/ (GOPY_HOME), load the bundled data (a no-op when
## unchanged; staff changes are kept), start everything.
run: export GOPY_HOME ?= $(CURDIR)/var
run: $(STAMP)
	$(BIN)/gopy db upgrade
	$(BIN)/gopy load data/lists.yaml data/localities.csv data/plan.yaml data/plan-demo.yaml data/units.yaml data/documents/sample-draft.md
	GOPY_ENV=$${GOPY_ENV:-development} $(BIN)/gopy run

## make test: lint, type-check and run the whole suite in $(PYTEST_WORKERS) processes (needs PostgreSQL on
## 127.0.0.1:5432).
test: $(STAMP) lint
	$(BIN)/pytest -q -rs $(PYTEST_PARALLEL) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# every benchmark at its default size, one JSON object each on stdout (make bench BENCH_ARGS=--tiny: seconds)
bench: $(STAMP)
	@set -e; for f in bench/bench_*.py; do PYTHONPATH=$(CURDIR) $(BIN)/python $$f $(BENCH_ARGS); done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
