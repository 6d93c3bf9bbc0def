# asteriskbill: `make run` starts the engine on the default SQLite store, `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
JOBS   ?= 2

.PHONY: help venv run init lint test test-asterisk bench constraints clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# Every version comes from constraints.txt; setuptools first, so that the editable install (and the wheel
# test) build with the pinned one rather than whatever build isolation would fetch.
$(STAMP): setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt --upgrade pip setuptools
	$(BIN)/pip install --quiet -c constraints.txt --no-build-isolation -e '.[dev]'
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

# One Asterisk for the whole run, so one process (no -n); -rs shows the one line of a run without Asterisk.
test-asterisk: $(STAMP) ## Run the scenarios on a real Asterisk ($ASTERISK_PREFIX, else PATH; see README)
	$(BIN)/pytest -rs tests/asterisk $(PYTEST_ARGS)

bench: $(STAMP) ## Run the benchmarks in bench/ and print their tables
	$(BIN)/python -m bench

constraints: ## Re-pin constraints.txt to what .venv holds (after upgrading a package there on purpose)
	{ sed '/^[^#]/,$$d' constraints.txt; $(BIN)/pip freeze --all --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .hypothesis *.egg-info build dist
