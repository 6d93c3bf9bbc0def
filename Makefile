# asteriskbill: `make run` starts the engine on the default SQLite store, `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
JOBS   ?= 2

.PHONY: help venv run init lint test bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP) ## Create the virtualenv and install asteriskbill with its dev tools

init: $(STAMP) ## Create or upgrade the database (default SQLite file, or $ASTERISKBILL_DB)
	$(BIN)/asteriskbill init

run: init ## Install, migrate the database and start the engine (FastAGI + ARI listener)
	$(BIN)/asteriskbill serve

lint: $(STAMP) ## ruff (lint and format) and mypy: zero findings
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(STAMP) ## Run the whole test suite (PostgreSQL too when $ASTERISKBILL_TEST_PG is set)
	$(BIN)/pytest -n $(JOBS) $(PYTEST_ARGS)

bench: $(STAMP) ## Run the benchmarks in bench/ and print their tables
	$(BIN)/python -m bench

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .hypothesis *.egg-info
