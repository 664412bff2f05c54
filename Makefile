# Consentir — `make run` serves the app with demo data, `make test` runs the suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=
# The browser tests' screenshots (every screen at 1280 and 390 px, the meeting's three
# screens), kept after the run to be looked at: CI keeps this folder as its artifacts.
SHOTS_DIR ?= $(CURDIR)/artifacts/screens
LINT_PATHS  := src tests $(wildcard bench)

.PHONY: run test lint format assets i18n clean

# The virtualenv is rebuilt when the project's dependencies change.
$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

# htmx comes from npm; only the files the pages load are copied into static/vendor (git-ignored).
static/vendor/.installed: package.json package-lock.json
	npm ci --no-fund --no-audit --loglevel=error
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
	cp node_modules/htmx.org/dist/ext/hx-sse.min.js static/vendor/hx-sse.min.js
	@touch $@

assets: static/vendor/.installed

run: $(BIN)/.installed assets
	$(BIN)/consentir serve --demo

test: $(BIN)/.installed assets
	mkdir -p $(SHOTS_DIR)
	SHOTS_DIR=$(SHOTS_DIR) $(BIN)/pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

format: $(BIN)/.installed
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

# Extract translatable strings and merge them into the French and English catalogues.
i18n: $(BIN)/.installed
	$(BIN)/pybabel extract --no-location --omit-header --sort-output -k N_ -F babel.cfg \
	  -o locales/messages.pot src templates
	for lang in fr en; do \
	  if [ -f locales/$$lang/LC_MESSAGES/messages.po ]; then \
	    $(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete --width 100 \
	      -i locales/messages.pot -d locales -l $$lang; \
	  else $(BIN)/pybabel init -i locales/messages.pot -d locales -l $$lang; fi; \
	done

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache .mypy_cache .ruff_cache

# Load benchmark (bench/README.md): needs a PostgreSQL server at DATABASE_URL (default
# postgresql://postgres@127.0.0.1:5432/postgres), wrk (apt-get install wrk) and pgbench (with
# PostgreSQL). Builds the benchmark database (1 M decisions, a 155- and a 1 000-contribution
# proposal), runs every scenario (pages against the bare page, live streams, a live event on
# 500 pages, durable writes against pgbench), then drops it; a failing step does not stop
# the others, and the exit status is the last failure's. `make bench-smoke`: the same tools
# at small sizes and short durations (a check that they work, not figures).
BENCH_DB ?= consentir_bench
BENCH_DECISIONS ?= 1000000
BENCH_CONTRIBUTIONS ?= 1000
BENCH_STREAMS ?= 500
BENCH_SECONDS ?= 15
.PHONY: bench bench-smoke
bench: $(BIN)/.installed
	$(BIN)/python bench/generate.py $(BENCH_DB) --replace \
	  --decisions $(BENCH_DECISIONS) --contributions $(BENCH_CONTRIBUTIONS)
	status=0; \
	  $(BIN)/python bench/run.py $(BENCH_DB) --duration $(BENCH_SECONDS) || status=$$?; \
	  $(BIN)/python bench/live.py $(BENCH_DB) --streams $(BENCH_STREAMS) || status=$$?; \
	  $(BIN)/python bench/live.py $(BENCH_DB) --scenario fragments \
	    --streams $(BENCH_STREAMS) --events 5 || status=$$?; \
	  $(BIN)/python bench/writes.py $(BENCH_DB) --clients 50 --seconds $(BENCH_SECONDS) \
	    || status=$$?; \
	  $(BIN)/python bench/generate.py $(BENCH_DB) --drop; exit $$status

bench-smoke: $(BIN)/.installed
	$(MAKE) bench BENCH_DB=consentir_bench_smoke BENCH_DECISIONS=20000 \
	  BENCH_CONTRIBUTIONS=200 BENCH_STREAMS=50 BENCH_SECONDS=3
