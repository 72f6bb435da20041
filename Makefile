# The two commands a new user needs: `make demo` and `make test`. Both create .venv when
# missing and install the package (with its dev extra) into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PATHS ?= 200000

.PHONY: demo test lint format bench throughput validation-table clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	@mkdir -p results
	$(BIN)/resilience run src/resilience/examples/automotive.yaml --paths $(PATHS) --seed 2026 \
		--out results/automotive.zarr --overwrite

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider --hypothesis-profile=ci

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: $(STAMP)
	$(BIN)/python -m pytest benchmarks --benchmark-enable -q

throughput: $(STAMP)
	$(BIN)/python benchmarks/throughput.py --write-readme

validation-table: $(STAMP)
	$(BIN)/python -m tests.validation.table

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis .benchmarks
