# Tessera: `make demo` runs it, `make test` proves it. Both set up .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-installed-stamp
# pytest processes: one per core (each has its own SQLite files and PostgreSQL database)
TEST_WORKERS ?= auto

.PHONY: setup demo test lint format bench serve worker chromium clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,analytics-spark]'
	@touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,analytics-spark,bench]'
	@touch $(BENCH_STAMP)

setup: $(STAMP) chromium ## create .venv, install Tessera and the test tools, Chromium for browser tests

chromium:
	@scripts/ensure-chromium

demo: $(STAMP) ## a seeded demo brand, with API, worker and dashboard on http://127.0.0.1:8000
	$(BIN)/tessera demo

test: setup lint ## ruff, mypy (strict on src/) and pytest (SQLite, plus PostgreSQL when TESSERA_TEST_DATABASE_URL is set)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

bench: $(BENCH_STAMP) ## benchmarks next to their peers (installs the peers); needs PostgreSQL
	$(BIN)/python -m bench

serve: $(STAMP)
	$(BIN)/tessera db upgrade
	$(BIN)/tessera serve

worker: $(STAMP)
	$(BIN)/tessera worker

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .hypothesis
