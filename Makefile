# The two set-up commands of the README. Each creates .venv from nothing if needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# make test runs pytest in parallel (pytest-xdist) on every core: one worker process each.
# worksteal: a worker that runs out of tests takes some from the other's queue (tests take from
# a millisecond to minutes). `make test PARALLEL=` runs in one process.
PARALLEL ?= -n auto --dist worksteal

.PHONY: demo test test-full check docs bench bench-async bench-server bench-bulk clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml $(BIN)/activate
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-dev
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

## make demo: install rookdb and run the tour on the embedded default.
demo: $(VENV)/.installed
	$(BIN)/rookdb demo

## make test: lint, type-check and run the whole test suite (what CI runs).
test: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy
	$(BIN)/pytest $(PARALLEL)

## make test-full: as make test, with the full counts of the reliability suite (SPEC §11).
test-full: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy
	ROOKDB_FULL=1 $(BIN)/pytest $(PARALLEL)

## make check: lint and types only.
check: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy

## make docs: regenerate docs/cli.md from the commands' --help (a test checks it is current).
docs: $(VENV)/.installed-dev
	ROOKDB_UPDATE_DOCS=1 $(BIN)/pytest -q tests/test_docs_and_cli.py -k cli_reference

## make bench: the benchmarks of bench/README.md (N=10,000 and 100,000), SQLite then PostgreSQL.
bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench.run --n 10000 --n 100000
	$(BIN)/python -m bench.run --backend postgres --n 10000 --n 100000

## make bench-bulk: bulk insert against save_changes() and the floor, SQLite then PostgreSQL.
bench-bulk: $(VENV)/.installed-bench
	$(BIN)/python -m bench.bulk --n 10000 --n 100000
	$(BIN)/python -m bench.bulk --backend postgres --n 10000 --n 100000

## make bench-async: async sessions (native async I/O, threads) against sync ones in threads.
bench-async: $(VENV)/.installed-bench
	$(BIN)/python -m bench.async_sessions --n 2000

## make bench-server: rookdb through `rookdb serve` on loopback against rookdb embedded.
bench-server: $(VENV)/.installed-bench
	$(BIN)/python -m bench.server --n 10000 --n 100000

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .mypy_cache .pytest_cache .ruff_cache rookdb-data
