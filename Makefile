# asteriskbill: `make run` starts the engine on the default SQLite store, `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
JOBS   ?= 2

.PHONY: help venv run init lint test browser screenshots test-asterisk bench constraints vendor clean

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

test: $(STAMP) browser ## Run the whole test suite (PostgreSQL too when $ASTERISKBILL_TEST_PG is set)
	$(BIN)/pytest -n $(JOBS) $(PYTEST_ARGS)

# Playwright drives the system's chromium (tests/helpers/browser.py), so the venv needs no browser download;
# $ASTERISKBILL_CHROMIUM names another one.
browser: ## Install Debian's chromium for the console's browser tests
	@[ -x /usr/bin/chromium ] || [ -n "$$ASTERISKBILL_CHROMIUM" ] || \
	if [ "$$(id -u)" = 0 ]; then \
		apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; \
	else \
		echo "the console's tests need chromium: run 'make browser' as root, or 'sudo apt-get install chromium'"; \
	fi

# The README's console screenshots (docs/console/*.png), taken from the real pages by a test; without the
# variable that test writes them under its tmp_path, so `make test` never changes the repository.
screenshots: $(STAMP) browser ## Retake the README's console screenshots
	ASTERISKBILL_SCREENSHOTS=1 $(BIN)/pytest -p no:cacheprovider -q tests/web/test_console_screenshots.py

# One Asterisk for the whole run, so one process (no -n); -rs shows the one line of a run without Asterisk.
test-asterisk: $(STAMP) ## Run the scenarios on a real Asterisk ($ASTERISK_PREFIX, else PATH; see README)
	$(BIN)/pytest -rs tests/asterisk $(PYTEST_ARGS)

bench: $(STAMP) ## Run the benchmarks in bench/ and print their tables
	$(BIN)/python -m bench

constraints: ## Re-pin constraints.txt to what .venv holds (after upgrading a package there on purpose)
	{ sed '/^[^#]/,$$d' constraints.txt; $(BIN)/pip freeze --all --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

# The console's front-end libraries, pinned in static/vendor/package.json and its lock: each file npm installs
# (path under node_modules) and the name it is served under.
VENDOR       = asteriskbill/web/static/vendor
NPM_FLAGS    = --ignore-scripts --no-audit --no-fund
VENDOR_FILES = @picocss/pico/css/pico.min.css:pico.min.css @picocss/pico/LICENSE.md:LICENSE.picocss-pico \
	htmx.org/dist/htmx.min.js:htmx.min.js htmx.org/LICENSE:LICENSE.htmx.org \
	htmx-ext-sse/dist/sse.js:sse.js htmx-ext-sse/LICENSE:LICENSE.htmx-ext-sse \
	chart.js/dist/chart.umd.min.js:chart.umd.min.js chart.js/LICENSE.md:LICENSE.chart.js \
	@kurkle/color/LICENSE.md:LICENSE.kurkle-color

# An upgrade: edit a version in package.json, `make vendor`, commit. npm fits the lock to package.json (nothing
# changes when they agree), `npm ci` installs exactly the lock, and the files listed above are copied here.
vendor: ## Refresh the vendored console libraries from static/vendor/package.json
	@command -v npm >/dev/null || { echo "make vendor needs npm (Debian: apt-get install npm)"; exit 1; }
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	cp $(VENDOR)/package.json $(VENDOR)/package-lock.json "$$tmp" && \
	(cd "$$tmp" && npm install --package-lock-only $(NPM_FLAGS) && npm ci $(NPM_FLAGS)) && \
	cp "$$tmp/package-lock.json" $(VENDOR) && \
	for pair in $(VENDOR_FILES); do cp "$$tmp/node_modules/$${pair%%:*}" "$(VENDOR)/$${pair#*:}" || exit 1; done

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .hypothesis *.egg-info build dist
